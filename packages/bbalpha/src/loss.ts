// The BB-α energy of Li & Gal (2017) for dropout networks, per spec (shared spec §a):
//   ℓ_α(n) = −(1/α)·[LSE_k(α·ll_{n,k}) − log K]        α ≠ 0   (P1, keeping −log K)
//   ℓ_0(n) = −mean_k ll_{n,k}                            α = 0   (P0, MC dropout VI)
// with the series −mean − (α/2)·Var_k for |α| below SMALL_ALPHA (@alphadrop/core), where 1/α
// would amplify float32 round-off. The loss is the batch mean of ℓ_α (Keras-style); L2 on kernels is the
// optimizer's (nn Optimizer weightDecay). Built from primitives: gradients come from their
// VJPs (∂ℓ/∂ll_{n,k} = −softmax_k(α·ll_{n,·}), the importance weights).

import {
  DTypeError, ShapeError, ValueError, add, exp, logSoftmax, logsumexp, mean, mul, neg, oneHot, reshape, sub,
  sum, type Tensor,
} from '@alphadrop/core';
import { SMALL_ALPHA, fusedBBAlphaLoss, fmtShape } from '@alphadrop/core/backend';


function checkAlpha(where: string, alpha: number): void {
  if (!Number.isFinite(alpha)) throw new ValueError(where, 'a finite alpha', String(alpha));
}

/** Per-point ℓ_α(n) from log-likelihoods ll [M, K]. */
export function bbAlphaPerPoint(ll: Tensor, alpha: number): Tensor {
  checkAlpha('bbAlphaPerPoint', alpha);
  if (ll.rank !== 2) throw new ShapeError('bbAlphaPerPoint', 'log-likelihoods of shape [M, K]', fmtShape(ll.shape));
  const K = ll.shape[1]!;
  if (K < 1) throw new ValueError('bbAlphaPerPoint', 'K >= 1 samples', String(K));
  const mu = mean(ll, 1);
  if (alpha === 0) return neg(mu);
  if (Math.abs(alpha) < SMALL_ALPHA) {
    // −mean − (α/2)·Var (population variance over k)
    const d = sub(ll, reshape(mu, [ll.shape[0]!, 1]));
    const variance = mean(mul(d, d), 1);
    return sub(neg(mu), mul(variance, alpha / 2));
  }
  return mul(sub(logsumexp(mul(ll, alpha), 1), Math.log(K)), -1 / alpha);
}

/** Class log-likelihoods ll[n, k] = log_softmax(logits[n, k])[y_n] from logits [M, K, C] and labels [M] (i32). */
export function classLogLikelihood(logits: Tensor, labels: Tensor): Tensor {
  checkLabels(logits, labels);
  const [M, , C] = logits.shape as [number, number, number];
  const lp = logSoftmax(logits, -1);
  // select the label's column: Σ_c onehot(y)_c · lp[n, k, c], the one-hot broadcast over K
  const target = reshape(oneHot(labels, C, logits.dtype), [M, 1, C]);
  return sum(mul(lp, target), 2);
}

/**
 * Mean over the batch of the classification BB-α energy; logits [M, K, C], labels [M].
 * Runs as one fused primitive (forward and backward one kernel each on the GPU); the
 * composition below is the definition it is tested against.
 */
export function bbAlphaLoss(logits: Tensor, labels: Tensor, alpha: number): Tensor {
  checkAlpha('bbAlphaLoss', alpha);
  checkLabels(logits, labels);
  return fusedBBAlphaLoss(logits, labels, alpha, 'mean');
}

/** bbAlphaLoss from primitives (differentiable to any order). */
export function bbAlphaLossComposed(logits: Tensor, labels: Tensor, alpha: number): Tensor {
  checkAlpha('bbAlphaLoss', alpha);
  return mean(bbAlphaPerPoint(classLogLikelihood(logits, labels), alpha));
}

/**
 * Shapes and dtypes of MC logits [M, K, C] and labels [M]. Out-of-range labels would select
 * an all-zero one-hot row and a silent ll of 0: checked where labels are host-visible (CPU);
 * on a GPU, labels are validated when the data are loaded.
 */
function checkLabels(logits: Tensor, labels: Tensor): void {
  if (logits.rank !== 3) throw new ShapeError('bbAlphaLoss', 'MC logits of shape [M, K, C]', fmtShape(logits.shape));
  if (labels.dtype !== 'i32') throw new DTypeError('bbAlphaLoss', 'i32 labels', labels.dtype);
  const [M, , C] = logits.shape as [number, number, number];
  if (labels.rank !== 1 || labels.shape[0] !== M) throw new ShapeError('bbAlphaLoss', `labels of shape [${M}]`, fmtShape(labels.shape));
  if (labels.backend.readSync) {
    const v = labels.dataSync();
    const bad = v.findIndex((c) => c < 0 || c >= C);
    if (bad >= 0) throw new ValueError('bbAlphaLoss', `labels in [0, ${C})`, String(v[bad]), `at position ${bad}`);
  }
}

export interface GaussianOptions {
  /** Fixed precision τ: finite and > 0 (checked). */
  tau?: number;
  /**
   * A learned log τ as a scalar tensor. It lives on the device, so its value is not checked
   * here (that would cost a read-back per step): a log τ that has become non-finite (or so
   * large that exp overflows) makes the loss non-finite, and fit's
   * check of the training loss refuses it.
   */
  logTau?: Tensor;
}

/**
 * Regression BB-α (R1): f [M, K, D] predictions, y [M, D] targets, Gaussian noise with
 * precision τ. Per point: −(1/α)[LSE_k(−(ατ/2)‖y−f‖²) − log K] − (D/2) log τ + (D/2) log 2π;
 * the −(D/2) log τ sign is the one a quantity to be minimised needs (the paper prints +).
 */
export function bbAlphaRegressionLoss(f: Tensor, y: Tensor, alpha: number, opts: GaussianOptions): Tensor {
  checkAlpha('bbAlphaRegressionLoss', alpha);
  if (f.rank !== 3) throw new ShapeError('bbAlphaRegressionLoss', 'MC predictions of shape [M, K, D]', fmtShape(f.shape));
  const [M, , D] = f.shape as [number, number, number];
  if (y.rank !== 2 || y.shape[0] !== M || y.shape[1] !== D)
    throw new ShapeError('bbAlphaRegressionLoss', `targets of shape [${M}, ${D}]`, fmtShape(y.shape));
  if ((opts.tau === undefined) === (opts.logTau === undefined))
    throw new ValueError('bbAlphaRegressionLoss', 'exactly one of tau or logTau', opts.tau === undefined ? 'neither' : 'both');
  // τ = ∞ would give ∞·0 = NaN where a sample fits exactly, and −(D/2)·log ∞ = −∞ anyway
  if (opts.tau !== undefined && !(Number.isFinite(opts.tau) && opts.tau > 0))
    throw new ValueError('bbAlphaRegressionLoss', 'a finite tau > 0', String(opts.tau));
  const diff = sub(f, reshape(y, [M, 1, D]));
  const sq = sum(mul(diff, diff), 2); // [M, K]
  const logTau = opts.logTau ?? null;
  const tauScale = logTau ? reshape(mul(exp(logTau), -0.5), [1, 1]) : null;
  const ll0 = tauScale ? mul(sq, tauScale) : mul(sq, -0.5 * opts.tau!); // −(τ/2)‖y−f‖², the k-dependent part of ll
  const bracket = bbAlphaPerPoint(ll0, alpha);
  const halfD = D / 2;
  const logTauTerm = logTau ? mul(reshape(logTau, []), -halfD) : null;
  const constant = halfD * Math.log(2 * Math.PI) - (logTau ? 0 : halfD * Math.log(opts.tau!));
  const per = add(logTauTerm ? add(bracket, logTauTerm) : bracket, constant);
  return mean(per);
}

