// Philox-4x32-10 in WGSL against core's TS implementation: raw bits and uniform floats
// must be bit-identical (DESIGN.md, "Randomness") for any key (both words), any counter
// words (c1, c2, c3) and any length (partial last block). Element i is word i mod 4 of
// philox4x32(floor(i / 4), c1, c2, c3, k0, k1), checked here also against philox4x32 called
// directly on the host. Normals go through transcendentals and agree to a tolerance;
// Bernoulli masks exactly.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bernoulli, derive, keyFor, randomBits, randomNormal, randomUniform, rootKey, type RandomSource,
} from '@alphadrop/core';
import { philox4x32 } from '@alphadrop/core/backend';
import { coversItsPrimitives, getTestBackend, gpuCase, runOn } from '../helpers/webgpu.js';

beforeAll(async () => {
  await getTestBackend();
});

const EXACT = { rtol: 0, atol: 0 };
const MAX = 0xffffffff;

describe('randomBits: bit-identical to the CPU', () => {
  const sources: [string, RandomSource][] = [
    ['key (0, 0)', [0, 0]],
    ['root key of seed 1', rootKey(1)],
    ['key words at their maximum', [MAX, MAX]],
    ['a derived key, counter (1, 0, 0)', { key: keyFor(42, 'trainDropout'), counter: [1, 0, 0] }],
    ['counter (0, 1, 0)', { key: keyFor(42, 'trainDropout'), counter: [0, 1, 0] }],
    ['counter (0, 0, 1)', { key: keyFor(42, 'trainDropout'), counter: [0, 0, 1] }],
    ['every word at its maximum', { key: [MAX, MAX], counter: [MAX, MAX, MAX] }],
    ['key derived with indices, counter (7, 3, 2)', { key: derive(rootKey(9), 'predict', 2, 5), counter: [7, 3, 2] }],
  ];
  for (const [name, src] of sources) gpuCase(name, () => randomBits([37], src));
  for (const n of [1, 2, 3, 5, 1001]) gpuCase(`n = ${n} (not a multiple of 4)`, () => randomBits([n], { key: keyFor(123, 'user'), counter: [4, 0, 0] }));
  gpuCase('multi-dimensional [3, 7, 5]', () => randomBits([3, 7, 5], keyFor(5, 'user')));
});

it('GPU element i is word i mod 4 of philox4x32(floor(i / 4), c1, c2, c3, k0, k1)', async () => {
  const gpu = await getTestBackend();
  const key = keyFor(11, 'trainDropout');
  const counter = [5, 0x89abcdef, 3] as const;
  const n = 23;
  const got = (await runOn(gpu, () => randomBits([n], { key, counter }))).values;
  const want: number[] = [];
  const block = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    philox4x32(Math.floor(i / 4), counter[0], counter[1], counter[2], key[0], key[1], block);
    want.push(block[i % 4]!);
  }
  expect(Array.from(got)).toEqual(want);
});

describe('uniform floats: bit-identical', () => {
  gpuCase('[0, 1) with 24 bits', () => randomUniform([5, 13], keyFor(1, 'user')), EXACT);
  gpuCase('counter (9, 2^32 - 1, 1), n = 30', () => randomUniform([30], { key: keyFor(2, 'user'), counter: [9, MAX, 1] }), EXACT);
  gpuCase('scaled to [-3, 5)', () => randomUniform([41], keyFor(3, 'user'), -3, 5), EXACT);
});

describe('normals and Bernoulli', () => {
  gpuCase('randomNormal to a tolerance (Box-Muller)', () => randomNormal([7, 9], { key: keyFor(4, 'noise'), counter: [2, 0, 0] }, 1, 2), { rtol: 1e-5, atol: 2e-5 });
  gpuCase('bernoulli(0.3) exactly', () => bernoulli([6, 11], 0.3, keyFor(5, 'user')));
  gpuCase('bernoulli(1) keeps everything', () => bernoulli([9], 1, keyFor(6, 'user')));
});

it('a new key or counter reuses the compiled pipeline (values go in a uniform block)', async () => {
  const gpu = await getTestBackend();
  const first = randomBits([64], keyFor(1, 'user'));
  await first.data();
  const compiles = gpu.counters.compiles;
  const again = [
    randomBits([64], keyFor(2, 'user')),
    randomBits([64], { key: keyFor(3, 'user'), counter: [4, 0, 0] }),
    randomBits([64], { key: keyFor(3, 'user'), counter: [0, 1, 1] }),
  ];
  const values = await Promise.all(again.map((t) => t.data()));
  expect(gpu.counters.compiles).toBe(compiles);
  expect(new Set(values.map((v) => v.join(','))).size).toBe(3);
  for (const t of [first, ...again]) t.dispose();
});

coversItsPrimitives('random');
