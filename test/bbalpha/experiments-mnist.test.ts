// The MNIST-side experiments: reliability bins and ECE on a hand-computed example, AUROC
// with ties, OOD scores of a model built to be certain in and uniform out of distribution,
// and the adversarial sweeps on tiny models on the CPU (the deterministic FGS against an
// FGS written here directly with autodiff; a constant model whose targeted attack has a
// known answer).
import { describe, expect, it } from 'vitest';
import {
  argmax, cpuBackend, crossEntropy, keyFor, memory, maximum, minimum, add, mul, noGrad, setBackend, sign, softmax, tensor, valueAndGradsOf,
  ShapeError, ValueError, type Tensor,
} from '@alphadrop/core';
import { buildModel, mlp, type ForwardContext, type Module } from '@alphadrop/nn';
import { loadMnist } from '@alphadrop/nn/node';
import { auroc, classificationMetrics, entropyOf } from '@alphadrop/bbalpha';
import { calibration, reliabilityBins } from '../../packages/bbalpha/src/experiments/calibration.js';
import { oodScores } from '../../packages/bbalpha/src/experiments/ood.js';
import { fgsSweep, targetedSweep } from '../../packages/bbalpha/src/experiments/adversarial.js';
import { embeddedMnistDir } from '../helpers/data.js';

setBackend(cpuBackend('fast'));

const test = loadMnist(embeddedMnistDir(), { split: 'test', limit: 40 });

/** A single linear layer [inputs → classes] with the given weight [in, out] and bias. */
function linearModel(weight: number[][], bias: number[]): Module {
  const model = buildModel([{ kind: 'linear', in: weight.length, out: bias.length }]);
  model.setParameter('0.weight', tensor(weight.flat(), [weight.length, bias.length]));
  model.setParameter('0.bias', tensor(bias, [bias.length]));
  return model;
}

const entropyOfLogits = (logits: number[]): number => {
  const m = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return entropyOf(e.map((v) => v / s), 0, logits.length);
};

describe('reliability bins and ECE', () => {
  // six points, two classes, five bins of width 0.2; confidences .9 .85 .7 .65 .55 .9
  const probs = [0.9, 0.1, 0.85, 0.15, 0.3, 0.7, 0.35, 0.65, 0.45, 0.55, 0.1, 0.9];
  const labels = [0, 1, 1, 0, 1, 1];

  it('matches the hand-computed diagram: ECE = (|1 − .55| + |1 − 1.35| + |2 − 2.65|)/6', () => {
    const r = reliabilityBins(probs, labels, 2, 5);
    expect(r.bins.map((b) => b.count)).toEqual([0, 0, 1, 2, 3]);
    expect(r.bins[0]).toEqual({ lower: 0, upper: 0.2, confidence: null, accuracy: null, count: 0 });
    expect(r.bins[2]!.confidence).toBeCloseTo(0.55, 12);
    expect(r.bins[2]!.accuracy).toBe(1);
    expect(r.bins[3]!.confidence).toBeCloseTo(0.675, 12);
    expect(r.bins[3]!.accuracy).toBe(0.5);
    expect(r.bins[4]!.confidence).toBeCloseTo(2.65 / 3, 12);
    expect(r.bins[4]!.accuracy).toBeCloseTo(2 / 3, 12);
    expect(r.bins[4]!.upper).toBe(1);
    expect(r.ece).toBeCloseTo(1.45 / 6, 12);
  });

  it('a confidence of 1 falls in the last bin; metrics.ts computes the same ECE', () => {
    expect(reliabilityBins([1, 0], [0], 2, 4).bins.map((b) => b.count)).toEqual([0, 0, 0, 1]);
    // random 3-class probabilities: both ECEs agree at several bin counts
    let s = 7;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
    const n = 200, C = 3;
    const p: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = [rnd() ** 3, rnd(), rnd()];
      const t = r[0]! + r[1]! + r[2]!;
      p.push(...r.map((v) => v / t));
      y.push(Math.floor(rnd() * C));
    }
    for (const bins of [1, 7, 15]) expect(reliabilityBins(p, y, C, bins).ece).toBeCloseTo(classificationMetrics(p, y, C, undefined, bins).ece, 12);
  });

  it('refuses mismatched shapes, labels out of range and zero bins', () => {
    expect(() => reliabilityBins(probs.slice(1), labels, 2)).toThrow(ShapeError);
    expect(() => reliabilityBins(probs, [0, 1, 2, 0, 1, 1], 2)).toThrow(ValueError);
    expect(() => reliabilityBins(probs, labels, 2, 0)).toThrow(ValueError);
  });
});

describe('AUROC', () => {
  it('counts ties half: 6.5 of 9 pairs', () => {
    expect(auroc([0.5, 0.8, 0.8], [0.2, 0.5, 0.8])).toBeCloseTo(6.5 / 9, 12);
    expect(auroc([1, 1], [1, 1, 1])).toBe(0.5);
  });
  it('equals the pairwise count on data with many ties', () => {
    const pos = Array.from({ length: 37 }, (_, i) => (i * 7) % 5);
    const neg = Array.from({ length: 23 }, (_, i) => (i * 3) % 4);
    let wins = 0;
    for (const a of pos) for (const b of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
    expect(auroc(pos, neg)).toBeCloseTo(wins / (pos.length * neg.length), 12);
  });
});

describe('oodScores', () => {
  // 4 inputs → 3 classes: x0 and x1 drive classes 0 and 1 hard; x2, x3 do nothing
  const W = [[8, 0, 0], [0, 8, 0], [0, 0, 0], [0, 0, 0]];
  const inside = { images: Float32Array.from([1, 0, 0.3, 0.1, 0, 1, 0.7, 0.2, 1, 0, 0.9, 0.9, 0, 1, 0, 0]), n: 4 };
  const outside = { images: Float32Array.from([0, 0, 0.3, 0.1, 0, 0, 0.5, 0.5, 0, 0, 1, 0]), n: 3 };

  it('entropy AUROC = 1 when every out-of-distribution entropy is higher (deterministic: no MI)', async () => {
    const r = await oodScores(linearModel(W, [0, 0, 0]), inside, outside, { mc: false });
    expect(r.entropyAuroc).toBe(1);
    expect(r.miAuroc).toBeNull();
    expect(r.inEntropyMean).toBeCloseTo(entropyOfLogits([8, 0, 0]), 5);
    expect(r.outEntropyMean).toBeCloseTo(Math.log(3), 5);
    expect([r.nIn, r.nOut]).toEqual([4, 3]);
  });

  it('with MC dropout the uniform outputs carry no mutual information: MI AUROC ≤ 0.5', async () => {
    const model = buildModel([{ kind: 'dropout', rate: 0.5 }, { kind: 'linear', in: 4, out: 3 }]);
    model.setParameter('1.weight', tensor(W.flat(), [4, 3]));
    model.setParameter('1.bias', tensor([0, 0, 0], [3]));
    const r = await oodScores(model, inside, outside, { mc: true, testSamples: 8, seed: 3 });
    expect(r.outEntropyMean).toBeCloseTo(Math.log(3), 5); // every sample of a zero input is uniform
    expect(r.miAuroc).not.toBeNull();
    expect(r.miAuroc!).toBeLessThanOrEqual(0.5);
    expect(r.entropyAuroc).toBeGreaterThanOrEqual(0.5);
  });

  it('refuses sets of different image sizes', async () => {
    await expect(oodScores(linearModel(W, [0, 0, 0]), inside, { images: new Float32Array(6), n: 2 }, { mc: false })).rejects.toThrow(ShapeError);
  });
});

/** FGS on the deterministic network written directly: x + η·sign(∇_x CE(f(x), argmax f(x))), clipped. */
function referenceFgs(model: Module, x: Tensor, eta: number): Tensor {
  const ctx: ForwardContext = { key: keyFor(0, 'user'), step: 0 };
  model.eval();
  const predicted = noGrad(() => argmax(model.forward(x, ctx), -1));
  const { grads } = valueAndGradsOf(() => crossEntropy(model.forward(x, ctx), predicted), [x]);
  return minimum(maximum(add(x, mul(sign(grads[0]!), eta)), 0), 1);
}

/** Accuracy and mean entropy of the deterministic network on x. */
async function deterministicEval(model: Module, x: Tensor, labels: ArrayLike<number>): Promise<{ accuracy: number; entropy: number }> {
  model.eval();
  const p = await softmax(model.forward(x, { key: keyFor(0, 'user'), step: 0 }), -1).data();
  const C = p.length / labels.length;
  let hits = 0, h = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (p[i * C + c]! > p[i * C + best]!) best = c;
    hits += best === labels[i] ? 1 : 0;
    h += entropyOf(p, i * C, C) / labels.length;
  }
  return { accuracy: hits / labels.length, entropy: h };
}

describe('fgsSweep', () => {
  const etas = [0, 0.1, 0.3];

  it('deterministic: every row equals FGS written directly (dropout off under the gradient too)', async () => {
    const model = mlp([784, 16, 10], { dropout: 0.3, seed: 1 });
    const rows = await fgsSweep(model, test, test.labels, { etas, mc: false, batchSize: 16 });
    expect(rows.map((r) => r.eta)).toEqual(etas);
    const x = tensor(test.images, [test.n, 784]);
    for (const r of rows) {
      const ref = await deterministicEval(model, referenceFgs(model, x, r.eta), test.labels);
      expect(r.accuracy).toBe(ref.accuracy);
      expect(r.entropyMean).toBeCloseTo(ref.entropy, 5);
      expect(r.entropyStdErr).toBeGreaterThan(0);
    }
    expect(rows[0]!.entropyAuroc).toBe(0.5); // η = 0: the clean images themselves
    expect(rows[2]!.entropyMean).not.toBeCloseTo(rows[0]!.entropyMean, 3); // the attack moved something
  });

  it('MC: the η = 0 row is the clean evaluation (same masks), rows are reproducible', async () => {
    const model = mlp([784, 16, 10], { dropout: 0.3, seed: 2 });
    const o = { etas, mc: true, testSamples: 3, seed: 5, batchSize: 16 };
    const rows = await fgsSweep(model, test, test.labels, o);
    for (const r of rows) {
      expect(Object.keys(r).sort()).toEqual(['accuracy', 'entropyAuroc', 'entropyMean', 'entropyStdErr', 'eta']);
      for (const v of Object.values(r)) expect(Number.isFinite(v)).toBe(true);
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(1);
    }
    const clean = await calibration(model, test, test.labels, { mc: true, testSamples: 3, seed: 5, batchSize: 16 });
    expect(rows[0]!.accuracy).toBe(clean.accuracy);
    expect(rows[0]!.entropyAuroc).toBe(0.5);
    expect(await fgsSweep(model, test, test.labels, o)).toEqual(rows);
    const other = await fgsSweep(model, test, test.labels, { ...o, seed: 6 });
    expect(other.map((r) => r.entropyMean)).not.toEqual(rows.map((r) => r.entropyMean));
  });

  it('refuses bad input before any work', async () => {
    const model = mlp([784, 4, 10], { seed: 1 });
    await expect(fgsSweep(model, test, test.labels.subarray(1), { etas, mc: false })).rejects.toThrow(ShapeError);
    await expect(fgsSweep(model, test, test.labels, { etas: [-0.1], mc: false })).rejects.toThrow(ValueError);
    await expect(fgsSweep(model, test, test.labels, { etas: [], mc: false })).rejects.toThrow(ValueError);
    await expect(fgsSweep(model, test, test.labels, { etas, mc: true, testSamples: 0 })).rejects.toThrow(ValueError);
  });
});

describe('targetedSweep', () => {
  it('a model that always says 0: target accuracy 1, original accuracy 0 once the zeros are dropped', async () => {
    expect(Array.from(test.labels)).toContain(0); // else dropping them would test nothing
    const bias = [3, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const model = linearModel(Array.from({ length: 784 }, () => new Array<number>(10).fill(0)), bias);
    const rows = await targetedSweep(model, test, test.labels, { steps: 3, mc: false, batchSize: 16 });
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3]);
    for (const r of rows) {
      expect(r.accuracyTarget).toBe(1);
      expect(r.accuracyOriginal).toBe(0);
      expect(r.entropyMean).toBeCloseTo(entropyOfLogits(bias), 5);
      expect(r.entropyStdErr).toBeCloseTo(0, 6);
    }
  });

  it('MC on a tiny MLP: one row per step, fractions in [0, 1], finite entropies', async () => {
    const model = mlp([784, 16, 10], { dropout: 0.3, seed: 4 });
    const rows = await targetedSweep(model, test, test.labels, { steps: 3, stepSize: 0.05, target: 3, mc: true, testSamples: 2, seed: 1, batchSize: 16 });
    expect(rows.map((r) => r.step)).toEqual([1, 2, 3]);
    for (const r of rows) {
      for (const v of [r.accuracyOriginal, r.accuracyTarget]) expect(v >= 0 && v <= 1).toBe(true);
      expect(Number.isFinite(r.entropyMean) && Number.isFinite(r.entropyStdErr)).toBe(true);
    }
  });

  it('refuses a set that is all target, and a bad target', async () => {
    const model = mlp([784, 4, 10], { seed: 1 });
    const zeros = { images: test.images.subarray(0, 2 * 784), n: 2 };
    await expect(targetedSweep(model, zeros, [0, 0], { steps: 1, mc: false })).rejects.toThrow(ValueError);
    await expect(targetedSweep(model, test, test.labels, { steps: 1, target: -1, mc: false })).rejects.toThrow(ValueError);
  });
});

describe('memory', () => {
  const model = mlp([784, 8, 10], { dropout: 0.3, seed: 7 });
  const o = { mc: true, testSamples: 2, seed: 1, batchSize: 16 };

  it('the targeted sweep, OOD scores and calibration free every tensor they make', async () => {
    const before = memory().tensors;
    await targetedSweep(model, test, test.labels, { ...o, steps: 2 });
    await oodScores(model, test, test, o);
    await calibration(model, test, test.labels, o);
    expect(memory().tensors).toBe(before);
  });

  // fgsm's prediction (a kept tensor from mcPredictProbs) once escaped its tidy: one tensor per batch
  it('the FGS sweep frees every tensor it makes', async () => {
    const before = memory().tensors;
    await fgsSweep(model, test, test.labels, { ...o, etas: [0, 0.1] });
    expect(memory().tensors).toBe(before);
  });
});
