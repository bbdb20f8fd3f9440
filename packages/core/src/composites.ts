// Composite functions, built only from primitives (so their gradients come for free from
// the primitive VJPs). Fused kernels may later replace some of them, and must match them.

import { noGrad } from './grad-mode.js';
import { DTypeError, ShapeError } from './errors.js';
import * as op from './ops.js';
import { tidy } from './memory.js';
import { logsumexp as fusedLogsumexp } from './fused.js';
import { fmtShape } from './shape.js';
import type { Tensor } from './tensor.js';

/**
 * log Σ exp(x) over `axis` from plain primitives, stabilised by the (gradient-free)
 * maximum. The fused primitive (fused.ts `logsumexp`) must equal it.
 */
export function logsumexpComposite(x: Tensor, axis = -1, keepDims = false): Tensor {
  return tidy(() => lseComposite(x, axis, keepDims));
}
function lseComposite(x: Tensor, axis: number, keepDims: boolean): Tensor {
  const m = op.max(x, axis, true);
  // The max is a constant shift: its gradient contributions cancel, but stopping it keeps
  // the tape small and the tie-splitting of max out of the picture.
  // A non-finite max (a +Inf or all -Inf row, or NaN) shifts by 0 instead, so the row's
  // result is +Inf / -Inf / NaN as IEEE gives it rather than Inf - Inf = NaN (the fused rule).
  const mc = stopGradient(op.where(op.equal(op.sub(m, m), 0), m, 0));
  const s = op.log(op.sum(op.exp(op.sub(x, mc)), axis, true));
  const r = op.add(s, mc);
  return keepDims ? r : op.reshape(r, r.shape.filter((_, i) => i !== normalize(axis, x.rank)));
}

function normalize(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** x − logsumexp(x): never log(softmax(x)), which underflows to −∞. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return tidy(() => op.sub(x, fusedLogsumexp(x, axis, true)));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return tidy(() => op.exp(logSoftmax(x, axis)));
}

/** A copy that the tape treats as a constant. */
export function stopGradient(x: Tensor): Tensor {
  return noGradCopy(x);
}
function noGradCopy(x: Tensor): Tensor {
  return noGrad(() => op.reshape(x, [...x.shape]));
}

/**
 * Mean cross-entropy of logits [..., C] against integer labels [...] (i32) or
 * probabilities [..., C] (soft labels).
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const C = logits.shape[logits.rank - 1]!;
  return tidy(() => {
    const lp = logSoftmax(logits, -1);
    let target: Tensor;
    if (labels.dtype === 'i32') {
      if (labels.rank !== logits.rank - 1 || labels.shape.some((d, i) => d !== logits.shape[i]))
        throw new ShapeError('crossEntropy', `labels of shape ${fmtShape(logits.shape.slice(0, -1))}`, fmtShape(labels.shape));
      target = op.oneHot(labels, C, logits.dtype);
    } else {
      if (labels.dtype !== logits.dtype) throw new DTypeError('crossEntropy', `i32 labels or ${logits.dtype} probabilities`, labels.dtype);
      if (labels.rank !== logits.rank || labels.shape.some((d, i) => d !== logits.shape[i]))
        throw new ShapeError('crossEntropy', `probabilities of shape ${fmtShape(logits.shape)}`, fmtShape(labels.shape));
      target = labels;
    }
    return op.neg(op.mean(op.sum(op.mul(target, lp), -1)));
  });
}

/** Mean squared error over all elements. */
export function mse(prediction: Tensor, target: Tensor): Tensor {
  if (prediction.rank !== target.rank || prediction.shape.some((d, i) => d !== target.shape[i]))
    throw new ShapeError('mse', `target of the prediction's shape ${fmtShape(prediction.shape)}`, fmtShape(target.shape));
  return tidy(() => {
    const d = op.sub(prediction, target);
    return op.mean(op.mul(d, d));
  });
}
