// Weight initialisation from the counter-based RNG: every parameter is a pure function of
// its key, derive(root, 'init', parameter index), so a model is reproducible on any backend
// and its weights share no random words with its dropout masks (purpose trainDropout).

import { randomNormal, randomUniform, tidy, type Key, type Tensor } from '@alphadrop/core';

/** The key of one parameter tensor (core's `derive(root, 'init', i)`). */
export type InitKey = Key;

/** Glorot/Xavier uniform: U(±sqrt(6 / (fanIn + fanOut))), Keras' default for Dense and Conv kernels. */
export function glorotUniform(shape: readonly number[], fanIn: number, fanOut: number, key: InitKey): Tensor {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return tidy(() => randomUniform(shape, key, -limit, limit));
}

/** He normal: N(0, 2 / fanIn), suited to ReLU layers. */
export function heNormal(shape: readonly number[], fanIn: number, key: InitKey): Tensor {
  return tidy(() => randomNormal(shape, key, 0, Math.sqrt(2 / fanIn)));
}

export type Initializer = 'glorot' | 'he';
