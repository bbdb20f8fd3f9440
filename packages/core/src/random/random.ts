// Random tensors as pure functions of a key (random/keys.ts): bits, uniform floats (exact
// integer-to-float rule, so CPU and GPU agree bit for bit), normals (Box-Muller, through
// transcendentals: agree to a tolerance), Bernoulli masks (integer threshold on the bits).

import { apply } from '../engine.js';
import { ValueError, DTypeError } from '../errors.js';
import type { DType } from '../dtype.js';
import * as op from '../ops.js';
import { tidy } from '../memory.js';
import { Prim, type PhiloxCoords } from '../prims.js';
import { isKey, type Key } from './keys.js';
import { sizeOf, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { keepThreshold } from './philox.js';

/**
 * Where a random tensor's words come from: a key (from `derive`), or a key with counter
 * words (c1, c2, c3) for several tensors under one key (default (0, 0, 0)).
 */
export type RandomSource = Key | PhiloxCoords;

function coords(src: RandomSource): PhiloxCoords {
  return isKey(src) ? { key: src, counter: [0, 0, 0] } : { key: src.key, counter: src.counter };
}

function check(where: string, p: number, lo: number, hi: number, name: string): void {
  if (!(p >= lo && p <= hi)) throw new ValueError(where, `${name} in [${lo}, ${hi}]`, String(p));
}

/** Raw u32 Philox words. */
export function randomBits(shape: Shape, key: RandomSource): Tensor {
  return apply(Prim.RandomBits, [], { shape: [...shape], ...coords(key), kind: 'bits', dtype: 'u32' });
}

/** Uniform in [lo, hi): the word's top 24 bits times 2^-24, then scaled. */
export function randomUniform(shape: Shape, key: RandomSource, lo = 0, hi = 1, dtype: DType = 'f32'): Tensor {
  const unit = () => apply(Prim.RandomBits, [], { shape: [...shape], ...coords(key), kind: 'uniform', dtype });
  return lo === 0 && hi === 1 ? unit() : tidy(() => op.add(op.mul(unit(), hi - lo), lo));
}

/**
 * Standard normals by Box-Muller. Uses words [0, 2n) of the key: the first n give u1,
 * the next n give u2.
 */
export function randomNormal(shape: Shape, key: RandomSource, mean = 0, std = 1, dtype: DType = 'f32'): Tensor {
  if (dtype !== 'f32' && dtype !== 'f64') throw new DTypeError('randomNormal', 'f32 or f64', dtype);
  return tidy(() => normalFrom(shape, key, mean, std, dtype));
}

function normalFrom(shape: Shape, key: RandomSource, mean: number, std: number, dtype: DType): Tensor {
  const n = sizeOf(shape);
  const u = randomUniform([2, n], key, 0, 1, dtype);
  const u1 = op.sub(1, op.reshape(op.slice(u, [0, 0], [1, n]), [...shape])); // (0, 1]: log is finite
  const u2 = op.reshape(op.slice(u, [1, 0], [1, n]), [...shape]);
  const z = op.mul(op.sqrt(op.mul(op.log(u1), -2)), op.cos(op.mul(u2, 2 * Math.PI)));
  return mean === 0 && std === 1 ? z : op.add(op.mul(z, std), mean);
}

/** Bernoulli(p) as bool: word < round(p · 2^32) (p = 1 keeps everything). */
export function bernoulli(shape: Shape, p: number, key: RandomSource): Tensor {
  check('bernoulli', p, 0, 1, 'p');
  return tidy(() => bernoulliFrom(shape, p, key));
}

function bernoulliFrom(shape: Shape, p: number, key: RandomSource): Tensor {
  const bits = randomBits(shape, key);
  const like = { dtype: 'u32' as const, backend: bits.backend };
  if (p === 1) return op.lessEqual(bits, op.full([], 0xffffffff, like));
  return op.less(bits, op.full([], keepThreshold(p), like));
}
