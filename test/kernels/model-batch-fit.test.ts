// A model batch trained by fitBatch on WebGPU (traced and replayed) ends where the CPU's
// training ends, model by model, within float32 drift: the keyed masks are the same bits on
// both backends, so each model sees the same dropout and data order.
import { afterAll, describe, expect, it } from 'vitest';
import { cpuBackend, setBackend, sum, tensor } from '@alphadrop/core';
import { copyMember, fitBatch, mlpArchitecture, Optimizer } from '@alphadrop/nn';
import { GaussianRegressor } from '../../packages/bbalpha/src/experiments/uci.js';
import { bbAlphaRegressionLossBatch } from '../../packages/bbalpha/src/loss-batch.js';
import { mcForwardBatch } from '../../packages/bbalpha/src/mc.js';
import { getTestBackend } from '../helpers/webgpu.js';

afterAll(() => setBackend(cpuBackend('fast')));

const G = 3, n = 48, d = 4, K = 4, epochs = 3, batchSize = 16;
const seeds = [2, 5, 9];
const alphas = [0, 0.5, 1];
const arch = mlpArchitecture([d, 16, 1], { dropout: 0.2 });

function data(): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(G * n * d);
  const y = new Float32Array(G * n);
  for (let i = 0; i < G * n; i++) {
    let t = 0;
    for (let j = 0; j < d; j++) {
      x[i * d + j] = Math.sin(0.37 * i + 1.1 * j);
      t += (j - 1.5) * x[i * d + j]!;
    }
    y[i] = Math.tanh(t) + 0.05 * Math.cos(3 * i);
  }
  return { x, y };
}

/** Trains the batch on the current backend; each model's parameters (lone layout) and log τ. */
async function train(): Promise<Map<string, Float32Array>[]> {
  const { x, y } = data();
  const model = new GaussianRegressor(arch, { seeds, logTauScale: 2 });
  const optimizer = new Optimizer(model, { rule: 'adam', lr: 1e-2, weightDecay: 1e-3 });
  await fitBatch(model, {
    epochs, batchSize, seeds, optimizer, data: { x: tensor(x, [G * n, d]), y: tensor(y, [G * n, 1]) },
    loss: (m, xb, yb, ctx) => sum(bbAlphaRegressionLossBatch(mcForwardBatch(m, xb, K, ctx), yb, alphas, (m as GaussianRegressor).logTau)),
  });
  const out: Map<string, Float32Array>[] = [];
  for (let g = 0; g < G; g++) {
    const lone = new GaussianRegressor(arch, { seed: 0, logTauScale: 2 });
    copyMember(model, g, lone);
    out.push(new Map(await Promise.all(lone.namedParameters().map(async ([k, t]) => [k, Float32Array.from(await t.data())] as [string, Float32Array]))));
    lone.dispose();
  }
  optimizer.dispose();
  model.dispose();
  return out;
}

describe('fitBatch on WebGPU', () => {
  it('trains every model of the batch as the CPU does (within float32 drift)', async () => {
    setBackend(cpuBackend('fast'));
    const cpu = await train();
    setBackend(await getTestBackend());
    const gpu = await train();
    for (let g = 0; g < G; g++)
      for (const [name, want] of cpu[g]!) {
        const got = gpu[g]!.get(name)!;
        const worst = want.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!) / (1e-3 + Math.abs(v))), 0);
        expect(worst, `model ${g} ${name}`).toBeLessThan(2e-4);
      }
    // the models differ from each other (own seeds, data, α): the comparison is per model
    expect(Array.from(cpu[0]!.get('net.1.weight')!)).not.toEqual(Array.from(cpu[1]!.get('net.1.weight')!));
  }, 120_000);
});
