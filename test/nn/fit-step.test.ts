// fit is a loop over trainStep: the same minibatches (epochPermutation's order), the same
// dropout masks (the step counter) and the same updates, so a hand-written loop of
// trainStep calls ends on bit-identical parameters, and fit's logged epoch losses are the
// means of the losses trainStep returns at fit's read points.
import { describe, expect, it } from 'vitest';
import { cpuBackend, crossEntropy, gather, setBackend, tensor, tidy, type Tensor } from '@alphadrop/core';
import { epochPermutation, fit, mlp, Optimizer, trainStep, type LossFn } from '@alphadrop/nn';

setBackend(cpuBackend('fast'));

describe('fit runs trainStep', () => {
  const n = 40, batchSize = 16, epochs = 2, seed = 3, lossEvery = 2;
  const xs = Float32Array.from({ length: n * 3 }, (_, i) => Math.sin(i * 0.7));
  const ys = Int32Array.from({ length: n }, (_, i) => (xs[3 * i]! + xs[3 * i + 2]! > 0 ? 1 : 0));
  const loss: LossFn = (m, x, y, ctx) => crossEntropy(m.forward(x, ctx), y);
  const setup = () => {
    const model = mlp([3, 8, 2], { dropout: 0.3, seed: 1 });
    return { model, optimizer: new Optimizer(model, { rule: 'adam', lr: 0.01 }) };
  };
  const params = (ts: Tensor[]) => ts.map((t) => Array.from(t.dataSync()));

  it('ends on the parameters of a hand-written trainStep loop, with the same losses', async () => {
    const data = { x: tensor(xs, [n, 3]), y: tensor(ys, [n]) };
    const a = setup();
    const result = await fit(a.model, { epochs, batchSize, seed, optimizer: a.optimizer, data, loss, log: 'silent', lossEvery });

    const b = setup();
    const steps = Math.ceil(n / batchSize); // 3: the last batch is short
    const epochLosses: number[] = [];
    b.model.train();
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = epochPermutation(n, seed, epoch);
      const read: number[] = [];
      for (let s = 0; s < steps; s++) {
        const idx = order.subarray(s * batchSize, Math.min(n, (s + 1) * batchSize));
        const { xb, yb } = tidy(() => {
          const i = tensor(idx, [idx.length]);
          return { xb: gather(data.x, i, 0), yb: gather(data.y, i, 0) };
        });
        const keepLoss = s % lossEvery === lossEvery - 1 || s === steps - 1;
        const out = trainStep(b.model, b.optimizer, loss, xb, yb, seed, { keepLoss });
        if (out.loss) read.push(out.loss.dataSync()[0]!);
        out.loss?.dispose();
        xb.dispose();
        yb.dispose();
      }
      epochLosses.push(read.reduce((u, v) => u + v, 0) / read.length);
    }

    expect(result.steps).toBe(epochs * steps);
    expect(b.optimizer.step).toBe(result.steps);
    expect(params(a.model.parameters())).toEqual(params(b.model.parameters()));
    expect(result.history.map((h) => h.loss)).toEqual(epochLosses);
    // and training moved the parameters away from the initialisation
    expect(params(a.model.parameters())).not.toEqual(params(setup().model.parameters()));
  });

  it('returns a finiteness flag of 0 on a finite step and NaN once a parameter is not finite', () => {
    const { model, optimizer } = setup();
    const x = tensor(xs.slice(0, 12), [4, 3]), y = tensor(ys.slice(0, 4), [4]);
    const ok = trainStep(model, optimizer, loss, x, y, seed, { finiteness: true });
    expect(ok.loss).toBeNull();
    expect(Array.from(ok.finite!.dataSync())).toEqual([0]);
    const bad = trainStep(model, optimizer, loss, tensor(new Float32Array(12).fill(Infinity), [4, 3]), y, seed, { finiteness: true, keepLoss: true });
    expect(Number.isNaN(bad.finite!.dataSync()[0])).toBe(true);
    expect(Number.isFinite(bad.loss!.dataSync()[0])).toBe(false);
  });
});
