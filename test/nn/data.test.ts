// MNIST / Fashion-MNIST loading on the real files (the full distribution from a data
// directory, else the embedded sample: its first 8,000 / 1,000 digits), refusal of damaged
// files (made in a temporary folder from the real bytes), deterministic shuffling and
// device batches. More refusals: data-refusals.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataError, ValueError, cpuBackend, derive, memory, rootKey } from '@alphadrop/core';
import { philoxFill } from '@alphadrop/core/backend';
import { DeviceDataset, batchCount, epochBatches, gatherRows, parseIdx, permutation, shuffleKey } from '@alphadrop/nn';
import { FASHION_MNIST_DEBIAN_DIR, loadFashionMnist, loadMnist, readIdxFile } from '@alphadrop/nn/node';
import { mnistForTests } from '../helpers/data.js';
import { refused } from '../helpers/refused.js';

const mnist = mnistForTests('MNIST data tests');
const mnistDir = mnist.full ? join(mnist.dir, 'mnist') : mnist.dir;
// Label histograms: the published ones of the full files, and those of the sample's prefix
// (counted on the full files, so they also check that the sample is their prefix).
const TRAIN_HISTOGRAM = mnist.full ? [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949] : [795, 906, 788, 811, 799, 702, 798, 853, 753, 795];
const TEST_HISTOGRAM = mnist.full ? [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009] : [85, 126, 116, 107, 110, 87, 87, 99, 89, 94];
/** The last test label: digit 6 for the full set, 9 for the sample's 1,000th. */
const LAST_TEST_LABEL = mnist.full ? 6 : 9;

function histogram(labels: Int32Array): number[] {
  const h = new Array<number>(10).fill(0);
  for (const l of labels) h[l]!++;
  return h;
}

/** [min, max] by an indexed loop (for…of over 47M floats takes seconds). */
function range(a: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** Typed arrays compared bytewise (vitest's deep equality is slow on large arrays). */
function expectSameArray(a: ArrayBufferView, b: ArrayBufferView): void {
  expect(a.constructor).toBe(b.constructor);
  expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
}

/** Runs fn, expecting a DataError (and no data back); returns it so the message can be checked. */
const dataError = (fn: () => unknown): DataError => refused(DataError, fn);

describe(`MNIST (real files: ${mnist.full ? 'full' : 'embedded sample'})`, () => {
  it(`train: ${mnist.train} images 28×28, pixels k/255 in [0, 1], the known label histogram`, () => {
    const s = loadMnist(mnist.dir, { split: 'train' });
    expect([s.n, s.rows, s.cols]).toEqual([mnist.train, 28, 28]);
    expect(s.images.length).toBe(mnist.train * 784);
    expect(s.labels.length).toBe(mnist.train);
    expect(range(s.images)).toEqual([0, 1]);
    const first = s.images.subarray(0, 784 * 100);
    expect(first.every((v) => Math.fround(Math.round(v * 255) / 255) === v)).toBe(true);
    expect(histogram(s.labels)).toEqual(TRAIN_HISTOGRAM);
  });

  it(`test: ${mnist.test} images, the known label histogram; raw pixels span 0–255`, () => {
    const s = loadMnist(mnist.dir, { split: 'test' });
    expect([s.n, s.rows, s.cols]).toEqual([mnist.test, 28, 28]);
    expect(histogram(s.labels)).toEqual(TEST_HISTOGRAM);
    const raw = readIdxFile(join(mnistDir, 't10k-images-idx3-ubyte.gz'));
    if (raw.kind !== 'images') throw new Error('expected images');
    expect(Math.min(...raw.pixels.subarray(0, 784 * 50))).toBe(0);
    expect(raw.pixels.reduce((m, v) => Math.max(m, v), 0)).toBe(255);
    // the first test digit of the distribution is a 7
    expect([s.labels[0], s.labels[mnist.test - 1]]).toEqual([7, LAST_TEST_LABEL]);
  });

  it('offset and limit select a window of the fully validated split', () => {
    const all = loadMnist(mnistDir, { split: 'test' }); // the folder itself also works
    const from = mnist.test - 10;
    const win = loadMnist(mnist.dir, { split: 'test', offset: from, limit: 20 });
    expect(win.n).toBe(10);
    expect(win.labels).toEqual(all.labels.slice(from));
    expectSameArray(win.images, all.images.subarray(from * 784));
    expect(loadMnist(mnist.dir, { split: 'test', offset: mnist.test - 1, limit: 1 }).n).toBe(1);
    // an empty window is refused (it used to flow on as a [0, NaN] shape)
    expect(() => loadMnist(mnist.dir, { split: 'test', offset: 100, limit: 0 })).toThrow(ValueError);
    expect(() => loadMnist(mnist.dir, { split: 'test', offset: mnist.test })).toThrow(ValueError);
    expect(() => loadMnist(mnist.dir, { split: 'test', limit: -1 })).toThrow(ValueError);
  });
});

describe('MNIST: damaged files are refused with the file and the byte offset', () => {
  let tmp: string;
  let images: Uint8Array; // t10k images, decompressed: 16 + n·784 bytes
  let labels: Uint8Array; // t10k labels, decompressed: 8 + n bytes
  let labelsGz: Uint8Array;
  let imagesGz: Uint8Array;

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'alphadrop-mnist-'));
    imagesGz = new Uint8Array(readFileSync(join(mnistDir, 't10k-images-idx3-ubyte.gz')));
    images = new Uint8Array(gunzipSync(imagesGz));
    labelsGz = new Uint8Array(readFileSync(join(mnistDir, 't10k-labels-idx1-ubyte.gz')));
    labels = new Uint8Array(gunzipSync(labelsGz));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  /** A folder holding the t10k pair, with `images`/`labels` replaced as given (raw names). */
  function folder(name: string, files: { images?: Uint8Array; labels?: Uint8Array; gzip?: boolean }): string {
    const dir = join(tmp, name);
    mkdirSync(dir, { recursive: true });
    const ext = files.gzip ? '.gz' : '';
    writeFileSync(join(dir, `t10k-images-idx3-ubyte${ext}`), files.images ?? images);
    writeFileSync(join(dir, `t10k-labels-idx1-ubyte${ext}`), files.labels ?? labels);
    return dir;
  }

  it('the raw (un-gzipped) names load the same data as the .gz files, also under <dir>/mnist', () => {
    const from = mnist.test / 2;
    const gz = loadMnist(mnist.dir, { split: 'test', offset: from, limit: 300 });
    const raw = loadMnist(folder('raw', {}), { split: 'test', offset: from, limit: 300 });
    expect(raw.labels).toEqual(gz.labels);
    expectSameArray(raw.images, gz.images);
    folder(join('root', 'mnist'), {});
    const viaRoot = loadMnist(join(tmp, 'root'), { split: 'test', offset: from, limit: 300 });
    expect(viaRoot.labels).toEqual(gz.labels);
    expectSameArray(viaRoot.images, gz.images);
  });

  it('truncated images at header and data offsets name the byte where data ran out', () => {
    for (const cut of [0, 3, 4, 9, 15, 16, 16 + 784 * 7 + 123, images.length - 1]) {
      const dir = folder(`trunc-images-${cut}`, { images: images.subarray(0, cut) });
      const err = dataError(() => loadMnist(dir, { split: 'test' }));
      expect(err.message).toContain(join(dir, 't10k-images-idx3-ubyte'));
      expect(err.where).toContain(`at byte ${cut}`);
      expect(err.received).toBe('end of file');
    }
  });

  it('truncated labels, and a gzip of a truncated file, name the decompressed offset', () => {
    for (const cut of [2, 7, 8, 8 + mnist.test / 2]) {
      const dir = folder(`trunc-labels-${cut}`, { labels: labels.subarray(0, cut) });
      expect(dataError(() => loadMnist(dir, { split: 'test' })).where).toBe(`${join(dir, 't10k-labels-idx1-ubyte')} at byte ${cut}`);
    }
    const dir = folder('trunc-gz', { gzip: true, images: gzipSync(images.subarray(0, 16 + 784 * 100 + 5)), labels: labelsGz });
    expect(dataError(() => loadMnist(dir, { split: 'test' })).where).toBe(`${join(dir, 't10k-images-idx3-ubyte.gz')} at byte ${16 + 784 * 100 + 5}`);
  });

  it('a gzip stream cut short names the end of the compressed file', () => {
    const at = Math.floor(labelsGz.length * 0.6);
    const cut = labelsGz.subarray(0, at);
    const dir = folder('cut-gz', { gzip: true, images: imagesGz, labels: cut });
    const err = dataError(() => loadMnist(dir, { split: 'test' }));
    expect(err.where).toBe(`${join(dir, 't10k-labels-idx1-ubyte.gz')} at byte ${at}`);
    expect(err.expected).toBe('a complete gzip stream');
  });

  it('corrupted gzip data (an invalid deflate block, a bad CRC) names the compressed offset of the damage', () => {
    // The deflate data starts after the gzip header's optional fields (RFC 1952); the
    // canonical files store a file name there, the sample does not.
    let start = 10;
    const flags = labelsGz[3]!;
    if (flags & 4) start += 2 + (labelsGz[10]! | (labelsGz[11]! << 8));
    if (flags & 8) while (labelsGz[start++] !== 0);
    if (flags & 16) while (labelsGz[start++] !== 0);
    if (flags & 2) start += 2;
    const damaged = labelsGz.slice();
    damaged[start]! |= 0b110; // BTYPE = 11, a reserved block type: refused at that very byte
    const dir = folder('flip-gz', { gzip: true, images: imagesGz, labels: damaged });
    const err = dataError(() => loadMnist(dir, { split: 'test' }));
    expect(err.where).toBe(`${join(dir, 't10k-labels-idx1-ubyte.gz')} at byte ${start}`);
    expect(err.received).toContain('invalid block type');

    const crc = labelsGz.slice();
    crc[crc.length - 6]! ^= 0x01; // the CRC-32 sits in the 8-byte trailer
    const dir2 = folder('crc-gz', { gzip: true, images: imagesGz, labels: crc });
    const err2 = dataError(() => loadMnist(dir2, { split: 'test' }));
    expect(Number(/at byte (\d+)$/.exec(err2.where)?.[1])).toBeGreaterThanOrEqual(crc.length - 8);
    expect(err2.received).toContain('incorrect data check');
  });

  it('wrong magic, trailing bytes, labels out of range, swapped files and count mismatch', () => {
    const magic = images.slice();
    magic[3] = 0x02;
    expect(dataError(() => parseIdx(magic, 'm.idx')).message).toBe(
      'm.idx at byte 0: expected IDX magic 0x00000803 (images) or 0x00000801 (labels), got 0x00000802',
    );
    const padded = new Uint8Array(labels.length + 3);
    padded.set(labels);
    const trail = dataError(() => parseIdx(padded, 'l.idx'));
    expect(trail.where).toBe(`l.idx at byte ${labels.length}`);
    expect(trail.received).toBe('3 trailing bytes');
    const bad = labels.slice();
    bad[8 + 432] = 10;
    expect(dataError(() => parseIdx(bad, 'l.idx')).where).toBe(`l.idx at byte ${8 + 432}`);
    const zero = images.slice(0, 16);
    zero[11] = 0; // rows = 0
    expect(dataError(() => parseIdx(zero, 'z.idx')).where).toBe('z.idx at byte 8');
    expect(dataError(() => parseIdx(gzipSync(labels), 'g.idx')).received).toContain('gzip');

    const swapped = folder('swapped', { images: labels, labels: images });
    expect(dataError(() => loadMnist(swapped, { split: 'test' })).expected).toContain('an IDX images file');
    const short = labels.slice(0, 8 + mnist.test - 1);
    new DataView(short.buffer).setUint32(4, mnist.test - 1, false);
    expect(dataError(() => loadMnist(folder('mismatch', { labels: short }), { split: 'test' })).expected).toContain(`${mnist.test} labels`);
    expect(dataError(() => loadMnist(join(tmp, 'nothing-here'), { split: 'train' })).received).toBe('neither file');
  });
});

describe('shuffling and batching', () => {
  it('an epoch lists every index exactly once; same (seed, epoch) → same order', () => {
    for (const [n, bs] of [[1000, 32], [7, 3], [5, 5], [1, 4]] as const) {
      const a = epochBatches(n, bs, { seed: 11, epoch: 3 });
      const seen = new Int32Array(n);
      for (const b of a) for (const i of b) seen[i]!++;
      expect(seen.every((c) => c === 1)).toBe(true);
      expect(a.length).toBe(batchCount(n, bs));
      expect(a.slice(0, -1).every((b) => b.length === bs)).toBe(true);
      expect(epochBatches(n, bs, { seed: 11, epoch: 3 })).toEqual(a);
    }
    expect(epochBatches(0, 8)).toEqual([]);
  });

  it('epochs and seeds give different orders; shuffle: false keeps 0 … n-1; dropLast', () => {
    const e0 = permutation(1000, shuffleKey(5, 0));
    expect(permutation(1000, shuffleKey(5, 1))).not.toEqual(e0);
    expect(permutation(1000, shuffleKey(6, 0))).not.toEqual(e0);
    expect(epochBatches(1000, 1000, { seed: 5, epoch: 0 })[0]).toEqual(e0);
    expect([...epochBatches(10, 4, { shuffle: false })].map((b) => [...b])).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    const dropped = epochBatches(10, 4, { seed: 1, dropLast: true });
    expect(dropped.map((b) => b.length)).toEqual([4, 4]);
    expect(new Set(dropped.flatMap((b) => [...b])).size).toBe(8);
    expect(() => epochBatches(10, 0)).toThrow(ValueError);
    expect(() => epochBatches(-1, 3)).toThrow(ValueError);
  });

  it('follows the documented Philox mapping: key derive(root, shuffle, epoch), counter (block, 0, 0, 0), words 2k, 2k+1 per swap', () => {
    for (const [seed, epoch] of [[0, 0], [1234, 7], [2 ** 40 + 3, 2 ** 33]] as const)
      expect(shuffleKey(seed, epoch)).toEqual(derive(rootKey(seed), 'shuffle', epoch));
    // n = 2: one swap of position 1 with j = floor(u · 2), the top bit of word 0 (j = 0 swaps)
    for (let epoch = 0; epoch < 64; epoch++) {
      const bits = new Uint32Array(2);
      const key = derive(rootKey(1234), 'shuffle', epoch);
      philoxFill(bits, key, [0, 0, 0]);
      expect(permutation(2, key)[0]).toBe(bits[0]! >>> 31 === 0 ? 1 : 0);
      expect([...epochBatches(2, 2, { seed: 1234, epoch })[0]!]).toEqual([...permutation(2, key)]);
    }
    // n = 3: first swap j = floor(u0 · 3) with position 2, then j = floor(u1 · 2) with 1
    for (let epoch = 0; epoch < 64; epoch++) {
      const bits = new Uint32Array(4);
      const key = derive(rootKey(99), 'shuffle', epoch);
      philoxFill(bits, key, [0, 0, 0]);
      const u = (k: number) => (bits[2 * k]! * 2 ** 21 + (bits[2 * k + 1]! >>> 11)) / 2 ** 53;
      const p = [0, 1, 2];
      const j0 = Math.floor(u(0) * 3);
      [p[2], p[j0]] = [p[j0]!, p[2]!];
      const j1 = Math.floor(u(1) * 2);
      [p[1], p[j1]] = [p[j1]!, p[1]!];
      expect([...permutation(3, key)]).toEqual(p);
    }
  });

  it('is uniform over permutations (χ² over 4! orders, 24000 epochs)', () => {
    const counts = new Map<string, number>();
    for (let e = 0; e < 24000; e++) {
      const key = permutation(4, shuffleKey(7, e)).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(24);
    let chi2 = 0;
    for (const c of counts.values()) chi2 += (c - 1000) ** 2 / 1000;
    // 23 degrees of freedom: P(χ² > 55) ≈ 2e-4; a biased shuffle (j in [0, i)) scores thousands
    expect(chi2).toBeLessThan(55);
  });

  it('gatherRows copies the rows in index order and refuses indices out of range', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i);
    expect([...gatherRows(data, 3, [3, 0, 3])]).toEqual([9, 10, 11, 0, 1, 2, 9, 10, 11]);
    expect(() => gatherRows(data, 3, [4])).toThrow(ValueError);
    expect(() => gatherRows(data, 5, [0])).toThrow(ValueError);
  });
});

describe('DeviceDataset', () => {
  it('uploads once, then only the index tensor per batch; batches equal the host gather', () => {
    const s = loadMnist(mnist.dir, { split: 'test', limit: 500 });
    const backend = cpuBackend('fast');
    const before = memory().tensors;
    const ds = new DeviceDataset(s.images, [784], s.labels, { backend });
    expect(ds.x.shape).toEqual([500, 784]);
    expect(ds.y.shape).toEqual([500]);
    expect(backend.counters.bytesTransferred).toBe(500 * 784 * 4 + 500 * 4);
    let uploaded = backend.counters.bytesTransferred;
    const seen = new Int32Array(500);
    for (const b of ds.epoch(64, { seed: 3, epoch: 2 })) {
      // since the previous batch's read-backs: this batch's i32 indices and nothing else
      expect(backend.counters.bytesTransferred - uploaded).toBe(4 * b.indices.length);
      expect(b.x.shape).toEqual([b.indices.length, 784]);
      expectSameArray(b.x.dataSync(), gatherRows(s.images, 784, b.indices));
      expect([...b.y.dataSync()]).toEqual([...b.indices].map((i) => s.labels[i]));
      for (const i of b.indices) seen[i]!++;
      b.x.dispose();
      b.y.dispose();
      uploaded = backend.counters.bytesTransferred;
    }
    expect(seen.every((c) => c === 1)).toBe(true);
    ds.dispose();
    expect(memory().tensors).toBe(before);
    expect(() => ds.batch(Int32Array.of(0))).toThrow();
  });

  it('takes [n, k] float targets and refuses a y that does not fit x', () => {
    const x = Float32Array.from({ length: 6 * 2 }, (_, i) => i);
    const y = Float32Array.from({ length: 6 * 3 }, (_, i) => -i);
    const ds = new DeviceDataset(x, [2], y, { backend: cpuBackend('reference') });
    const b = ds.batch(Int32Array.of(5, 1));
    expect(b.y.shape).toEqual([2, 3]);
    expect([...b.y.dataSync()]).toEqual([-15, -16, -17, -3, -4, -5]);
    expect(() => ds.batch(Int32Array.of(6))).toThrow(ValueError);
    expect(() => new DeviceDataset(x, [2], new Int32Array(7))).toThrow(DataError);
    ds.dispose();
  });
});

// npm test (scripts/test.sh) installs dataset-fashion-mnist; under CI=true a missing folder
// fails instead of skipping, and elsewhere the skip says why.
const haveFashion = existsSync(FASHION_MNIST_DEBIAN_DIR) || process.env.CI === 'true';
const noFashion = `skipped: no ${FASHION_MNIST_DEBIAN_DIR} (apt-get install dataset-fashion-mnist; npm test installs it)`;
if (!haveFashion) console.warn(`[data] Fashion-MNIST suite ${noFashion}`);
describe.skipIf(!haveFashion)(`Fashion-MNIST (Debian dataset-fashion-mnist)${haveFashion ? '' : ` — ${noFashion}`}`, () => {
  it('train 60000 and test 10000 at 28×28, 6000 / 1000 per class', () => {
    const train = loadFashionMnist(undefined, { split: 'train' });
    expect([train.n, train.rows, train.cols]).toEqual([60000, 28, 28]);
    expect(histogram(train.labels)).toEqual(new Array(10).fill(6000));
    const test = loadFashionMnist(FASHION_MNIST_DEBIAN_DIR, { split: 'test' });
    expect([test.n, test.rows, test.cols]).toEqual([10000, 28, 28]);
    expect(histogram(test.labels)).toEqual(new Array(10).fill(1000));
    expect(range(test.images)).toEqual([0, 1]);
  });
});
