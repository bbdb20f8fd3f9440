// The standard layers. Linear stores its kernel as [in, out] (y = x·W + b, Keras layout);
// Conv2d is NCHW with OIHW kernels. Activations are layers so Sequential can fuse them
// into the preceding Linear.

import {
  add, conv2d, linear, maxPool2d, relu, reshape, sigmoid, tanh, zeros, type Conv2dOptions, type Tensor,
} from '@alphadrop/core';
import { glorotUniform, heNormal, type Initializer, type InitKey } from '../init.js';
import { Module, type ForwardContext } from '../module.js';

let nextStream = 0;
/** Restarts the stream counter that gives each new layer's parameters distinct RNG streams. */
export function resetInitStreams(start = 0): void {
  nextStream = start;
}
function takeKey(seed: number | undefined): InitKey {
  return { seed: seed ?? 0, stream: nextStream++ };
}

export interface LayerInit {
  /** Seed of the initialiser (the stream comes from the construction order). */
  seed?: number;
  init?: Initializer;
  bias?: boolean;
}

export class Linear extends Module {
  readonly hasBias: boolean;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LayerInit = {},
  ) {
    super();
    const key = takeKey(opts.seed);
    const w = opts.init === 'he' ? heNormal([inFeatures, outFeatures], inFeatures, key) : glorotUniform([inFeatures, outFeatures], inFeatures, outFeatures, key);
    this.addParameter('weight', w, 'weight');
    this.hasBias = opts.bias ?? true;
    if (this.hasBias) this.addParameter('bias', zeros([outFeatures]), 'bias');
  }
  get weight(): Tensor {
    return this.param('weight');
  }
  get bias(): Tensor | null {
    return this.hasBias ? this.param('bias') : null;
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

export class Conv2d extends Module {
  readonly hasBias: boolean;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number | readonly [number, number],
    readonly options: Conv2dOptions & LayerInit = {},
  ) {
    super();
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    const key = takeKey(options.seed);
    const shape = [outChannels, inChannels, kh, kw];
    const w = options.init === 'he' ? heNormal(shape, inChannels * kh * kw, key) : glorotUniform(shape, inChannels * kh * kw, outChannels * kh * kw, key);
    this.addParameter('weight', w, 'weight');
    this.hasBias = options.bias ?? true;
    if (this.hasBias) this.addParameter('bias', zeros([outChannels]), 'bias');
  }
  forward(x: Tensor): Tensor {
    const y = conv2d(x, this.param('weight'), this.options);
    return this.hasBias ? add(y, reshape(this.param('bias'), [1, this.outChannels, 1, 1])) : y;
  }
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernel: number | readonly [number, number],
    readonly options: { stride?: number | readonly [number, number]; padding?: number | readonly [number, number] } = {},
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernel, this.options);
  }
}

/** [N, ...] → [N, prod(...)]. */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return reshape(x, [x.shape[0]!, -1]);
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}
export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export type { ForwardContext };
