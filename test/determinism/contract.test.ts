// The determinism contract (docs/determinism.md), the promises no other suite pins:
//  1. one seed, one set of random words: RandomBits, the Dropout primitive and FusedMatmul's
//     mask give the same bits on the reference, fast and wasm CPU kinds and on WebGPU, with
//     one key and with per-slice keys, and each equals the mask built here from Philox;
//  2. one backend kind, the same bits: a fit() on 'wasm' with 0 and 1 worker threads, and a
//     run restored from a mid-run checkpoint and continued, end on identical weights;
//  0. frozen values: the keys, words, a mask and an epoch order of fixed seeds, written out, so
//     that any change to the derivation is seen (the version policy: a breaking change);
//  3. across backend kinds, a tolerance: the same short BB-α fit on fast, wasm and WebGPU
//     ends on parameters within TRAINING_TOLERANCE (the number the document states).
// Sizes are tiny: WebGPU runs on lavapipe, and every pipeline compile costs a fraction of a second.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configureWasmThreads, cpuBackend, gather, getBackend, keyFor, linear, ones, randomBits, randomUniform, rootKey, setBackend, tensor,
  tidy, wasmThreadsReady, wasmThreadStats, type Backend, type CpuBackend, type Tensor,
} from '@alphadrop/core';
import { dropout, keepThreshold, philoxFill, splitU64, type DropoutParams } from '@alphadrop/core/backend';
import {
  buildModel, checkpointEntries, decodeSafetensors, encodeSafetensors, epochPermutation, fit, mlpArchitecture, Optimizer,
  restoreCheckpoint, trainStep, type LossFn, type Module,
} from '@alphadrop/nn';
import { bbAlphaLoss, mcForward } from '@alphadrop/bbalpha';
import { firstMismatch, getTestBackend, rand, runOn } from '../helpers/webgpu.js';

/**
 * Parameters after the same short run (6 BB-α steps) on two backend kinds: |a − b| ≤ atol + rtol·|b|.
 * Measured here: wasm ≤ 1.3e-7 and WebGPU (lavapipe) ≤ 4.5e-7 from fast; drift grows with the steps.
 */
const TRAINING_TOLERANCE = { rtol: 1e-4, atol: 1e-5 };

let kinds: [string, Backend][];
let wasm: CpuBackend;
beforeAll(async () => {
  wasm = cpuBackend('wasm');
  kinds = [['reference', cpuBackend('reference')], ['fast', cpuBackend('fast')], ['wasm', wasm], ['webgpu', await getTestBackend()]];
}, 120_000);
afterAll(() => {
  configureWasmThreads({ workers: 0 });
  setBackend(cpuBackend('fast'));
});

/** Runs `build` on every kind; the values of each, by kind name. */
async function onEveryKind(build: () => Tensor): Promise<Map<string, ArrayLike<number>>> {
  const out = new Map<string, ArrayLike<number>>();
  for (const [name, b] of kinds) out.set(name, (await runOn(b, build)).values);
  return out;
}

/** The K×K identity: A · I reads A back exactly. */
function eye(K: number): Tensor {
  return tensor(Float32Array.from({ length: K * K }, (_, i) => (i % (K + 1) === 0 ? 1 : 0)), [K, K]);
}

function expectSameBits(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) expect.fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
}

/** The keep mask built here from Philox words: slice g of the tensor under keys[g] from word 0. */
function maskHere(n: number, d: DropoutParams): boolean[] {
  const keys = d.keys ?? [d.key];
  const S = n / keys.length;
  const words = new Uint32Array(n);
  keys.forEach((k, g) => philoxFill(words.subarray(g * S, (g + 1) * S), k, d.counter));
  const threshold = keepThreshold(d.keepProb);
  return Array.from(words, (w) => w < threshold);
}

/** Dropout coordinates of layer 2 at a step beyond 2^32 (both step words in use). */
function coords(keepProb: number, models: number): DropoutParams {
  const keys = Array.from({ length: models }, (_, g) => keyFor(40 + g, 'trainDropout'));
  return { keepProb, key: keys[0]!, counter: [2, ...splitU64('contract', 'step', 2 ** 32 + 7)], ...(models > 1 ? { keys } : {}) };
}

describe('what a seed means is frozen (a change is a breaking change, listed in the CHANGELOG)', () => {
  it('root keys, purpose keys, random words, a training mask and epoch orders of fixed seeds', () => {
    setBackend(cpuBackend('fast'));
    expect(rootKey(0)).toEqual([3732737873, 4130375657]);
    expect(rootKey(1)).toEqual([789360917, 4156551762]);
    expect(keyFor(1, 'trainDropout')).toEqual([1862607251, 1848331315]);
    expect(keyFor(1, 'predict', 2)).toEqual([2775095101, 1025073311]);
    expect(keyFor(2 ** 53 - 1, 'user', 0, 2 ** 53 - 1)).toEqual([2011359133, 3817863035]);
    expect(Array.from(randomBits([6], keyFor(1, 'user')).dataSync())).toEqual([3825346050, 606581774, 1988910844, 3490892985, 1495435792, 797787813]);
    // fit's mask of dropout layer 1 at step 5 under seed 1, keep 1/2: counter (layer, step lo, step hi)
    const mask = dropout(ones([32]), { keepProb: 0.5, key: keyFor(1, 'trainDropout'), counter: [1, 5, 0] }).dataSync();
    expect(Array.from(mask, (v) => (v ? 1 : 0)).join('')).toBe('10010011111010100010010111011010');
    expect(Array.from(epochPermutation(10, 1, 0))).toEqual([0, 3, 2, 7, 9, 4, 5, 6, 8, 1]);
    expect(Array.from(epochPermutation(10, 1, 1))).toEqual([4, 3, 7, 6, 2, 1, 8, 5, 0, 9]);
  });
});

describe('one seed, one set of random words on every backend kind', () => {
  it('RandomBits: bits and uniform floats, several keys and counters, lengths that end mid-block', async () => {
    const cases: [number[], readonly [number, number], [number, number, number]][] = [
      [[7, 13], keyFor(1, 'init', 0), [0, 0, 0]],
      [[1001], keyFor(2, 'predict', 3), [1, ...splitU64('contract', 'batch', 2 ** 40 + 3)]],
      [[3], keyFor(2 ** 53 - 1, 'user', 9), [0xffffffff, 1, 2]],
    ];
    for (const [shape, key, counter] of cases) {
      const bits = await onEveryKind(() => randomBits(shape, { key, counter }));
      const words = new Uint32Array(shape.reduce((a, b) => a * b, 1));
      philoxFill(words, key, counter);
      for (const [kind, got] of bits) expectSameBits(got, words, `bits ${shape} on ${kind}`);
      const uniform = await onEveryKind(() => randomUniform(shape, { key, counter }));
      for (const [kind, got] of uniform) expectSameBits(got, uniform.get('reference')!, `uniform ${shape} on ${kind}`);
    }
  });

  it('Dropout: one key and per-slice keys (model batches); kept where Philox says, the same values', async () => {
    for (const [shape, d] of [[[7, 9], coords(0.5, 1)], [[3, 7, 5], coords(0.5, 3)], [[4, 6, 10], coords(0.3, 4)]] as const) {
      const x = () => rand(shape, 11, 0.5, 1.5); // never 0: a zero output is a dropped element
      const out = await onEveryKind(() => dropout(x(), d));
      const want = maskHere(shape.reduce((a, b) => a * b, 1), d);
      const ref = out.get('reference')!;
      for (const [kind, got] of out) {
        expect(Array.from(got, (v) => v !== 0), `mask on ${kind}, keep ${d.keepProb}, ${d.keys?.length ?? 1} key(s)`).toEqual(want);
        // the CPU kinds compute x / keep identically; WebGPU's f32 division is within an ulp or so
        expect(firstMismatch(got, ref, kind !== 'webgpu', { rtol: 1e-6, atol: 0 }), `values on ${kind}`).toBeNull();
      }
    }
  });

  it("FusedMatmul: the mask on A's stored elements (A ⊙ mask / keep · I reads it back), per-slice keys, transA", async () => {
    const G = 3, M = 5, K = 12;
    for (const transA of [false, true]) {
      const d = coords(0.5, G);
      const shapeA = transA ? [G, K, M] : [G, M, K];
      // keep 1/2 and B = I: every output is one A element times 2 plus exact zeros, so exact everywhere
      const out = await onEveryKind(() => linear(rand(shapeA, 12, 0.5, 1.5), eye(K), null, { transA, dropout: d }));
      const keptHere = maskHere(G * M * K, d);
      // output [g, m, k] reads stored A at [g, m, k], or at [g, k, m] under transA
      const want = Array.from({ length: G * M * K }, (_, i) => {
        const g = Math.floor(i / (M * K)), m = Math.floor(i / K) % M, k = i % K;
        return keptHere[transA ? g * K * M + k * M + m : i]!;
      });
      const ref = out.get('reference')!;
      for (const [kind, got] of out) {
        expect(Array.from(got, (v) => v !== 0), `mask on ${kind}, transA ${transA}`).toEqual(want);
        expectSameBits(got, ref, `values on ${kind}, transA ${transA}`);
      }
    }
  });
});

// ---- training ----------------------------------------------------------------------------

const loss: LossFn = (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, 4, ctx), yb, 0.5);

function classData(n: number, d: number, classes: number): { x: Float32Array; y: Int32Array } {
  const x = Float32Array.from({ length: n * d }, (_, i) => Math.sin(0.37 * i) + 0.3 * Math.cos(1.3 * i));
  const y = Int32Array.from({ length: n }, (_, i) => Math.floor(Math.abs(x[i * d]! + x[i * d + 1]!) * classes) % classes);
  return { x, y };
}

async function paramsOf(model: Module): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of model.namedParameters()) out.set(name, Float32Array.from(await t.data()));
  return out;
}

function expectSameParams(got: Map<string, Float32Array>, want: Map<string, Float32Array>, what: string): void {
  expect([...got.keys()], what).toEqual([...want.keys()]);
  for (const [name, w] of want) expectSameBits(got.get(name)!, w, `${what}: ${name}`);
}

describe('one backend kind, the same bits: wasm across thread counts and across resume', () => {
  // Large enough that the Wasm GEMM and mask draws are split across threads (≥ 1e6 flops).
  const n = 64, d = 64, C = 10, batchSize = 32, epochs = 3, seed = 17;
  const arch = mlpArchitecture([d, 128, 128, C], { dropout: 0.5 });
  const { x, y } = classData(n, d, C);
  const setup = (initSeed = seed) => {
    const model = buildModel(arch, { seed: initSeed });
    return { model, optimizer: new Optimizer(model, { rule: 'adam', lr: 1e-3, weightDecay: 1e-4 }) };
  };

  /** fit() for `epochs` epochs on wasm with `workers` threads; the checkpoint bytes after epoch 1. */
  async function run(workers: number): Promise<{ params: Map<string, Float32Array>; checkpoint: Uint8Array }> {
    configureWasmThreads({ workers });
    expect(await wasmThreadsReady()).toBe(workers);
    setBackend(wasm);
    const { model, optimizer } = setup();
    let checkpoint: Uint8Array | null = null;
    await fit(model, {
      epochs, batchSize, seed, optimizer, loss, log: 'silent', data: { x: tensor(x, [n, d]), y: tensor(y, [n]) },
      callbacks: [{
        onEpochEnd: async (epoch) => {
          if (epoch !== 1) return;
          const file = await checkpointEntries(model, optimizer, { seed });
          checkpoint = encodeSafetensors(file.tensors, file.metadata);
        },
      }],
    });
    const params = await paramsOf(model);
    model.dispose();
    optimizer.dispose();
    return { params, checkpoint: checkpoint! };
  }

  it('fit with 0 and with 1 worker thread, and a run restored from its epoch-1 checkpoint, end on the same weights', async () => {
    const alone = await run(0);
    const before = wasmThreadStats().workerPieces;
    const threaded = await run(1);
    expect(wasmThreadStats().workerPieces, 'the worker took pieces of the run').toBeGreaterThan(before);
    expectSameParams(threaded.params, alone.params, '1 thread vs 0');

    // Resume on 0 threads from the checkpoint the threaded run wrote: a fresh model with another
    // initialisation, restored, then epochs 1.. in fit's documented order (epochPermutation(n, seed, e),
    // masks at the optimizer's step, which the checkpoint restores).
    configureWasmThreads({ workers: 0 });
    setBackend(wasm);
    const { model, optimizer } = setup(seed + 1);
    const state = restoreCheckpoint(decodeSafetensors(threaded.checkpoint), model, optimizer);
    expect(state.step).toBe(Math.ceil(n / batchSize));
    model.train();
    const data = { x: tensor(x, [n, d]), y: tensor(y, [n]) };
    for (let epoch = 1; epoch < epochs; epoch++) {
      const order = epochPermutation(n, state.seed, epoch);
      for (let b = 0; b * batchSize < n; b++) {
        const idx = order.subarray(b * batchSize, Math.min(n, (b + 1) * batchSize));
        const { xb, yb } = tidy(() => {
          const i = tensor(idx, [idx.length]);
          return { xb: gather(data.x, i, 0), yb: gather(data.y, i, 0) };
        });
        trainStep(model, optimizer, loss, xb, yb, state.seed);
        xb.dispose();
        yb.dispose();
      }
    }
    expectSameParams(await paramsOf(model), alone.params, 'resumed vs uninterrupted');
    // and the run moved the weights: the comparison is not of two initialisations
    const init = setup();
    expect(Array.from((await paramsOf(init.model)).values())[0]).not.toEqual(Array.from(alone.params.values())[0]);
  }, 120_000);
});

describe('across backend kinds: a tolerance', () => {
  it(`a short BB-α fit on fast, wasm and WebGPU ends within rtol ${TRAINING_TOLERANCE.rtol}, atol ${TRAINING_TOLERANCE.atol}`, async () => {
    const n = 48, d = 8, C = 3, seed = 23;
    const arch = mlpArchitecture([d, 16, 16, C], { dropout: 0.5 });
    const { x, y } = classData(n, d, C);
    const prev = getBackend();
    const runs = new Map<string, Map<string, Float32Array>>();
    try {
      for (const [kind, backend] of kinds.filter(([k]) => k !== 'reference')) {
        configureWasmThreads({ workers: 0 });
        setBackend(backend);
        const model = buildModel(arch, { seed });
        const optimizer = new Optimizer(model, { rule: 'adam', lr: 1e-2 });
        await fit(model, { epochs: 2, batchSize: 16, seed, optimizer, loss, log: 'silent', data: { x: tensor(x, [n, d]), y: tensor(y, [n]) } });
        runs.set(kind, await paramsOf(model));
        model.dispose();
        optimizer.dispose();
      }
    } finally {
      setBackend(prev);
    }
    const want = runs.get('fast')!;
    let moved = false;
    const init = await paramsOf(buildModel(arch, { seed }));
    for (const [kind, got] of runs)
      for (const [name, w] of want) {
        expect(firstMismatch(got.get(name)!, w, false, TRAINING_TOLERANCE), `${kind} vs fast: ${name}`).toBeNull();
        moved ||= firstMismatch(w, init.get(name)!, false, TRAINING_TOLERANCE) !== null;
      }
    expect(moved, 'training moved the parameters beyond the tolerance').toBe(true);
  }, 120_000);
});
