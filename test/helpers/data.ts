// Where the test suites find their data.
//
// Full data sets come from a data directory: ALPHADROP_DATA, else the shared data folder
// beside the checkout (../shared/data, the CI layout), else the fetch cache
// (`alphadrop data fetch`: $ALPHADROP_CACHE or ~/.cache/alphadrop). Without one, the suites
// run on the data the repository ships: the embedded MNIST sample (the first 8,000 training
// and 1,000 test digits) and the embedded yacht rows (with generated splits), with
// thresholds chosen for them. Falling back is never silent: it prints why, once per
// worker; with CI=true a missing data directory is an error, as a missing adapter is.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomSplit } from '@alphadrop/nn';
import { defaultCacheDir } from '@alphadrop/nn/node';

const repoPath = (p: string): string => fileURLToPath(new URL(`../../${p}`, import.meta.url));

/** The directories tried, in order, with the reason each is a candidate. */
function candidates(): { dir: string; from: string }[] {
  const out: { dir: string; from: string }[] = [];
  const env = process.env.ALPHADROP_DATA;
  if (env === 'none') return [];
  if (env) out.push({ dir: env, from: 'ALPHADROP_DATA' });
  out.push({ dir: repoPath('../shared/data'), from: 'the shared folder beside the checkout' });
  out.push({ dir: defaultCacheDir(), from: 'the fetch cache' });
  return out;
}

const holdsData = (dir: string): boolean => existsSync(join(dir, 'mnist')) || existsSync(join(dir, 'uci'));

/**
 * The data directory (the layout of ALPHADROP_DATA: mnist/, uci/<name>/), or null when none
 * exists. An ALPHADROP_DATA that holds no data set is a mistake and throws;
 * ALPHADROP_DATA=none runs the suites on the embedded data even where a directory exists.
 */
export function testDataDir(): string | null {
  const env = process.env.ALPHADROP_DATA;
  if (env === 'none') return null;
  if (env && !holdsData(env)) throw new Error(`ALPHADROP_DATA=${env} holds neither mnist/ nor uci/ (ALPHADROP_DATA=none: use the embedded data)`);
  return candidates().find((c) => holdsData(c.dir))?.dir ?? null;
}

function howToGetData(): string {
  const tried = process.env.ALPHADROP_DATA === 'none' ? 'none: ALPHADROP_DATA=none, which npm test sets when it finds none' : candidates().map((c) => `${c.dir} (${c.from})`).join(', ');
  return `no data directory (tried ${tried}); set ALPHADROP_DATA, or run: node scripts/run-ts.mjs packages/bbalpha/src/cli.ts data fetch mnist`;
}

/** The data directory; throws, saying how to get one, when there is none. */
export function requireFullData(): string {
  const dir = testDataDir();
  if (dir === null) throw new Error(howToGetData());
  return dir;
}

const warned = new Set<string>();
/** Falls back to embedded data: an error under CI=true, else a printed reason (once per suite). */
function fallBack(suite: string, what: string): void {
  if (process.env.CI === 'true') throw new Error(`${suite}: CI=true and ${howToGetData()}`);
  if (warned.has(suite)) return;
  warned.add(suite);
  console.warn(`[data] ${suite}: ${what}; ${howToGetData()}`);
}

/** The embedded MNIST sample: the first 8,000 training and 1,000 test digits, IDX .gz. */
export function embeddedMnistDir(): string {
  return repoPath('packages/bbalpha/fixtures/mnist-sample');
}

export interface MnistForTests {
  /** A folder loadMnist reads (a data directory or the sample folder). */
  dir: string;
  /** True for the full distribution (60,000 / 10,000), false for the embedded sample. */
  full: boolean;
  train: number;
  test: number;
}

/** Full MNIST when a data directory holds it, else the embedded sample (saying so). */
export function mnistForTests(suite: string): MnistForTests {
  const root = testDataDir();
  if (root !== null && existsSync(join(root, 'mnist'))) return { dir: root, full: true, train: 60000, test: 10000 };
  fallBack(suite, 'full MNIST not found, running on the embedded 8,000 / 1,000-digit sample');
  return { dir: embeddedMnistDir(), full: false, train: 8000, test: 1000 };
}

/** The number of standard splits of the embedded yacht, as in the UCI protocol. */
export const EMBEDDED_YACHT_SPLITS = 20;
let yachtRoot: string | null = null;

/**
 * A data directory holding `uci/yacht/` built from the embedded yacht rows (CC BY 4.0, see
 * packages/nn/fixtures/uci-yacht/NOTICE.md): inputs 0–5, target 6, and 20 deterministic
 * 90/10 splits (randomSplit with seeds 0–19; the protocol's own split files are CC BY-NC
 * and are not in the repository). Written once per worker into a temporary folder.
 */
export function yachtDataDir(): string {
  if (yachtRoot !== null) return yachtRoot;
  const root = mkdtempSync(join(tmpdir(), 'alphadrop-yacht-'));
  process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'uci', 'yacht');
  mkdirSync(dir, { recursive: true });
  const data = readFileSync(repoPath('packages/nn/fixtures/uci-yacht/data.txt'), 'utf8');
  writeFileSync(join(dir, 'data.txt'), data);
  writeFileSync(join(dir, 'index_features.txt'), '0\n1\n2\n3\n4\n5\n');
  writeFileSync(join(dir, 'index_target.txt'), '6\n');
  writeFileSync(join(dir, 'n_splits.txt'), `${EMBEDDED_YACHT_SPLITS}\n`);
  const rows = data.split('\n').filter((l) => l.trim() !== '').length;
  for (let i = 0; i < EMBEDDED_YACHT_SPLITS; i++) {
    const { train, test } = randomSplit(rows, i);
    writeFileSync(join(dir, `index_train_${i}.txt`), `${[...train].join('\n')}\n`);
    writeFileSync(join(dir, `index_test_${i}.txt`), `${[...test].join('\n')}\n`);
  }
  yachtRoot = root;
  return root;
}

export interface UciForTests {
  /** A data directory holding uci/<name>/. */
  root: string;
  /** True for the protocol's split files, false for the embedded yacht with generated splits. */
  full: boolean;
}

/** Yacht with the protocol's splits when a data directory holds it, else the embedded copy. */
export function yachtForTests(suite: string): UciForTests {
  const root = testDataDir();
  if (root !== null && existsSync(join(root, 'uci', 'yacht'))) return { root, full: true };
  fallBack(suite, 'the UCI yacht split files not found, running on the embedded yacht rows with generated splits');
  return { root: yachtDataDir(), full: false };
}
