// The opt-in 'wasm' CPU backend kind (cpuBackend('wasm')): the fast kernels with f32 matmuls
// on the WebAssembly SIMD128 GEMM. Every GEMM-family primitive against the oracle backend
// within the f32 rounding bound of a k-ordered f32 sum, |Δ| ≤ (K + 3)·2⁻²⁴·Σ_k|a·b| + max|bias|·2⁻²⁴
// + 2·2⁻²⁴·|result| (products, sums, the masked A's rounding, the bias add, and both sides'
// final rounding to f32), the bound computed by the oracle
// itself on |A|·|B| with the same mask; f64 products and the other primitives (dropout,
// random bits) equal to the oracle bit for bit as on 'fast'; convolution (on the Wasm GEMM
// too) within the same kind of bound. Determinism: the same bits twice, a model batch equal to
// its models trained alone, bit for bit; a short BB-α run close to the same run on 'fast'.
//
// The compiled module is generated (scripts/build-wasm.mjs); a fresh clone that skipped that
// step gets it built here before the backend is imported.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DeviceError, ValueError, keyFor, type CpuBackend, type DType, type HostArray } from '@alphadrop/core';
import { Prim, allocHost, shapeRules, splitU64, type CpuOperand, type DropoutParams, type PrimParams } from '@alphadrop/core/backend';
import { buildModel, buildModelBatch, copyMember, fit, fitBatch, mlpArchitecture, Optimizer, type Module } from '@alphadrop/nn';
import { bbAlphaLoss, mcForward } from '@alphadrop/bbalpha';
import { mcForwardBatch } from '../../packages/bbalpha/src/mc.js';
import { bbAlphaLossBatch } from '../../packages/bbalpha/src/loss-batch.js';
import { prng } from '../helpers/gradcheck.js';
import { ensureWasmKernels, expectClose } from '../helpers/wasm.js';

type Core = typeof import('@alphadrop/core');
let core: Core;
let wasm: CpuBackend;
let oracle: CpuBackend;
let previous: ReturnType<Core['getBackend']>;

beforeAll(async () => {
  ensureWasmKernels();
  core = await import('@alphadrop/core');
  previous = core.getBackend();
  wasm = core.cpuBackend('wasm');
  oracle = core.cpuBackend('reference');
}, 120_000);
afterAll(() => core.setBackend(previous));

const U = 2 ** -24;

/** Seeded values in [-2, 2) stored in `dtype`. */
function operand(shape: number[], dtype: DType, seed: number): CpuOperand {
  const r = prng(seed);
  const storage = allocHost(dtype, shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < storage.length; i++) storage[i] = 4 * r() - 2;
  return { storage, shape, dtype };
}

const absOf = (o: CpuOperand): CpuOperand => ({ ...o, storage: o.storage.map(Math.abs) as HostArray });

function run<P extends Prim>(b: CpuBackend, prim: P, ops: CpuOperand[], params: PrimParams[P]): HostArray {
  return b.execute(prim, ops, params, shapeRules[prim](ops, params));
}

/** Matmul or FusedMatmul on 'wasm' against the oracle, within the f32 bound (see the header); exact for f64. */
function checkGemm<P extends Prim.Matmul | Prim.FusedMatmul>(prim: P, ops: CpuOperand[], params: PrimParams[P], K: number, what: string): HostArray {
  const got = run(wasm, prim, ops, params);
  const want = run(oracle, prim, ops, params);
  if (ops[0]!.dtype === 'f64') {
    expectClose(got, want, null, `${what} (f64: the JS GEMM, exact)`);
    return got;
  }
  // Σ|a·b| through the oracle (same mask, no bias, no activation), plus |bias|
  const absParams = prim === Prim.FusedMatmul ? { ...params, bias: false, activation: 'none' } : params;
  const scale = run(oracle, prim, [absOf(ops[0]!), absOf(ops[1]!)], absParams as PrimParams[P]);
  const bias = prim === Prim.FusedMatmul && ops[2] ? ops[2].storage : [];
  const biasMax = Array.from(bias, Math.abs).reduce((m, v) => Math.max(m, v), 0);
  const tol = Float64Array.from(scale, (s, i) => (K + 3) * U * s + biasMax * U + 2 * U * Math.abs(want[i]!));
  expectClose(got, want, tol, what);
  return got;
}

const mat = (r: number, c: number, t: boolean) => (t ? [c, r] : [r, c]);
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]] as const;

describe("cpuBackend('wasm')", () => {
  it("is its own kind: named 'cpu-wasm', fast and reference unchanged", () => {
    expect(wasm.name).toBe('cpu-wasm');
    expect(core.cpuBackend('fast').name).toBe('cpu');
    expect(core.cpuBackend().name).toBe('cpu');
    expect(oracle.name).toBe('cpu-reference');
    expect(core.wasmAvailable()).toBe(true);
    expect(() => core.cpuBackend('gpu' as 'fast')).toThrow(ValueError);
  });

  it('throws a DeviceError saying why where WebAssembly SIMD is unavailable', async () => {
    vi.resetModules();
    vi.doMock('../../packages/core/src/cpu/wasm/module.js', async (load) => ({
      ...(await load<object>()),
      wasmAvailable: () => false,
      wasmUnavailableReason: () => 'CompileError: invalid opcode 0xfd',
    }));
    try {
      const fresh = await import('../../packages/core/src/default-backend.js');
      const errors = await import('../../packages/core/src/errors.js');
      expect(() => fresh.cpuBackend('wasm')).toThrow(errors.DeviceError);
      expect(() => fresh.cpuBackend('wasm')).toThrow(/SIMD128.*invalid opcode 0xfd/);
      expect(fresh.cpuBackend('fast').name).toBe('cpu');
    } finally {
      vi.doUnmock('../../packages/core/src/cpu/wasm/module.js');
      vi.resetModules();
    }
    expect(DeviceError).toBeDefined();
  });
});

describe('matmul on wasm', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [7, 5, 3], [13, 17, 19], [33, 1, 9], [1, 29, 31], [4, 8, 4], [65, 63, 67], [9, 11, 300], [5, 3, 0], [0, 3, 5],
  ];
  for (const [tA, tB] of TRANSPOSES)
    it(`odd shapes, transA=${tA} transB=${tB}, f32 within rounding, f64 exact`, () => {
      let s = 1;
      for (const [M, N, K] of shapes)
        for (const dtype of ['f32', 'f64'] as const)
          checkGemm(Prim.Matmul, [operand(mat(M, K, tA), dtype, s++), operand(mat(K, N, tB), dtype, s++)], { transA: tA, transB: tB }, K, `${M}×${K}×${N} ${dtype}`);
    });

  it('the MLP shapes, forward and backward', () => {
    const mm = (a: number[], b: number[], transA: boolean, transB: boolean, K: number) =>
      checkGemm(Prim.Matmul, [operand(a, 'f32', a[0]!), operand(b, 'f32', b[1]! + 7)], { transA, transB }, K, `${a}·${b}`);
    mm([1280, 784], [784, 100], false, false, 784);
    mm([1280, 100], [100, 10], false, false, 100);
    mm([1280, 784], [1280, 100], true, false, 1280); // Xᵀ·dY
    mm([1280, 10], [100, 10], false, true, 10); // dY·Wᵀ
  });

  it('batched, broadcast batch dims, shared B', () => {
    const cases: [number[], number[], boolean, boolean, number][] = [
      [[3, 5, 7], [3, 7, 4], false, false, 7],
      [[2, 1, 5, 7], [3, 7, 6], false, false, 7],
      [[2, 3, 5, 7], [7, 6], false, false, 7], // folded into one GEMM
      [[2, 3, 7, 5], [6, 7], true, true, 7], // shared B, not folded
      [[5, 7], [4, 7, 3], false, false, 7], // A broadcast
      [[1, 3, 9, 2], [4, 1, 9, 5], true, false, 9],
    ];
    let s = 50;
    for (const [a, b, transA, transB, K] of cases)
      checkGemm(Prim.Matmul, [operand(a, 'f32', s++), operand(b, 'f32', s++)], { transA, transB }, K, `${a}·${b}`);
  });

  it('specials propagate as in the oracle', () => {
    const a: CpuOperand = { storage: Float32Array.from([NaN, 1, 2, 3, Infinity, -1]), shape: [2, 3], dtype: 'f32' };
    const b: CpuOperand = { storage: Float32Array.from([1, 0, 0, 1, 2, 2]), shape: [3, 2], dtype: 'f32' };
    const p = { transA: false, transB: false };
    expectClose(run(wasm, Prim.Matmul, [a, b], p), run(oracle, Prim.Matmul, [a, b], p), null, 'NaN and Inf');
  });
});

describe('fusedMatmul on wasm: dropout mask while A is copied in, bias + ReLU epilogue', () => {
  const drop = (keepProb: number, step = 0): DropoutParams => ({ keepProb, key: keyFor(7, 'trainDropout'), counter: [2, ...splitU64('test', 'step', step)] });
  const fm = (transA: boolean, transB: boolean, bias: boolean, activation: 'none' | 'relu', dropout: DropoutParams | null) => ({ transA, transB, bias, activation, dropout });

  it('every transpose, odd sizes, with and without mask, bias and ReLU', () => {
    let s = 100;
    for (const [tA, tB] of TRANSPOSES)
      for (const [M, N, K] of [[13, 17, 19], [1, 5, 3], [33, 10, 1], [6, 9, 260]] as const) {
        const a = () => operand(mat(M, K, tA), 'f32', s++);
        const b = () => operand(mat(K, N, tB), 'f32', s++);
        const bias = () => operand([N], 'f32', s++);
        const what = `${M}×${K}×${N} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`;
        checkGemm(Prim.FusedMatmul, [a(), b(), bias()], fm(tA, tB, true, 'relu', drop(0.5, 3)), K, `${what} relu mask 0.5`);
        checkGemm(Prim.FusedMatmul, [a(), b()], fm(tA, tB, false, 'none', drop(0.8)), K, `${what} mask 0.8`);
        checkGemm(Prim.FusedMatmul, [a(), b(), bias()], fm(tA, tB, true, 'none', null), K, `${what} bias`);
        checkGemm(Prim.FusedMatmul, [a(), b()], fm(tA, tB, false, 'relu', drop(1)), K, `${what} relu keep 1`);
        const f64 = [operand(mat(M, K, tA), 'f64', s++), operand(mat(K, N, tB), 'f64', s++), operand([N], 'f64', s++)];
        checkGemm(Prim.FusedMatmul, f64, fm(tA, tB, true, 'relu', drop(0.5)), K, `${what} f64`);
      }
  });

  it('the MLP layer shapes, batched and broadcast batches, batched bias, K = 0', () => {
    const f = (a: number[], b: number[], bias: number[] | null, p: ReturnType<typeof fm>, K: number) =>
      checkGemm(Prim.FusedMatmul, [operand(a, 'f32', 200 + a[0]!), operand(b, 'f32', 300 + b[0]!), ...(bias ? [operand(bias, 'f32', 400)] : [])], p, K, `${a}·${b} ${JSON.stringify(p)}`);
    f([1280, 784], [784, 100], [100], fm(false, false, true, 'relu', drop(0.5, 2 ** 32 + 250880)), 784);
    f([1280, 784], [1280, 100], null, fm(true, false, false, 'none', drop(0.5, 250880)), 1280); // dW of the first layer
    f([3, 5, 7], [3, 7, 4], [4], fm(false, false, true, 'relu', drop(0.5)), 7);
    f([2, 3, 5, 7], [7, 4], [4], fm(false, false, true, 'none', drop(0.5)), 7);
    f([2, 1, 7, 5], [3, 7, 4], null, fm(true, false, false, 'relu', drop(0.5)), 7);
    f([3, 5, 7], [3, 7, 4], [3, 1, 4], fm(false, false, true, 'relu', drop(0.5)), 7); // a bias per batch (model batches)
    f([4, 0], [0, 3], [3], fm(false, false, true, 'relu', null), 0);
  });

  it('the same bits twice, and for rows computed on their own', () => {
    const a = operand([37, 300], 'f32', 1), b = operand([300, 21], 'f32', 2), bias = operand([21], 'f32', 3);
    const p = fm(false, false, true, 'relu', drop(0.5, 9));
    const first = run(wasm, Prim.FusedMatmul, [a, b, bias], p);
    run(wasm, Prim.Matmul, [operand([700, 900], 'f32', 4), operand([900, 300], 'f32', 5)], { transA: false, transB: false }); // grows the memory
    expectClose(run(wasm, Prim.FusedMatmul, [a, b, bias], p), first, null, 'second call');
    // a batch of the same A twice over a shared B: each half equals the lone product
    const a2: CpuOperand = { storage: Float32Array.from([...a.storage, ...a.storage]), shape: [2, 37, 300], dtype: 'f32' };
    const pm = { transA: false, transB: false };
    const lone = run(wasm, Prim.Matmul, [a, b], pm);
    const both = run(wasm, Prim.Matmul, [a2, b], pm);
    expectClose(both.subarray(0, lone.length), lone, null, 'batch half 0');
    expectClose(both.subarray(lone.length), lone, null, 'batch half 1');
  });
});

describe('the rest of the table on wasm', () => {
  it('dropout and random bits equal the oracle bit for bit (the masks are unchanged)', () => {
    const x = operand([129, 77], 'f32', 9);
    const d: PrimParams[Prim.Dropout] = { keepProb: 0.5, key: keyFor(2024, 'trainDropout'), counter: [1, 5, 0] };
    expectClose(run(wasm, Prim.Dropout, [x], d), run(oracle, Prim.Dropout, [x], d), null, 'dropout');
    const rb: PrimParams[Prim.RandomBits] = { shape: [1280, 100], key: keyFor(3, 'user'), counter: [0, 1, 2], kind: 'bits', dtype: 'u32' };
    expectClose(run(wasm, Prim.RandomBits, [], rb), run(oracle, Prim.RandomBits, [], rb), null, 'random bits');
  });

  it('conv2d forward and both gradients within f32 rounding (the Wasm GEMM; test/core/cpu-wasm-conv.test.ts has the geometries)', () => {
    const g = { stride: [2, 1] as [number, number], padding: [1, 2] as [number, number], dilation: [1, 1] as [number, number] };
    const x = operand([2, 3, 10, 7], 'f32', 11), w = operand([4, 3, 3, 2], 'f32', 12);
    // the k-ordered f32 bound of the GEMM tests, on at most 128 terms, Σ|terms| from the oracle on |operands|
    const near = <P extends Prim.Conv2d | Prim.Conv2dInputGrad | Prim.Conv2dFilterGrad>(prim: P, ops: CpuOperand[], p: PrimParams[P], what: string) => {
      const want = run(oracle, prim, ops, p);
      const scale = run(oracle, prim, ops.map(absOf), p);
      expectClose(run(wasm, prim, ops, p), want, Float64Array.from(want, (v, i) => 131 * U * scale[i]! + 2 * U * Math.abs(v)), what);
    };
    near(Prim.Conv2d, [x, w], g, 'conv2d');
    const yShape = shapeRules[Prim.Conv2d]([x, w], g).shape as number[];
    const dy = operand(yShape, 'f32', 13);
    near(Prim.Conv2dInputGrad, [dy, w], { ...g, inputShape: [2, 3, 10, 7] }, 'input grad');
    near(Prim.Conv2dFilterGrad, [x, dy], { ...g, filterShape: [4, 3, 3, 2] }, 'filter grad');
  });
});

// ---------------------------------------------------------------- training on wasm

/** Deterministic 3-class pseudo-data: model g's n rows of d inputs. */
function classData(g: number, n: number, d: number): { x: Float32Array; y: Int32Array } {
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (let j = 0; j < d; j++) {
      const v = Math.sin(1.3 * i + 0.7 * j + g) * 1.5;
      x[i * d + j] = v;
      t += (j + 1) * v;
    }
    const u = Math.tanh(t / d);
    y[i] = u < -0.3 ? 0 : u < 0.3 ? 1 : 2;
  }
  return { x, y };
}

function params(m: Module): Map<string, Float32Array> {
  return new Map(m.namedParameters().map(([k, t]) => [k, Float32Array.from(t.dataSync())]));
}

describe('training on wasm', () => {
  it('a model batch (fitBatch) equals each model trained alone by fit, bit for bit', async () => {
    core.setBackend(core.cpuBackend('wasm'));
    const n = 30, d = 5, C = 3, K = 3;
    const arch = mlpArchitecture([d, 8, 8, C], { dropout: 0.5 });
    const seeds = [7, 11];
    const alphas = [1, 0];
    const sets = seeds.map((_, g) => classData(g + 5, n, d));
    const G = seeds.length;
    const batch = buildModelBatch(arch, seeds);
    const opt = new Optimizer(batch, { rule: 'sgd', lr: 0.1, weightDecay: 1e-3 });
    const xs = new Float32Array(G * n * d), ys = new Int32Array(G * n);
    sets.forEach((s, g) => (xs.set(s.x, g * n * d), ys.set(s.y, g * n)));
    await fitBatch(batch, {
      epochs: 2, batchSize: 8, seeds, optimizer: opt, data: { x: core.tensor(xs, [G * n, d]), y: core.tensor(ys, [G * n]) },
      loss: (m, xb, yb, ctx) => core.sum(bbAlphaLossBatch(mcForwardBatch(m, xb, K, ctx), yb, alphas)),
    });
    for (let g = 0; g < G; g++) {
      const lone = buildModel(arch, { seed: seeds[g]! });
      const o = new Optimizer(lone, { rule: 'sgd', lr: 0.1, weightDecay: 1e-3 });
      await fit(lone, {
        epochs: 2, batchSize: 8, seed: seeds[g], optimizer: o, data: { x: core.tensor(sets[g]!.x, [n, d]), y: core.tensor(sets[g]!.y, [n]) }, log: 'silent',
        loss: (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, K, ctx), yb, alphas[g]!),
      });
      const member = buildModel(arch, { seed: 0 });
      copyMember(batch, g, member);
      const want = params(lone), got = params(member);
      for (const [name, w] of want) expect(Array.from(got.get(name)!), `model ${g} ${name}`).toEqual(Array.from(w));
      // and training moved it: the comparison is not of two untouched initialisations
      const [first, w0] = [...want][0]!;
      expect(Array.from(w0)).not.toEqual(Array.from(params(buildModel(arch, { seed: seeds[g]! })).get(first)!));
    }
  });

  it('a short BB-α run ends close to the same run on fast, bit-identical when repeated, and its loss falls', async () => {
    const n = 64, d = 12, C = 3, K = 4;
    const arch = mlpArchitecture([d, 32, 32, C], { dropout: 0.5 });
    const { x, y } = classData(1, n, d);
    const train = async (kind: 'fast' | 'wasm') => {
      core.setBackend(core.cpuBackend(kind));
      const model = buildModel(arch, { seed: 21 });
      const o = new Optimizer(model, { rule: 'adam', lr: 1e-2 });
      const r = await fit(model, {
        epochs: 4, batchSize: 16, seed: 21, optimizer: o, data: { x: core.tensor(x, [n, d]), y: core.tensor(y, [n]) }, log: 'silent',
        loss: (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, K, ctx), yb, 0.5),
      });
      const p = params(model);
      model.dispose();
      return { p, losses: r.history.map((h) => h.loss!) };
    };
    const fast = await train('fast');
    const onWasm = await train('wasm');
    const again = await train('wasm');
    expect(onWasm.losses.at(-1)!).toBeLessThan(onWasm.losses[0]! * 0.9);
    onWasm.losses.forEach((l, e) => expect(Math.abs(l - fast.losses[e]!), `epoch ${e} loss`).toBeLessThanOrEqual(1e-4 * Math.abs(fast.losses[e]!)));
    let maxDiff = 0;
    for (const [name, w] of fast.p) {
      const got = onWasm.p.get(name)!;
      expect(Array.from(again.p.get(name)!), `${name} repeated`).toEqual(Array.from(got));
      w.forEach((v, i) => {
        const diff = Math.abs(got[i]! - v);
        maxDiff = Math.max(maxDiff, diff);
        if (!(diff <= 1e-4 * (1 + Math.abs(v)))) expect.fail(`${name}[${i}]: wasm ${got[i]}, fast ${v}`);
      });
    }
    // the Wasm GEMM did run: f32 sums are not the fast backend's f64 ones everywhere
    expect(maxDiff).toBeGreaterThan(0);
  });
});
