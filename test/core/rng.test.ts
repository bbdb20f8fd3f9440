// Known-answer vectors of Random123 (kat_vectors) for Philox-4x32-10 and Threefry-2x32-20,
// and the properties of the random tensors built on them.
import { describe, expect, it } from 'vitest';
import {
  randomBits, randomUniform, randomNormal, bernoulli, ValueError, cpuBackend, setBackend, memory, keyFor,
  rootKey, derive, type Key, type Purpose,
} from '@alphadrop/core';
import { philox4x32, threefry2x32, bitsToUniform, mulhi32, keepThreshold } from '@alphadrop/core/backend';

setBackend(cpuBackend('reference'));

const hex = (ws: ArrayLike<number>) => Array.from(ws, (w) => (w >>> 0).toString(16).padStart(8, '0')).join(' ');

describe('Philox-4x32-10 known answers', () => {
  it('counter 0, key 0', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out);
    expect(hex(out)).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
  });
  it('every word 0xffffffff', () => {
    const f = 0xffffffff;
    const out = new Uint32Array(4);
    philox4x32(f, f, f, f, f, f, out);
    expect(hex(out)).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
  });
  it('pi digits vector', () => {
    // Random123 kat_vectors: philox4x32 10 243f6a88 85a308d3 13198a2e 03707344 a4093822 299f31d0
    const out = new Uint32Array(4);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    expect(hex(out)).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });
  it('mulhi32 equals the BigInt product', () => {
    for (const [a, b] of [[0xd2511f53, 0xffffffff], [0xcd9e8d57, 0x12345678], [1, 1], [0xffffffff, 0xffffffff]] as const)
      expect(mulhi32(a, b)).toBe(Number((BigInt(a) * BigInt(b)) >> 32n));
  });
});

describe('Threefry-2x32-20 known answers', () => {
  it('zeros', () => expect(hex(threefry2x32(0, 0, 0, 0))).toBe('6b200159 99ba4efe'));
  it('all ones', () => expect(hex(threefry2x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff))).toBe('1cb996fc bb002be7'));
  it('pi digits', () => expect(hex(threefry2x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344))).toBe('c4923a9c 483df7a0'));
});

describe('random tensors', () => {
  it('bits are the documented coordinates: element i = word i%4 of block (i/4, c1, c2, c3) under the key', async () => {
    const key = [5, 1] as const;
    const t = randomBits([10], { key, counter: [7, 3, 0xffffffff] });
    const bits = await t.data();
    const block = new Uint32Array(4);
    for (let i = 0; i < 10; i++) {
      philox4x32(Math.floor(i / 4), 7, 3, 0xffffffff, 5, 1, block);
      expect(bits[i]).toBe(block[i % 4]);
    }
  });
  it('are pure functions of (key, counter)', async () => {
    const k = keyFor(42, 'user');
    const a = await randomBits([33], k).data();
    const b = await randomBits([33], k).data();
    const c = await randomBits([33], keyFor(42, 'user', 1)).data();
    const d = await randomBits([33], keyFor(43, 'user')).data();
    const e = await randomBits([33], { key: k, counter: [1, 0, 0] }).data();
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).not.toEqual(d);
    expect(a).not.toEqual(e);
  });
  it('uniform floats are the exact top-24-bit rule and lie in [0, 1)', async () => {
    const key = keyFor(9, 'user', 3);
    const bits = await randomBits([4096], key).data();
    const u = await randomUniform([4096], key).data();
    let mean = 0;
    for (let i = 0; i < u.length; i++) {
      expect(u[i]).toBe(bitsToUniform(bits[i]!));
      expect(u[i]).toBeGreaterThanOrEqual(0);
      expect(u[i]).toBeLessThan(1);
      mean += u[i]! / u.length;
    }
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.02);
  });
  it('normals have mean 0 and variance 1', async () => {
    const z = await randomNormal([20000], keyFor(5, 'user')).data();
    let m = 0, v = 0;
    for (const x of z) m += x / z.length;
    for (const x of z) v += (x - m) ** 2 / z.length;
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.04);
  });
  it('bernoulli keeps a fraction p, by an integer threshold on the bits', async () => {
    const key = keyFor(11, 'user');
    const m = await bernoulli([10000], 0.3, key).data();
    const bits = await randomBits([10000], key).data();
    let kept = 0;
    for (let i = 0; i < m.length; i++) {
      expect(m[i]).toBe(bits[i]! < keepThreshold(0.3) ? 1 : 0);
      kept += m[i]!;
    }
    expect(Math.abs(kept / 10000 - 0.3)).toBeLessThan(0.02);
    expect(Array.from(await bernoulli([64], 1, key).data()).every((v) => v === 1)).toBe(true);
    expect(Array.from(await bernoulli([64], 0, key).data()).every((v) => v === 0)).toBe(true);
    expect(() => bernoulli([4], 1.5, key)).toThrow(ValueError);
    expect(() => bernoulli([4], NaN, key)).toThrow(ValueError);
  });
  it('leave no intermediates behind outside tidy: one live tensor per call', () => {
    const before = memory().tensors;
    const ts = [randomUniform([3], keyFor(1, 'user'), -2, 5), randomNormal([3], keyFor(2, 'user'), 1, 2), bernoulli([3], 0.5, keyFor(3, 'user'))];
    expect(memory().tensors - before).toBe(3);
    ts.forEach((t) => t.dispose());
    expect(memory().tensors).toBe(before);
  });
  it('rejects bad seeds, keys and counters', () => {
    expect(() => rootKey(-1)).toThrow(ValueError);
    expect(() => rootKey(1.5)).toThrow(ValueError);
    expect(() => rootKey(2 ** 53)).toThrow(ValueError);
    expect(() => randomBits([2], [1, 2 ** 32] as unknown as Key)).toThrow(ValueError);
    expect(() => randomBits([2], [1] as unknown as Key)).toThrow(ValueError);
    expect(() => randomBits([2], { key: [1, 2], counter: [0, -1, 0] })).toThrow(ValueError);
    expect(() => randomBits([2], { key: [1, 2], counter: [0, 0.5, 0] })).toThrow(ValueError);
    expect(() => derive([1, 2], 'nonsense' as Purpose)).toThrow(ValueError);
    expect(() => derive([1, 2], 'init', -3)).toThrow(ValueError);
    expect(() => derive([1, 2], 'init', 2 ** 53)).toThrow(ValueError);
  });
});
