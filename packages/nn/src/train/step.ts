// One training step: gradients of the minibatch loss with respect to every parameter, then
// the optimizer's fused update; everything recorded into one submission (flush at the end).
// fit() loops over it; resumable training and benchmarks call it directly.

import { derive, getBackend, keep, rootKey, tidy, valueAndGradsOf, type Tensor } from '@alphadrop/core';
import type { ForwardContext, Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';

export type LossFn = (model: Module, x: Tensor, y: Tensor, ctx: ForwardContext) => Tensor;

/**
 * Runs one step on (x, y) with the dropout masks of step `optimizer.step` under
 * derive(rootKey(seed), 'trainDropout') (as fit draws them). Returns the loss tensor when
 * `keepLoss` (the caller disposes it), else null.
 */
export function trainStep(model: Module, optimizer: Optimizer, loss: LossFn, x: Tensor, y: Tensor, seed: number, keepLoss = false): Tensor | null {
  const ctx: ForwardContext = { key: derive(rootKey(seed), 'trainDropout'), step: optimizer.step };
  const value = tidy(() => {
    const { value, grads } = valueAndGradsOf(() => loss(model, x, y, ctx), model.parameters());
    optimizer.apply(grads);
    return keepLoss ? keep(value) : null;
  });
  getBackend().flush();
  return value;
}
