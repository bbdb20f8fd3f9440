// Out-of-distribution detection by predictive uncertainty: how well the predictive entropy
// H[p̄] and the mutual information H[p̄] − mean_k H[p_k] separate out-of-distribution inputs
// (positives; Fashion-MNIST for an MNIST model) from in-distribution ones (negatives), as an
// AUROC. Not an experiment of the paper; it uses the paper's metrics (spec §a.5).
//
// Masks: the in-distribution batches are batches 0 … B−1 and the out-of-distribution ones
// continue the count (B …), each evaluated under experimentKey(seed, batch), so no two
// inputs' masks come from the same words.

import { ShapeError } from '@alphadrop/core';
import type { Module } from '@alphadrop/nn';
import { auroc } from '../metrics.js';
import { batchRanges, checkPositiveInt, experimentKey, hostImages, predictBatch, predictiveModel, rowsTensor, type HostImages, type ImageSet, type PredictiveModel } from './predictive.js';

export interface OodOptions {
  /** MC samples per input (default 10); ignored when mc is false. */
  testSamples?: number;
  /** Run seed of the masks (default 0). */
  seed?: number;
  /** MC dropout (true) or the deterministic network with dropout off (false). */
  mc: boolean;
  /** Images per batch (default 128). */
  batchSize?: number;
}

export interface OodScores {
  /** AUROC of H[p̄], out-of-distribution positive. */
  entropyAuroc: number;
  /** AUROC of the mutual information; null for the deterministic model (it has none). */
  miAuroc: number | null;
  inEntropyMean: number;
  outEntropyMean: number;
  /** Images scored: in-distribution, out-of-distribution. */
  nIn: number;
  nOut: number;
}

async function uncertainty(p: PredictiveModel, set: HostImages, seed: number, batchSize: number, firstBatch: number): Promise<{ entropy: Float64Array; mi: Float64Array; batches: number }> {
  const entropy = new Float64Array(set.n);
  const mi = new Float64Array(set.n);
  let batches = 0;
  for (const b of batchRanges(set.n, batchSize)) {
    const x = rowsTensor(set, b.start, b.count);
    try {
      const r = await predictBatch('oodScores', p, x, experimentKey(seed, firstBatch + b.index));
      entropy.set(r.entropy, b.start);
      mi.set(r.mutualInformation, b.start);
    } finally {
      x.dispose();
    }
    batches++;
  }
  return { entropy, mi, batches };
}

const mean = (v: Float64Array): number => v.reduce((a, b) => a + b, 0) / v.length;

/** Entropy and mutual-information AUROCs of `outImages` (positive) against `inImages` (negative). */
export async function oodScores(model: Module, inImages: ImageSet, outImages: ImageSet, o: OodOptions): Promise<OodScores> {
  const where = 'oodScores';
  const batchSize = checkPositiveInt(where, 'batchSize', o.batchSize ?? 128);
  const p = predictiveModel(where, model, o);
  const inSet = await hostImages(`${where}: in-distribution images`, inImages);
  const outSet = await hostImages(`${where}: out-of-distribution images`, outImages);
  if (inSet.width !== outSet.width) throw new ShapeError(where, `out-of-distribution images of ${inSet.width} values (as the in-distribution ones)`, `${outSet.width}`);
  const seed = o.seed ?? 0;
  const inside = await uncertainty(p, inSet, seed, batchSize, 0);
  const outside = await uncertainty(p, outSet, seed, batchSize, inside.batches);
  return {
    entropyAuroc: auroc(outside.entropy, inside.entropy),
    miAuroc: p.mc ? auroc(outside.mi, inside.mi) : null,
    inEntropyMean: mean(inside.entropy),
    outEntropyMean: mean(outside.entropy),
    nIn: inSet.n,
    nOut: outSet.n,
  };
}
