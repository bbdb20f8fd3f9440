// Philox-4x32-10 in WGSL against core's TS implementation: raw bits and uniform floats
// must be bit-identical (DESIGN.md, "Randomness") for any seed (both key words), stream,
// offset (both counter words, with the carry between them) and length (partial last block).
// Normals go through transcendentals and agree to a tolerance; Bernoulli masks exactly.
import { beforeAll, describe, expect, it } from 'vitest';
import { bernoulli, randomBits, randomNormal, randomUniform } from '@alphadrop/core';
import { coversItsPrimitives, getTestBackend, gpuCase } from '../helpers/webgpu.js';

beforeAll(async () => {
  await getTestBackend();
});

const EXACT = { rtol: 0, atol: 0 };
const TWO32 = 4294967296;

describe('randomBits: bit-identical to the CPU', () => {
  const keys: [string, number, number, number][] = [
    ['seed 0', 0, 0, 0],
    ['seed 1, stream 1', 1, 1, 0],
    ['seed above 2^32 (both key words)', TWO32 * 77 + 5, 0, 0],
    ['largest safe seed, largest stream', Number.MAX_SAFE_INTEGER, 0xffffffff, 0],
    ['offset 7', 42, 3, 7],
    ['offset crossing 2^32 inside the tensor (carry)', 42, 0, TWO32 - 3],
    ['offset 2^32 + 3', 42, 0, TWO32 + 3],
    ['offset 2^40 + 1', 9, 2, 2 ** 40 + 1],
  ];
  for (const [name, seed, stream, offset] of keys) gpuCase(name, () => randomBits([37], { seed, stream, offset }));
  for (const n of [1, 2, 3, 5, 1001]) gpuCase(`n = ${n} (not a multiple of 4)`, () => randomBits([n], { seed: 123, stream: 4 }));
  gpuCase('multi-dimensional [3, 7, 5]', () => randomBits([3, 7, 5], { seed: 5 }));
});

describe('uniform floats: bit-identical', () => {
  gpuCase('[0, 1) with 24 bits', () => randomUniform([5, 13], { seed: 1 }), EXACT);
  gpuCase('offset ≥ 2^32, stream 9, n = 30', () => randomUniform([30], { seed: 2, stream: 9, offset: TWO32 + 11 }), EXACT);
  gpuCase('scaled to [-3, 5)', () => randomUniform([41], { seed: 3 }, -3, 5), EXACT);
});

describe('normals and Bernoulli', () => {
  gpuCase('randomNormal to a tolerance (Box-Muller)', () => randomNormal([7, 9], { seed: 4, stream: 2 }, 1, 2), { rtol: 1e-5, atol: 2e-5 });
  gpuCase('bernoulli(0.3) exactly', () => bernoulli([6, 11], 0.3, { seed: 5 }));
  gpuCase('bernoulli(1) keeps everything', () => bernoulli([9], 1, { seed: 6 }));
});

it('a new seed, stream or offset reuses the compiled pipeline (values go in a uniform block)', async () => {
  const gpu = await getTestBackend();
  const first = randomBits([64], { seed: 1 });
  await first.data();
  const compiles = gpu.counters.compiles;
  const again = [randomBits([64], { seed: 2 }), randomBits([64], { seed: 3, stream: 4 }), randomBits([64], { seed: 3, offset: TWO32 + 1 })];
  const values = await Promise.all(again.map((t) => t.data()));
  expect(gpu.counters.compiles).toBe(compiles);
  expect(new Set(values.map((v) => v.join(','))).size).toBe(3);
  for (const t of [first, ...again]) t.dispose();
});

coversItsPrimitives('random');
