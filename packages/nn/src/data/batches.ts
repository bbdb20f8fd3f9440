// Deterministic shuffling and minibatching. An epoch's order is a pure function of a key,
// derive(root, 'shuffle', epoch): a Fisher–Yates shuffle driven by core's Philox-4x32-10 with
//   counter = (block, 0, 0, 0), block = 0, 1, 2, …
// Swap k (position n-1-k, k = 0 … n-2) reads words 2k and 2k+1 under that key as a 53-bit
// uniform u and picks j = floor(u · (n - k)); the bias of that map is below n / 2^53.
// The same order comes out on every machine and in the browser.
// DeviceDataset uploads a data set once and gathers minibatches on the device.

import {
  ValueError, DataError, gather, getBackend, keyFor, type Backend, type HostArray, type Key, type Tensor,
} from '@alphadrop/core';
import { fromHost, philoxFill } from '@alphadrop/core/backend';

function assertCount(where: string, name: string, v: number, min: number): void {
  if (!Number.isSafeInteger(v) || v < min) throw new ValueError(where, `${name}: an integer ≥ ${min}`, String(v));
}

/** The shuffling key of one epoch of a run with this seed. */
export function shuffleKey(seed: number, epoch: number): Key {
  return keyFor(seed, 'shuffle', epoch);
}

/** A permutation of 0 … n-1, a pure function of the key. */
export function permutation(n: number, key: Key): Int32Array {
  assertCount('permutation', 'n', n, 0);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  if (n < 2) return perm;
  const bits = new Uint32Array(2 * (n - 1));
  philoxFill(bits, key, [0, 0, 0]);
  for (let k = 0; k < n - 1; k++) {
    const i = n - 1 - k;
    // word 2k gives the high 32 bits, the top 21 of word 2k+1 the low ones: u in [0, 1)
    const u = (bits[2 * k]! * 2097152 + (bits[2 * k + 1]! >>> 11)) / 9007199254740992;
    const j = Math.floor(u * (i + 1));
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}

export interface EpochOptions {
  /** Run seed; the order's key is shuffleKey(seed, epoch); default 0. */
  seed?: number;
  /** Epoch number: each epoch gets its own order; default 0. */
  epoch?: number;
  /** Shuffle (default true) or keep 0 … n-1 in order. */
  shuffle?: boolean;
  /** Drop a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

/** Number of batches epochBatches returns. */
export function batchCount(n: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
}

/**
 * The minibatches of one epoch as index arrays: each index in 0 … n-1 appears exactly once
 * (dropLast may leave out up to batchSize - 1 of them).
 */
export function epochBatches(n: number, batchSize: number, opts: EpochOptions = {}): Int32Array[] {
  assertCount('epochBatches', 'n', n, 0);
  assertCount('epochBatches', 'batchSize', batchSize, 1);
  const { seed = 0, epoch = 0, shuffle = true, dropLast = false } = opts;
  assertCount('epochBatches', 'epoch', epoch, 0);
  let order: Int32Array;
  if (shuffle) order = permutation(n, shuffleKey(seed, epoch));
  else {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  }
  const count = batchCount(n, batchSize, dropLast);
  const out: Int32Array[] = [];
  for (let b = 0; b < count; b++) out.push(order.slice(b * batchSize, Math.min(n, (b + 1) * batchSize)));
  return out;
}

/** Rows `indices` of a row-major [rows, rowSize] array, in that order. */
export function gatherRows(data: Float32Array, rowSize: number, indices: ArrayLike<number>): Float32Array {
  assertCount('gatherRows', 'rowSize', rowSize, 1);
  if (data.length % rowSize !== 0)
    throw new ValueError('gatherRows', `a length that is a multiple of rowSize ${rowSize}`, String(data.length));
  const rows = data.length / rowSize;
  const out = new Float32Array(indices.length * rowSize);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!Number.isInteger(r) || r < 0 || r >= rows) throw new ValueError('gatherRows', `indices in [0, ${rows})`, `${r} at position ${i}`);
    out.set(data.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
  }
  return out;
}

export interface DeviceBatch {
  /** Inputs [m, ...rowShape]. */
  x: Tensor;
  /** Targets [m] or [m, k], the dtype of the targets given. */
  y: Tensor;
  /** The example indices of this batch (host copy). */
  indices: Int32Array;
}

/**
 * A data set held on a backend: x [n, ...rowShape] and y [n] or [n, k], uploaded once at
 * construction. Each minibatch uploads only its i32 index tensor (4·m bytes) and gathers
 * rows on the device with core `gather(x, idx, 0)`; the index tensor is disposed right
 * after (a gradient tape that saved it keeps its own reference). The caller owns the
 * batch tensors (dispose them, or run the step in tidy()), and the data set (dispose()).
 */
export class DeviceDataset {
  readonly x: Tensor;
  readonly y: Tensor;
  readonly n: number;
  readonly backend: Backend;

  /**
   * `x` is row-major with n rows of prod(rowShape) values; `y` has n or n·k entries (Int32
   * class labels or Float32 targets). Both are copied before upload, so the caller may keep
   * using its arrays.
   */
  constructor(x: Float32Array, rowShape: readonly number[], y: Int32Array | Float32Array, opts: { backend?: Backend } = {}) {
    this.backend = opts.backend ?? getBackend();
    const d = rowShape.reduce((a, b) => a * b, 1);
    if (!rowShape.every((s) => Number.isInteger(s) && s >= 1)) throw new ValueError('DeviceDataset', 'a row shape of positive integers', `[${rowShape.join(', ')}]`);
    if (x.length % d !== 0) throw new DataError('DeviceDataset', `x with a multiple of ${d} values (rows of [${rowShape.join(', ')}])`, `${x.length} values`);
    const n = x.length / d;
    if (n === 0 ? y.length !== 0 : y.length % n !== 0)
      throw new DataError('DeviceDataset', `y with n = ${n} or a multiple of n entries`, `${y.length} entries`);
    const yShape = n === 0 || y.length === n ? [n] : [n, y.length / n];
    this.n = n;
    this.x = fromHost(x.slice(), [n, ...rowShape], 'f32', this.backend);
    this.y = fromHost(y.slice() as HostArray, yShape, y instanceof Int32Array ? 'i32' : 'f32', this.backend);
  }

  /** The rows at `indices`, gathered on the device. */
  batch(indices: Int32Array): DeviceBatch {
    for (let i = 0; i < indices.length; i++) {
      const r = indices[i]!;
      if (r < 0 || r >= this.n) throw new ValueError('DeviceDataset.batch', `indices in [0, ${this.n})`, `${r} at position ${i}`);
    }
    const own = indices.slice();
    const idx = fromHost(own.slice(), [own.length], 'i32', this.backend);
    let x: Tensor | undefined;
    try {
      x = gather(this.x, idx, 0);
      return { x, y: gather(this.y, idx, 0), indices: own };
    } catch (err) {
      x?.dispose();
      throw err;
    } finally {
      idx.dispose();
    }
  }

  /** The minibatches of one epoch (see epochBatches), gathered lazily as iterated. */
  *epoch(batchSize: number, opts: EpochOptions = {}): Generator<DeviceBatch> {
    for (const indices of epochBatches(this.n, batchSize, opts)) yield this.batch(indices);
  }

  dispose(): void {
    this.x.dispose();
    this.y.dispose();
  }
}
