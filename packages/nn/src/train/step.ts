// One training step: gradients of the minibatch loss with respect to every parameter, then
// the optimizer's fused update; everything recorded into one submission (flush at the end),
// nothing read back. fit() runs one per minibatch; resumable training and benchmarks call it
// directly.

import { add, derive, getBackend, keep, mul, reshape, rootKey, tidy, valueAndGradsOf, type Tensor } from '@alphadrop/core';
import type { ForwardContext, Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';

export type LossFn = (model: Module, x: Tensor, y: Tensor, ctx: ForwardContext) => Tensor;

export interface TrainStepOptions {
  /** Return the step's loss (a scalar tensor the caller disposes). */
  keepLoss?: boolean;
  /**
   * Return the step's finiteness flag, shape [1]: 0·loss + Σ 0·p over the updated parameters,
   * so 0 when the loss and every parameter are finite and NaN as soon as one is not. It stays
   * on the device: the caller reads it when it likes (fit batches it with the loss reads).
   */
  finiteness?: boolean;
}

export interface TrainStepResult {
  /** The loss, when asked for with keepLoss; else null. */
  loss: Tensor | null;
  /** The finiteness flag, when asked for; else null. */
  finite: Tensor | null;
}

/**
 * Runs one step on (x, y) with the dropout masks of step `optimizer.step` under
 * derive(rootKey(seed), 'trainDropout') (as fit draws them). The tensors returned are the
 * caller's to dispose.
 */
export function trainStep(
  model: Module,
  optimizer: Optimizer,
  loss: LossFn,
  x: Tensor,
  y: Tensor,
  seed: number,
  opts: TrainStepOptions = {},
): TrainStepResult {
  const result = stepOnce(model, optimizer, loss, x, y, trainingContext(seed, optimizer.step), opts);
  getBackend().flush();
  return result;
}

/** The masks of training step `step`: counter (layer, step) under derive(rootKey(seed), 'trainDropout'). */
export function trainingContext(seed: number, step: number): ForwardContext {
  return { key: derive(rootKey(seed), 'trainDropout'), step };
}

/** One step's gradients and update, encoded but not submitted (trainStep and the traced step share it). */
export function stepOnce(
  model: Module,
  optimizer: Optimizer,
  loss: LossFn,
  x: Tensor,
  y: Tensor,
  ctx: ForwardContext,
  opts: TrainStepOptions,
): TrainStepResult {
  return tidy(() => {
    const { value, grads } = valueAndGradsOf(() => loss(model, x, y, ctx), model.parameters());
    let finite: Tensor | null = null;
    if (opts.finiteness) {
      const paramsFlag = optimizer.apply(grads, { finiteness: true }); // kept by apply: ours to dispose
      finite = keep(reshape(add(mul(value, 0), paramsFlag), [1]));
      paramsFlag.dispose();
    } else optimizer.apply(grads);
    return { loss: opts.keepLoss ? keep(value) : null, finite };
  });
}
