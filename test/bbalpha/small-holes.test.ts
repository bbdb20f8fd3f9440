// Holes that turned bad input into silent NaNs or silently different models: K = 0 in the
// fused and the composed loss, a non-finite regression τ, an mlp dropout rate outside
// [0, 1), and M·K tiles too large for memory (checked from shapes, before allocating).
import { describe, expect, it } from 'vitest';
import { cpuBackend, memory, setBackend, tensor, ValueError, type Tensor } from '@alphadrop/core';
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential, mlp } from '@alphadrop/nn';
import { activationWidths, bbAlphaLoss, bbAlphaLossComposed, bbAlphaRegressionLoss, checkMcTile } from '@alphadrop/bbalpha';

setBackend(cpuBackend('reference'));
const labels = (n: number): Tensor => tensor(Int32Array.from({ length: n }, (_, i) => i % 3), [n]);

describe('K = 0 samples', () => {
  it('the fused and the composed loss throw the same ValueError', () => {
    const logits = tensor(new Float64Array(0), [2, 0, 3]);
    const errorOf = (f: () => unknown): Error => {
      try {
        f();
      } catch (e) {
        return e as Error;
      }
      throw new Error('no error thrown');
    };
    const fused = errorOf(() => bbAlphaLoss(logits, labels(2), 0.5));
    const composed = errorOf(() => bbAlphaLossComposed(logits, labels(2), 0.5));
    for (const e of [fused, composed]) {
      expect(e).toBeInstanceOf(ValueError);
      expect((e as ValueError).expected).toBe('K >= 1 samples');
      expect((e as ValueError).received).toBe('0');
    }
  });
});

describe('regression precision τ', () => {
  const f = tensor(Float64Array.from([1, 2, 1.5, 2.5]), [2, 2, 1]);
  const y = tensor(Float64Array.from([1, 2]), [2, 1]);
  it.each([Infinity, -Infinity, NaN, 0, -1])('refuses tau = %s', (tau) => {
    expect(() => bbAlphaRegressionLoss(f, y, 0.5, { tau })).toThrow(ValueError);
    expect(() => bbAlphaRegressionLoss(f, y, 0.5, { tau })).toThrow(/expected a finite tau > 0, got/);
  });
  it('accepts a finite positive tau and gives a finite loss', () => {
    const v = bbAlphaRegressionLoss(f, y, 0.5, { tau: 1e30 }).dataSync()[0]!;
    expect(Number.isFinite(v)).toBe(true);
  });
});

describe('mlp dropout rate', () => {
  it.each([NaN, -0.1, 1, 1.5, Infinity])('refuses dropout = %s', (rate) => {
    expect(() => mlp([4, 3, 2], { dropout: rate })).toThrow(ValueError);
    expect(() => mlp([4, 3, 2], { dropout: rate })).toThrow(new RegExp(`mlp: dropout: expected a dropout rate in \\[0, 1\\), got ${rate}`));
  });
  it('builds dropout layers for a rate in (0, 1) and none for 0', () => {
    const count = (m: Sequential) => m.layers.filter((l) => l instanceof Dropout).length;
    expect(count(mlp([4, 3, 2], { dropout: 0.5 }))).toBe(2);
    expect(count(mlp([4, 3, 2], { dropout: 0 }))).toBe(0);
    expect(count(mlp([4, 3, 2]))).toBe(0);
  });
});

describe('checkMcTile (the M·K working-set guard)', () => {
  const model = mlp([784, 100, 100, 10], { dropout: 0.5 });
  it('walks the layers: input and every output width', () => {
    // input, dropout, linear, relu, dropout, linear, relu, dropout, linear
    expect(activationWidths(model, [784])).toEqual([784, 784, 100, 100, 100, 100, 100, 100, 10]);
    const cnn = new Sequential([
      new Conv2d(1, 32, 3), new ReLU(), new Conv2d(32, 32, 3), new ReLU(), new MaxPool2d(2), new Dropout(0.25), new Flatten(), new Linear(32 * 12 * 12, 128),
    ]);
    // 28 → 26 → 24 → pool 12: the widest is conv1's 32 × 26 × 26
    expect(Math.max(...activationWidths(cnn, [1, 28, 28]))).toBe(32 * 26 * 26);
    expect(activationWidths(cnn, [1, 28, 28]).at(-1)).toBe(128);
    cnn.dispose();
  });
  it('refuses 100000 samples of 784-wide inputs before allocating anything', () => {
    const before = memory();
    const call = () => checkMcTile('mcForward', model, [100, 784], 100_000, { flag: 'samples (--samples)' });
    expect(call).toThrow(ValueError);
    expect(call).toThrow(/mcForward: expected an M·K tile within the cpu-reference backend's largest buffer \(4\.0 GiB\), got 29\.2 GiB .*\(lower samples \(--samples\)/);
    expect(memory().bytes).toBe(before.bytes);
    expect(memory().tensors).toBe(before.tensors);
  });
  it('accepts normal sizes and counts a training step twice', () => {
    const train = checkMcTile('train', model, [100, 784], 10, { training: true });
    const predict = checkMcTile('predict', model, [100, 784], 10, { training: false });
    const live = 784 * 2 + 100 * 6 + 10;
    expect(predict.totalBytes).toBe(1000 * live * 4);
    expect(train.totalBytes).toBe(2 * predict.totalBytes);
    expect(train.largestBufferBytes).toBe(1000 * 784 * 4);
  });
  it('names the default flags when the caller names none', () => {
    expect(() => checkMcTile('mcForward', model, [10_000, 784], 1000)).toThrow(/--samples.*--test-samples.*--batch-size/);
  });
});
