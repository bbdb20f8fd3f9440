// Views on real WebGPU: a contiguous slice or concatenation at an offset that meets
// minStorageBufferOffsetAlignment shares the buffer (no dispatch, no new buffer) and is
// bound and read from its offset; an unaligned one falls back to the copy kernel. The pooled
// buffer returns to the pool once, after its last tensor and view, in either disposal order,
// and memory() counts it once. The CPU side and the reference counting in general:
// test/core/views.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add, concat, getBackend, matmul, memory, mul, reshape, setBackend, slice, sum, tensor, tidy, type Tensor,
} from '@alphadrop/core';
import type { GpuStorage, WebGpuBackend } from '@alphadrop/kernels';
import { getTestBackend } from '../helpers/webgpu.js';

let gpu: WebGpuBackend;
/** Elements per aligned offset, for 4-byte elements. */
let align: number;
beforeAll(async () => {
  gpu = await getTestBackend();
  align = gpu.device.limits.minStorageBufferOffsetAlignment / 4;
});

function onGpu<T>(fn: () => T): T {
  const prev = getBackend();
  setBackend(gpu);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

const iota = (n: number, shape: number[]) => tensor(Array.from({ length: n }, (_, i) => i), shape, { backend: gpu });
const vals = async (t: Tensor) => Array.from(await t.data());
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const offsetOf = (t: Tensor) => (t.storage as GpuStorage).offset ?? 0;
const dispatches = (fn: () => void) => {
  const before = gpu.counters.dispatches;
  fn();
  return gpu.counters.dispatches - before;
};

describe('views on WebGPU', () => {
  it('the device allows 4-byte elements at the offsets the optimizer pads to (64 f32)', () => {
    expect(64 % align).toBe(0);
  });

  it('an aligned row of a [5, align] tensor is a view: no dispatch, read and bound from its offset', async () => {
    const x = iota(5 * align, [5, align]);
    let row!: Tensor;
    expect(dispatches(() => (row = onGpu(() => slice(x, [2, 0], [1, align]))))).toBe(0);
    expect(row.handle.root).toBe(x.handle);
    expect(offsetOf(row)).toBe(2 * align * 4);
    expect(await vals(row)).toEqual(range(2 * align, align));
    // bound at the offset by a kernel (elementwise), and by a matmul as its A operand
    const y = onGpu(() => add(row, 1));
    expect(await vals(y)).toEqual(range(2 * align + 1, align));
    const ones = tensor(Array(align).fill(1), [align, 1], { backend: gpu });
    const dot = onGpu(() => matmul(row, ones));
    expect(await vals(dot)).toEqual([range(2 * align, align).reduce((a, b) => a + b, 0)]);
    for (const t of [x, row, y, ones, dot]) t.dispose();
  });

  it('an unaligned slice copies (one dispatch) and is right', async () => {
    const x = iota(5 * 10, [5, 10]);
    let row!: Tensor;
    expect(dispatches(() => (row = onGpu(() => slice(x, [1, 0], [1, 10]))))).toBe(align === 10 ? 0 : 1);
    expect(row.handle.root).toBeNull();
    expect(await vals(row)).toEqual(range(10, 10));
    // the leading row starts at 0: always a view
    let first!: Tensor;
    expect(dispatches(() => (first = onGpu(() => slice(x, [0, 0], [2, 10]))))).toBe(0);
    expect(await vals(first)).toEqual(range(0, 20));
    for (const t of [x, row, first]) t.dispose();
  });

  it('a bool slice views the widened device storage (4 bytes an element)', async () => {
    const x = tensor(Array.from({ length: 3 * align }, (_, i) => (i % 3 === 0 ? 1 : 0)), [3, align], { dtype: 'bool', backend: gpu });
    const row = onGpu(() => slice(x, [1, 0], [1, align]));
    expect(row.handle.root).toBe(x.handle);
    expect(await vals(row)).toEqual(range(align, align).map((i) => (i % 3 === 0 ? 1 : 0)));
    x.dispose();
    row.dispose();
  });

  it('concat of adjacent aligned pieces is a view of their storage; bound by a reduction it sums them', async () => {
    const x = iota(4 * align, [4 * align]);
    const pieces = onGpu(() => [slice(x, [align], [align]), slice(x, [2 * align], [2 * align])]);
    let joined!: Tensor;
    expect(dispatches(() => (joined = onGpu(() => concat(pieces))))).toBe(0);
    expect(offsetOf(joined)).toBe(align * 4);
    expect(await vals(joined)).toEqual(range(align, 3 * align));
    const s = onGpu(() => sum(joined));
    expect(await s.item()).toBe(range(align, 3 * align).reduce((a, b) => a + b, 0));
    // the pieces of a flat buffer back together: the buffer itself
    const all = onGpu(() => tidy(() => concat([slice(x, [0], [align]), ...pieces])));
    expect(all.handle).toBe(x.handle);
    for (const t of [x, ...pieces, joined, s, all]) t.dispose();
  });

  for (const order of ['parent first', 'views first'] as const)
    it(`the buffer returns to the pool once, after the last of them (${order}); memory() counts it once`, async () => {
      gpu.flush();
      const m0 = memory();
      const released = new Map<GPUBuffer, number>();
      const release = gpu.pool.release.bind(gpu.pool);
      gpu.pool.release = (b: GPUBuffer) => {
        released.set(b, (released.get(b) ?? 0) + 1);
        release(b);
      };
      try {
        const x = iota(4 * align, [4, align]);
        const buffer = (x.storage as GpuStorage).buffer;
        const views = onGpu(() => tidy(() => [slice(x, [1, 0], [1, align]), reshape(slice(x, [2, 0], [2, align]), [2 * align])]));
        expect(memory().buffers - m0.buffers).toBe(1);
        expect(memory().bytes - m0.bytes).toBe(4 * align * 4);
        const [first, last] = order === 'parent first' ? [[x], views] : [views, [x]];
        first.forEach((t) => t.dispose());
        expect(released.size).toBe(0);
        if (order === 'parent first') {
          const twice = onGpu(() => tidy(() => mul(views[1]!, 2))); // still readable and bindable
          expect(await vals(twice)).toEqual(range(2 * align, 2 * align).map((v) => 2 * v));
          twice.dispose();
          released.clear();
        }
        last.forEach((t) => t.dispose());
        expect([...released.entries()].filter(([b]) => b === buffer)).toEqual([[buffer, 1]]);
        expect(memory()).toMatchObject({ tensors: m0.tensors, buffers: m0.buffers, bytes: m0.bytes });
      } finally {
        gpu.pool.release = release;
      }
    });
});
