// Public ops for the fused primitives. Each equals a composition of plain primitives
// (tested): linear = act(matmul(dropout(x), w) + b), logsumexp = max-shifted log Σ exp,
// optimizerUpdate = the elementwise update rule. Layers call these, so models written
// with layers get the fused kernels without change.

import { apply } from './engine.js';
import { ShapeError, ValueError } from './errors.js';
import { OPTIMIZER_SLOTS, Prim, type Activation, type DropoutParams, type OptimizerParams } from './prims.js';
import { normalizeAxis } from './shape.js';
import type { Tensor } from './tensor.js';
import { slice, reshape } from './ops.js';
import { tidy } from './memory.js';

export interface LinearOptions {
  transA?: boolean;
  transB?: boolean;
  activation?: Activation;
  /** Inverted dropout on x, the mask drawn from these Philox coordinates. */
  dropout?: DropoutParams | null;
}

/** act((x ⊙ mask / keep) · w + bias) in one primitive (one kernel on the GPU). */
export function linear(x: Tensor, w: Tensor, bias?: Tensor | null, opts: LinearOptions = {}): Tensor {
  const dropout = opts.dropout && opts.dropout.keepProb < 1 ? { ...opts.dropout } : null;
  return apply(Prim.FusedMatmul, bias ? [x, w, bias] : [x, w], {
    transA: opts.transA ?? false,
    transB: opts.transB ?? false,
    bias: !!bias,
    activation: opts.activation ?? 'none',
    dropout,
  });
}

/** Inverted dropout: x ⊙ mask / keepProb, the mask a pure function of its coordinates. */
export function dropout(x: Tensor, p: DropoutParams): Tensor {
  if (p.keepProb === 1) return reshape(x, [...x.shape]);
  return apply(Prim.Dropout, [x], { ...p });
}

/** log Σ exp(x) along `axis`, stable for any magnitude. */
export function logsumexp(x: Tensor, axis = -1, keepDims = false): Tensor {
  return apply(Prim.LogSumExp, [x], { axis: normalizeAxis('logsumexp', axis, x.rank), keepDims });
}

export const DEFAULT_OPTIMIZER: Omit<OptimizerParams, 'rule' | 'lr' | 'step'> = { momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/**
 * One optimizer step over (usually flat) parameters. Returns [newParam, ...newSlots].
 * With `decay` (per-element coefficients c, the parameter's shape), the gradient first
 * becomes g + c ⊙ p, in the same kernel (equal to add(g, mul(c, p)) then the update).
 *   sgd:       p -= lr g
 *   momentum:  v = μ v + g;  p -= lr v
 *   nesterov:  v = μ v + g;  p -= lr (g + μ v)
 *   adam:      m = β1 m + (1-β1) g;  v = β2 v + (1-β2) g²;  p -= lr m̂ / (√v̂ + ε)  (bias-corrected by `step`)
 */
export function optimizerUpdate(
  param: Tensor,
  grad: Tensor,
  slots: readonly Tensor[],
  p: Partial<OptimizerParams> & Pick<OptimizerParams, 'rule' | 'lr'>,
  decay: Tensor | null = null,
): Tensor[] {
  const full: OptimizerParams = { ...DEFAULT_OPTIMIZER, step: 1, ...p };
  const k = OPTIMIZER_SLOTS[full.rule];
  if (k === undefined) throw new ValueError('optimizerUpdate', 'rule sgd/momentum/nesterov/adam', String(full.rule));
  if (slots.length !== k) throw new ShapeError('optimizerUpdate', `${k} state slots for ${full.rule}`, `${slots.length}`);
  return tidy(() => {
    const packed = apply(Prim.OptimizerUpdate, decay ? [param, grad, ...slots, decay] : [param, grad, ...slots], full);
    const rest = param.shape.map(() => 0);
    return Array.from({ length: 1 + k }, (_, j) => reshape(slice(packed, [j, ...rest], [1, ...param.shape]), [...param.shape]));
  });
}


/**
 * The BB-α energy of MC logits [M, K, C] against labels [M] (i32) in one primitive:
 * 'mean' over the batch (a scalar) or 'none' (per point, [M]). Equal to the composition
 * in @alphadrop/bbalpha (bbAlphaPerPoint of the class log-likelihoods); its gradient is
 * one primitive too. No second derivative: use the composition for that.
 */
export function fusedBBAlphaLoss(logits: Tensor, labels: Tensor, alpha: number, reduction: 'mean' | 'none' = 'mean'): Tensor {
  return apply(Prim.BBAlphaLoss, [logits, labels], { alpha, reduction });
}
