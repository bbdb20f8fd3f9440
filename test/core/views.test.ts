// Views (core views.ts, tensor.ts viewOf) on the CPU backends: which slices and
// concatenations share storage (no kernel runs: the dispatch counter stays put) and which
// copy, the values either way, and the reference counting behind them: a root is freed once,
// after its last tensor and its last view, in either disposal order; live bytes and buffers
// count roots only. The WebGPU side (offset bindings, alignment) is test/kernels/views.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  add, concat, cpuBackend, getBackend, memory, reshape, setBackend, slice, sum, tensor, tidy, valueAndGradsOf,
  type Backend, type Tensor,
} from '@alphadrop/core';
import { DataHandle } from '@alphadrop/core/backend';
import { sliceRange } from '../../packages/core/src/views.js';

let prev: Backend;
let cpu: ReturnType<typeof cpuBackend>;
/** Storage arrays freed, with their free counts. */
let freed: Map<unknown, number>;

beforeEach(() => {
  prev = getBackend();
  cpu = cpuBackend('fast');
  freed = new Map();
  cpu.free = (s: unknown) => void freed.set(s, (freed.get(s) ?? 0) + 1);
  setBackend(cpu);
});
afterEach(() => setBackend(prev));

const iota = (n: number, shape: number[]) => tensor(Array.from({ length: n }, (_, i) => i), shape);
const vals = (t: Tensor) => Array.from(t.dataSync());
const isView = (t: Tensor) => t.handle.root !== null;
/** Dispatches `fn` costs on the CPU backend. */
const dispatches = (fn: () => void) => {
  const before = cpu.counters.dispatches;
  fn();
  return cpu.counters.dispatches - before;
};

describe('sliceRange: which slices are one contiguous range', () => {
  it.each([
    ['leading rows', [5, 4], [1, 0], [3, 4], { start: 4, count: 12 }],
    ['one row, part of it', [5, 4], [2, 1], [1, 2], { start: 9, count: 2 }],
    ['a flat piece', [100], [37], [20], { start: 37, count: 20 }],
    ['the whole tensor', [3, 2, 2], [0, 0, 0], [3, 2, 2], { start: 0, count: 12 }],
    ['a plane of a rank-3 tensor', [4, 3, 2], [2, 0, 0], [1, 3, 2], { start: 12, count: 6 }],
    ['size-1 leading axes, then a partial one', [1, 1, 9], [0, 0, 3], [1, 1, 4], { start: 3, count: 4 }],
  ])('%s', (_l, shape, begin, size, want) => expect(sliceRange(shape, begin, size)).toEqual(want));
  it.each([
    ['a column block', [5, 4], [0, 1], [5, 2]],
    ['two rows, part of each', [5, 4], [1, 0], [2, 3]],
    ['inner planes of two outer ones', [2, 3, 2], [0, 1, 0], [2, 1, 2]],
  ])('not: %s', (_l, shape, begin, size) => expect(sliceRange(shape, begin, size)).toBeNull());
});

describe('slices and concatenations on the CPU', () => {
  it('a contiguous slice is a view: no kernel, no new buffer, the same values as the copy', () => {
    const x = iota(20, [5, 4]);
    const m0 = memory();
    let v!: Tensor;
    expect(dispatches(() => (v = slice(x, [1, 0], [2, 4])))).toBe(0);
    expect(isView(v)).toBe(true);
    expect(vals(v)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(memory().buffers).toBe(m0.buffers);
    expect(memory().bytes).toBe(m0.bytes);
    // a view of a view: offsets add up, still one root
    const w = slice(reshape(v, [8]), [3], [4]);
    expect(w.handle.root).toBe(x.handle);
    expect(w.handle.offset).toBe(7);
    expect(vals(w)).toEqual([7, 8, 9, 10]);
    // used by a kernel, it reads its own elements only
    expect(vals(add(w, 1))).toEqual([8, 9, 10, 11]);
    for (const t of [x, v, w]) t.dispose();
  });

  it('a non-contiguous slice copies (one kernel), values as the oracle says', () => {
    const x = iota(20, [5, 4]);
    let c!: Tensor;
    expect(dispatches(() => (c = slice(x, [0, 1], [5, 2])))).toBe(1);
    expect(isView(c)).toBe(false);
    expect(vals(c)).toEqual([1, 2, 5, 6, 9, 10, 13, 14, 17, 18]);
    x.dispose();
    c.dispose();
  });

  it('concat of adjacent views of one storage, in order, is a view; out of order or of other storage it copies', () => {
    const x = iota(12, [12]);
    const [a, b, c] = [slice(x, [0], [5]), slice(x, [5], [3]), slice(x, [8], [4])];
    let joined!: Tensor, part!: Tensor, swapped!: Tensor, mixed!: Tensor;
    // all of x: the root itself, shared
    expect(dispatches(() => (joined = concat([a, b, c])))).toBe(0);
    expect(joined.handle).toBe(x.handle);
    expect(dispatches(() => (part = concat([b, c])))).toBe(0);
    expect(part.handle.root).toBe(x.handle);
    expect(vals(part)).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(dispatches(() => (swapped = concat([b, a])))).toBe(1);
    expect(vals(swapped)).toEqual([5, 6, 7, 0, 1, 2, 3, 4]);
    const other = iota(3, [3]);
    expect(dispatches(() => (mixed = concat([a, other])))).toBe(1);
    expect(vals(mixed)).toEqual([0, 1, 2, 3, 4, 0, 1, 2]);
    for (const t of [x, a, b, c, joined, part, swapped, mixed, other]) t.dispose();
  });

  it('concat along an inner axis of a [2, n] tensor copies even when the inputs are views', () => {
    const x = iota(8, [2, 4]);
    const [l, r] = [slice(x, [0, 0], [2, 2]), slice(x, [0, 2], [2, 2])]; // column blocks: copies
    let y!: Tensor;
    expect(dispatches(() => (y = concat([l, r], 1)))).toBe(1);
    expect(vals(y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const t of [x, l, r, y]) t.dispose();
  });

  it('concat of one tensor shares it; empty pieces do not break adjacency', () => {
    const x = iota(6, [6]);
    const [a, none, b] = [slice(x, [0], [2]), slice(x, [2], [0]), slice(x, [2], [4])];
    let one!: Tensor, joined!: Tensor;
    expect(dispatches(() => (one = concat([a])))).toBe(0);
    expect(one.handle).toBe(a.handle);
    expect(dispatches(() => (joined = concat([a, none, b])))).toBe(0);
    expect(joined.handle).toBe(x.handle);
    for (const t of [x, a, none, b, one, joined]) t.dispose();
  });
});

describe('reference counting: the root is freed once, after its last tensor and view', () => {
  for (const order of ['parent first', 'views first'] as const)
    it(`dispose the ${order}`, () => {
      const m0 = memory();
      const x = iota(64, [8, 8]);
      const root = x.storage;
      const bytes = memory().bytes - m0.bytes;
      expect(bytes).toBe(64 * 4);
      const views = tidy(() => {
        const v = [slice(x, [0, 0], [2, 8]), reshape(slice(x, [4, 0], [4, 8]), [32])];
        return [...v, concat([slice(v[1]!, [0], [8]), slice(v[1]!, [8], [8])])]; // views of views
      });
      expect(views.every(isView)).toBe(true);
      expect(memory().buffers - m0.buffers).toBe(1);
      expect(memory().bytes - m0.bytes).toBe(bytes); // views add no bytes
      const first = order === 'parent first' ? [x] : views;
      const last = order === 'parent first' ? views : [x];
      first.forEach((t) => t.dispose());
      expect(freed.size).toBe(0);
      expect(memory().bytes - m0.bytes).toBe(bytes); // still held
      // the views still read their elements
      if (order === 'parent first') expect(vals(views[0]!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
      last.slice(0, -1).forEach((t) => t.dispose());
      expect(freed.size).toBe(0);
      last[last.length - 1]!.dispose();
      expect([...freed.entries()]).toEqual([[root, 1]]); // the root's storage, once; never a view's
      expect(memory()).toMatchObject({ tensors: m0.tensors, buffers: m0.buffers, bytes: m0.bytes });
    });

  it('tidy keeps a returned view and frees the root with it', () => {
    const m0 = memory();
    const v = tidy(() => slice(iota(16, [4, 4]), [1, 0], [1, 4]));
    expect(vals(v)).toEqual([4, 5, 6, 7]);
    expect(memory().tensors - m0.tensors).toBe(1);
    expect(memory().bytes - m0.bytes).toBe(16 * 4);
    v.dispose();
    expect(freed.size).toBe(1);
    expect(memory()).toMatchObject({ tensors: m0.tensors, buffers: m0.buffers, bytes: m0.bytes });
  });

  it('gradients flow through viewed slices and concatenations', () => {
    tidy(() => {
      const x = iota(10, [10]);
      const { grads } = valueAndGradsOf(() => {
        const y = concat([slice(x, [2], [3]), slice(x, [5], [2])]); // adjacent: a view
        expect(isView(y)).toBe(true);
        return sum(add(y, y));
      }, [x]);
      expect(vals(grads[0]!)).toEqual([0, 0, 2, 2, 2, 2, 2, 0, 0, 0]);
    });
  });

  it('a view handle names its root and offset', () => {
    const x = iota(10, [10]);
    const v = slice(x, [4], [3]);
    expect(v.handle).toBeInstanceOf(DataHandle);
    expect(v.handle.root).toBe(x.handle);
    expect(v.handle.offset).toBe(4);
    expect(v.handle.bytes).toBe(12);
    x.dispose();
    v.dispose();
  });
});
