// MC batching (tiling, independent reproducible masks per row, equality with K separate
// passes under the same masks) and the predictive metrics (spec Ex.4 known answers).
import { describe, expect, it } from 'vitest';
import {
  add, cpuBackend, matmul, mul, ones, relu, reshape, setBackend, slice, tensor, randomUniform, concat,
  keyFor, type Tensor,
} from '@alphadrop/core';
import { dropout } from '@alphadrop/core/backend';
import { Dropout, Linear, mlp, type ForwardContext } from '@alphadrop/nn';
import { auroc, classificationMetrics, mcForward, mcPredictProbs, regressionMetrics, tileSamples } from '@alphadrop/bbalpha';

setBackend(cpuBackend('fast'));
const vals = (t: Tensor) => Array.from(t.dataSync());

describe('MC batching', () => {
  const ctx: ForwardContext = { key: keyFor(3, 'trainDropout'), step: 11 };
  it('tiles row n·K + k = input n', () => {
    const x = tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    expect(vals(tileSamples(x, 2))).toEqual([1, 2, 1, 2, 3, 4, 3, 4, 5, 6, 5, 6]);
  });
  it('draws an independent, reproducible mask per row and layer', () => {
    const d = new Dropout(0.5);
    const m = vals(d.forward(ones([40, 64]), ctx));
    const rows = Array.from({ length: 40 }, (_, r) => m.slice(r * 64, (r + 1) * 64).join(','));
    expect(new Set(rows).size).toBe(40); // no two rows share a mask
    expect(vals(d.forward(ones([40, 64]), ctx))).toEqual(m); // same coordinates → same mask
    d.layerIndex = 1;
    expect(vals(d.forward(ones([40, 64]), ctx))).not.toEqual(m); // another layer → another mask
    const kept = m.filter((v) => v > 0).length / m.length;
    expect(Math.abs(kept - 0.5)).toBeLessThan(0.05);
  });
  it('one tiled pass equals K separate passes with the same masks', () => {
    const model = mlp([5, 4, 3], { dropout: 0.4, seed: 2 });
    const M = 3, K = 4;
    const x = randomUniform([M, 5], keyFor(9, 'user'));
    const out = mcForward(model, x, K, ctx); // [M, K, 3]
    const [l1, l2] = model.layers.filter((l): l is Linear => l instanceof Linear);
    const [d1, d2] = model.layers.filter((l): l is Dropout => l instanceof Dropout);
    // the masks of the tiled pass, one row per (n, k)
    const m1 = dropout(ones([M * K, 5]), d1!.coordinates(ctx));
    const m2 = dropout(ones([M * K, 4]), d2!.coordinates(ctx));
    const rowsOf = (m: Tensor, k: number) => concat(Array.from({ length: M }, (_, n) => slice(m, [n * K + k, 0], [1, m.shape[1]!])));
    for (let k = 0; k < K; k++) {
      const h = relu(add(matmul(mul(x, rowsOf(m1, k)), l1!.weight), l1!.bias!));
      const y = add(matmul(mul(h, rowsOf(m2, k)), l2!.weight), l2!.bias!);
      const got = vals(reshape(slice(out, [0, k, 0], [M, 1, 3]), [M, 3]));
      vals(y).forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    }
  });
  it('chunked MC prediction averages probabilities to 1 per row, reproducibly', () => {
    const model = mlp([5, 8, 4], { dropout: 0.5 });
    const x = randomUniform([6, 5], keyFor(1, 'user'));
    const p = vals(mcPredictProbs(model, x, 25, { chunk: 10 }));
    for (let i = 0; i < 6; i++) expect(p.slice(i * 4, i * 4 + 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(vals(mcPredictProbs(model, x, 25, { chunk: 10 }))).toEqual(p);
    // another pass (or seed) draws other masks; an explicit key equal to the default agrees
    expect(vals(mcPredictProbs(model, x, 25, { chunk: 10, pass: 1 }))).not.toEqual(p);
    expect(vals(mcPredictProbs(model, x, 25, { chunk: 10, seed: 5 }))).not.toEqual(p);
    expect(vals(mcPredictProbs(model, x, 25, { chunk: 10, key: keyFor(0, 'predict', 0) }))).toEqual(p);
    expect(model.mode).toBe('train');
  });
});

describe('metrics (spec Ex.4)', () => {
  const samples = [0.7, 0.2, 0.1, 0.5, 0.3, 0.2, 0.1, 0.8, 0.1, 0.3, 0.4, 0.3];
  const mean = [0.6, 0.25, 0.15, 0.2, 0.6, 0.2];
  it('accuracy, log-likelihood, entropy', () => {
    const m = classificationMetrics(mean, [0, 1], 3, { probs: samples, samples: 2 });
    expect(m.accuracy).toBe(1);
    expect(m.logLikelihoodSum).toBeCloseTo(-1.021651, 6);
    expect(m.logLikelihood).toBeCloseTo(-0.510826, 6);
    expect(m.entropy).toBeCloseTo(0.943954, 6);
    expect(m.entropyStdErr).toBeCloseTo(0.004467, 6);
    // MI = H[p̄] − mean_k H[p_k] ≥ 0; variation ratio: both samples agree on each point
    expect(m.mutualInformation!).toBeGreaterThan(0);
    expect(m.variationRatio).toBe(0);
    expect(m.brier).toBeCloseTo(((0.4 ** 2 + 0.25 ** 2 + 0.15 ** 2) + (0.2 ** 2 + 0.4 ** 2 + 0.2 ** 2)) / 2, 10);
  });
  it('regression RMSE and log-likelihood in original units', () => {
    // two points, K = 2, normalised predictions; ȳ = 10, s_y = 2, τ = 4 → σ² = 1
    const r = regressionMetrics([0.5, 0.5, -1, -1], 2, [11, 8], 10, 2, 4);
    expect(r.rmse).toBeCloseTo(0, 10);
    expect(r.logLikelihood).toBeCloseTo(-0.5 * Math.log(2 * Math.PI), 10);
  });
  it('auroc with ties and perfect separation', () => {
    expect(auroc([3, 4], [1, 2])).toBe(1);
    expect(auroc([1, 2], [3, 4])).toBe(0);
    expect(auroc([1, 1], [1, 1])).toBe(0.5);
    expect(auroc([0.9, 0.4, 0.6], [0.5, 0.1])).toBeCloseTo(5 / 6, 12);
  });
});
