// The BB-α energies of a model batch (@alphadrop/nn batch/): G models, each with its own α,
// evaluated on its own minibatch. Each function returns the models' losses [G]; training
// minimises their sum, so model g's gradient is exactly its own loss's. The expressions are
// those of loss.ts applied along a leading model axis, operation for operation, so that
// model g computes what it computes alone (bit for bit on the CPU: tested).

import {
  add, exp, logsumexp, mean, mul, neg, reshape, slice, stack, sub, sum, tensor, where, ShapeError, ValueError, type Tensor,
} from '@alphadrop/core';
import { SMALL_ALPHA, fusedBBAlphaLoss, fmtShape } from '@alphadrop/core/backend';

function checkAlphas(where: string, alphas: readonly number[], G: number): void {
  if (alphas.length !== G) throw new ValueError(where, `one α per model (${G})`, `${alphas.length}`);
  alphas.forEach((a, g) => {
    if (!Number.isFinite(a)) throw new ValueError(`${where}: alphas[${g}]`, 'a finite α', String(a));
    if (a !== 0 && Math.abs(a) < SMALL_ALPHA) throw new ValueError(`${where}: alphas[${g}]`, `α = 0 or |α| ≥ ${SMALL_ALPHA} in a model batch`, String(a));
  });
}

/**
 * Per-model mean over the batch of ℓ_α from log-likelihoods ll [G, M, K]: ℓ_0 = −mean_k ll
 * where α_g = 0, else −(1/α_g)[LSE_k(α_g·ll) − log K] (loss.ts bbAlphaPerPoint, per model).
 * Returns the per-point values [G, M].
 */
export function bbAlphaPerPointBatch(ll: Tensor, alphas: readonly number[]): Tensor {
  if (ll.rank !== 3) throw new ShapeError('bbAlphaPerPointBatch', 'log-likelihoods of shape [G, M, K]', fmtShape(ll.shape));
  const [G, M, K] = ll.shape as [number, number, number];
  checkAlphas('bbAlphaPerPointBatch', alphas, G);
  const meanBranch = neg(mean(ll, 2));
  if (alphas.every((a) => a === 0)) return meanBranch;
  // α = 0 models take the mean branch; their LSE branch runs with α = 1 (finite, unused, gradient 0)
  const scale = tensor(alphas.map((a) => (a === 0 ? 1 : a)), [G, 1, 1], { dtype: ll.dtype });
  const inv = tensor(alphas.map((a) => (a === 0 ? -1 : -1 / a)), [G, 1], { dtype: ll.dtype });
  const lse = mul(sub(logsumexp(mul(ll, scale), 2), Math.log(K)), inv);
  if (alphas.every((a) => a !== 0)) return lse;
  const isZero = tensor(alphas.map((a) => (a === 0 ? 1 : 0)), [G, 1], { dtype: 'bool' });
  return where(isZero, meanBranch, reshape(lse, [G, M]));
}

/**
 * Gaussian BB-α (loss.ts bbAlphaRegressionLoss, R1) per model: f [G, M, K, D] predictions,
 * y [G, M, D] targets, logTau [G] each model's learned log-precision. Returns [G].
 */
export function bbAlphaRegressionLossBatch(f: Tensor, y: Tensor, alphas: readonly number[], logTau: Tensor): Tensor {
  if (f.rank !== 4) throw new ShapeError('bbAlphaRegressionLossBatch', 'MC predictions of shape [G, M, K, D]', fmtShape(f.shape));
  const [G, M, , D] = f.shape as [number, number, number, number];
  if (y.rank !== 3 || y.shape[0] !== G || y.shape[1] !== M || y.shape[2] !== D)
    throw new ShapeError('bbAlphaRegressionLossBatch', `targets of shape [${G}, ${M}, ${D}]`, fmtShape(y.shape));
  if (logTau.rank !== 1 || logTau.shape[0] !== G) throw new ShapeError('bbAlphaRegressionLossBatch', `logTau of shape [${G}]`, fmtShape(logTau.shape));
  const diff = sub(f, reshape(y, [G, M, 1, D]));
  const sq = sum(mul(diff, diff), 3); // [G, M, K]
  const ll0 = mul(sq, reshape(mul(exp(logTau), -0.5), [G, 1, 1]));
  const bracket = bbAlphaPerPointBatch(ll0, alphas);
  const halfD = D / 2;
  const per = add(add(bracket, mul(reshape(logTau, [G, 1]), -halfD)), halfD * Math.log(2 * Math.PI));
  return mean(per, 1);
}

/**
 * Classification BB-α per model: logits [G, M, K, C], labels [G, M] (i32), model g's loss
 * the fused bbAlphaLoss of its slice (one fused primitive per model). Returns [G].
 */
export function bbAlphaLossBatch(logits: Tensor, labels: Tensor, alphas: readonly number[]): Tensor {
  if (logits.rank !== 4) throw new ShapeError('bbAlphaLossBatch', 'MC logits of shape [G, M, K, C]', fmtShape(logits.shape));
  const [G, M, K, C] = logits.shape as [number, number, number, number];
  if (labels.rank !== 2 || labels.shape[0] !== G || labels.shape[1] !== M) throw new ShapeError('bbAlphaLossBatch', `labels of shape [${G}, ${M}]`, fmtShape(labels.shape));
  checkAlphas('bbAlphaLossBatch', alphas, G);
  const losses = alphas.map((a, g) =>
    fusedBBAlphaLoss(reshape(slice(logits, [g, 0, 0, 0], [1, M, K, C]), [M, K, C]), reshape(slice(labels, [g, 0], [1, M]), [M]), a, 'mean'),
  );
  return stack(losses, 0);
}
