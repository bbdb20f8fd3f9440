// Reductions and matmul on real WebGPU against the CPU oracle. Reductions: sum, max and
// argmax over leading, middle, trailing, non-contiguous and all axes, through both
// strategies of reduce.ts (one invocation per output for many outputs or short reductions;
// one workgroup per output for long reductions with few outputs). Matmul: 2-D, batched,
// broadcast batch, every transpose combination, sizes 1, primes and non-multiples of the
// 64-wide tile, and one shape with many workgroups.
import { beforeAll, describe, it, expect } from 'vitest';
import { argmax, matmul, max, sum, tensor, type Tensor } from '@alphadrop/core';
import { coversItsPrimitives, getTestBackend, gpuCase, rand, randInt } from '../helpers/webgpu.js';

beforeAll(async () => {
  await getTestBackend();
});

// f32 sums accumulate in a different order (and precision) than the oracle's float64 loop.
const SUM_TOL = { rtol: 1e-5, atol: 2e-5 };

describe('sum', () => {
  gpuCase('axis 0 of [5, 7] (thread)', () => sum(rand([5, 7], 1), 0), SUM_TOL);
  gpuCase('last axis of [13, 9] (thread, trailing)', () => sum(rand([13, 9], 2), 1), SUM_TOL);
  gpuCase('middle axis of [3, 11, 4], keepDims', () => sum(rand([3, 11, 4], 3), 1, true), SUM_TOL);
  gpuCase('axes [0, 2] of [6, 5, 7] (non-contiguous)', () => sum(rand([6, 5, 7], 4), [0, 2]), SUM_TOL);
  gpuCase('all of [37, 53]: one output, 1961 long (workgroup)', () => sum(rand([37, 53], 5)), SUM_TOL);
  gpuCase('last axis of [3, 1000] (workgroup, trailing)', () => sum(rand([3, 1000], 6), 1), SUM_TOL);
  gpuCase('axis 0 of [700, 5] (workgroup, strided)', () => sum(rand([700, 5], 7), 0), SUM_TOL);
  gpuCase('axes [0, 1] of [40, 30, 3] (workgroup, 1200 long)', () => sum(rand([40, 30, 3], 8), [0, 1]), SUM_TOL);
  gpuCase('last axis of [5000, 3]: many outputs (thread)', () => sum(rand([5000, 3], 9), 1), SUM_TOL);
  gpuCase('axis 0 of [300, 4100]: 4100 outputs, 300 long (thread)', () => sum(rand([300, 4100], 10), 0), SUM_TOL);
  gpuCase('rank 0 and size-1 axes', () => sum(rand([1, 9, 1], 11), [0, 2]), SUM_TOL);
  gpuCase('i32 exact (workgroup)', () => sum(randInt([2, 777], 12, -1000, 1000), 1));
  gpuCase('u32 exact (thread)', () => sum(randInt([9, 17], 13, 0, 1000, 'u32'), 0));
  gpuCase('all of [300007]: split over 74 workgroups, then combined', () => sum(rand([300007], 14)), { rtol: 1e-5, atol: 1e-3 });
  gpuCase('last axis of [2, 150001] (split, two outputs)', () => sum(rand([2, 150001], 15), 1), { rtol: 1e-5, atol: 1e-3 });
  gpuCase('i32 exact (split)', () => sum(randInt([200003], 16, -1000, 1000)));
  gpuCase('a NaN or an Inf anywhere in a split sum', () => {
    const v = new Float32Array(3 * 100003).map((_, i) => Math.cos(i));
    v[54321] = NaN; // row 0
    v[200006 + 99999] = Infinity; // row 2, last chunk
    return sum(tensor(v, [3, 100003]), 1);
  }, { rtol: 1e-5, atol: 1e-3 });
});

describe('max', () => {
  gpuCase('last axis of [17, 23]', () => max(rand([17, 23], 1), 1), { rtol: 0, atol: 0 });
  gpuCase('axis 0 of [600, 7] (workgroup, strided)', () => max(rand([600, 7], 2), 0), { rtol: 0, atol: 0 });
  gpuCase('all of [50, 41] (workgroup)', () => max(rand([50, 41], 3)), { rtol: 0, atol: 0 });
  gpuCase('axes [1, 2] of [4, 3, 5], keepDims', () => max(rand([4, 3, 5], 4), [1, 2], true), { rtol: 0, atol: 0 });
  gpuCase('all negative, -Infinity present', () => max(tensor([-Infinity, -5, -3, -Infinity, -7, -1e30], [2, 3]), 1));
  gpuCase('NaN propagates (thread and workgroup)', () => {
    const v = Array.from({ length: 2 * 300 }, (_, i) => (i === 17 || i === 460 ? NaN : Math.sin(i)));
    return max(tensor(v, [2, 300]), 1);
  });
  gpuCase('all of [250001] (split), NaN in the last chunk', () => {
    const v = new Float32Array(250001).map((_, i) => Math.sin(i));
    v[249000] = NaN;
    return max(tensor(v, [250001]));
  });
  gpuCase('-Infinity only but one value (split)', () => {
    const v = new Float32Array(120000).fill(-Infinity);
    v[77777] = -3;
    return max(tensor(v, [2, 60000]), 1);
  });
  gpuCase('NaN propagates (thread, short rows)', () => max(tensor([1, NaN, 3, 4, 5, 6, NaN, 0, 2], [3, 3]), 1));
  gpuCase('i32 with negatives (workgroup)', () => max(randInt([3, 900], 5, -1e6, -10), 1));
  gpuCase('u32 above 2^31', () => max(randInt([7, 5], 6, 0, 4294967295, 'u32'), 0));
});

describe('argmax (first maximum)', () => {
  gpuCase('last axis of [13, 29]', () => argmax(rand([13, 29], 1), 1));
  gpuCase('axis 0 of [5, 8], keepDims', () => argmax(rand([5, 8], 2), 0, true));
  gpuCase('middle axis of [3, 7, 4]', () => argmax(rand([3, 7, 4], 3), 1));
  // integer-valued floats: many ties, the first index must win
  gpuCase('ties pick the first index (thread)', () => argmax(randInt([40, 11], 4, 0, 3, 'f32'), 1));
  gpuCase('ties pick the first index (workgroup, 2000 long)', () => argmax(randInt([3, 2000], 5, 0, 5, 'f32'), 1));
  gpuCase('axis 0 of [1000, 6] (workgroup, strided)', () => argmax(rand([1000, 6], 6), 0));
  gpuCase('i32 ties (workgroup)', () => argmax(randInt([2, 513], 7, -3, 3), 1));
  gpuCase('length-1 axis', () => argmax(rand([6, 1], 8), 1));
});

describe('matmul', () => {
  const TOL = { rtol: 1e-5, atol: 1e-5 };
  const mm = (a: Tensor, b: Tensor, transA = false, transB = false) => matmul(a, b, { transA, transB });
  // Every shape is its own pipeline, and a tiled matmul costs ~1-3 s of CPU to compile on
  // lavapipe: few shapes, each covering several awkward features at once.
  gpuCase('row · column, K prime: [1, 97] · [97, 1]', () => mm(rand([1, 97], 3), rand([97, 1], 4)), TOL);
  gpuCase('K = 1, two tiles of rows and columns: [67, 1] · [1, 71]', () => mm(rand([67, 1], 5), rand([1, 71], 6)), TOL);
  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const a = tA ? [37, 67] : [67, 37]; // M = 67, K = 37
    const b = tB ? [29, 37] : [37, 29]; // N = 29
    gpuCase(`transA ${tA}, transB ${tB}: 67x37 · 37x29`, () => mm(rand(a, 11), rand(b, 12), tA, tB), TOL);
  }
  gpuCase('batched, both transposed [2, 19, 17]ᵀ · [2, 23, 19]ᵀ', () => mm(rand([2, 19, 17], 15), rand([2, 23, 19], 16), true, true), TOL);
  gpuCase('broadcast batch [2, 1, 5, 7] · [3, 7, 4]', () => mm(rand([2, 1, 5, 7], 17), rand([3, 7, 4], 18)), TOL);
  gpuCase('rank-2 weight shared over a batch [4, 9, 11] · [11, 6]', () => mm(rand([4, 9, 11], 19), rand([11, 6], 20)), TOL);
  gpuCase('many workgroups: 300x200 · 200x150 (5x3 tiles)', () => mm(rand([300, 200], 23), rand([200, 150], 24)), { rtol: 1e-5, atol: 5e-5 });
  it('K = 0 gives zeros', async () => {
    const gpu = await getTestBackend();
    const r = matmul(tensor([], [3, 0], { backend: gpu }), tensor([], [0, 2], { backend: gpu }));
    expect(Array.from(await r.data())).toEqual([0, 0, 0, 0, 0, 0]);
    r.dispose();
  });
});

coversItsPrimitives('reduce-matmul');
