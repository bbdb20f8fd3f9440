// A model batch trains each model exactly as training it alone does: G models with their
// own seeds, α and data, trained as one program (fitBatch), end with the parameters that
// fit gives each model trained alone, bit for bit on the CPU backends.
import { afterAll, describe, expect, it } from 'vitest';
import { cpuBackend, getBackend, setBackend, sum, tensor } from '@alphadrop/core';
import { buildModel, buildModelBatch, copyMember, fit, fitBatch, mlpArchitecture, Optimizer, type Module } from '@alphadrop/nn';
import { bbAlphaLoss, bbAlphaRegressionLoss, mcForward } from '@alphadrop/bbalpha';
import { mcForwardBatch } from '../../packages/bbalpha/src/mc.js';
import { GaussianRegressor } from '../../packages/bbalpha/src/experiments/uci.js';
import { bbAlphaLossBatch, bbAlphaRegressionLossBatch } from '../../packages/bbalpha/src/loss-batch.js';

const previous = getBackend();
afterAll(() => setBackend(previous));

/** Deterministic pseudo-data: model g's n rows of d inputs and a smooth target. */
function data(g: number, n: number, d: number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(n * d);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (let j = 0; j < d; j++) {
      const v = Math.sin(1.3 * i + 0.7 * j + g) * 1.5;
      x[i * d + j] = v;
      t += (j + 1) * v;
    }
    y[i] = Math.tanh(t / d) + 0.1 * Math.cos(i * (g + 2));
  }
  return { x, y };
}

function params(m: Module): Map<string, Float32Array> {
  return new Map(m.namedParameters().map(([k, t]) => [k, Float32Array.from(t.dataSync())]));
}

describe.each(['fast', 'reference'] as const)('model batch on the %s CPU backend', (kind) => {
  it('regression (UCI model): each model equals the model trained alone by fit, bit for bit', async () => {
    setBackend(cpuBackend(kind));
    const n = 40, d = 3, G = 3, epochs = 3, batchSize = 16, K = 4;
    const arch = mlpArchitecture([d, 8, 1], { dropout: 0.1 });
    const seeds = [3, 4, 5];
    const alphas = [0, 0.5, 1];
    const sets = seeds.map((_, g) => data(g, n, d));
    // the batch
    const batch = new GaussianRegressor(arch, { seeds });
    const opt = new Optimizer(batch, { rule: 'adam', lr: 1e-2, weightDecay: 1e-3 });
    const xs = new Float32Array(G * n * d), ys = new Float32Array(G * n);
    sets.forEach((s, g) => (xs.set(s.x, g * n * d), ys.set(s.y, g * n)));
    const x = tensor(xs, [G * n, d]), y = tensor(ys, [G * n, 1]);
    await fitBatch(batch, {
      epochs, batchSize, seeds, optimizer: opt, data: { x, y },
      loss: (m, xb, yb, ctx) => sum(bbAlphaRegressionLossBatch(mcForwardBatch(m, xb, K, ctx), yb, alphas, (m as GaussianRegressor).logTau)),
    });
    // each alone
    for (let g = 0; g < G; g++) {
      const lone = new GaussianRegressor(arch, { seed: seeds[g]! });
      const o = new Optimizer(lone, { rule: 'adam', lr: 1e-2, weightDecay: 1e-3 });
      const lx = tensor(sets[g]!.x, [n, d]), ly = tensor(sets[g]!.y, [n, 1]);
      await fit(lone, {
        epochs, batchSize, seed: seeds[g], optimizer: o, data: { x: lx, y: ly }, log: 'silent',
        loss: (m, xb, yb, ctx) => bbAlphaRegressionLoss(mcForward(m, xb, K, ctx), yb, alphas[g]!, { logTau: (m as GaussianRegressor).logTau }),
      });
      const member = new GaussianRegressor(arch, { seed: 99 });
      copyMember(batch, g, member);
      const want = params(lone), got = params(member);
      for (const [name, w] of want) expect(Array.from(got.get(name)!), `model ${g} ${name}`).toEqual(Array.from(w));
      // and training moved it: the comparison is not of two untouched initialisations
      const init = params(new GaussianRegressor(arch, { seed: seeds[g]! }));
      expect(Array.from(want.get('net.1.weight')!)).not.toEqual(Array.from(init.get('net.1.weight')!));
      [lone, member].forEach((m) => m.dispose());
      o.dispose();
    }
  });

  it('classification (MNIST model): each model equals the model trained alone by fit, bit for bit', async () => {
    setBackend(cpuBackend(kind));
    const n = 30, d = 5, C = 3, G = 2, K = 3;
    const arch = mlpArchitecture([d, 8, 8, C], { dropout: 0.5 });
    const seeds = [7, 11];
    const alphas = [1, 0];
    const sets = seeds.map((_, g) => {
      const { x, y } = data(g + 5, n, d);
      return { x, y: Int32Array.from(y, (v) => (v < -0.3 ? 0 : v < 0.3 ? 1 : 2)) };
    });
    const batch = buildModelBatch(arch, seeds);
    const opt = new Optimizer(batch, { rule: 'sgd', lr: 0.1, weightDecay: 1e-3 });
    const xs = new Float32Array(G * n * d), ys = new Int32Array(G * n);
    sets.forEach((s, g) => (xs.set(s.x, g * n * d), ys.set(s.y, g * n)));
    await fitBatch(batch, {
      epochs: 2, batchSize: 8, seeds, optimizer: opt, data: { x: tensor(xs, [G * n, d]), y: tensor(ys, [G * n]) },
      loss: (m, xb, yb, ctx) => sum(bbAlphaLossBatch(mcForwardBatch(m, xb, K, ctx), yb, alphas)),
    });
    for (let g = 0; g < G; g++) {
      const lone = buildModel(arch, { seed: seeds[g]! });
      const o = new Optimizer(lone, { rule: 'sgd', lr: 0.1, weightDecay: 1e-3 });
      await fit(lone, {
        epochs: 2, batchSize: 8, seed: seeds[g], optimizer: o, data: { x: tensor(sets[g]!.x, [n, d]), y: tensor(sets[g]!.y, [n]) }, log: 'silent',
        loss: (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, K, ctx), yb, alphas[g]!),
      });
      const member = buildModel(arch, { seed: 0 });
      copyMember(batch, g, member);
      const want = params(lone), got = params(member);
      for (const [name, w] of want) expect(Array.from(got.get(name)!), `model ${g} ${name}`).toEqual(Array.from(w));
    }
  });
});

describe('model batch refusals', () => {
  it('refuses convolutions and bad seeds, naming the layer', () => {
    setBackend(cpuBackend());
    expect(() => buildModelBatch([{ kind: 'reshape', shape: [1, 2, 2] }, { kind: 'conv2d', inChannels: 1, outChannels: 1, kernel: 1, stride: 1, padding: 0 }], [1])).toThrow(/architecture\[0\].*only linear/);
    expect(() => buildModelBatch(mlpArchitecture([2, 1]), [])).toThrow(/at least one model seed/);
    expect(() => buildModelBatch(mlpArchitecture([2, 1]), [1, -2])).toThrow(/seeds\[1\]/);
  });
});


