// The Wasm kernels' Philox, dropout and threads. Philox words against the reference generator
// (random/philox.ts philoxFill) word for word, over lengths that end mid-block and mid-group;
// dropout against the oracle bit for bit (keep probabilities that are not f32 values, per-slice
// keys, non-finite inputs, odd lengths). Threads: with worker threads the GEMM, packing,
// Philox, dropout and a few BB-α training steps give the same bits as the caller alone, with
// more threads than cores too, and the workers demonstrably took pieces.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFor, type CpuBackend, type HostArray } from '@alphadrop/core';
import { Prim, philoxFill, shapeRules, type CpuOperand, type PrimParams } from '@alphadrop/core/backend';
import { buildModel, fit, mlpArchitecture, Optimizer } from '@alphadrop/nn';
import { bbAlphaLoss, mcForward } from '@alphadrop/bbalpha';
import { prng } from '../helpers/gradcheck.js';
import { ensureWasmKernels } from '../helpers/wasm.js';

type Core = typeof import('@alphadrop/core');
type WasmApi = typeof import('../../packages/core/src/cpu/wasm/index.js');
let core: Core;
let api: WasmApi;
let wasm: CpuBackend;
let oracle: CpuBackend;

beforeAll(async () => {
  ensureWasmKernels();
  core = await import('@alphadrop/core');
  api = await import('../../packages/core/src/cpu/wasm/index.js');
  wasm = core.cpuBackend('wasm');
  oracle = core.cpuBackend('reference');
}, 120_000);
afterAll(() => core.configureWasmThreads({ workers: 0 }));

function run<P extends Prim>(b: CpuBackend, prim: P, ops: CpuOperand[], params: PrimParams[P]): HostArray {
  return b.execute(prim, ops, params, shapeRules[prim](ops, params));
}

function f32(shape: number[], seed: number): CpuOperand {
  const r = prng(seed);
  const storage = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 4 * r() - 2);
  return { storage, shape, dtype: 'f32' };
}

/** Same length and the same bits (NaN payloads aside) at every index. */
function expectSameBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) expect.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
}

describe('Philox on the Wasm kernels', () => {
  it('equals the reference generator word for word', () => {
    const coords: [readonly [number, number], [number, number, number]][] = [
      [[0, 0], [0, 0, 0]],
      [keyFor(7, 'trainDropout'), [2, 0xffffffff, 123]],
      [[0xffffffff, 0x80000001], [0x80000000, 1, 0xfffffffe]],
    ];
    for (const [key, counter] of coords)
      for (const n of [1, 3, 4, 15, 16, 17, 63, 100, 4097, 100_003]) {
        const want = new Uint32Array(n);
        philoxFill(want, key, counter);
        const got = new Uint32Array(n);
        api.wasmPhiloxWords(got, n, key, counter);
        expectSameBits(got, want, `n = ${n}, key ${key}, counter ${counter}`);
      }
  });
});

describe('dropout on the Wasm kernels', () => {
  it('equals the oracle bit for bit: keep probabilities that are not f32 values, odd lengths, non-finite inputs', () => {
    for (const keepProb of [0.5, 0.9, 0.1, 1 / 3, 0.999])
      for (const n of [1, 5, 64, 1001]) {
        const x = f32([n], n + 11);
        const s = x.storage as Float32Array;
        if (n > 4) [s[1], s[2], s[3]] = [NaN, Infinity, -Infinity];
        const d: PrimParams[Prim.Dropout] = { keepProb, key: keyFor(2024, 'trainDropout'), counter: [1, n, 0] };
        expectSameBits(run(wasm, Prim.Dropout, [x], d), run(oracle, Prim.Dropout, [x], d), `keep ${keepProb}, n = ${n}`);
      }
  });

  it('per-slice keys (model batches) as the oracle draws them', () => {
    const x = f32([3, 37, 11], 5);
    const d: PrimParams[Prim.Dropout] = { keepProb: 0.7, key: [0, 0], counter: [4, 0, 9], keys: [keyFor(1, 'user'), keyFor(2, 'user'), keyFor(3, 'user')] };
    expectSameBits(run(wasm, Prim.Dropout, [x], d), run(oracle, Prim.Dropout, [x], d), 'per-slice keys');
  });
});

describe('worker threads', () => {
  /** Every threaded kernel once, large enough to be split: the outputs. */
  function kernelsOnce(): HostArray[] {
    const a = f32([517, 301], 1), b = f32([301, 203], 2), bias = f32([203], 3);
    const drop = { keepProb: 0.5, key: keyFor(9, 'trainDropout'), counter: [2, 0, 77] as [number, number, number] };
    return [
      run(wasm, Prim.Matmul, [a, b], { transA: false, transB: false }),
      run(wasm, Prim.Matmul, [f32([301, 517], 4), b], { transA: true, transB: false }),
      run(wasm, Prim.FusedMatmul, [a, b, bias], { transA: false, transB: false, bias: true, activation: 'relu', dropout: drop }),
      run(wasm, Prim.RandomBits, [], { shape: [1000, 999], key: keyFor(3, 'user'), counter: [0, 1, 2], kind: 'bits', dtype: 'u32' }),
      run(wasm, Prim.Dropout, [f32([700, 300], 6)], { ...drop, counter: [3, 0, 5] }),
    ];
  }

  it('give the caller-alone bits, with one worker and with more threads than cores, and take pieces', async () => {
    core.configureWasmThreads({ workers: 0 });
    const alone = kernelsOnce();
    for (const workers of [1, 3]) {
      core.configureWasmThreads({ workers });
      expect(await core.wasmThreadsReady(), `${workers} workers ready (threads must work in Node)`).toBe(workers);
      const before = core.wasmThreadStats();
      const threaded = kernelsOnce();
      const after = core.wasmThreadStats();
      expect(after.parallelJobs - before.parallelJobs, 'kernels split across threads').toBeGreaterThanOrEqual(5);
      expect(after.workerPieces, 'pieces done by workers').toBeGreaterThan(before.workerPieces);
      threaded.forEach((r, i) => expectSameBits(r, alone[i]!, `kernel ${i}, ${workers} worker(s)`));
    }
  }, 60_000);

  it('a few BB-α training steps (784-100-100-10, 64 inputs × K = 10) end on the same weights with and without them', async () => {
    const r = prng(5);
    const n = 64;
    const x = Float32Array.from({ length: n * 784 }, () => r());
    const y = Int32Array.from({ length: n }, () => Math.floor(r() * 10));
    const arch = mlpArchitecture([784, 100, 100, 10], { dropout: 0.5 });
    const train = async (workers: number): Promise<Float32Array[]> => {
      core.configureWasmThreads({ workers });
      await core.wasmThreadsReady();
      const previous = core.getBackend();
      core.setBackend(wasm);
      try {
        const model = buildModel(arch, { seed: 11 });
        const optimizer = new Optimizer(model, { rule: 'adam', lr: 1e-3 });
        await fit(model, {
          epochs: 1, batchSize: 32, seed: 3, optimizer, data: { x: core.tensor(x, [n, 784]), y: core.tensor(y, [n]) }, log: 'silent',
          loss: (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, 10, ctx), yb, 0.5),
        });
        const weights = model.namedParameters().map(([, t]) => Float32Array.from(t.dataSync()));
        model.dispose();
        return weights;
      } finally {
        core.setBackend(previous);
      }
    };
    const alone = await train(0);
    const before = core.wasmThreadStats().workerPieces;
    const threaded = await train(1);
    expect(core.wasmThreadStats().workerPieces, 'pieces done by the worker').toBeGreaterThan(before);
    expect(threaded.length).toBe(alone.length);
    threaded.forEach((w, i) => expectSameBits(w, alone[i]!, `parameter ${i}`));
  }, 120_000);
});
