// `alphadrop data fetch`: downloads MNIST, Fashion-MNIST or the UCI regression sets with
// their standard splits into the fetch cache (Node only), in the layout of a data
// directory. Every file is checked against the SHA-256 of its DECOMPRESSED content kept in
// checksums.json (mirrors recompress .gz files, so only the content is stable); a file
// lands under its final name only after that check (write `.part`, verify, rename), so the
// cache never holds a half-written or unverified file. Downloads resume (download-node.ts).

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { DataError, ValueError } from '@alphadrop/core';
import { defaultCacheDir } from './cache-node.js';
import { discardPart, downloadToPart } from './download-node.js';
import { gunzipIdx } from './mnist-node.js';
import manifest from './checksums.json' with { type: 'json' };

export type FetchableDataset = 'mnist' | 'fashion-mnist' | 'uci';
export const FETCHABLE_DATASETS: readonly FetchableDataset[] = ['mnist', 'fashion-mnist', 'uci'];

export interface FetchDatasetOptions {
  /** Where the files go; default defaultCacheDir() ($ALPHADROP_CACHE or ~/.cache/alphadrop). */
  cacheDir?: string;
  /** One mirror to use instead of the canonical list (same file layout as the canonical source). */
  baseUrl?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** MNIST / Fashion-MNIST: which splits (default both). */
  splits?: readonly ('train' | 'test')[];
  /** UCI: which sets (default all nine). */
  datasets?: readonly string[];
  /** Resumptions of a dropped connection per file and mirror (default 3). */
  retries?: number;
}

interface Checksum {
  /** Length and SHA-256 of the decompressed content. */
  bytes: number;
  sha256: string;
}

/** One file to fetch: where it goes under the cache, where it is under a mirror, what it must hash to. */
interface FileJob {
  local: string;
  remote: string;
  want: Checksum;
}

const IDX_SPLIT_PREFIX = { train: 'train-', test: 't10k-' } as const;

/** The canonical mirrors, and the files of `name` restricted by the options. */
function plan(name: FetchableDataset, opts: FetchDatasetOptions): { mirrors: readonly string[]; jobs: FileJob[] } {
  if (name === 'uci') {
    const sets: Record<string, Record<string, Checksum>> = manifest.uci.sets;
    const known = Object.keys(sets);
    const chosen = opts.datasets ?? known;
    if (chosen.length === 0) throw new ValueError('fetchDataset uci', `at least one of ${known.join(', ')}`, 'an empty list');
    const jobs: FileJob[] = [];
    for (const set of chosen) {
      const files = sets[set];
      if (!files) throw new ValueError('fetchDataset uci', `a UCI set among ${known.join(', ')}`, JSON.stringify(set));
      for (const [file, want] of Object.entries(files)) jobs.push({ local: join('uci', set, file), remote: `${set}/data/${file}`, want });
    }
    return { mirrors: manifest.uci.mirrors, jobs };
  }
  const entry = manifest[name];
  const splits = opts.splits ?? ['train', 'test'];
  if (splits.length === 0 || splits.some((s) => s !== 'train' && s !== 'test'))
    throw new ValueError(`fetchDataset ${name}`, "splits among 'train', 'test'", JSON.stringify(splits));
  const files: Record<string, Checksum> = entry.files;
  const jobs = Object.entries(files)
    .filter(([file]) => splits.some((s) => file.startsWith(IDX_SPLIT_PREFIX[s])))
    .map(([file, want]) => ({ local: join(name, file), remote: file, want }));
  return { mirrors: entry.mirrors, jobs };
}

/**
 * Checks a downloaded or cached file against its checksum: gunzips `.gz` files (a broken
 * stream is a DataError naming the byte), then compares length and SHA-256.
 */
function verify(path: string, want: Checksum, source: string): void {
  const raw = new Uint8Array(readFileSync(path));
  const content = path.endsWith('.gz') || path.endsWith('.gz.part') ? gunzipIdx(raw, `${source} (saved as ${path})`) : raw;
  const sha256 = createHash('sha256').update(content).digest('hex');
  if (content.length !== want.bytes || sha256 !== want.sha256)
    throw new DataError(
      source,
      `content of ${want.bytes} bytes with SHA-256 ${want.sha256}`,
      `${content.length} bytes with SHA-256 ${sha256}`,
      'checksum of the decompressed content; the download was deleted',
    );
}

/** Fetches one file through the mirrors in order; the verified file is renamed into place. */
async function fetchFile(job: FileJob, root: string, mirrors: readonly string[], opts: FetchDatasetOptions, log: (line: string) => void): Promise<void> {
  const target = join(root, job.local);
  if (existsSync(target)) {
    try {
      verify(target, job.want, target);
      log(`${job.local}: cached`);
      return;
    } catch (err) {
      log(`${job.local}: cached copy fails its check (${err instanceof Error ? err.message : String(err)}); fetching again`);
      rmSync(target, { force: true });
    }
  }
  mkdirSync(dirname(target), { recursive: true });
  const part = `${target}.part`;
  const failures: DataError[] = [];
  for (const mirror of mirrors) {
    const url = new URL(job.remote, mirror).href;
    log(`${job.local}: downloading ${url}`);
    try {
      const report = await downloadToPart(url, part, { retries: opts.retries ?? 3, log });
      try {
        verify(part, job.want, url);
      } catch (err) {
        discardPart(part); // a part that fails its check is never resumed
        throw err;
      }
      renameSync(part, target);
      rmSync(`${part}.src`, { force: true });
      log(`${job.local}: ok (${report.bytes} bytes${report.resumedFrom > 0 ? `, resumed at byte ${report.resumedFrom}` : ''}, SHA-256 verified)`);
      return;
    } catch (err) {
      if (!(err instanceof DataError)) throw err;
      log(`${job.local}: ${err.message}`);
      failures.push(err);
    }
  }
  if (failures.length === 1) throw failures[0]!;
  throw new DataError(job.local, `a verified copy from one of ${mirrors.length} mirrors`, 'none', failures.map((e) => e.message).join('; '));
}

/** Runs `work` over `items` with at most `limit` in flight; after the first error no new item starts. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++]!);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  const results = await Promise.allSettled(lanes);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

function checkBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ValueError('fetchDataset baseUrl', 'an absolute http(s) URL', JSON.stringify(baseUrl));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ValueError('fetchDataset baseUrl', 'an http or https URL', JSON.stringify(baseUrl));
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/**
 * Downloads a data set into the cache and verifies it; files already there and intact are
 * not downloaded again. Returns the cache directory, a data directory to pass as
 * `--data-dir` or ALPHADROP_DATA (mnist/, fashion-mnist/, uci/<name>/ under it).
 */
export async function fetchDataset(name: FetchableDataset, opts: FetchDatasetOptions = {}): Promise<string> {
  if (!FETCHABLE_DATASETS.includes(name)) throw new ValueError('fetchDataset', `one of ${FETCHABLE_DATASETS.join(', ')}`, JSON.stringify(name));
  const { mirrors, jobs } = plan(name, opts);
  const root = opts.cacheDir ?? defaultCacheDir();
  const log = opts.log ?? (() => {});
  const useMirrors = opts.baseUrl !== undefined ? [checkBaseUrl(opts.baseUrl)] : mirrors;
  log(`fetch ${name} into ${root} (${jobs.length} files)`);
  // Small UCI files go a few at a time; the large IDX files one by one.
  await pool(jobs, name === 'uci' ? 6 : 1, (job) => fetchFile(job, root, useMirrors, opts, (line) => log(`  ${line}`)));
  return root;
}
