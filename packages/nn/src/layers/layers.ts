// The standard layers. Linear stores its kernel as [in, out] (y = x·W + b, Keras layout);
// Conv2d is NCHW with OIHW kernels. Activations are layers so Sequential can fuse them
// into the preceding Linear.

import {
  add, conv2d, keyFor, linear, maxPool2d, relu, reshape, sigmoid, stack, tanh, tidy, zeros, type Conv2dOptions, type Key, type Tensor,
} from '@alphadrop/core';
import { glorotUniform, heNormal, type Initializer } from '../init.js';
import { Module, type ForwardContext } from '../module.js';

export interface LayerInit {
  /**
   * Key of the weight initialiser: `derive(root, 'init', i)` with i the layer's index in
   * its model. Model builders (mlp, buildModel) always pass one. Without it the key is
   * keyFor(seed ?? 0, 'init', `index`), and `index` defaults to 0: hand-built models must
   * number their layers, or two layers of one shape start equal.
   */
  key?: Key;
  seed?: number;
  index?: number;
  init?: Initializer;
  bias?: boolean;
}

/** A Linear layer of a model batch: one initialisation key per model (nn batch/). */
export interface BatchInit {
  /** Model g's weights start as a lone layer's would under keys[g]. */
  keys: readonly Key[];
  init?: Initializer;
  bias?: boolean;
}

function initKey(o: LayerInit): Key {
  return o.key ?? keyFor(o.seed ?? 0, 'init', o.index ?? 0);
}

/**
 * y = x·W + b. Alone: W [in, out], b [out], x [N, in]. In a model batch of G models
 * (`BatchInit`): W [G, in, out], b [G, 1, out], x [G, N, in], each model's matrix its own.
 */
export class Linear extends Module {
  readonly hasBias: boolean;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LayerInit | BatchInit = {},
  ) {
    super();
    const one = (key: Key) => (opts.init === 'he' ? heNormal([inFeatures, outFeatures], inFeatures, key) : glorotUniform([inFeatures, outFeatures], inFeatures, outFeatures, key));
    const keys = 'keys' in opts ? opts.keys : null;
    this.addParameter('weight', keys ? tidy(() => stack(keys.map(one), 0)) : one(initKey(opts as LayerInit)), 'weight');
    this.hasBias = opts.bias ?? true;
    if (this.hasBias) this.addParameter('bias', zeros(keys ? [keys.length, 1, outFeatures] : [outFeatures]), 'bias');
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
    const key = initKey(options);
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
