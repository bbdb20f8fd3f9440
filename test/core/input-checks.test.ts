// Inputs that used to turn into silent NaNs: tensor() of non-numbers or ragged arrays, the
// fused BB-α energy with K = 0 samples; and the M·K working-set guard on the CPU.
import { afterEach, describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, ValueError, cpuBackend, memory, setBackend, tensor } from '@alphadrop/core';
import {
  CPU_MEMORY_ENV, DEFAULT_CPU_MEMORY_BYTES, fusedBBAlphaLoss, checkWorkingSet, estimateWorkingSet,
  parseByteSize,
} from '@alphadrop/core/backend';

setBackend(cpuBackend('reference'));

describe('tensor() refuses what is not numeric data', () => {
  it.each([
    ['a string', ['a'], /tensor: expected numbers or booleans, got a string \("a"\) \(at \[0\]\)/],
    ['a nested string', [[1, 2], [3, 'x']], /got a string \("x"\) \(at \[1\]\[1\]\)/],
    ['null', [1, null], /got null \(at \[1\]\)/],
    ['undefined', [undefined], /got undefined/],
    ['an object', [{ v: 1 }], /got an object/],
    ['a top-level string', 'abc', /got a string \("abc"\) \(at the top level\)/],
  ])('%s: DTypeError', (_, values, msg) => {
    expect(() => tensor(values as never)).toThrow(DTypeError);
    expect(() => tensor(values as never)).toThrow(msg);
  });
  it('also with an explicit shape', () => {
    expect(() => tensor(['1', '2'] as never, [2])).toThrow(DTypeError);
    expect(() => tensor([[1], ['2']] as never, [2])).toThrow(DTypeError);
  });
  it.each([
    ['a short row', [[1, 2], [3]]],
    ['a scalar among rows', [[1, 2], 3]],
    ['a row among scalars', [1, [2, 3]]],
    ['uneven depth', [[[1], [2]], [[3], 4]]],
    ['an empty row among full ones', [[], [1]]],
  ])('ragged (%s): ShapeError', (_, values) => {
    expect(() => tensor(values as never)).toThrow(ShapeError);
    expect(() => tensor(values as never)).toThrow(/rectangular nested array/);
  });
  it('keeps NaN, ±Infinity, -0 and booleans as values', () => {
    const v = tensor([[NaN, Infinity], [-Infinity, -0]], undefined, { dtype: 'f64' }).dataSync();
    expect(Number.isNaN(v[0])).toBe(true);
    expect([v[1], v[2]]).toEqual([Infinity, -Infinity]);
    expect(Object.is(v[3], -0)).toBe(true);
    expect(Array.from(tensor([true, false], undefined, { dtype: 'bool' }).dataSync())).toEqual([1, 0]);
    expect(tensor([[], []]).shape).toEqual([2, 0]);
    expect(tensor(3).shape).toEqual([]);
  });
  it('reads flat, nested and typed arrays as before', () => {
    expect(tensor([[1, 2], [3, 4]]).shape).toEqual([2, 2]);
    expect(Array.from(tensor([1, 2, 3, 4], [2, 2]).dataSync())).toEqual([1, 2, 3, 4]);
    expect(Array.from(tensor([[1, 2], [3, 4]], [4]).dataSync())).toEqual([1, 2, 3, 4]);
    const t = tensor(Int32Array.from([5, 6]), [2, 1]);
    expect([t.dtype, ...t.shape]).toEqual(['i32', 2, 1]);
  });
});

describe('fused fusedBBAlphaLoss with K = 0', () => {
  it('refuses in the shape rule (every backend) with the ValueError the composed loss throws', () => {
    const logits = tensor(new Float64Array(0), [2, 0, 3]);
    const labels = tensor(Int32Array.from([0, 1]), [2]);
    for (const reduction of ['mean', 'none'] as const) {
      expect(() => fusedBBAlphaLoss(logits, labels, 0.5, reduction)).toThrow(ValueError);
      expect(() => fusedBBAlphaLoss(logits, labels, 0.5, reduction)).toThrow(/bbAlphaLoss: expected K >= 1 samples, got 0/);
    }
  });
});

describe('checkWorkingSet on the CPU', () => {
  afterEach(() => {
    delete process.env[CPU_MEMORY_ENV];
  });
  // 100 inputs × 100000 samples × 784 f32: 31.4 GB for the tiled input alone
  const huge = { rows: 100 * 100_000, width: 784, dtype: 'f32', flag: 'samples (--samples)' } as const;

  it('refuses 100000 samples of a 784-wide input before allocating, naming the flag and the budget', () => {
    const before = memory();
    expect(() => checkWorkingSet('mcForward', huge)).toThrow(ValueError);
    expect(() => checkWorkingSet('mcForward', huge)).toThrow(/mcForward: .*4\.0 GiB.* got 29\.2 GiB .*lower samples \(--samples\)/);
    expect(memory().bytes).toBe(before.bytes);
    expect(memory().tensors).toBe(before.tensors);
  });
  it('estimates rows × width × bytes, and the live total', () => {
    const est = estimateWorkingSet('t', { rows: 1000, width: 784, liveWidth: 2000, dtype: 'f32', flag: 'x' });
    expect(est.largestBufferBytes).toBe(1000 * 784 * 4);
    expect(est.totalBytes).toBe(1000 * 2000 * 4);
    expect(estimateWorkingSet('t', { rows: 10, width: 3, dtype: 'f64', flag: 'x' }).totalBytes).toBe(10 * 6 * 8);
    expect(est.limits.hostBudgetBytes).toBe(DEFAULT_CPU_MEMORY_BYTES);
  });
  it('accepts normal sizes (MNIST training: 100 × 10 rows; evaluation: 10000 × 10 rows)', () => {
    expect(() => checkWorkingSet('train', { rows: 1000, width: 784, liveWidth: 2 * 994, dtype: 'f32', flag: 'x' })).not.toThrow();
    expect(() => checkWorkingSet('evaluate', { rows: 100_000, width: 784, liveWidth: 994, dtype: 'f32', flag: 'x' })).not.toThrow();
  });
  it('checks the live total, not only the widest buffer', () => {
    const req = { rows: 1_000_000, width: 100, liveWidth: 2000, dtype: 'f32', flag: 'batchSize (--batch-size)' } as const;
    expect(() => checkWorkingSet('train', req)).toThrow(/memory budget .* got about 7\.5 GiB.*lower batchSize \(--batch-size\), or raise the budget with ALPHADROP_CPU_MEMORY/);
    expect(() => checkWorkingSet('train', { ...req, liveWidth: 100 })).not.toThrow();
  });
  it(`reads ${CPU_MEMORY_ENV} at each check, and the backend option`, () => {
    const req = { rows: 1000, width: 1000, dtype: 'f32', flag: 'chunk' } as const; // 8 MB live
    process.env[CPU_MEMORY_ENV] = '4MiB';
    expect(() => checkWorkingSet('t', req)).toThrow(/4\.0 MiB/);
    process.env[CPU_MEMORY_ENV] = '1e9';
    expect(() => checkWorkingSet('t', req)).not.toThrow();
    process.env[CPU_MEMORY_ENV] = 'lots';
    expect(() => checkWorkingSet('t', req)).toThrow(/ALPHADROP_CPU_MEMORY: expected a positive size .* got "lots"/);
    delete process.env[CPU_MEMORY_ENV];
    const small = cpuBackend('fast');
    small.memoryBudgetBytes = 2 ** 20;
    expect(() => checkWorkingSet('t', { ...req, backend: small })).toThrow(/1\.0 MiB/);
  });
  it('parses sizes', () => {
    expect(parseByteSize('x', '4GiB')).toBe(4 * 2 ** 30);
    expect(parseByteSize('x', '512 MB')).toBe(512e6);
    expect(parseByteSize('x', '1.5kib')).toBe(1536);
    expect(parseByteSize('x', '4294967296')).toBe(2 ** 32);
    for (const bad of ['', '-1', '0', 'GiB', '4 parsecs', 'NaN']) expect(() => parseByteSize('x', bad)).toThrow(ValueError);
  });
  it('refuses nonsense sizes', () => {
    expect(() => checkWorkingSet('t', { rows: -1, width: 1, dtype: 'f32', flag: 'x' })).toThrow(/rows a non-negative integer/);
    expect(() => checkWorkingSet('t', { rows: 1, width: NaN, dtype: 'f32', flag: 'x' })).toThrow(/width a non-negative integer/);
  });
});
