// Movement and index kernels on real WebGPU against the CPU oracle: reshape, permute,
// expand, slice, pad, concat (split over several programs past 7 inputs), gather,
// scatter-add and one-hot, over odd shapes, size-1 dims and every stored dtype.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  concat, expand, gather, oneHot, pad, permute, reshape, scatterAdd, slice, tensor, transpose, type DType,
  type HostArray,
} from '@alphadrop/core';
import { Prim, referenceKernels } from '@alphadrop/core/backend';
import { CONCAT_INPUTS_PER_PROGRAM, concatInputsPerProgram, concatPlan } from '../../packages/kernels/src/kernels/movement.js';
import { coversItsPrimitives, getTestBackend, gpuCase, rand, randBool, randInt } from '../helpers/webgpu.js';

beforeAll(async () => {
  await getTestBackend();
});

const EXACT = { rtol: 0, atol: 0 };

describe('reshape', () => {
  // The engine makes reshape a view (no kernel); the copy kernel is run directly here.
  for (const [from, to, dtype] of [
    [[6, 35], [5, 42], 'f32'],
    [[3, 1, 7], [21], 'i32'],
    [[2, 2, 3], [3, 1, 4], 'bool'],
  ] as const)
    it(`copy kernel ${JSON.stringify(from)} -> ${JSON.stringify(to)} ${dtype}`, async () => {
      const gpu = await getTestBackend();
      const x = dtype === 'bool' ? randBool(from, 1) : dtype === 'i32' ? randInt(from, 1, -9, 9) : rand(from, 1);
      const onGpu = tensor(await x.data(), from, { dtype, backend: gpu });
      const out = { shape: to, dtype: dtype as DType };
      const storage = gpu.execute(Prim.Reshape, [{ storage: onGpu.storage as never, shape: from, dtype }], { shape: to }, out);
      const got = await gpu.read(storage, dtype, onGpu.size);
      gpu.free(storage);
      const want: HostArray = referenceKernels[Prim.Reshape]([{ storage: await x.data(), shape: from, dtype }], { shape: to }, out);
      expect(Array.from(got)).toEqual(Array.from(want));
      onGpu.dispose();
    });
  gpuCase('view then compute', () => transpose(reshape(rand([6, 35], 2), [5, 42])), EXACT);
});

describe('permute', () => {
  gpuCase('2-D transpose [37, 53]', () => transpose(rand([37, 53], 1)), EXACT);
  gpuCase('[3, 5, 7] by [2, 0, 1]', () => permute(rand([3, 5, 7], 2), [2, 0, 1]), EXACT);
  gpuCase('[2, 3, 4, 5] by [0, 2, 3, 1] (NCHW -> NHWC)', () => permute(rand([2, 3, 4, 5], 3), [0, 2, 3, 1]), EXACT);
  gpuCase('size-1 dims [1, 5, 1, 3] by [3, 1, 0, 2]', () => permute(rand([1, 5, 1, 3], 4), [3, 1, 0, 2]), EXACT);
  gpuCase('identity of rank 1', () => permute(rand([11], 5), [0]), EXACT);
  gpuCase('i32 [4, 9] transpose', () => transpose(randInt([4, 9], 6, -100, 100)));
  gpuCase('bool [3, 2, 5] by [1, 2, 0]', () => permute(randBool([3, 2, 5], 7), [1, 2, 0]));
});

describe('expand', () => {
  gpuCase('[3, 1] -> [2, 3, 5]', () => expand(rand([3, 1], 1), [2, 3, 5]), EXACT);
  gpuCase('scalar -> [4, 7]', () => expand(tensor(2.5), [4, 7]), EXACT);
  gpuCase('[1, 7] -> [6, 7]', () => expand(rand([1, 7], 2), [6, 7]), EXACT);
  gpuCase('bool [2, 1, 3] -> [2, 4, 3]', () => expand(randBool([2, 1, 3], 3), [2, 4, 3]));
});

describe('slice', () => {
  gpuCase('[10, 13] at [2, 3] size [5, 7]', () => slice(rand([10, 13], 1), [2, 3], [5, 7]), EXACT);
  gpuCase('[4, 6, 5] middle of axis 1, the rest whole', () => slice(rand([4, 6, 5], 2), [0, 2, 0], [-1, 3, -1]), EXACT);
  gpuCase('a single element of [7, 9]', () => slice(rand([7, 9], 3), [6, 8], [1, 1]), EXACT);
  gpuCase('a column of [11, 4]', () => slice(rand([11, 4], 4), [0, 3], [11, 1]), EXACT);
  gpuCase('i32 tail of rank 1', () => slice(randInt([31], 5, -50, 50), [17]));
  gpuCase('bool [5, 5] at [1, 1] size [3, 2]', () => slice(randBool([5, 5], 6), [1, 1], [3, 2]));
});

describe('pad', () => {
  gpuCase('[5, 7] by [[1, 2], [0, 3]] with 0', () => pad(rand([5, 7], 1), [[1, 2], [0, 3]]), EXACT);
  gpuCase('[3, 4, 2] on every side with -1.5', () => pad(rand([3, 4, 2], 2), [[1, 1], [2, 0], [0, 3]], -1.5), EXACT);
  gpuCase('only before, rank 1', () => pad(rand([9], 3), [[4, 0]]), EXACT);
  gpuCase('no padding is a copy', () => pad(rand([3, 5], 4), [[0, 0], [0, 0]]), EXACT);
  gpuCase('i32 with 7', () => pad(randInt([4, 3], 5, -9, 9), [[2, 1], [1, 2]], 7));
  gpuCase('i32 with a fractional value truncates like the oracle', () => pad(randInt([2, 2], 6, -9, 9), [[1, 0], [0, 1]], -2.7));
  gpuCase('u32 with -1 wraps', () => pad(randInt([3], 7, 0, 9, 'u32'), [[1, 1]], -1));
  gpuCase('bool with 1', () => pad(randBool([2, 3], 8), [[1, 0], [0, 2]], 1));
  gpuCase('empty input: all fill', () => pad(tensor([], [0, 3]), [[2, 1], [0, 0]], 4), EXACT);
});

describe('concat', () => {
  gpuCase('two along axis 0', () => concat([rand([3, 5], 1), rand([4, 5], 2)], 0), EXACT);
  gpuCase('three along axis 1 of different widths', () => concat([rand([4, 1], 3), rand([4, 6], 4), rand([4, 3], 5)], 1), EXACT);
  gpuCase('last axis of rank 3', () => concat([rand([2, 3, 2], 6), rand([2, 3, 5], 7)], 2), EXACT);
  const nine = () => Array.from({ length: 9 }, (_, k) => rand([3, 1 + (k % 4), 2], 10 + k));
  gpuCase('nine inputs along axis 1 (two programs)', () => concat(nine(), 1), EXACT);
  gpuCase('nine inputs along axis 0', () => concat(Array.from({ length: 9 }, (_, k) => rand([1 + (k % 3), 5], 30 + k)), 0), EXACT);
  gpuCase('fifteen inputs with empty ones among them (three programs)', () =>
    concat(Array.from({ length: 15 }, (_, k) => (k % 5 === 2 ? tensor([], [2, 0]) : rand([2, 1 + (k % 3)], 50 + k))), 1), EXACT,
  );
  gpuCase('i32 stack-like along a new leading axis', () => concat([randInt([1, 7], 1, -5, 5), randInt([1, 7], 2, -5, 5), randInt([1, 7], 3, -5, 5)], 0));
  gpuCase('bool', () => concat([randBool([2, 3], 4), randBool([2, 2], 5)], 1));
  it('splits nine inputs into programs of at most 7 inputs writing disjoint slabs', () => {
    const inputs = Array.from({ length: 9 }, (_, k) => ({ shape: [3, 1 + (k % 4), 2], dtype: 'f32' as DType }));
    const total = inputs.reduce((n, x) => n + x.shape[1]!, 0);
    const plan = concatPlan(inputs, { axis: 1 }, { shape: [3, total, 2], dtype: 'f32' });
    expect(plan.programs.map((p) => p.bindings)).toEqual([
      ['in0', 'in1', 'in2', 'in3', 'in4', 'in5', 'in6', 'out'],
      ['in7', 'in8', 'out'],
    ]);
    expect(CONCAT_INPUTS_PER_PROGRAM).toBe(7);
  });
  it('binds as many inputs per program as the device allows (up to 32)', () => {
    const inputs = Array.from({ length: 13 }, (_, k) => ({ shape: [1 + (k % 4)], dtype: 'f32' as DType }));
    const total = inputs.reduce((n, x) => n + x.shape[0]!, 0);
    expect(concatInputsPerProgram(8)).toBe(7);
    expect(concatInputsPerProgram(16)).toBe(15);
    expect(concatInputsPerProgram(1 << 20)).toBe(32);
    expect(concatPlan(inputs, { axis: 0 }, { shape: [total], dtype: 'f32' }, concatInputsPerProgram(16)).programs).toHaveLength(1);
    expect(concatPlan(inputs, { axis: 0 }, { shape: [total], dtype: 'f32' }).programs).toHaveLength(2);
  });
});

describe('gather', () => {
  gpuCase('rows of [7, 5] with repeats', () => gather(rand([7, 5], 1), tensor([6, 0, 3, 3, 1], [5], { dtype: 'i32' }), 0), EXACT);
  gpuCase('axis 1 with a 2-D index tensor', () => gather(rand([4, 9, 3], 2), randInt([2, 5], 3, 0, 8), 1), EXACT);
  gpuCase('last axis', () => gather(rand([3, 11], 4), randInt([13], 5, 0, 10), 1), EXACT);
  gpuCase('a rank-0 index drops the axis', () => gather(rand([5, 3], 6), tensor(4, [], { dtype: 'i32' }), 0), EXACT);
  gpuCase('i32 values', () => gather(randInt([6, 2], 7, -99, 99), randInt([10], 8, 0, 5), 0));
  gpuCase('many outputs (embedding lookup 1000 x 17)', () => gather(rand([50, 17], 9), randInt([1000], 10, 0, 49), 0), EXACT);
  it('out-of-range indices give 0 on the GPU (the oracle throws a ValueError)', async () => {
    const gpu = await getTestBackend();
    const x = tensor([1, 2, 3, 4, 5, 6], [3, 2], { backend: gpu });
    const idx = tensor([2, -1, 3, 0, 1000000], [5], { dtype: 'i32', backend: gpu });
    const r = gather(x, idx, 0);
    expect(Array.from(await r.data())).toEqual([5, 6, 0, 0, 0, 0, 1, 2, 0, 0]);
    for (const t of [x, idx, r]) t.dispose();
  });
});

describe('scatterAdd (one invocation per output, fixed order)', () => {
  const TOL = { rtol: 1e-6, atol: 1e-6 };
  gpuCase('rows with duplicates', () => scatterAdd(rand([6, 3], 1), tensor([3, 0, 3, 1, 3, 0], [6], { dtype: 'i32' }), 0, [4, 3]), TOL);
  gpuCase('axis 1 with a 2-D index tensor', () => scatterAdd(rand([2, 2, 2, 3], 2), randInt([2, 2], 3, 0, 4), 1, [2, 5, 3]), TOL);
  gpuCase('600 indices into 10 rows (three index tiles)', () => scatterAdd(rand([600, 3], 4), randInt([600], 5, 0, 9), 0, [10, 3]), { rtol: 1e-5, atol: 1e-5 });
  gpuCase('700 outputs (several workgroups), 300 indices', () => scatterAdd(rand([300, 2], 6), randInt([300], 7, 0, 699), 0, [700, 2]), TOL);
  gpuCase('i32 exact', () => scatterAdd(randInt([9, 2], 8, -50, 50), randInt([9], 9, 0, 3), 0, [4, 2]));
  gpuCase('u32 along the last axis', () => scatterAdd(randInt([3, 5], 10, 0, 50, 'u32'), randInt([5], 11, 0, 1), 1, [3, 2]));
  gpuCase('no indices: zeros', () => scatterAdd(tensor([], [0, 3]), tensor([], [0], { dtype: 'i32' }), 0, [4, 3]), EXACT);
  it('out-of-range indices are dropped on the GPU (the oracle throws a ValueError)', async () => {
    const gpu = await getTestBackend();
    const upd = tensor([1, 2, 3, 4], [4], { backend: gpu });
    const idx = tensor([1, -1, 5, 1], [4], { dtype: 'i32', backend: gpu });
    const r = scatterAdd(upd, idx, 0, [3]);
    expect(Array.from(await r.data())).toEqual([0, 5, 0]);
    for (const t of [upd, idx, r]) t.dispose();
  });
});

describe('oneHot', () => {
  const labels = () => tensor([2, -1, 0, 4, 5, 1, 4], [7], { dtype: 'i32' });
  for (const dtype of ['f32', 'i32', 'u32', 'bool'] as const)
    gpuCase(`${dtype}, out-of-range labels give a zero row`, () => oneHot(labels(), 5, dtype));
  gpuCase('2-D labels, depth 1', () => oneHot(randInt([3, 4], 1, 0, 0), 1));
  gpuCase('1000 labels, depth 10', () => oneHot(randInt([1000], 2, 0, 9), 10));
  // 16,776,970 outputs: 65,536 workgroups of 256, past the 65,535 limit of one grid dimension (grid1d folds to 2-D)
  gpuCase('past 65535 workgroups: 1,677,697 labels, depth 10', () => oneHot(randInt([1677697], 3, -1, 10), 10));
});

coversItsPrimitives('movement');
