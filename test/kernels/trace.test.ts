// Traced training steps on WebGPU (lavapipe): a replayed step computes exactly what the
// eager step computes (same kernels, same masks for its own step, same learning-rate
// schedule), keeps working across a detour through other shapes, never hands its storage
// to other tensors, and a step function that breaks the trace's contract falls back to
// eager with the reason. On the CPU every step runs eagerly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  add, cpuBackend, crossEntropy, gather, memory, mul, setBackend, sum, tensor, tidy, trace, type Backend, type Tensor,
} from '@alphadrop/core';
import { dropout } from '@alphadrop/core/backend';
import { fit, mlp, Optimizer, schedules, trainStep, TracedTrainStep, type LossFn } from '@alphadrop/nn';
import { getTestBackend } from '../helpers/webgpu.js';
import type { WebGpuBackend } from '@alphadrop/kernels';

let gpu: Backend;
beforeAll(async () => {
  gpu = await getTestBackend();
  setBackend(gpu);
});
afterAll(() => setBackend(cpuBackend('fast')));

const n = 24, features = 5, classes = 3, seed = 11;
const xs = Float32Array.from({ length: n * features }, (_, i) => Math.sin(i * 0.37) + 0.1 * Math.cos(i));
const ys = Int32Array.from({ length: n }, (_, i) => i % classes);
const loss: LossFn = (m, x, y, ctx) => crossEntropy(m.forward(x, ctx), y);

function setup(rule: 'sgd' | 'adam') {
  const model = mlp([features, 16, 16, classes], { dropout: 0.5, seed: 2 });
  const optimizer = new Optimizer(model, {
    rule,
    lr: rule === 'adam' ? schedules.stepDecay(0.01, 0.5, 2) : 0.05,
    weightDecay: 1e-3,
  });
  model.train();
  return { model, optimizer };
}

const values = async (ts: readonly Tensor[]) => Promise.all(ts.map(async (t) => Array.from(await t.data())));

/** Minibatch b of a fixed rotation of the data (sizes vary when `short` asks). */
function batchIndex(b: number, size: number): Int32Array {
  return Int32Array.from({ length: size }, (_, i) => (b * 5 + i * 7) % n);
}

describe('a traced training step', () => {
  for (const rule of ['sgd', 'adam'] as const) {
    it(`replays bit-identically to eager steps (${rule}, dropout, weight decay${rule === 'adam' ? ', lr schedule' : ''})`, async () => {
      const data = { x: tensor(xs, [n, features]), y: tensor(ys, [n]) };
      const sizes = [8, 8, 8, 8, 6, 8, 8];
      const eager = setup(rule);
      const eagerLosses: number[] = [];
      for (let b = 0; b < sizes.length; b++) {
        const { xb, yb } = tidy(() => {
          const i = tensor(batchIndex(b, sizes[b]!), [sizes[b]!]);
          return { xb: gather(data.x, i, 0), yb: gather(data.y, i, 0) };
        });
        const out = trainStep(eager.model, eager.optimizer, loss, xb, yb, seed, { keepLoss: true, finiteness: true });
        eagerLosses.push((await out.loss!.data())[0]!);
        out.loss!.dispose();
        out.finite!.dispose();
        xb.dispose();
        yb.dispose();
      }

      const traced = setup(rule);
      const step = new TracedTrainStep(traced.model, traced.optimizer, loss, seed, ([i]) => ({ x: gather(data.x, i!, 0), y: gather(data.y, i!, 0) }));
      const tracedLosses: number[] = [];
      const replayed: boolean[] = [];
      for (let b = 0; b < sizes.length; b++) {
        const i = tensor(batchIndex(b, sizes[b]!), [sizes[b]!]);
        const out = step.run(i);
        i.dispose();
        replayed.push(out.replayed);
        tracedLosses.push((await out.loss.data())[0]!);
        expect((await out.finite.data())[0]).toBe(0);
        out.loss.dispose();
        out.finite.dispose();
      }
      expect(step.eagerReason).toBeNull();
      // recorded, checked, replayed; the short batch (6) detours eagerly; replays resume
      expect(replayed).toEqual([false, false, true, true, false, true, true]);
      expect(traced.optimizer.step).toBe(sizes.length);
      expect(tracedLosses).toEqual(eagerLosses);
      expect(await values(traced.model.parameters())).toEqual(await values(eager.model.parameters()));
      expect(await values(traced.optimizer.slots)).toEqual(await values(eager.optimizer.slots));
      step.dispose();
      data.x.dispose();
      data.y.dispose();
    });
  }

  it('fit trains the same with and without tracing (short last batch, reads of loss and flags)', async () => {
    const data = { x: tensor(xs, [n, features]), y: tensor(ys, [n]) };
    const webgpu = gpu as WebGpuBackend;
    // dispatches that did not go through execute(): the replayed ones
    const replayedSoFar = () => webgpu.counters.dispatches - [...webgpu.dispatchesByKernel.values()].reduce((u, v) => u + v, 0);
    const run = async (traceSteps: boolean) => {
      const { model, optimizer } = setup('adam');
      const r0 = replayedSoFar();
      const result = await fit(model, { epochs: 3, batchSize: 10, seed, optimizer, data, loss, log: 'silent', lossEvery: 2, trace: traceSteps });
      const replayed = replayedSoFar() - r0;
      const params = await values(model.parameters());
      model.dispose();
      optimizer.dispose();
      return { result: { losses: result.history.map((h) => h.loss), steps: result.steps, params }, replayed };
    };
    const traced = await run(true);
    const eager = await run(false);
    expect(traced.result.steps).toBe(9); // 24 rows in batches of 10: two full and a short one per epoch
    // steps 1-2 record and check, the short batches run eagerly: the 4 other full-batch steps replay
    expect(traced.replayed).toBeGreaterThan(0);
    expect(eager.replayed).toBe(0);
    expect(traced.result).toEqual(eager.result);
    data.x.dispose();
    data.y.dispose();
  });

  it('keeps its storage to itself: tensors made between replays are never overwritten', async () => {
    const { model, optimizer } = setup('sgd');
    const x = tensor(xs.slice(0, 8 * features), [8, features]);
    const y = tensor(ys.slice(0, 8), [8]);
    const step = new TracedTrainStep(model, optimizer, loss, seed);
    const before = memory().tensors;
    for (let s = 0; s < 3; s++) {
      const out = step.run(x, y);
      out.loss.dispose();
      out.finite.dispose();
    }
    // Tensors of every size the step uses, made between replays, filled with a marker.
    const markers = tidy(() => [8 * 16, 16 * 16, 8 * 3, 16, 3, 1, features * 16].map((k) => tensor(new Float32Array(k).fill(7), [k])));
    for (let s = 0; s < 3; s++) {
      const out = step.run(x, y);
      expect(out.replayed).toBe(true);
      out.loss.dispose();
      out.finite.dispose();
    }
    for (const m of markers) expect(new Set(await m.data())).toEqual(new Set([7]));
    // the same input tensors every step (no copy after the first): still the eager result
    const eager = setup('sgd');
    for (let k = 0; k < 6; k++) {
      const out = trainStep(eager.model, eager.optimizer, loss, x, y, seed, { keepLoss: true });
      out.loss!.dispose();
    }
    expect(await values(model.parameters())).toEqual(await values(eager.model.parameters()));
    eager.model.dispose();
    eager.optimizer.dispose();
    markers.forEach((m) => m.dispose());
    // the trace holds its inputs, the parameters' storage and its outputs until disposed
    step.dispose();
    expect(memory().tensors).toBe(before + 1); // + the optimizer's flat parameters (the model's are views of it)
    x.dispose();
    y.dispose();
  });

  it('falls back to eager, saying why, when a uniform depends on the step without stepBound', async () => {
    const w = tensor(new Float32Array(16).fill(1), [16]);
    const state = { w };
    const t = trace(
      (step, [x]) => {
        // a mask whose counter carries the step, but whose params are not marked step-bound
        const next = dropout(x!, { keepProb: 0.5, key: [1, 2], counter: [0, step, 0] });
        const out = add(next, state.w);
        state.w.dispose();
        state.w = out;
        next.dispose();
        return [sum(out)];
      },
      { read: () => [state.w], write: ([v]) => { if (state.w !== v) state.w.dispose(); state.w = v!; } },
    );
    const x = tensor(new Float32Array(16).fill(1), [16]);
    for (let s = 0; s < 3; s++) t.run(s, [x]).outputs.forEach((o) => o.dispose());
    expect(t.replaying).toBe(false);
    expect(t.reason).toMatch(/stepBound/);
    x.dispose();
    state.w.dispose();
    t.dispose();
  });

  it('a step that throws while recorded leaves nothing behind: the next calls record and replay', async () => {
    let fail = true;
    const t = trace((_step, [x]) => {
      const y = mul(x!, 2);
      if (fail) throw new Error('boom');
      return [y];
    }, { read: () => [], write: () => {} });
    const x = tensor(new Float32Array([3]), [1]);
    expect(() => t.run(0, [x])).toThrow('boom');
    fail = false;
    const got: number[] = [];
    const replayed: boolean[] = [];
    for (let s = 1; s < 5; s++) {
      const { outputs, replayed: r } = t.run(s, [x]);
      got.push((await outputs[0]!.data())[0]!);
      replayed.push(r);
      outputs[0]!.dispose();
    }
    expect(got).toEqual([6, 6, 6, 6]);
    expect(replayed).toEqual([false, false, true, true]);
    t.dispose();
    x.dispose();
  });

  it('falls back to eager when the step uploads data that changes', async () => {
    const t = trace((step, [x]) => [mul(x!, tensor(new Float32Array([step]), [1]))], { read: () => [], write: () => {} });
    const x = tensor(new Float32Array([2]), [1]);
    const got: number[] = [];
    for (let s = 0; s < 4; s++) {
      const [o] = t.run(s, [x]).outputs;
      got.push((await o!.data())[0]!);
      o!.dispose();
    }
    expect(t.reason).toMatch(/upload/);
    expect(got).toEqual([0, 2, 4, 6]);
    x.dispose();
  });

  it('runs eagerly on the CPU, with the same results as trainStep', async () => {
    setBackend(cpuBackend('fast'));
    try {
      const a = setup('adam');
      const b = setup('adam');
      const x = tensor(xs.slice(0, 8 * features), [8, features]);
      const y = tensor(ys.slice(0, 8), [8]);
      const step = new TracedTrainStep(a.model, a.optimizer, loss, seed);
      for (let s = 0; s < 3; s++) {
        const out = step.run(x, y);
        expect(out.replayed).toBe(false);
        const ref = trainStep(b.model, b.optimizer, loss, x, y, seed, { keepLoss: true });
        expect(out.loss.dataSync()).toEqual(ref.loss!.dataSync());
        [out.loss, out.finite, ref.loss!].forEach((t) => t.dispose());
      }
      expect(step.eagerReason).toMatch(/cannot record/);
      expect(await values(a.model.parameters())).toEqual(await values(b.model.parameters()));
    } finally {
      setBackend(gpu);
    }
  });
});
