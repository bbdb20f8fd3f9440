// Training a classifier with the BB-α energy: the nn training loop with a loss that tiles
// each minibatch K times, runs one stochastic pass, and reduces per input with ℓ_α.

import { tensor, type Tensor } from '@alphadrop/core';
import { fit, Optimizer, type EpochLogs, type FitResult, type LogMode, type Module, type OptimizerOptions } from '@alphadrop/nn';
import { bbAlphaLoss } from './loss.js';
import { mcForward } from './mc.js';
import { checkMcTile } from './mc-working-set.js';

export interface BBAlphaTrainOptions {
  alpha: number;
  /** MC samples per input during training (K). */
  samples: number;
  epochs: number;
  batchSize: number;
  seed?: number;
  optimizer?: OptimizerOptions;
  log?: LogMode;
  evaluate?: (epoch: number) => EpochLogs | Promise<EpochLogs>;
}

/** Trains `model` on images [n, d] and labels [n]; the data go to the device once. */
export async function trainClassifier(model: Module, images: Float32Array, labels: Int32Array, o: BBAlphaTrainOptions): Promise<FitResult> {
  const n = labels.length;
  const d = images.length / n;
  checkMcTile('trainClassifier', model, [o.batchSize, d], o.samples, { training: true, flag: 'samples (--samples) or batchSize (--batch-size)' });
  const x: Tensor = tensor(images, [n, d]);
  const y: Tensor = tensor(labels, [n]);
  const optimizer = new Optimizer(model, o.optimizer ?? { rule: 'adam', lr: 1e-3 });
  try {
    return await fit(model, {
      epochs: o.epochs,
      batchSize: o.batchSize,
      seed: o.seed ?? 0,
      optimizer,
      data: { x, y },
      log: o.log ?? 'auto',
      loss: (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, o.samples, ctx), yb, o.alpha),
      ...(o.evaluate ? { evaluate: o.evaluate } : {}),
    });
  } finally {
    x.dispose();
    y.dispose();
    optimizer.dispose();
  }
}
