// Key derivation: every random draw in alphadrop comes from a key derived from one root key,
// never from a hand-numbered stream. Philox-4x32-10 serves as the hash (as jax's `fold_in`
// uses Threefry): derive(key, purpose, i, j) folds the purpose, then each index, into the
// key, one Philox block per fold. Different (purpose, indices) give different keys by
// construction, up to a 2^-64 collision chance per pair of keys.
//
// A key is then used as the Philox key of a random tensor; the counter words carry the
// coordinates inside one key (see PhiloxCoords in prims.ts):
//   counter = (block, c1, c2, c3)   block = floor(element / 4) < 2^32, c1..c3 u32
// so a tensor has at most 2^34 elements, and coordinates in c1..c3 (a dropout layer and a
// 64-bit step, say) never share words with other coordinates under the same key.
//
// The purposes (one table, also in README "Randomness"):
//
// | purpose         | indices              | counter words (c1, c2, c3)    | drawn by                     |
// |-----------------|----------------------|-------------------------------|------------------------------|
// | init            | parameter tensor i   | (0, 0, 0)                     | Linear / Conv2d weights      |
// | trainDropout    | —                    | (layer, step lo, step hi)     | dropout masks of fit steps   |
// | shuffle         | epoch                | (0, 0, 0)                     | minibatch order              |
// | predict         | evaluation pass      | (layer, batch lo, batch hi)   | MC prediction / evaluation   |
// | attackPredict   | attack pass          | (layer, chunk lo, chunk hi)   | the class an attack targets  |
// | attackGradient  | attack pass, step    | (layer, 0, 0)                 | masks under an attack's ∇_x  |
// | noise           | noise draw i         | (0, 0, 0)                     | input corruption             |
// | split           | split i              | (0, 0, 0)                     | random train/test splits     |
// | user            | any                  | any                           | free for applications        |

import { ValueError } from '../errors.js';
import { philox4x32 } from './philox.js';

/** A Philox key: two u32 words. Make one with `rootKey`, then `derive` per purpose. */
export type Key = readonly [number, number];

/** Every purpose randomness serves; the number is folded into the key (never reuse one). */
export const Purpose = {
  init: 1,
  trainDropout: 2,
  shuffle: 3,
  predict: 4,
  attackPredict: 5,
  attackGradient: 6,
  noise: 7,
  split: 8,
  user: 9,
} as const;
export type Purpose = keyof typeof Purpose;

// Domain tags in the last counter word keep the three uses of Philox as a hash apart
// from each other and from data counters (whose fourth word is a coordinate, not a tag).
const ROOT_TAG = 0x726f6f74; // 'root'
const PURPOSE_TAG = 0x70757270; // 'purp'
const INDEX_TAG = 0x696e6478; // 'indx'
const ROOT_KEY: Key = [0x616c7068, 0x6164726f]; // 'alph', 'adro': a fixed key for seeds

/** A word pair of a non-negative safe integer (the one place such a split is done). */
export function splitU64(where: string, name: string, v: number): [number, number] {
  if (!Number.isSafeInteger(v) || v < 0) throw new ValueError(where, `${name} an integer in [0, 2^53)`, String(v));
  return [v >>> 0, Math.floor(v / 4294967296) >>> 0];
}

function hash(c0: number, c1: number, tag: number, key: Key): Key {
  const out = [0, 0, 0, 0];
  philox4x32(c0, c1, 0, tag, key[0], key[1], out);
  return [out[0]!, out[1]!];
}

/** The root key of a run: a hash of the seed (any integer in [0, 2^53)). */
export function rootKey(seed: number): Key {
  const [lo, hi] = splitU64('rootKey', 'seed', seed);
  return hash(lo, hi, ROOT_TAG, ROOT_KEY);
}

/** Folds one integer into a key (jax's fold_in). */
export function foldIn(key: Key, index: number): Key {
  checkKey('foldIn', key);
  const [lo, hi] = splitU64('foldIn', 'index', index);
  return hash(lo, hi, INDEX_TAG, key);
}

/** The key of `purpose` under `key`, refined by each index in turn. */
export function derive(key: Key, purpose: Purpose, ...indices: readonly number[]): Key {
  checkKey('derive', key);
  const id = Purpose[purpose];
  if (id === undefined) throw new ValueError('derive', `a purpose (${Object.keys(Purpose).join(', ')})`, String(purpose));
  let k = hash(id, 0, PURPOSE_TAG, key);
  for (const i of indices) k = foldIn(k, i);
  return k;
}

/** Shorthand: derive(rootKey(seed), purpose, ...indices). */
export function keyFor(seed: number, purpose: Purpose, ...indices: readonly number[]): Key {
  return derive(rootKey(seed), purpose, ...indices);
}

export function isKey(k: unknown): k is Key {
  return Array.isArray(k) && k.length === 2 && k.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
}

export function checkKey(where: string, k: unknown): asserts k is Key {
  if (!isKey(k)) throw new ValueError(where, 'a key of two u32 words (from rootKey/derive)', JSON.stringify(k));
}

/** Counter words of a coordinate triple, each a u32; see PhiloxCoords. */
export function checkCounter(where: string, c: unknown): asserts c is readonly [number, number, number] {
  if (!(Array.isArray(c) && c.length === 3 && c.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff)))
    throw new ValueError(where, 'counter words (c1, c2, c3), each a u32', JSON.stringify(c));
}

/** The largest random tensor one key can fill: 2^32 Philox blocks of 4 words. */
export const MAX_RANDOM_ELEMENTS = 2 ** 34;
