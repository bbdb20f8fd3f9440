// The training loop of a model batch (model-batch.ts): every step trains all G models on
// their own minibatch, in their own data order (model g's epoch e order is the one fit
// draws for seed seeds[g]: epochPermutation(n, seeds[g], e)), with their own masks
// (batchTrainingContext). The loss returns the sum of the models' losses, so each model's
// gradient is its own loss's. Steps are traced (TracedTrainStep) as in fit; the loss and
// the finiteness flag are read every `lossEvery` steps without waiting, and a non-finite
// one stops training with a NonFiniteError naming the step.

import { gather, NonFiniteError, reshape, tensor, ValueError, type Tensor } from '@alphadrop/core';
import type { Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { epochPermutation } from '../train/fit.js';
import type { LossFn } from '../train/step.js';
import { StepReads } from '../train/step-reads.js';
import { TracedTrainStep } from '../train/traced-step.js';
import { batchTrainingContext } from './model-batch.js';

export interface BatchData {
  /** Model g's n inputs are rows g·n … g·n + n − 1: [G·n, ...]; or, when `shared`, one data set [n, ...] for all. */
  x: Tensor;
  /** Targets, the same layout as x. */
  y: Tensor;
  /** Every model trains on the same rows (each in its own order): x and y hold them once. */
  shared?: boolean;
}

export interface FitBatchOptions {
  epochs: number;
  batchSize: number;
  /** One seed per model: its data order and masks (its initial weights come from buildModelBatch). */
  seeds: readonly number[];
  /** Σ over models of each model's minibatch loss, given x [G, B, ...] and y [G, B, ...]. */
  loss: LossFn;
  optimizer: Optimizer;
  data: BatchData;
  /** After each epoch (1-based), with the mean summed loss of the epoch's read steps. */
  onEpochEnd?: (epoch: number, logs: { loss: number; seconds: number }) => void | Promise<void>;
  /** Read the loss every this many steps (default 10). */
  lossEvery?: number;
}

export async function fitBatch(model: Module, o: FitBatchOptions): Promise<{ steps: number }> {
  const G = o.seeds.length;
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new ValueError('fitBatch', 'epochs a positive integer', String(o.epochs));
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new ValueError('fitBatch', 'batchSize a positive integer', String(o.batchSize));
  const rows = o.data.x.shape[0]!;
  if (G < 1 || (!o.data.shared && rows % G !== 0)) throw new ValueError('fitBatch', `inputs that split into ${G} models' equal sets`, `${rows} rows`);
  if (o.data.y.shape[0] !== rows) throw new ValueError('fitBatch', `targets for ${rows} inputs`, `${o.data.y.shape[0]}`);
  const n = o.data.shared ? rows : rows / G;
  const offset = (g: number) => (o.data.shared ? 0 : g * n);
  const lossEvery = o.lossEvery ?? 10;
  const steps = Math.ceil(n / o.batchSize);
  const [, ...xRest] = o.data.x.shape;
  const [, ...yRest] = o.data.y.shape;
  const batchOf = ([i]: readonly Tensor[]) => {
    const B = i!.shape[0]! / G;
    return { x: reshape(gather(o.data.x, i!, 0), [G, B, ...xRest]), y: reshape(gather(o.data.y, i!, 0), [G, B, ...yRest]) };
  };
  model.train();
  // the models' mask keys, derived once (a step changes only the counter)
  const masks = batchTrainingContext(o.seeds, 0);
  const traced = new TracedTrainStep(model, o.optimizer, o.loss, (step) => ({ ...masks, step }), batchOf);
  try {
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const t0 = performance.now();
      const orders = o.seeds.map((s) => epochPermutation(n, s, epoch));
      const reads = new StepReads(o.optimizer.step);
      for (let b = 0; b < steps; b++) {
        const lo = b * o.batchSize;
        const B = Math.min(n, lo + o.batchSize) - lo;
        const idx = new Int32Array(G * B);
        orders.forEach((order, g) => {
          const base = offset(g);
          for (let j = 0; j < B; j++) idx[g * B + j] = base + order[lo + j]!;
        });
        const i = tensor(idx, [G * B]);
        const out = traced.run(i);
        i.dispose();
        reads.flag(out.finite);
        if (b % lossEvery === lossEvery - 1 || b === steps - 1) reads.read(out.loss, o.optimizer.step);
        else out.loss.dispose();
      }
      const { meanLoss, bad } = await reads.settle();
      if (bad)
        throw new NonFiniteError('fitBatch', 'finite losses and parameters after every step', `a non-finite value at step ${bad.step} (epoch ${epoch + 1})`, 'loss', bad.step, 'lower the learning rate, or check the data');
      await o.onEpochEnd?.(epoch + 1, { loss: meanLoss, seconds: (performance.now() - t0) / 1000 });
    }
  } finally {
    traced.dispose();
  }
  return { steps: o.optimizer.step };
}
