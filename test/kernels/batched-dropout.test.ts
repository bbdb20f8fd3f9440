// Model-batched layers on real WebGPU: dropout with one Philox key per slice (G models in one
// program, each with its own masks) and the linear's per-batch bias [G, 1, N], against the
// CPU oracle (core referenceKernels) and against masks built here from Philox directly.
// Covers the dropout primitive (slices of a multiple of 4 elements and not, fewer than 4),
// every GEMM path that reads the mask or the bias (mask pass, mask applied while loading A
// on the scalar and the vec4 tile, split-K's reduction, the unsplit epilogue), the chooser's
// plans through the backend, gradients through the autodiff, and a traced step whose
// replays rebuild the key table's uniform block with each step's counter.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getBackend, keyFor, linear, mul, setBackend, stepBound, sum, tensor, trace, valueAndGradsOf, type Backend, type Tensor,
} from '@alphadrop/core';
import {
  keepThreshold, philoxFill, Prim, referenceKernels, shapeRules, splitU64, dropout, type CpuOperand, type DropoutParams,
} from '@alphadrop/core/backend';
import type { GpuPlan } from '@alphadrop/kernels/modules';
import { bindPlan, runOnce } from '../../bench/harness/ladder.js';
import { dropoutBlock, keySlicesOf, MAX_KEY_SLICES } from '../../packages/kernels/src/kernels/mask.js';
import { linearFusion } from '../../packages/kernels/src/kernels/fused.js';
import { matmulBuild, matmulGeometry, SCALAR_64, V4_64x64, V4_64x128, type MatmulChoice } from '../../packages/kernels/src/kernels/matmul.js';
import type { WebGpuBackend } from '@alphadrop/kernels';
import { firstMismatch, getTestBackend, gpuCase, rand, reference, runOn } from '../helpers/webgpu.js';

let gpu: WebGpuBackend;
beforeAll(async () => {
  gpu = await getTestBackend();
});
afterAll(async () => (await getTestBackend()).device.destroy());

const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/** Model g's dropout key: derived, one per model. */
const modelKeys = (G: number, seed = 5) => Array.from({ length: G }, (_, g) => keyFor(seed + 1000 * g, 'trainDropout'));

/** Dropout layer 2 at `step` with one key per model (keys[0] also the unkeyed key, as the oracle ignores it when keys are given). */
const keyed = (G: number, keepProb = 0.5, step = 3, seed = 5): DropoutParams => {
  const keys = modelKeys(G, seed);
  return { keepProb, key: keys[0]!, keys, counter: [2, ...splitU64('batched-dropout.test', 'step', step)] };
};

/**
 * The mask built here, independently of core's and the kernels' code: slice g of n / G
 * elements draws philoxFill under keys[g] from counter 0, exactly as an unbatched tensor
 * of that size would.
 */
function maskedHere(x: Float32Array, d: DropoutParams): Float32Array {
  const keys = d.keys ?? [d.key];
  const S = x.length / keys.length;
  const words = new Uint32Array(x.length);
  keys.forEach((k, g) => philoxFill(words.subarray(g * S, (g + 1) * S), k, d.counter));
  const thr = keepThreshold(d.keepProb);
  return x.map((v, i) => (words[i]! < thr ? v / d.keepProb : 0));
}

describe('dropout with per-slice keys', () => {
  // keep 1/2: the scale 2 is exact, so GPU and oracle agree bit for bit, values included
  const cases: [string, number[], number][] = [
    ['G = 1 (the one-key pipeline with keys[0])', [7, 13], 1],
    ['G = 3, slices of 35 (odd)', [3, 7, 5], 3],
    ['G = 5, slices of 24 (multiple of 4: vec4)', [5, 4, 6], 5],
    ['G = 5, slices of 6 (blocks cross slices)', [5, 2, 3], 5],
    ['G = 3, slices of 2 (shorter than a Philox block)', [3, 2], 3],
    ['G = 4, slices of 16000', [4, 320, 50], 4],
  ];
  for (const [name, shape, G] of cases) {
    it(`${name}: bit-identical to the oracle and to the mask built from Philox here`, async () => {
      const d = keyed(G);
      const x = await runOn(reference, () => rand(shape, 17));
      const want = maskedHere(x.values as Float32Array, d);
      const oracle = await runOn(reference, () => dropout(rand(shape, 17), d));
      const got = await runOn(gpu, () => dropout(rand(shape, 17), d));
      expect(firstMismatch(oracle.values, want, true)).toBeNull();
      expect(firstMismatch(got.values, want, true)).toBeNull();
      // a real mask: some kept, some dropped
      const kept = Array.from(got.values).filter((v) => v !== 0).length;
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(got.values.length);
    });
  }
  gpuCase('keep 0.7 (inexact scale), G = 6, slices of 77', () => dropout(rand([6, 7, 11], 18), keyed(6, 0.7)), { rtol: 1e-6, atol: 0 });

  it('the keys matter: G slices under one repeated key equal G unbatched masks of one slice; distinct keys differ', async () => {
    const one = keyFor(9, 'trainDropout');
    const d = keyed(3);
    const same = { ...d, key: one, keys: [one, one, one] as const };
    const x = () => rand([3, 4, 9], 19);
    const repeated = (await runOn(gpu, () => dropout(x(), same))).values;
    const slice0 = (await runOn(gpu, () => dropout(rand([36], 19), { ...d, key: one, keys: undefined }))).values;
    // slice g of x under `one` is the unbatched mask of a 36-element tensor: same words, x's own values
    const xs = (await runOn(reference, x)).values as Float32Array;
    for (let g = 0; g < 3; g++) {
      const want = maskedHere(xs.subarray(g * 36, (g + 1) * 36), { ...d, key: one, keys: undefined });
      expect(firstMismatch(repeated.slice(g * 36, (g + 1) * 36), want, true), `slice ${g}`).toBeNull();
    }
    expect(firstMismatch(slice0, maskedHere(xs.subarray(0, 36), { ...d, key: one, keys: undefined }), true)).toBeNull();
    const distinct = (await runOn(gpu, () => dropout(x(), d))).values;
    expect(firstMismatch(distinct, repeated, true)).not.toBeNull();
  });

  it('validates the slicing: keys that do not divide the tensor, too many keys', () => {
    expect(keySlicesOf(keyed(3), 12, 'test')).toEqual({ count: 3, size: 4 });
    expect(keySlicesOf(keyed(1), 12, 'test')).toBeUndefined();
    expect(() => keySlicesOf(keyed(5), 12, 'test')).toThrow(/equal slices/);
    const many = { ...keyed(1), keys: Array.from({ length: MAX_KEY_SLICES + 1 }, () => [1, 2] as const) };
    expect(() => keySlicesOf(many, (MAX_KEY_SLICES + 1) * 2, 'test')).toThrow(/at most/);
    // the block: 8 words of coordinates, then the keys two per vec4 (the last one padded)
    const block = dropoutBlock(keyed(3));
    const keys = modelKeys(3);
    expect(block.length).toBe(16);
    expect(Array.from(block.subarray(8, 14))).toEqual(keys.flat());
    expect(Array.from(block.subarray(0, 2))).toEqual(keys[0]);
  });
});

// ---------------------------------------------------------------- the GEMM's paths, one by one

interface Problem {
  aShape: number[];
  bShape: number[];
  transA: boolean;
  bias: boolean;
  relu: boolean;
  dropout: DropoutParams | null;
}

/** Deterministic values in [-1, 1) (mulberry32). */
function values(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return -1 + 2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  });
}

/**
 * Runs `p` on the plan of an explicit choice (bench harness) and compares with the oracle:
 * |got − want| ≤ 1e-5 · Σ|a·b| (+|bias|), the scale of an f32 dot product's rounding.
 * Returns the plan's program names.
 */
async function checkPlan(p: Problem, choice: MatmulChoice, seed: number): Promise<string[]> {
  const outShape = shapeRules[Prim.FusedMatmul](
    [p.aShape, p.bShape].map((shape) => ({ shape, dtype: 'f32' as const })),
    { transA: p.transA, transB: false, bias: false, activation: 'none', dropout: null },
  ).shape;
  const biasShape = [...outShape.slice(0, -2), 1, outShape.at(-1)!];
  const a = values(size(p.aShape), seed);
  const b = values(size(p.bShape), seed + 1);
  const bias = values(size(biasShape), seed + 2);
  const params = { transA: p.transA, transB: false, bias: p.bias, activation: p.relu ? ('relu' as const) : ('none' as const), dropout: p.dropout };
  const shapes = [p.aShape, p.bShape, biasShape];
  const ops = (xs: Float32Array[]): CpuOperand[] => xs.map((x, i) => ({ storage: x, shape: shapes[i]!, dtype: 'f32' as const }));
  const inputs = [a, b, ...(p.bias ? [bias] : [])];
  const out = { shape: outShape, dtype: 'f32' as const };
  const want = referenceKernels[Prim.FusedMatmul](ops(inputs), params, out) as Float32Array;
  const scale = referenceKernels[Prim.FusedMatmul](ops(inputs.map((x) => x.map(Math.abs))), { ...params, activation: 'none' }, out);
  const specs = shapes.map((shape) => ({ shape, dtype: 'f32' as const }));
  const fusion = linearFusion(p.bias ? specs : specs.slice(0, 2), params);
  const geometry = matmulGeometry(specs[0]!, specs[1]!, p.transA, false, out);
  const { plan } = matmulBuild(geometry, fusion, choice);
  const got = await runPlan(plan, inputs, size(outShape), p.dropout ? dropoutBlock(p.dropout) : undefined);
  for (let i = 0; i < want.length; i++) {
    const ok = got[i] === want[i] || Math.abs(got[i]! - want[i]!) <= 1e-5 * scale[i]! + 1e-30;
    if (!ok) expect.fail(`entry ${i}: got ${got[i]}, want ${want[i]} (scale ${scale[i]}) on ${plan.programs.map((x) => x.name).join(' + ')}`);
  }
  return plan.programs.map((x) => x.name);
}

async function runPlan(plan: GpuPlan, inputs: Float32Array[], outWords: number, uniform?: Uint32Array): Promise<Float32Array> {
  const bound = await bindPlan(gpu.device, plan, { inputs, outWords, ...(uniform ? { uniforms: [uniform] } : {}) });
  try {
    return new Float32Array(await runOnce(gpu.device, bound));
  } finally {
    bound.destroy();
  }
}

const v3 = (parts: number, maskPass: boolean): MatmulChoice => ({ version: 'v3', config: SCALAR_64, parts, maskPass });
const v4 = (parts: number, maskPass: boolean, config = V4_64x64): MatmulChoice => ({ version: 'v4', config, parts, maskPass });

describe('keyed dropout and batched bias on every GEMM path', () => {
  it('scalar tile, mask in the load, slices of 91, batched bias + ReLU in the epilogue', async () => {
    const names = await checkPlan({ aShape: [3, 13, 7], bShape: [3, 7, 10], transA: false, bias: true, relu: true, dropout: keyed(3, 0.6) }, v3(1, false), 1);
    expect(names).toEqual(['linear/tile64/dropout3/bias-batched/relu']);
  });
  it('scalar tile, mask in the load, 3 parts, batched bias + ReLU in the scalar reduction (N = 10)', async () => {
    const names = await checkPlan({ aShape: [2, 40, 200], bShape: [2, 200, 10], transA: false, bias: true, relu: true, dropout: keyed(2) }, v3(3, false), 2);
    expect(names[1]).toMatch(/split-sum$/);
  });
  it('vec4 tile, mask in the vec4 load (slices of 2240: one Philox block per vec4), batched bias in the vec4 epilogue', async () => {
    await checkPlan({ aShape: [3, 70, 32], bShape: [3, 32, 68], transA: false, bias: true, relu: false, dropout: keyed(3, 0.7) }, v4(1, false), 3);
  });
  it('vec4 tile, mask in the vec4 load with slices of 30 (a vec4 straddles two keys)', async () => {
    // 4 keys over A [6, 5, 4]: the slices do not follow A's batch
    await checkPlan({ aShape: [6, 5, 4], bShape: [6, 4, 8], transA: false, bias: true, relu: true, dropout: keyed(4) }, v4(1, false), 4);
  });
  it('mask pass over slices of 4290 (S % 4 = 2), vec4 tile in 2 parts, batched bias + ReLU in the vec4 reduction', async () => {
    const names = await checkPlan({ aShape: [3, 33, 130], bShape: [3, 130, 64], transA: false, bias: true, relu: true, dropout: keyed(3) }, v4(2, true), 5);
    expect(names).toHaveLength(3);
    expect(names[0]).toMatch(/\/mask$/);
  });
  it('mask pass (vec4, slices of 4000), vec4 64×128 in 4 parts, batched bias without ReLU', async () => {
    await checkPlan({ aShape: [2, 20, 400], bShape: [2, 400, 132], transA: false, bias: true, relu: false, dropout: keyed(2, 0.9) }, v4(4, true, V4_64x128), 6);
  });
  it('dW form (transA): the mask over A as stored, slices of 270, in the load and by the mask pass, split', async () => {
    const p: Problem = { aShape: [4, 30, 9], bShape: [4, 30, 12], transA: true, bias: false, relu: false, dropout: keyed(4) };
    await checkPlan(p, v3(1, false), 7);
    await checkPlan(p, v3(2, true), 7);
  });
  it('batched bias without dropout: unsplit scalar, split vec4', async () => {
    await checkPlan({ aShape: [5, 9, 140], bShape: [5, 140, 12], transA: false, bias: true, relu: true, dropout: null }, v3(1, false), 8);
    await checkPlan({ aShape: [5, 9, 140], bShape: [5, 140, 12], transA: false, bias: true, relu: true, dropout: null }, v4(2, false), 8);
  });
  it('a bias whose batch holds one row is the shared row', () => {
    const specs = [[1, 4, 3], [1, 3, 5], [1, 1, 5]].map((shape) => ({ shape, dtype: 'f32' as const }));
    const f = linearFusion(specs, { transA: false, transB: false, bias: true, activation: 'none', dropout: null });
    expect(f.biasBatch).toBeUndefined();
  });
});

// ---------------------------------------------------------------- through the backend (the chooser's plans)

describe('model-batched linear through the backend', () => {
  const G = 4, R = 320, K = 50, N = 64;
  const tol = { rtol: 1e-4, atol: 1e-5 };
  for (const relu of [false, true])
    gpuCase(`[${G},${R},${K}]·[${G},${K},${N}] + [${G},1,${N}], keyed dropout, relu ${relu ? 'on' : 'off'}`, () =>
      linear(rand([G, R, K], 30), rand([G, K, N], 31), rand([G, 1, N], 32), { dropout: keyed(G), activation: relu ? 'relu' : 'none' }), tol);
  gpuCase('dW form: linear(a, dz, null, { transA, keyed dropout }) → [4, 50, 64]', () => linear(rand([G, R, K], 33), rand([G, R, N], 34), null, { transA: true, dropout: keyed(G) }), tol);
  gpuCase('1000 wide: [2,128,1000]·[2,1000,100] + [2,1,100], keyed dropout, relu', () =>
    linear(rand([2, 128, 1000], 35), rand([2, 1000, 100], 36), rand([2, 1, 100], 37), { dropout: keyed(2, 0.8), activation: 'relu' }), { rtol: 1e-4, atol: 1e-4 });
  gpuCase('1000 wide out: [2,64,100]·[2,100,1000] + [2,1,1000], keyed dropout', () =>
    linear(rand([2, 64, 100], 38), rand([2, 100, 1000], 39), rand([2, 1, 1000], 40), { dropout: keyed(2) }), tol);

  it('those products ran the mask pass, split-K with the batched bias in the reduction, and the unsplit epilogue', () => {
    const names = [...gpu.dispatchesByKernel.keys()];
    expect(names.some((n) => /\/dropout4\/bias-batched.*\/mask$/.test(n))).toBe(true);
    expect(names.some((n) => /\/s\d+\/dropout2\/bias-batched\/relu\/split-sum$/.test(n))).toBe(true);
    expect(names.some((n) => /^linear\/[^/]+\/dropout4\/bias-batched$/.test(n))).toBe(true);
    expect(names.some((n) => /\/s\d+\/dropout4\/tA\/split-sum$/.test(n))).toBe(true);
  });
});

// ---------------------------------------------------------------- gradients and traced replays

/** f's value and gradients with respect to every argument on `backend` (floats as `dtype`). */
async function gradsOn(backend: Backend, dtype: 'f32' | 'f64', xs: readonly Float32Array[], shapes: readonly number[][], f: (...ts: Tensor[]) => Tensor) {
  const prev = getBackend();
  setBackend(backend);
  try {
    const ts = xs.map((x, i) => tensor(Array.from(x), shapes[i]!, { dtype }));
    const { value, grads } = valueAndGradsOf(() => f(...ts), ts);
    const out = { value: (await value.data())[0]!, grads: await Promise.all(grads.map(async (g) => Array.from(await g.data()))) };
    for (const t of [...ts, value, ...grads]) t.dispose();
    return out;
  } finally {
    setBackend(prev);
  }
}

describe('gradients of a model-batched linear with keyed dropout', () => {
  const cases: [string, number, number, number, number][] = [
    ['slices of 180', 3, 20, 9, 6],
    ['slices of 63 (S % 4 = 3)', 3, 7, 9, 5],
    ['G = 4, split-K backward (dW over 320 rows)', 4, 320, 50, 64],
  ];
  for (const [name, G, R, K, N] of cases) {
    it(`${name}: value and dx, dW, dbias on WebGPU match the CPU's float64 backward`, async () => {
      const shapes = [[G, R, K], [G, K, N], [G, 1, N], [G, R, N]];
      const xs = shapes.map((s, i) => values(size(s), 50 + i));
      const d = keyed(G, 0.6, 11);
      // Σ c ⊙ relu(linear): c makes every output's cotangent different
      const f = (x: Tensor, w: Tensor, b: Tensor, c: Tensor) => sum(mul(linear(x, w, b, { dropout: d, activation: 'relu' }), c));
      const want = await gradsOn(reference, 'f64', xs, shapes, f);
      const got = await gradsOn(gpu, 'f32', xs, shapes, f);
      expect(Math.abs(got.value - want.value)).toBeLessThanOrEqual(1e-4 + 1e-4 * Math.abs(want.value));
      for (let i = 0; i < 3; i++) {
        const peak = Math.max(...want.grads[i]!.map(Math.abs));
        expect(peak, `gradient ${i} is not all zero`).toBeGreaterThan(0);
        expect(firstMismatch(got.grads[i]!, want.grads[i]!, false, { rtol: 1e-3, atol: 1e-4 * peak }), `gradient ${i}`).toBeNull();
      }
      // dropout bites: the gradient of x has zeros exactly where the mask drops (row sums of
      // W·c are nonzero), at the positions the oracle's mask drops them
      const zerosGot = got.grads[0]!.map((v) => (v === 0 ? 1 : 0));
      const zerosWant = want.grads[0]!.map((v) => (v === 0 ? 1 : 0));
      expect(zerosGot).toEqual(zerosWant);
    });
  }
});

describe('a traced step with keyed dropout', () => {
  it('replays rebuild the key table with each step\'s counter: every step equals the oracle at that step', async () => {
    const G = 3;
    const keys = modelKeys(G, 40);
    const at = (step: number): DropoutParams => ({ keepProb: 0.5, key: keys[0]!, keys, counter: [1, step, 0] });
    const shapes = [[G, 10, 6], [G, 6, 8], [G, 1, 8]];
    const xs = shapes.map((s, i) => values(size(s), 70 + i));
    const step = (s: number, [x, w, b]: readonly Tensor[]) => [linear(x!, w!, b!, { dropout: stepBound(at(s), at), activation: 'relu' })];
    const prev = getBackend();
    setBackend(gpu);
    const ins = xs.map((x, i) => tensor(x, shapes[i]!));
    const t = trace(step, { read: () => [], write: () => {} });
    try {
      const replayed: boolean[] = [];
      for (let s = 0; s < 5; s++) {
        const r = t.run(s, ins);
        replayed.push(r.replayed);
        const got = await r.outputs[0]!.data();
        r.outputs.forEach((o) => o.dispose());
        const want = await runOn(reference, () => step(s, xs.map((x, i) => tensor(x, shapes[i]!)))[0]!);
        expect(firstMismatch(got, want.values, false, { rtol: 1e-5, atol: 1e-6 }), `step ${s}`).toBeNull();
      }
      expect(t.reason).toBeNull();
      expect(replayed).toEqual([false, false, true, true, true]);
    } finally {
      t.dispose();
      ins.forEach((x) => x.dispose());
      setBackend(prev);
    }
  });
});
