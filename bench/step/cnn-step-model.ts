// The paper's CNN (spec §b.3) arranged for a BB-α step: its convolutions carry no dropout, so
// they are deterministic and computed once per image; only the dense head (dropout → dense
// 100 → ReLU → dropout → dense 10) is tiled K times. nn's Sequential cannot split a model at
// a layer, so the two halves of paperCnn() are two Sequentials under one Module: parameter
// names become features.* and head.*; the weights are paperCnn's (same seed, same layers).

import { StateError, type Tensor } from '@alphadrop/core';
import { Dropout, Module, Sequential, paperCnn, type ForwardContext } from '@alphadrop/nn';
import { bbAlphaLoss, mcForward } from '@alphadrop/bbalpha';

/** Layers of paperCnnArchitecture() before the first dropout: reshape, conv, ReLU, conv, ReLU, max-pool, flatten. */
const FEATURE_LAYERS = 7;

export class FeaturesThenHead extends Module {
  constructor(
    readonly features: Sequential,
    readonly head: Sequential,
  ) {
    super();
    this.addChild('features', features);
    this.addChild('head', head);
  }

  /** One sample per input (what forward means for any other Module). */
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.head.forward(this.features.forward(x, ctx), ctx);
  }

  /** The BB-α step's outputs, [M, K, 10]: features once per image, the head over M·K rows. */
  mcForward(x: Tensor, samples: number, ctx: ForwardContext): Tensor {
    return mcForward(this.head, this.features.forward(x, ctx), samples, ctx);
  }
}

/** paperCnn({ dropout, seed }) split after its flatten: the same layers, weights and dropout coordinates. */
export function splitPaperCnn(opts: { dropout: number; seed: number }): FeaturesThenHead {
  const full = paperCnn(opts);
  const features = full.layers.slice(0, FEATURE_LAYERS);
  const at = features.findIndex((l) => l instanceof Dropout);
  if (at >= 0) throw new StateError('splitPaperCnn', `no dropout among the first ${FEATURE_LAYERS} layers (the features must be deterministic)`, `a dropout at layer ${at}`);
  return new FeaturesThenHead(new Sequential(features), new Sequential(full.layers.slice(FEATURE_LAYERS)));
}

/** The BB-α loss (α, K samples) of the split CNN on (x, y). */
export const cnnLoss = (net: FeaturesThenHead, samples: number, alpha: number) =>
  (_m: Module, x: Tensor, y: Tensor, ctx: ForwardContext): Tensor => bbAlphaLoss(net.mcForward(x, samples, ctx), y, alpha);
