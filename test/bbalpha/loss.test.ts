// Known answers of the spec's worked examples (§a.6) and the properties of §a.1.
import { describe, expect, it } from 'vitest';
import { cpuBackend, setBackend, tensor, valueAndGradsOf, ValueError, ShapeError, DTypeError, type Tensor } from '@alphadrop/core';
import { bbAlphaLoss, bbAlphaLossComposed, bbAlphaPerPoint, bbAlphaRegressionLoss, classLogLikelihood } from '@alphadrop/bbalpha';

setBackend(cpuBackend('reference'));
const f64 = (v: number[], shape: number[]) => tensor(Float64Array.from(v), shape);
const i32 = (v: number[]) => tensor(Int32Array.from(v), [v.length]);
const val = (t: Tensor) => t.dataSync()[0]!;

// Ex.1: one point, K = 3, C = 3, label 0
const ex1 = f64([2.0, 1.0, 0.1, 0.5, 1.5, -1.0, 1.0, 1.0, 1.0], [1, 3, 3]);
const ex1b = f64([2.0, 1.0, 0.1, 0.5, 1.5, -1.0, 1.0, 1.0, 1.0, 0, 3, -1, 0.2, 0.1, 0, -2, 4, 1], [2, 3, 3]);

describe('classification known answers (spec Ex.1)', () => {
  it('log-likelihoods', () => {
    const ll = Array.from(classLogLikelihood(ex1, i32([0])).dataSync());
    [-0.41703, -1.371539, -1.098612].forEach((v, i) => expect(ll[i]).toBeCloseTo(v, 5));
  });
  it.each([
    [1.0, 0.878633], [0.5, 0.921066], [1e-4, 0.962386], [0, 0.962394], [2.0, 0.796647], [-0.5, 1.001226],
  ])('alpha %f gives %f', (alpha, want) => expect(val(bbAlphaLoss(ex1, i32([0]), alpha))).toBeCloseTo(want, 5));
  it('K = 1 is VI for every alpha', () => {
    const one = f64([2.0, 1.0, 0.1], [1, 1, 3]);
    for (const a of [0, 0.5, 1]) expect(val(bbAlphaLoss(one, i32([0]), a))).toBeCloseTo(0.41703, 5);
  });
  it('two points: batch means', () => {
    for (const [a, want] of [[1, 0.590141], [0.5, 0.63535], [0, 0.684326]] as const)
      expect(val(bbAlphaLoss(ex1b, i32([0, 1]), a))).toBeCloseTo(want, 5);
  });
  it('stable for extreme logits (naive log softmax gives −inf)', () => {
    const x = f64([1000, 0, 0, 1000], [1, 2, 2]);
    expect(val(bbAlphaLoss(x, i32([0]), 1))).toBeCloseTo(Math.log(2), 6);
    expect(val(bbAlphaLoss(x, i32([0]), 0.5))).toBeCloseTo(2 * Math.log(2), 6);
    expect(val(bbAlphaLoss(x, i32([0]), 0))).toBeCloseTo(500, 6);
  });
  it('gradient wrt ll are the importance weights −softmax_k(α ll)', () => {
    const ll = f64([-0.41703, -1.371539, -1.098612], [1, 3]);
    for (const [a, w] of [[1, [0.528872, 0.203616, 0.267512]], [0.5, [0.428873, 0.266109, 0.305018]], [0, [1 / 3, 1 / 3, 1 / 3]]] as const) {
      const { grads } = valueAndGradsOf(() => bbAlphaPerPoint(ll, a), [ll]);
      Array.from(grads[0]!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(-w[i]!, 5));
    }
  });
  it('monotone non-increasing in alpha, continuous at 0 (series branch)', () => {
    const alphas = [-2, -0.5, -1e-4, 0, 1e-4, 0.5, 1, 2, 5];
    const v = alphas.map((a) => val(bbAlphaLoss(ex1, i32([0]), a)));
    for (let i = 1; i < v.length; i++) expect(v[i]!).toBeLessThanOrEqual(v[i - 1]! + 1e-12);
    expect(Math.abs(val(bbAlphaLoss(ex1, i32([0]), 5e-4)) - val(bbAlphaLoss(ex1, i32([0]), 0)))).toBeLessThan(1e-3);
  });
  it('identical samples give −c for every alpha and K', () => {
    const same = f64([0.3, -1, 2, 0.3, -1, 2, 0.3, -1, 2, 0.3, -1, 2], [1, 4, 3]);
    const c = val(bbAlphaLoss(same, i32([2]), 0));
    for (const a of [-1, 0.5, 1, 3]) expect(val(bbAlphaLoss(same, i32([2]), a))).toBeCloseTo(c, 10);
  });
});

describe('the fused loss equals its composition', () => {
  it.each([0, 1e-4, 0.5, 1, 2, -0.5])('alpha %f: value and gradient', (alpha) => {
    const logits = f64(Array.from({ length: 4 * 5 * 6 }, (_, i) => Math.sin(i * 1.3) * 3), [4, 5, 6]);
    const labels = i32([5, 0, 3, 1]);
    const a = valueAndGradsOf(() => bbAlphaLoss(logits, labels, alpha), [logits]);
    const b = valueAndGradsOf(() => bbAlphaLossComposed(logits, labels, alpha), [logits]);
    expect(val(a.value)).toBeCloseTo(val(b.value), 12);
    const ga = Array.from(a.grads[0]!.dataSync()), gb = Array.from(b.grads[0]!.dataSync());
    // below |α| = 1e-3 the composed value is the series −mean − (α/2)Var, whose derivative
    // differs from the fused kernel's exact weights softmax_k(α·ll) at O(α²)
    ga.forEach((g, i) => expect(g).toBeCloseTo(gb[i]!, Math.abs(alpha) > 0 && Math.abs(alpha) < 1e-3 ? 7 : 12));
  });
});

describe('regression known answers (spec Ex.2)', () => {
  const f = f64([0.8, 1.3, 0.5], [1, 3, 1]);
  const y = f64([1.0], [1, 1]);
  it.each([[1, 0.463661], [0.5, 0.471241], [0, 0.479125]])('alpha %f, tau 4: %f', (a, want) =>
    expect(val(bbAlphaRegressionLoss(f, y, a, { tau: 4 }))).toBeCloseTo(want, 5));
  it('learned log tau: same value, and the optimum tau* of the spec', () => {
    const logTau = f64([Math.log(4)], []);
    expect(val(bbAlphaRegressionLoss(f, y, 0.5, { logTau }))).toBeCloseTo(0.471241, 5);
    // d/dlogτ vanishes at τ* (α = 0: 7.8947; α = 0.5: 9.1289; α = 1: 11.1264)
    for (const [a, tauStar] of [[0, 7.8947], [0.5, 9.1289], [1, 11.1264]] as const) {
      const lt = f64([Math.log(tauStar)], []);
      const { grads } = valueAndGradsOf(() => bbAlphaRegressionLoss(f, y, a, { logTau: lt }), [lt]);
      expect(Math.abs(grads[0]!.dataSync()[0]!)).toBeLessThan(1e-4);
    }
  });
});

describe('bad input gets typed errors', () => {
  it('alpha not finite, wrong shapes and dtypes', () => {
    expect(() => bbAlphaLoss(ex1, i32([0]), NaN)).toThrow(ValueError);
    expect(() => bbAlphaLoss(ex1, i32([0]), Infinity)).toThrow(ValueError);
    expect(() => bbAlphaLoss(f64([1, 2], [1, 2]), i32([0]), 1)).toThrow(ShapeError);
    expect(() => bbAlphaLoss(ex1, i32([0, 1]), 1)).toThrow(ShapeError);
    expect(() => bbAlphaLoss(ex1, f64([0], [1]), 1)).toThrow(DTypeError);
    expect(() => bbAlphaLoss(ex1, i32([3]), 1)).toThrow(ValueError);
    expect(() => bbAlphaLoss(ex1, i32([-1]), 1)).toThrow(ValueError);
    expect(() => bbAlphaRegressionLoss(f64([1], [1, 1, 1]), f64([1, 2], [1, 2]), 1, { tau: 1 })).toThrow(ShapeError);
    expect(() => bbAlphaRegressionLoss(f64([1], [1, 1, 1]), f64([1], [1, 1]), 1, { tau: -1 })).toThrow(ValueError);
  });
});
