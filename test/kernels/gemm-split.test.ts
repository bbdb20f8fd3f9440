// The GEMM generator's split-K and mask-pass plans (matmul.ts matmulBuild) on real WebGPU
// against the CPU oracle (core referenceKernels[Prim.FusedMatmul], float64): split-K on the
// scalar and the vec4 tile with the epilogue (bias, ReLU) moved into the reduction, dropout
// applied while loading and by the mask pass, partial tiles and a partial last part, batches
// with either operand broadcast, NaN/Inf through the parts, the mask pass bit for bit against
// the CPU's mask, and the chooser's plans for the BB-α step's skinny products through the
// backend. Each plan is run by the bench ladder's harness (bench/harness/ladder.ts), which
// binds any GpuPlan (scratch buffers, per-program uniforms) on a GPUDevice.
import { beforeAll, describe, expect, it } from 'vitest';
import { keyFor, linear, matmul } from '@alphadrop/core';
import { Prim, referenceKernels, shapeRules, splitU64, type CpuOperand, type DropoutParams } from '@alphadrop/core/backend';
import type { GpuPlan } from '@alphadrop/kernels/modules';
import { bindPlan, runOnce } from '../../bench/harness/ladder.js';
import { maskPass, splitK, type MatmulGeometry } from '../../packages/kernels/src/kernels/gemm.js';
import { dropoutBlock } from '../../packages/kernels/src/kernels/fused.js';
import {
  chooseMatmul, matmulBuild, matmulGeometry, SCALAR_64, V4_64x128, V4_64x64, type MatmulChoice, type MatmulTile,
} from '../../packages/kernels/src/kernels/matmul.js';
import { getTestBackend, gpuCase, rand } from '../helpers/webgpu.js';

// The device layer's ticker lease (patched setImmediate) keeps dawn.node ticking for any
// await while the test device lives, so the harness's plain waits are safe here.
let device: GPUDevice;
beforeAll(async () => {
  device = (await getTestBackend()).device;
});

/** Deterministic values in [lo, hi) (mulberry32). */
function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  });
}

const drop = (keepProb: number, step: number): DropoutParams => ({ keepProb, key: keyFor(77, 'trainDropout'), counter: [1, ...splitU64('gemm-split.test', 'step', step)] });

interface Problem {
  /** Stored shapes: A [..., M, K] (or [..., K, M] with transA), B likewise, C [...batch, M, N]. */
  aShape: number[];
  bShape: number[];
  transA: boolean;
  transB: boolean;
  bias: boolean;
  relu: boolean;
  dropout: DropoutParams | null;
}

const size = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/** The oracle's C, and Σ|a·b| (+|bias|) per entry: the scale of an f32 sum's rounding error, from the oracle on |A|, |B|. */
function oracle(p: Problem, a: Float32Array, b: Float32Array, bias: Float32Array): { shape: number[]; want: Float64Array; scale: Float64Array } {
  const params = { transA: p.transA, transB: p.transB, bias: p.bias, activation: p.relu ? ('relu' as const) : ('none' as const), dropout: p.dropout };
  const ops = (xs: Float32Array[]): CpuOperand[] => xs.map((x, i) => ({ storage: x, shape: [p.aShape, p.bShape, [bias.length]][i]!, dtype: 'f32' as const }));
  const inputs = [a, b, ...(p.bias ? [bias] : [])];
  const out = shapeRules[Prim.FusedMatmul](ops(inputs), params);
  const want = Float64Array.from(referenceKernels[Prim.FusedMatmul](ops(inputs), params, out) as ArrayLike<number>);
  const abs = inputs.map((x) => x.map(Math.abs));
  const scale = Float64Array.from(referenceKernels[Prim.FusedMatmul](ops(abs), { ...params, activation: 'none' }, out) as ArrayLike<number>);
  return { shape: [...out.shape], want, scale };
}

function geometryOf(p: Problem, outShape: number[]): MatmulGeometry {
  return matmulGeometry({ shape: p.aShape, dtype: 'f32' }, { shape: p.bShape, dtype: 'f32' }, p.transA, p.transB, { shape: outShape, dtype: 'f32' });
}

async function runPlan(plan: GpuPlan, inputs: Float32Array[], outWords: number, uniform?: Uint32Array): Promise<Float32Array> {
  const bound = await bindPlan(device, plan, { inputs, outWords, ...(uniform ? { uniforms: [uniform] } : {}) });
  try {
    return new Float32Array(await runOnce(device, bound));
  } finally {
    bound.destroy();
  }
}

/** First entry where |got − want| > tol·scale (NaN only where NaN is wanted, infinities equal), or null. */
function firstBad(got: Float32Array, want: Float64Array, scale: Float64Array, tol = 1e-5): string | null {
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (!(Number.isFinite(g) && Number.isFinite(w) && Math.abs(g - w) <= tol * scale[i]! + 1e-30)) return `entry ${i}: got ${g}, want ${w} (scale ${scale[i]})`;
  }
  return null;
}

const tile = {
  v3: { version: 'v3', config: SCALAR_64 },
  v4: { version: 'v4', config: V4_64x64 },
  v4wide: { version: 'v4', config: V4_64x128 },
} satisfies Record<string, MatmulTile>;

/** Runs problem `p` with an explicit choice and compares with the oracle; returns the plan and the output for further checks. */
async function check(p: Problem, choice: MatmulChoice, seed: number, expectPrograms: number): Promise<{ got: Float32Array; plan: GpuPlan }> {
  const a = values(size(p.aShape), seed);
  const b = values(size(p.bShape), seed + 1);
  const bias = values(p.bias ? (p.transB ? p.bShape.at(-2)! : p.bShape.at(-1)!) : 1, seed + 2);
  const { shape, want, scale } = oracle(p, a, b, bias);
  const { plan } = matmulBuild(geometryOf(p, shape), { bias: p.bias, relu: p.relu, dropout: p.dropout !== null }, choice);
  // the plan really is the path under test: mask pass, GEMM, split reduction as asked
  expect(plan.programs.map((x) => x.name)).toHaveLength(expectPrograms);
  const got = await runPlan(plan, [a, b, ...(p.bias ? [bias] : [])], size(shape), p.dropout ? dropoutBlock(p.dropout) : undefined);
  expect(firstBad(got, want, scale)).toBeNull();
  return { got, plan };
}

describe('splitK', () => {
  it('cuts K into whole slices with a non-empty last part, or not at all', () => {
    expect(splitK(784, 8, 16)).toEqual({ split: 7, chunk: 112 });
    expect(splitK(78, 3, 16)).toEqual({ split: 3, chunk: 32 });
    expect(splitK(16, 4, 16)).toEqual({ split: 1, chunk: 0 });
    expect(splitK(1000, 1, 16)).toEqual({ split: 1, chunk: 0 });
    for (const [K, parts, tk] of [[100, 7, 16], [4608, 13, 16], [33, 2, 8], [1280, 16, 16]] as const) {
      const { split, chunk } = splitK(K, parts, tk);
      expect(chunk % tk).toBe(0);
      expect((split - 1) * chunk).toBeLessThan(K); // the last part is not empty
      expect(split * chunk).toBeGreaterThanOrEqual(K);
      expect(split).toBeLessThanOrEqual(parts);
    }
  });
});

describe('split-K on WebGPU against the oracle', () => {
  it('scalar tile, 3 parts, dropout in the load, bias and ReLU in the reduction, partial tiles and last part', async () => {
    const p: Problem = { aShape: [130, 200], bShape: [200, 70], transA: false, transB: false, bias: true, relu: true, dropout: drop(0.7, 2 ** 32 + 9) };
    const { got, plan } = await check(p, { ...tile.v3, parts: 3, maskPass: false }, 1, 2);
    expect(plan.programs[1]!.name).toMatch(/split-sum$/);
    // fixed-order reduction: a second run is bit-identical
    const again = await check(p, { ...tile.v3, parts: 3, maskPass: false }, 1, 2);
    expect(Array.from(again.got)).toEqual(Array.from(got));
  });
  it('scalar tile, dW form (transA), mask pass (scalar: A has 10050 elements) then 4 parts', async () => {
    const p: Problem = { aShape: [150, 67], bShape: [150, 33], transA: true, transB: false, bias: false, relu: false, dropout: drop(0.5, 3) };
    await check(p, { ...tile.v3, parts: 4, maskPass: true }, 2, 3);
  });
  it('vec4 tile 64×64, mask pass (vec4), 4 parts, bias and ReLU as vec4 in the reduction (N % 4 = 0)', async () => {
    const p: Problem = { aShape: [100, 300], bShape: [300, 132], transA: false, transB: false, bias: true, relu: true, dropout: drop(0.6, 11) };
    await check(p, { ...tile.v4, parts: 4, maskPass: true }, 3, 3);
  });
  it('vec4 tile 64×128, dropout in the vec4 load, 2 parts, bias without ReLU on N = 10 (scalar reduction)', async () => {
    const p: Problem = { aShape: [70, 256], bShape: [256, 10], transA: false, transB: false, bias: true, relu: false, dropout: drop(0.8, 5) };
    await check(p, { ...tile.v4wide, parts: 2, maskPass: false }, 4, 2);
  });
  it('vec4 tile, batch of 2 with B broadcast, transB, 3 parts, ReLU', async () => {
    const p: Problem = { aShape: [2, 40, 96], bShape: [36, 96], transA: false, transB: true, bias: true, relu: true, dropout: null };
    await check(p, { ...tile.v4, parts: 3, maskPass: false }, 5, 2);
  });
  it('scalar tile, batch of 3 with A broadcast, 2 parts, dropout on the shared A', async () => {
    const p: Problem = { aShape: [50, 64], bShape: [3, 64, 20], transA: false, transB: false, bias: false, relu: false, dropout: drop(0.5, 1) };
    await check(p, { ...tile.v3, parts: 2, maskPass: false }, 6, 2);
    await check(p, { ...tile.v3, parts: 2, maskPass: true }, 6, 3);
  });
  it('NaN and ±Inf in A and B reach C through the parts and the ReLU of the reduction', async () => {
    // M = 6, K = 96 (3 parts of 32 on the scalar tile), N = 5
    const [M, K, N] = [6, 96, 5];
    const a = values(M * K, 7);
    const b = values(K * N, 8);
    a[1 * K + 90] = NaN; // row 1, last part
    a[2 * K + 3] = Infinity; // row 2, first part
    a[3 * K + 40] = Infinity; // row 3, middle part, meets -Inf below
    a[3 * K + 70] = -Infinity;
    b[40 * N + 0] = 1; // keep the signs known: row 3 col 0 gets +Inf·1 and -Inf·b[70][0]
    b[70 * N + 0] = 1;
    const bias = values(N, 9);
    const p: Problem = { aShape: [M, K], bShape: [K, N], transA: false, transB: false, bias: true, relu: true, dropout: null };
    const { want, scale } = oracle(p, a, b, bias);
    const { plan } = matmulBuild(geometryOf(p, [M, N]), { bias: true, relu: true, dropout: false }, { ...tile.v3, parts: 3, maskPass: false });
    expect(plan.programs).toHaveLength(2);
    const got = await runPlan(plan, [a, b, bias], M * N);
    expect(firstBad(got, want, scale)).toBeNull();
    for (let j = 0; j < N; j++) expect(got[1 * N + j], `row 1 col ${j}`).toBeNaN();
    expect(got[3 * N + 0], 'Inf − Inf').toBeNaN();
    for (let j = 0; j < N; j++) expect([Infinity, 0]).toContain(got[2 * N + j]); // ±Inf, then ReLU
  });
});

describe('the mask pass, bit for bit', () => {
  for (const n of [4 * 333, 1001]) {
    it(`${n} elements (${n % 4 ? 'scalar, a partial last block' : 'vec4'}): kept exactly where the CPU's mask keeps`, async () => {
      const d = drop(0.5, 2 ** 33 + 7);
      const x = values(n, 10, 0.5, 1.5); // no zeros: a zero output means dropped
      const p = maskPass(n);
      const plan: GpuPlan = { programs: [{ name: 'mask', code: p.code, workgroups: p.workgroups, bindings: ['in0', 'out', 'uniform'] }] };
      const got = await runPlan(plan, [x], n, dropoutBlock(d));
      const want = referenceKernels[Prim.Dropout]([{ storage: x, shape: [n], dtype: 'f32' }], d, { shape: [n], dtype: 'f32' }) as ArrayLike<number>;
      const scale = Math.fround(1 / d.keepProb);
      let kept = 0;
      for (let i = 0; i < n; i++) {
        expect(got[i] === 0, `element ${i} kept`).toBe(want[i] === 0);
        if (want[i] !== 0) {
          kept++;
          expect(got[i]).toBe(Math.fround(x[i]! * scale));
        }
      }
      expect(kept).toBeGreaterThan(n / 4);
      expect(kept).toBeLessThan((3 * n) / 4);
    });
  }
});

describe("the chooser's plans for the BB-α step's products, through the backend", () => {
  // 1280 rows = 128 inputs × 10 samples; the small MLP's first layer, forward and weight gradient.
  const d = drop(0.5, 42);
  const fwd = { aShape: [1280, 784], bShape: [784, 100], transA: false, transB: false };
  const dW = { aShape: [1280, 784], bShape: [1280, 100], transA: true, transB: false };
  it('routes them to more than one program (split-K or mask pass)', () => {
    for (const [s, fusion] of [[fwd, { bias: true, relu: true, dropout: true }], [dW, { bias: false, relu: false, dropout: true }]] as const) {
      const g = matmulGeometry({ shape: s.aShape, dtype: 'f32' }, { shape: s.bShape, dtype: 'f32' }, s.transA, s.transB, { shape: [s.transA ? 784 : 1280, 100], dtype: 'f32' });
      const c = chooseMatmul(g, 49152, fusion);
      expect(matmulBuild(g, fusion, c).plan.programs.length, JSON.stringify(c)).toBeGreaterThan(1);
    }
  });
  const TOL = { rtol: 1e-4, atol: 1e-4 };
  gpuCase('linear 1280x784 · 784x100 + b, relu, dropout (forward)', () => linear(rand(fwd.aShape, 20), rand(fwd.bShape, 21), rand([100], 22), { activation: 'relu', dropout: d }), TOL);
  gpuCase('linear (1280x784)ᵀ · 1280x100, dropout (dW)', () => linear(rand(dW.aShape, 23), rand(dW.bShape, 24), null, { transA: true, dropout: d }), TOL);
  gpuCase('matmul 1280x784 · 784x100, no fusion', () => matmul(rand(fwd.aShape, 25), rand(fwd.bShape, 26)), TOL);
});
