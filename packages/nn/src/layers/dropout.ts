// Dropout with an always-on Monte Carlo mode. Its mask is never stored: it is a pure
// function of (seed, step, layer, row, column), mapped onto Philox coordinates as
//   key     = seed
//   stream  = layer index + 65536 · purpose        (purpose 0: training, 1: prediction)
//   counter = (row · columns + column) / 4 + step · 2^32     (word (row · columns + column) mod 4)
// so the forward pass and the backward pass (and any re-run of the same step) regenerate
// the same mask, and a step's masks never overlap another step's. With an M×K tiled MC
// batch, row = n·K + k: every (input, sample) row gets its own mask.

import { dropout as dropoutOp, ValueError, type DropoutParams, type Tensor } from '@alphadrop/core';
import { Module, type ForwardContext } from '../module.js';

export function dropoutCoordinates(keepProb: number, layer: number, ctx: ForwardContext): DropoutParams {
  return {
    keepProb,
    seed: ctx.seed,
    stream: layer + 65536 * (ctx.purpose === 'predict' ? 1 : 0),
    offset: ctx.step * 4294967296,
  };
}

export class Dropout extends Module {
  /** Assigned by the enclosing Sequential (its order among the model's dropout layers). */
  layerIndex = 0;
  readonly keepProb: number;

  /** `rate` is the probability of dropping a unit (keep probability 1 − rate). */
  constructor(readonly rate: number) {
    super();
    if (!(rate >= 0 && rate < 1)) throw new ValueError('Dropout', 'a rate in [0, 1)', String(rate));
    this.keepProb = 1 - rate;
  }

  get active(): boolean {
    return this.mode !== 'eval' && this.rate > 0;
  }

  coordinates(ctx: ForwardContext): DropoutParams {
    return dropoutCoordinates(this.keepProb, this.layerIndex, ctx);
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.active ? dropoutOp(x, this.coordinates(ctx)) : x;
  }
}
