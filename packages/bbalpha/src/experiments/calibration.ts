// Calibration of a classifier's predictive distribution p̄: accuracy, per-point test
// log-likelihood, Brier score, and the reliability diagram over equal-width confidence bins
// with the expected calibration error ECE = Σ_b (n_b/n)·|acc_b − conf_b| it summarises.
// The bins and the ECE come from reliabilityBins alone, so the two cannot disagree; the
// binning is metrics.ts's (confidence = max_c p̄_c of the first maximum, bin
// min(B − 1, ⌊conf·B⌋), so a confidence of 1 falls in the last bin).

import { ShapeError } from '@alphadrop/core';
import type { Module } from '@alphadrop/nn';
import { classificationMetrics } from '../metrics.js';
import {
  batchRanges, checkLabelRange, checkLabels, checkPositiveInt, experimentKey, hostImages, predictBatch, predictedClass,
  predictiveModel, rowsTensor, type ImageSet,
} from './predictive.js';

export interface ReliabilityBin {
  /** Confidence range [lower, upper) (the last bin includes 1). */
  lower: number;
  upper: number;
  /** Mean confidence and accuracy of the bin's points; null for an empty bin. */
  confidence: number | null;
  accuracy: number | null;
  count: number;
}

export interface Reliability {
  ece: number;
  bins: ReliabilityBin[];
}

/** The reliability diagram of p̄ [n, C] against labels [n] over `bins` equal-width bins, and its ECE. */
export function reliabilityBins(meanProbs: ArrayLike<number>, labels: ArrayLike<number>, C: number, bins = 15): Reliability {
  const where = 'reliabilityBins';
  checkPositiveInt(where, 'bins', bins);
  checkPositiveInt(where, 'classes C', C);
  const n = labels.length;
  if (n === 0) throw new ShapeError(where, 'at least one point', 'none');
  if (meanProbs.length !== n * C) throw new ShapeError(where, `probabilities of ${n}×${C} values`, `${meanProbs.length}`);
  checkLabels(where, labels);
  checkLabelRange(where, labels, C);
  const conf = new Float64Array(bins), hits = new Float64Array(bins), count = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const best = predictedClass(meanProbs, i, C);
    const c = meanProbs[i * C + best]!;
    const b = Math.min(bins - 1, Math.floor(c * bins));
    conf[b]! += c;
    hits[b]! += best === labels[i] ? 1 : 0;
    count[b]! += 1;
  }
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    ece += Math.abs(hits[b]! - conf[b]!) / n; // (n_b/n)·|acc_b − conf_b|
    const k = count[b]!;
    out.push({ lower: b / bins, upper: (b + 1) / bins, confidence: k > 0 ? conf[b]! / k : null, accuracy: k > 0 ? hits[b]! / k : null, count: k });
  }
  return { ece, bins: out };
}

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
