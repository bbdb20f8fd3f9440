// Sequential: layers applied in order, choosing the fused primitives where the pattern
// allows: Dropout → Linear → ReLU runs as one fused linear (mask generated while loading
// the input, bias and ReLU in the epilogue). Dropout layers are numbered in order; the
// number is their layer coordinate in the mask's Philox counter (layers/dropout.ts).

import { linear, type Tensor } from '@alphadrop/core';
import { Module, type ForwardContext } from '../module.js';
import { Dropout } from './dropout.js';
import { Linear, ReLU } from './layers.js';

export class Sequential extends Module {
  readonly layers: readonly Module[];

  constructor(layers: readonly Module[]) {
    super();
    this.layers = layers;
    let dropouts = 0;
    let rateBefore = 0;
    layers.forEach((l, i) => {
      this.addChild(String(i), l);
      if (l instanceof Dropout) {
        l.layerIndex = dropouts++;
        rateBefore = l.rate;
      } else if (l.parameters().length > 0) {
        l.setInputDropoutRate(rateBefore);
        rateBefore = 0;
      }
    });
  }

  forward(x: Tensor, ctx: ForwardContext): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const l = this.layers[i]!;
      const next = this.layers[i + 1];
      // Dropout → Linear (→ ReLU): one fused primitive
      if (l instanceof Dropout && next instanceof Linear) {
        const withRelu = this.layers[i + 2] instanceof ReLU;
        h = linear(h, next.weight, next.bias, { dropout: l.active ? l.coordinates(ctx) : null, activation: withRelu ? 'relu' : 'none' });
        i += withRelu ? 2 : 1;
        continue;
      }
      // Linear → ReLU: bias and activation in the matmul epilogue
      if (l instanceof Linear && next instanceof ReLU) {
        h = linear(h, l.weight, l.bias, { activation: 'relu' });
        i += 1;
        continue;
      }
      h = l.forward(h, ctx);
    }
    return h;
  }
}
