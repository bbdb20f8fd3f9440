// The WebGPU plan cache key: JSON.stringify wrote ±Infinity and NaN as null and -0 as 0, so
// a pad with -Infinity and then one with +Infinity on the same shape reused one shader
// (the fill value is baked into the WGSL). planKey must tell every value apart.
import { beforeAll, describe, expect, it } from 'vitest';
import { pad, tensor, type Tensor } from '@alphadrop/core';
import { planKey } from '../../packages/kernels/src/runtime/plan-key.js';
import { getTestBackend } from '../helpers/webgpu.js';

describe('planKey', () => {
  // values JSON.stringify confuses, pairwise: every one must get its own key
  const values: unknown[] = [
    0, -0, Infinity, -Infinity, NaN, null, undefined, 1, '1', 'NaN', 'Inf', '-0', 'null', true, 'true', 'T',
    [], [0], [-0], [null], [undefined], {}, { a: 0 }, { a: -0 }, { a: NaN }, { a: null }, { a: '0' }, [[0, 1]], [0, [1]],
    1e21, '1e21', 0.1, 0.30000000000000004, 2n, '2n', new Float32Array([0]), new Int32Array([0]), new Float32Array([-0]),
    { pads: [[0, 1]], value: -Infinity }, { pads: [[0, 1]], value: Infinity }, { pads: [[0, 1]], value: NaN },
  ];
  it('gives distinct keys to distinct values', () => {
    const keys = values.map(planKey);
    for (let i = 0; i < values.length; i++)
      for (let j = i + 1; j < values.length; j++) expect(keys[i], `${String(values[i])} vs ${String(values[j])}`).not.toBe(keys[j]);
    // the defect it replaces: JSON.stringify collides on these
    expect(JSON.stringify({ value: Infinity })).toBe(JSON.stringify({ value: -Infinity }));
    expect(JSON.stringify([-0])).toBe(JSON.stringify([0]));
  });
  it('gives equal keys to equal values', () => {
    for (const v of values) expect(planKey(v)).toBe(planKey(structuredClone(v)));
    expect(planKey(NaN)).toBe(planKey(0 / 0));
  });
  it('refuses functions and symbols', () => {
    expect(() => planKey(() => 0)).toThrow(/plain data/);
    expect(() => planKey({ a: Symbol('s') })).toThrow(/plain data/);
  });
});

describe('pad fill values on WebGPU (one shape, several fills)', () => {
  beforeAll(async () => {
    await getTestBackend();
  });
  // (a NaN fill is refused by pad's shape rule, so it is not a case here)
  it('-Infinity, +Infinity, -0 and 0 each get their own shader', async () => {
    const backend = await getTestBackend();
    const x = tensor([1, 2], [2], { backend });
    const padded = async (fill: number): Promise<number> => {
      const y: Tensor = pad(x, [[1, 0]], fill);
      const v = (await y.data())[0]!;
      y.dispose();
      return v;
    };
    expect(await padded(-Infinity)).toBe(-Infinity);
    expect(await padded(Infinity)).toBe(Infinity);
    expect(Object.is(await padded(-0), -0)).toBe(true);
    expect(Object.is(await padded(0), 0)).toBe(true);
    x.dispose();
  });
});
