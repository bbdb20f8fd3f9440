// Calibration of a classifier's predictive distribution p̄: accuracy, per-point test
// log-likelihood, Brier score, and the reliability diagram over equal-width confidence bins
// with the expected calibration error ECE = Σ_b (n_b/n)·|acc_b − conf_b| it summarises.
// The bins and the ECE come from metrics.ts's reliabilityBins alone (classificationMetrics'
// ECE too), so they cannot disagree.

import type { Module } from '@alphadrop/nn';
import { classificationMetrics, reliabilityBins, type Reliability } from '../metrics.js';
import {
  batchRanges, checkLabels, checkPositiveInt, experimentKey, hostImages, predictBatch, predictiveModel, rowsTensor, type ImageSet,
} from './predictive.js';

export { reliabilityBins, type Reliability, type ReliabilityBin } from '../metrics.js';

export interface CalibrationOptions {
  /** MC samples per input (default 10); ignored when mc is false. */
  testSamples?: number;
  /** Run seed of the masks (default 0). */
  seed?: number;
  /** MC dropout (true) or the deterministic network with dropout off (false). */
  mc: boolean;
  /** Equal-width confidence bins (default 15). */
  bins?: number;
  /** Images per batch (default 128). */
  batchSize?: number;
}

export interface CalibrationResult extends Reliability {
  accuracy: number;
  /** Mean over points of log p̄[y]. */
  logLikelihood: number;
  /** Mean Σ_c (p̄_c − onehot_c)². */
  brier: number;
  n: number;
}

/** Accuracy, log-likelihood, Brier score, reliability bins and ECE of the model on (images, labels). */
export async function calibration(model: Module, images: ImageSet, labels: ArrayLike<number>, o: CalibrationOptions): Promise<CalibrationResult> {
  const where = 'calibration';
  const bins = checkPositiveInt(where, 'bins', o.bins ?? 15);
  const batchSize = checkPositiveInt(where, 'batchSize', o.batchSize ?? 128);
  checkLabels(where, labels);
  const p = predictiveModel(where, model, o);
  const set = await hostImages(where, images, labels.length);
  const seed = o.seed ?? 0;
  let meanProbs: Float64Array | null = null;
  let C = 0;
  for (const b of batchRanges(set.n, batchSize)) {
    const x = rowsTensor(set, b.start, b.count);
    try {
      const r = await predictBatch(where, p, x, experimentKey(seed, b.index));
      C = r.C;
      meanProbs ??= new Float64Array(set.n * C);
      meanProbs.set(r.meanProbs, b.start * C);
    } finally {
      x.dispose();
    }
  }
  const reliability = reliabilityBins(meanProbs!, labels, C, bins);
  const m = classificationMetrics(meanProbs!, labels, C, undefined, bins);
  return { accuracy: m.accuracy, logLikelihood: m.logLikelihood, brier: m.brier, n: set.n, ...reliability };
}
