// Adversarial examples through the MC-averaged prediction (spec §b.4, pitfall 13).
// Untargeted FGS: one step x + η·sign(∇_x L) from the clean input for each η, with
// L = −log p̄(ŷ | x) and ŷ the MC-predicted class. Targeted iterative FGS: repeated
// steps x ← clip(x + ε·sign(∇_x log p̄(target | x))). Gradients go through stochastic MC
// dropout with fresh masks per evaluation; results are clipped to [0, 1].
// `objective: 'reference-code'` reproduces the authors' code, which fed the averaged
// probabilities to softmax cross-entropy as if they were logits: L = CE(softmax(p̄), ŷ).

import {
  argmax, logsumexp, logSoftmax, maximum, mean, minimum, mul, noGrad, oneHot, reshape, sign, softmax, sub, sum, tidy, keep,
  add, full, keyFor, valueAndGradsOf, ValueError, type Tensor,
} from '@alphadrop/core';
import type { ForwardContext, Module } from '@alphadrop/nn';
import { mcForward, mcPredictProbs } from './mc.js';

export type AttackObjective = 'paper' | 'reference-code';

export interface AttackOptions {
  /** MC samples per gradient evaluation (the paper: 10). */
  samples: number;
  /** Run seed. The attack's masks: derive(root, 'attackPredict', pass) for the class it
   * attacks, derive(root, 'attackGradient', pass, step) under each gradient. */
  seed?: number;
  /** Attack number within the run: distinct attacks draw distinct masks (default 0). */
  pass?: number;
  objective?: AttackObjective;
}

/** mean_n log p̄_n[c_n] through K MC samples; logits [M, K, C], classes [M] (i32). */
function meanLogProbOfClass(model: Module, x: Tensor, classes: Tensor, ctx: ForwardContext, o: AttackOptions): Tensor {
  const logits = mcForward(model, x, o.samples, ctx);
  const C = logits.shape[2]!;
  const target = oneHot(classes, C, logits.dtype);
  let logPbar: Tensor;
  if ((o.objective ?? 'paper') === 'paper') {
    // log p̄ = LSE_k(log softmax) − log K: the log of the averaged probabilities, stably
    logPbar = sub(logsumexp(logSoftmax(logits, -1), 1), Math.log(o.samples));
  } else {
    logPbar = logSoftmax(mean(softmax(logits, -1), 1), -1);
  }
  return mean(sum(mul(logPbar, target), -1));
}

const clip01 = (x: Tensor) => minimum(maximum(x, 0), 1);

function checkEta(where: string, eta: number): void {
  if (!(eta >= 0 && Number.isFinite(eta))) throw new ValueError(where, 'a step size η >= 0', String(eta));
}

/** sign(∇_x L) with L = ±mean log p̄[classes], at attack step `step`. */
function gradientSign(model: Module, x: Tensor, classes: Tensor, o: AttackOptions, step: number, ascendLogProb: boolean): Tensor {
  const prev = model.mode;
  model.mc();
  try {
    const ctx: ForwardContext = { key: keyFor(o.seed ?? 0, 'attackGradient', o.pass ?? 0, step), step: 0 };
    const { grads, value } = valueAndGradsOf(() => meanLogProbOfClass(model, x, classes, ctx, o), [x]);
    value.dispose();
    const s = sign(grads[0]!);
    grads[0]!.dispose();
    return ascendLogProb ? s : mul(s, -1);
  } finally {
    model.setMode(prev);
  }
}

/**
 * Untargeted FGS for each η (each from the clean x): x_adv = clip(x + η·sign(∇_x −log p̄(ŷ))).
 * Returns one adversarial batch per η.
 */
export function fgsm(model: Module, x: Tensor, etas: readonly number[], o: AttackOptions): Tensor[] {
  etas.forEach((e) => checkEta('fgsm', e));
  return tidy(() => {
    // mcPredictProbs hands back a kept tensor (it outlives tidy scopes): disposed here once used
    const predicted = noGrad(() => {
      const p = mcPredictProbs(model, x, o.samples, { key: keyFor(o.seed ?? 0, 'attackPredict', o.pass ?? 0) });
      const a = argmax(p, -1);
      p.dispose();
      return a;
    });
    const direction = gradientSign(model, x, predicted, o, 0, false);
    return etas.map((eta) => (eta === 0 ? reshape(x, [...x.shape]) : clip01(add(x, mul(direction, eta)))));
  });
}

export interface TargetedOptions extends AttackOptions {
  target: number;
  steps: number;
  /** Step size per iteration (the paper: 0.01). */
  stepSize: number;
  /** Called after every step with the current adversarial batch (for per-step metrics). */
  onStep?: (step: number, xAdv: Tensor) => void;
}

/** Iterative targeted FGS: x ← clip(x + ε·sign(∇_x mean log p̄(target))), fresh masks each step. */
export function targetedFgsm(model: Module, x: Tensor, o: TargetedOptions): Tensor {
  checkEta('targetedFgsm', o.stepSize);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new ValueError('targetedFgsm', 'steps a positive integer', String(o.steps));
  const M = x.shape[0]!;
  let cur = keep(reshape(x, [...x.shape]));
  const classes = keep(full([M], o.target, { dtype: 'i32', backend: x.backend }));
  for (let s = 0; s < o.steps; s++) {
    const next = tidy(() => clip01(add(cur, mul(gradientSign(model, cur, classes, o, s + 1, true), o.stepSize))));
    cur.dispose();
    cur = keep(next);
    o.onStep?.(s + 1, cur);
  }
  classes.dispose();
  return cur;
}
