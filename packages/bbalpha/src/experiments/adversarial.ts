// The adversarial experiments of spec §b.4 (paper §5.3, Figs. 6–7) as functions of
// (model, images, labels, options) → rows of plain numbers, batch by batch (128 images at a
// time, every tensor freed), on whichever backend is current.
//
// FGS loss: attacks.ts's 'paper' objective by default, L = −log p̄(ŷ | x) with p̄ the
// MC-averaged probabilities and ŷ the MC-predicted class (the faithful-to-paper form of
// spec pitfall 13a); `objective: 'reference-code'` gives the authors' CE(softmax(p̄), ŷ).
// For the deterministic model (mc = false) p̄ is one softmax of the dropout-off network, so
// the loss is the ordinary cross-entropy of its logits, as in the authors' code.
//
// Masks (spec pitfall 13b–c): batch b is attacked as attack pass b (attacks.ts derives the
// masks of the class it attacks and of every gradient step from it) and evaluated under
// experimentKey(seed, b) (predictive.ts), the same masks for the clean and every perturbed
// version of the batch.

import { ValueError, type Tensor } from '@alphadrop/core';
import type { Module } from '@alphadrop/nn';
import { fgsm, targetedFgsm, type AttackObjective } from '../attacks.js';
import { auroc } from '../metrics.js';
import { meanStdErr } from './uci.js';
import {
  batchRanges, checkLabelRange, checkLabels, checkPositiveInt, experimentKey, hostImages, launchPrediction, predictBatch,
  predictedClass, predictiveModel, readPrediction, rowsTensor, type HostImages, type ImageSet, type PendingPrediction,
} from './predictive.js';

export interface SweepOptions {
  /** MC samples per evaluation and per gradient (the paper: 10); ignored when mc is false. */
  testSamples?: number;
  /** Run seed of every mask (default 0). */
  seed?: number;
  /** Images per batch (default 128, the authors' evaluation batch). */
  batchSize?: number;
  /** MC dropout (true) or the deterministic network with dropout off (false). */
  mc: boolean;
  objective?: AttackObjective;
}

export interface FgsSweepOptions extends SweepOptions {
  /** Step sizes η, each applied to the clean images (the paper: 0, 0.02, …, 0.5). */
  etas: readonly number[];
}

export interface FgsRow {
  eta: number;
  /** Accuracy on the true labels. */
  accuracy: number;
  /** Mean predictive entropy H[p̄] (nats) and its standard error sqrt(var/n). */
  entropyMean: number;
  entropyStdErr: number;
  /** AUROC of H[p̄] separating the adversarial (positive) from the clean (negative) images; 0.5 at η = 0. */
  entropyAuroc: number;
}

function checkStep(where: string, name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new ValueError(where, `${name} a finite number ≥ 0`, String(v));
}

const correctCount = (meanProbs: Float64Array, C: number, classes: (i: number) => number, m: number): number => {
  let hits = 0;
  for (let i = 0; i < m; i++) if (predictedClass(meanProbs, i, C) === classes(i)) hits++;
  return hits;
};

/** Untargeted FGS (spec §b.4): for each η, x_adv = clip(x + η·sign(∇_x L), 0, 1) from the clean x. */
export async function fgsSweep(model: Module, images: ImageSet, labels: ArrayLike<number>, o: FgsSweepOptions): Promise<FgsRow[]> {
  const where = 'fgsSweep';
  if (o.etas.length === 0) throw new ValueError(where, 'at least one step size η', 'none');
  o.etas.forEach((eta) => checkStep(where, 'η', eta));
  checkLabels(where, labels);
  const batchSize = checkPositiveInt(where, 'batchSize', o.batchSize ?? 128);
  const p = predictiveModel(where, model, o);
  const set = await hostImages(where, images, labels.length);
  const seed = o.seed ?? 0;
  const clean = new Float64Array(set.n);
  const attacked = o.etas.map(() => new Float64Array(set.n));
  const correct = o.etas.map(() => 0);
  for (const b of batchRanges(set.n, batchSize)) {
    const x = rowsTensor(set, b.start, b.count);
    let advs: Tensor[] = [];
    try {
      advs = fgsm(p.net, x, o.etas, { samples: p.samples, seed, pass: b.index, objective: o.objective ?? 'paper' });
      const key = experimentKey(seed, b.index);
      const label = (i: number) => labels[b.start + i]!;
      const c = await predictBatch(where, p, x, key);
      checkLabelRange(where, Array.from({ length: b.count }, (_, i) => label(i)), c.C);
      clean.set(c.entropy, b.start);
      for (let e = 0; e < o.etas.length; e++) {
        const r = await predictBatch(where, p, advs[e]!, key);
        attacked[e]!.set(r.entropy, b.start);
        correct[e]! += correctCount(r.meanProbs, r.C, label, b.count);
      }
    } finally {
      advs.forEach((a) => a.dispose());
      x.dispose();
    }
  }
  return o.etas.map((eta, e) => {
    const h = meanStdErr(Array.from(attacked[e]!));
    return { eta, accuracy: correct[e]! / set.n, entropyMean: h.mean, entropyStdErr: h.stdErr, entropyAuroc: auroc(attacked[e]!, clean) };
  });
}

export interface TargetedSweepOptions extends SweepOptions {
  /** The class the attack pushes towards (default 0); images of this class are dropped. */
  target?: number;
  /** Iterations (default 100). */
  steps?: number;
  /** ε per iteration (default 0.01). */
  stepSize?: number;
}

export interface TargetedRow {
  step: number;
  /** Accuracy on the images' true labels. */
  accuracyOriginal: number;
  /** Fraction predicted as the target class. */
  accuracyTarget: number;
  entropyMean: number;
  entropyStdErr: number;
}

/** The images whose label is not `target`, with their labels. */
function withoutTarget(where: string, set: HostImages, labels: ArrayLike<number>, target: number): { set: HostImages; labels: number[] } {
  const keep: number[] = [];
  for (let i = 0; i < set.n; i++) if (labels[i] !== target) keep.push(i);
  if (keep.length === 0) throw new ValueError(where, 'images whose label is not the target', `all ${set.n} labelled ${target}`);
  const data = new Float32Array(keep.length * set.width);
  keep.forEach((src, dst) => data.set(set.data.subarray(src * set.width, (src + 1) * set.width), dst * set.width));
  return { set: { data, n: keep.length, width: set.width }, labels: keep.map((i) => labels[i]!) };
}

/**
 * Iterative targeted FGS (spec §b.4): drops the images labelled `target`, then `steps` times
 * x ← clip(x + ε·sign(∇_x mean log p̄(target | x)), 0, 1) with fresh gradient masks; one row
 * after each step.
 */
export async function targetedSweep(model: Module, images: ImageSet, labels: ArrayLike<number>, o: TargetedSweepOptions): Promise<TargetedRow[]> {
  const where = 'targetedSweep';
  const target = o.target ?? 0;
  if (!Number.isSafeInteger(target) || target < 0) throw new ValueError(where, 'a target class, an integer ≥ 0', String(target));
  const steps = checkPositiveInt(where, 'steps', o.steps ?? 100);
  const stepSize = o.stepSize ?? 0.01;
  checkStep(where, 'stepSize', stepSize);
  checkLabels(where, labels);
  const batchSize = checkPositiveInt(where, 'batchSize', o.batchSize ?? 128);
  const p = predictiveModel(where, model, o);
  const kept = withoutTarget(where, await hostImages(where, images, labels.length), labels, target);
  const seed = o.seed ?? 0;
  const n = kept.set.n;
  const entropy = Array.from({ length: steps }, () => new Float64Array(n));
  const original = new Array<number>(steps).fill(0);
  const onTarget = new Array<number>(steps).fill(0);
  for (const b of batchRanges(n, batchSize)) {
    const x = rowsTensor(kept.set, b.start, b.count);
    const key = experimentKey(seed, b.index);
    const pending: PendingPrediction[] = [];
    let last: Tensor | undefined;
    try {
      last = targetedFgsm(p.net, x, {
        samples: p.samples, seed, pass: b.index, target, steps, stepSize, objective: o.objective ?? 'paper',
        onStep: (_step, xAdv) => {
          pending.push(launchPrediction(p, xAdv, key));
          xAdv.backend.flush(); // one submission per step, not one for the whole attack
        },
      });
      for (let s = 0; s < steps; s++) {
        const r = await readPrediction(where, pending[s]!);
        if (target >= r.C) throw new ValueError(where, `a target class in [0, ${r.C}) (the model's classes)`, String(target));
        checkLabelRange(where, kept.labels.slice(b.start, b.start + b.count), r.C);
        entropy[s]!.set(r.entropy, b.start);
        original[s]! += correctCount(r.meanProbs, r.C, (i) => kept.labels[b.start + i]!, b.count);
        onTarget[s]! += correctCount(r.meanProbs, r.C, () => target, b.count);
      }
    } finally {
      for (const q of pending) for (const part of q.parts) if (!part.probs.isDisposed) part.probs.dispose();
      last?.dispose();
      x.dispose();
    }
  }
  return entropy.map((h, s) => {
    const stats = meanStdErr(Array.from(h));
    return { step: s + 1, accuracyOriginal: original[s]! / n, accuracyTarget: onTarget[s]! / n, entropyMean: stats.mean, entropyStdErr: stats.stdErr };
  });
}
