// fetchDataset against a local HTTP server on 127.0.0.1 (the machine has no internet; the
// code path is the real one: Node's fetch, Range requests, .part files, renames). The
// server serves Fashion-MNIST from Debian's dataset-fashion-mnist (npm test installs it),
// and MNIST and UCI yacht from the data directory when there is one. It can drop a
// connection half-way, corrupt a byte, recompress, or ignore Range requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataError, ValueError } from '@alphadrop/core';
import { FASHION_MNIST_DEBIAN_DIR, dataDir, defaultCacheDir, fetchDataset, loadFashionMnist, loadMnist, loadUci, uciSplit } from '@alphadrop/nn/node';
import { testDataDir } from '../helpers/data.js';

/** What the server does to a request for a file (queued per file; then it serves normally). */
type Fault = 'drop-half' | 'corrupt' | 'recompress' | 'ignore-range' | 'not-found';

interface Served {
  /** URL path → file on disk. */
  routes: Map<string, string>;
  faults: Map<string, Fault[]>;
  /** Every request: path and Range header. */
  log: { path: string; range: string | undefined }[];
}

const served: Served = { routes: new Map(), faults: new Map(), log: [] };
let server: Server;
let base = '';
let tmp: string;

function respond(path: string, range: string | undefined, res: import('node:http').ServerResponse): void {
  const file = served.routes.get(path);
  const fault = served.faults.get(path)?.shift();
  if (!file || fault === 'not-found') {
    res.writeHead(404).end();
    return;
  }
  let body = readFileSync(file);
  if (fault === 'corrupt') {
    // one byte of the content changed, then compressed again: a valid gzip stream whose
    // content fails the checksum
    const content = gunzipSync(body);
    content[content.length >> 1]! ^= 0x01;
    body = gzipSync(content);
  } else if (fault === 'recompress') {
    body = gzipSync(gunzipSync(body), { level: 1 }); // another mirror's compression, same content
  }
  const m = range && fault !== 'ignore-range' ? /^bytes=(\d+)-$/.exec(range) : null;
  const start = m ? Number(m[1]) : 0;
  if (m && start >= body.length) {
    res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    return;
  }
  const headers = { 'content-length': String(body.length - start), 'accept-ranges': 'bytes' };
  if (m) res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
  else res.writeHead(200, headers);
  if (fault === 'drop-half') {
    res.write(body.subarray(start, start + ((body.length - start) >> 1)), () => res.socket?.destroy());
    return;
  }
  res.end(body.subarray(start));
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'alphadrop-fetch-'));
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    served.log.push({ path, range: req.headers.range });
    respond(path, req.headers.range, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(tmp, { recursive: true, force: true });
});

let serial = 0;
const freshCache = (): string => join(tmp, `cache-${serial++}`);
const T10K = ['t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** Serves `files` of `dir` under /<prefix>/. */
function serve(prefix: string, dir: string, files: readonly string[]): void {
  for (const f of files) served.routes.set(`/${prefix}/${f}`, join(dir, f));
}

// npm test installs dataset-fashion-mnist; under CI=true a missing package fails the suite.
const haveFashion = existsSync(FASHION_MNIST_DEBIAN_DIR) || process.env.CI === 'true';
const noFashion = `skipped: no ${FASHION_MNIST_DEBIAN_DIR} (apt-get install dataset-fashion-mnist; npm test installs it)`;
if (!haveFashion) console.warn(`[data] fetch suite ${noFashion}`);

describe.skipIf(!haveFashion)(`fetchDataset (Fashion-MNIST from the Debian files)${haveFashion ? '' : ` — ${noFashion}`}`, () => {
  beforeAll(() => serve('fashion', FASHION_MNIST_DEBIAN_DIR, T10K));
  const opts = (cacheDir: string, lines: string[] = []) => ({ cacheDir, baseUrl: `${base}/fashion/`, splits: ['test'] as const, log: (l: string) => lines.push(l) });

  it('downloads, verifies and renames into <cache>/fashion-mnist; the loader reads the cache', async () => {
    const cache = freshCache();
    served.log.length = 0;
    expect(await fetchDataset('fashion-mnist', opts(cache))).toBe(cache);
    expect(filesUnder(cache)).toEqual(T10K.map((f) => join('fashion-mnist', f)));
    expect(served.log.map((r) => r.path).sort()).toEqual(T10K.map((f) => `/fashion/${f}`));
    const test = loadFashionMnist(cache, { split: 'test' });
    expect([test.n, test.rows, test.cols]).toEqual([10000, 28, 28]);
    // the cached bytes are the served bytes
    expect(readFileSync(join(cache, 'fashion-mnist', T10K[1]!)).equals(readFileSync(join(FASHION_MNIST_DEBIAN_DIR, T10K[1]!)))).toBe(true);
  });

  it('already cached: no request at all; a damaged cached file is fetched again', async () => {
    const cache = freshCache();
    await fetchDataset('fashion-mnist', opts(cache));
    served.log.length = 0;
    const lines: string[] = [];
    await fetchDataset('fashion-mnist', opts(cache, lines));
    expect(served.log).toEqual([]);
    expect(lines.filter((l) => l.endsWith(': cached'))).toHaveLength(2);

    const labels = join(cache, 'fashion-mnist', T10K[1]!);
    writeFileSync(labels, gzipSync(Buffer.from('not the labels')));
    await fetchDataset('fashion-mnist', opts(cache));
    expect(served.log.map((r) => r.path)).toEqual([`/fashion/${T10K[1]}`]);
    expect(readFileSync(labels).equals(readFileSync(join(FASHION_MNIST_DEBIAN_DIR, T10K[1]!)))).toBe(true);
  });

  it('a connection dropped half-way is resumed with a Range request from the bytes on disk', async () => {
    const cache = freshCache();
    const images = `/fashion/${T10K[0]}`;
    const size = readFileSync(join(FASHION_MNIST_DEBIAN_DIR, T10K[0]!)).length;
    served.faults.set(images, ['drop-half']);
    served.log.length = 0;
    const lines: string[] = [];
    await fetchDataset('fashion-mnist', opts(cache, lines));
    const requests = served.log.filter((r) => r.path === images);
    expect(requests.map((r) => r.range)).toEqual([undefined, `bytes=${size >> 1}-`]);
    expect(lines.some((l) => l.includes(`connection dropped at byte ${size >> 1}`))).toBe(true);
    expect(filesUnder(cache)).toEqual(T10K.map((f) => join('fashion-mnist', f)));
    expect(readFileSync(join(cache, 'fashion-mnist', T10K[0]!)).equals(readFileSync(join(FASHION_MNIST_DEBIAN_DIR, T10K[0]!)))).toBe(true);
  });

  it('a .part left by an earlier run for the same URL is resumed; one from another URL starts over', async () => {
    const original = readFileSync(join(FASHION_MNIST_DEBIAN_DIR, T10K[0]!));
    const cache = freshCache();
    const part = join(cache, 'fashion-mnist', `${T10K[0]}.part`);
    mkdirSync(join(cache, 'fashion-mnist'), { recursive: true });
    writeFileSync(part, original.subarray(0, 1000));
    writeFileSync(`${part}.src`, `${base}/fashion/${T10K[0]}`);
    served.log.length = 0;
    await fetchDataset('fashion-mnist', opts(cache));
    expect(served.log.find((r) => r.path === `/fashion/${T10K[0]}`)?.range).toBe('bytes=1000-');
    expect(filesUnder(cache)).toEqual(T10K.map((f) => join('fashion-mnist', f)));

    const cache2 = freshCache();
    const part2 = join(cache2, 'fashion-mnist', `${T10K[0]}.part`);
    mkdirSync(join(cache2, 'fashion-mnist'), { recursive: true });
    writeFileSync(part2, original.subarray(0, 1000));
    writeFileSync(`${part2}.src`, 'http://elsewhere.invalid/t10k-images-idx3-ubyte.gz');
    served.log.length = 0;
    await fetchDataset('fashion-mnist', opts(cache2));
    expect(served.log.find((r) => r.path === `/fashion/${T10K[0]}`)?.range).toBeUndefined();
    expect(filesUnder(cache2)).toEqual(T10K.map((f) => join('fashion-mnist', f)));
  });

  it('a server that ignores Range (200 instead of 206) is read from the start', async () => {
    const cache = freshCache();
    const images = `/fashion/${T10K[0]}`;
    // the first request drops half-way; the resumption asks for a range, which is ignored
    served.faults.set(images, ['drop-half', 'ignore-range']);
    served.log.length = 0;
    const lines: string[] = [];
    await fetchDataset('fashion-mnist', opts(cache, lines));
    expect(served.log.filter((r) => r.path === images)).toHaveLength(2);
    expect(lines.some((l) => l.includes('ignored the range request'))).toBe(true);
    expect(readFileSync(join(cache, 'fashion-mnist', T10K[0]!)).equals(readFileSync(join(FASHION_MNIST_DEBIAN_DIR, T10K[0]!)))).toBe(true);
  });

  it('another compression of the same content is accepted: the checksums are over the decompressed bytes', async () => {
    const cache = freshCache();
    served.faults.set(`/fashion/${T10K[1]}`, ['recompress']);
    await fetchDataset('fashion-mnist', opts(cache));
    const saved = readFileSync(join(cache, 'fashion-mnist', T10K[1]!));
    const debian = readFileSync(join(FASHION_MNIST_DEBIAN_DIR, T10K[1]!));
    expect(saved.equals(debian)).toBe(false);
    expect(gunzipSync(saved).equals(gunzipSync(debian))).toBe(true);
  });

  it('one corrupted byte: DataError naming the URL and both checksums; nothing left in the cache', async () => {
    const cache = freshCache();
    served.faults.set(`/fashion/${T10K[1]}`, ['corrupt']);
    let caught: unknown;
    await fetchDataset('fashion-mnist', opts(cache)).catch((e: unknown) => (caught = e));
    expect(caught).toBeInstanceOf(DataError);
    const err = caught as DataError;
    expect(err.where).toBe(`${base}/fashion/${T10K[1]}`);
    expect(err.expected).toBe('content of 10008 bytes with SHA-256 0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34');
    expect(err.received).toMatch(/^10008 bytes with SHA-256 [0-9a-f]{64}$/);
    expect(err.received).not.toContain('0402a96d');
    // the images came first and are verified; the labels left nothing behind
    expect(filesUnder(cache)).toEqual([join('fashion-mnist', T10K[0]!)]);
  });

  it('HTTP 404: DataError naming the URL and the status; nothing left in the cache', async () => {
    const cache = freshCache();
    served.faults.set(`/fashion/${T10K[0]}`, ['not-found']);
    const err = await fetchDataset('fashion-mnist', opts(cache)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).message).toBe(`${base}/fashion/${T10K[0]}: expected HTTP 200 or 206, got HTTP 404 Not Found`);
    expect(filesUnder(cache)).toEqual([]);
  });
});

describe('fetchDataset argument refusals', () => {
  it('unknown data sets, UCI sets, splits and base URLs: ValueError before any request', async () => {
    served.log.length = 0;
    const cacheDir = freshCache();
    const cases: [() => Promise<string>, string][] = [
      [() => fetchDataset('cifar' as 'mnist', { cacheDir }), 'fetchDataset: expected one of mnist, fashion-mnist, uci, got "cifar"'],
      [() => fetchDataset('uci', { cacheDir, datasets: ['yaht'] }), 'a UCI set among bostonHousing'],
      [() => fetchDataset('uci', { cacheDir, datasets: [] }), 'got an empty list'],
      [() => fetchDataset('mnist', { cacheDir, splits: [] }), "splits among 'train', 'test'"],
      [() => fetchDataset('mnist', { cacheDir, baseUrl: 'ftp://mirror/mnist/' }), 'expected an http or https URL, got "ftp://mirror/mnist/"'],
      [() => fetchDataset('mnist', { cacheDir, baseUrl: 'mirror/mnist' }), 'expected an absolute http(s) URL'],
    ];
    for (const [call, message] of cases) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValueError);
      expect((err as ValueError).message).toContain(message);
    }
    expect(served.log).toEqual([]);
    expect(existsSync(cacheDir)).toBe(false);
  });
});

describe('dataDir and the fetch cache', () => {
  it('explicit argument, then ALPHADROP_DATA, then the cache ($ALPHADROP_CACHE) once it holds a data set', () => {
    const saved = { data: process.env.ALPHADROP_DATA, cache: process.env.ALPHADROP_CACHE };
    try {
      const cache = freshCache();
      delete process.env.ALPHADROP_DATA;
      process.env.ALPHADROP_CACHE = cache;
      expect(defaultCacheDir()).toBe(cache);
      expect(dataDir()).toBeUndefined(); // the cache does not exist yet
      mkdirSync(join(cache, 'uci'), { recursive: true });
      expect(dataDir()).toBe(cache);
      process.env.ALPHADROP_DATA = '/data/from/env';
      expect(dataDir()).toBe('/data/from/env');
      expect(dataDir('/explicit')).toBe('/explicit');
      delete process.env.ALPHADROP_CACHE;
      expect(defaultCacheDir()).toBe(join(homedir(), '.cache', 'alphadrop'));
    } finally {
      for (const [k, v] of [['ALPHADROP_DATA', saved.data], ['ALPHADROP_CACHE', saved.cache]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

// MNIST and UCI are served from the data directory (their checksums are of the full files).
const root = testDataDir();
const noData = 'skipped: no data directory to serve MNIST and UCI from (set ALPHADROP_DATA)';
if (root === null) {
  if (process.env.CI === 'true') throw new Error(`fetch suite: CI=true and ${noData}`);
  console.warn(`[data] fetch suite, MNIST and UCI: ${noData}`);
}
describe.skipIf(root === null)(`fetchDataset (MNIST and UCI yacht from the data directory)${root === null ? ` — ${noData}` : ''}`, () => {
  it('MNIST t10k: the IDX files land in <cache>/mnist and load', async () => {
    serve('mnist', join(root!, 'mnist'), T10K);
    const cache = freshCache();
    await fetchDataset('mnist', { cacheDir: cache, baseUrl: `${base}/mnist`, splits: ['test'] });
    expect(filesUnder(cache)).toEqual(T10K.map((f) => join('mnist', f)));
    expect(loadMnist(cache, { split: 'test' }).n).toBe(10000);
  });

  it('UCI yacht in the remote layout <set>/data/<file>: lands in <cache>/uci/yacht and loads all 20 splits', async () => {
    const files = readdirSync(join(root!, 'uci', 'yacht'));
    for (const f of files) served.routes.set(`/uci/yacht/data/${f}`, join(root!, 'uci', 'yacht', f));
    const cache = freshCache();
    served.log.length = 0;
    await fetchDataset('uci', { cacheDir: cache, baseUrl: `${base}/uci/`, datasets: ['yacht'] });
    expect(served.log).toHaveLength(files.length);
    expect(filesUnder(cache)).toEqual(files.map((f) => join('uci', 'yacht', f)).sort());
    const ds = loadUci(cache, 'yacht');
    expect(ds.splits).toBe(20);
    expect(uciSplit(ds, 19).nTrain).toBe(277);
  });
});
