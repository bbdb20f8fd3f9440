// Dropout with an always-on Monte Carlo mode. Its mask is never stored: it is a pure
// function of (key, step, layer, row, column), mapped onto Philox coordinates as
//   key     = ctx.key                              (derived per purpose: core random/keys.ts)
//   counter = (e / 4, layer, step lo32, step hi32)  e = row · columns + column, word e mod 4
// so the forward pass and the backward pass (and any re-run of the same step) regenerate
// the same mask, and masks of different layers or steps never share a Philox word: the
// coordinates sit in separate counter words. Limits (checked): layer < 2^32, step < 2^53,
// rows · columns ≤ 2^34. With an M×K tiled MC batch, row = n·K + k: every (input, sample)
// row gets its own mask.

import { stepBound, ValueError, type Tensor } from '@alphadrop/core';
import { dropout as dropoutOp, splitU64, type DropoutParams } from '@alphadrop/core/backend';
import { Module, type ForwardContext } from '../module.js';

/**
 * The mask coordinates of dropout layer `layer` (drop probability `rate`) at `ctx.step`.
 * The primitive takes the keep probability, 1 − rate; the public API speaks of the rate only.
 */
export function dropoutCoordinates(rate: number, layer: number, ctx: ForwardContext): DropoutParams {
  const [stepLo, stepHi] = splitU64('dropout', 'step', ctx.step);
  // step-bound: a replayed training step (core's trace) redraws the mask for its own step
  const keys = ctx.keys ? { keys: ctx.keys } : {};
  return stepBound({ keepProb: 1 - rate, key: ctx.key, counter: [layer, stepLo, stepHi], ...keys }, (step) => dropoutCoordinates(rate, layer, { ...ctx, step }));
}

export class Dropout extends Module {
  /** Assigned by the enclosing Sequential (its order among the model's dropout layers). */
  layerIndex = 0;

  /** `rate` is the probability of dropping a unit (as PyTorch's `p`). */
  constructor(readonly rate: number) {
    super();
    if (!(rate >= 0 && rate < 1)) throw new ValueError('Dropout', 'a rate (drop probability) in [0, 1)', String(rate));
  }

  get active(): boolean {
    return this.mode !== 'eval' && this.rate > 0;
  }

  coordinates(ctx: ForwardContext): DropoutParams {
    return dropoutCoordinates(this.rate, this.layerIndex, ctx);
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.active ? dropoutOp(x, this.coordinates(ctx)) : x;
  }
}
