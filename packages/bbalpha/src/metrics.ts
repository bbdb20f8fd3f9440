// Predictive metrics on host arrays (computed in float64 after one read-back): accuracy,
// test log-likelihood (per-point mean and the paper's sum), predictive entropy, mutual
// information, variation ratio, expected calibration error, Brier score; and for
// regression, RMSE and Gaussian test log-likelihood in original units (spec §a.5).

import { ShapeError, ValueError } from '@alphadrop/core';

const CLIP = 1e-8;

export interface ClassificationMetrics {
  accuracy: number;
  /** Mean over points of log p̄_n[y_n]. */
  logLikelihood: number;
  /** Σ_n log p̄_n[y_n] (the paper's MNIST scale). */
  logLikelihoodSum: number;
  /** Mean predictive entropy H[p̄] and its standard error. */
  entropy: number;
  entropyStdErr: number;
  /** Mean mutual information H[p̄] − mean_k H[p_k] (needs per-sample probabilities). */
  mutualInformation?: number;
  /** Mean variation ratio 1 − (votes of the modal class)/K (needs per-sample probabilities). */
  variationRatio?: number;
  /** Expected calibration error over `bins` equal-width confidence bins. */
  ece: number;
  /** Mean Brier score Σ_c (p̄_c − onehot_c)². */
  brier: number;
  n: number;
}

function checkShapes(where: string, probs: ArrayLike<number>, labels: ArrayLike<number>, C: number): number {
  const n = labels.length;
  if (probs.length !== n * C) throw new ShapeError(where, `probabilities of ${n}×${C} values`, `${probs.length}`);
  for (let i = 0; i < n; i++)
    if (!(labels[i]! >= 0 && labels[i]! < C && Number.isInteger(labels[i])))
      throw new ValueError(where, `labels in [0, ${C})`, String(labels[i]), `at position ${i}`);
  return n;
}

/** Entropy −Σ p log clip(p) of one row, as in the paper's code. */
export function entropyOf(p: ArrayLike<number>, at: number, C: number): number {
  let h = 0;
  for (let c = 0; c < C; c++) {
    const v = p[at + c]!;
    h -= v * Math.log(Math.min(1 - CLIP, Math.max(CLIP, v)));
  }
  return h;
}

/** The class of row i's first maximum. */
function argmaxRow(p: ArrayLike<number>, i: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (p[i * C + c]! > p[i * C + best]!) best = c;
  return best;
}

export interface ReliabilityBin {
  /** Confidence range [lower, upper) (the last bin includes 1). */
  lower: number;
  upper: number;
  /** Mean confidence and accuracy of the bin's points; null for an empty bin. */
  confidence: number | null;
  accuracy: number | null;
  count: number;
}

export interface Reliability {
  ece: number;
  bins: ReliabilityBin[];
}

/**
 * The reliability diagram of p̄ [n, C] against labels [n] over `bins` equal-width confidence
 * bins (confidence = max_c p̄_c of the first maximum, bin min(B − 1, ⌊conf·B⌋), so 1 falls in
 * the last bin), and the ECE = Σ_b (n_b/n)·|acc_b − conf_b| it summarises.
 */
export function reliabilityBins(meanProbs: ArrayLike<number>, labels: ArrayLike<number>, C: number, bins = 15): Reliability {
  const where = 'reliabilityBins';
  for (const [name, v] of [['bins', bins], ['classes C', C]] as const)
    if (!Number.isSafeInteger(v) || v < 1) throw new ValueError(where, `${name} a positive integer`, String(v));
  if (labels.length === 0) throw new ShapeError(where, 'at least one point', 'none');
  const n = checkShapes(where, meanProbs, labels, C);
  const conf = new Float64Array(bins), hits = new Float64Array(bins), count = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const best = argmaxRow(meanProbs, i, C);
    const c = meanProbs[i * C + best]!;
    const b = Math.min(bins - 1, Math.floor(c * bins));
    conf[b]! += c;
    hits[b]! += best === labels[i] ? 1 : 0;
    count[b]! += 1;
  }
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    ece += Math.abs(hits[b]! - conf[b]!) / n; // (n_b/n)·|acc_b − conf_b|
    const k = count[b]!;
    out.push({ lower: b / bins, upper: (b + 1) / bins, confidence: k > 0 ? conf[b]! / k : null, accuracy: k > 0 ? hits[b]! / k : null, count: k });
  }
  return { ece, bins: out };
}

/**
 * Metrics of MC predictive probabilities p̄ [n, C] against labels [n]. With `perSample`
 * (the probabilities of each of the `samples` MC samples, [n, samples, C]) also the mutual
 * information and variation ratio.
 */
export function classificationMetrics(
  meanProbs: ArrayLike<number>,
  labels: ArrayLike<number>,
  C: number,
  perSample?: { probs: ArrayLike<number>; samples: number },
  bins = 15,
): ClassificationMetrics {
  const n = checkShapes('classificationMetrics', meanProbs, labels, C);
  let correct = 0, ll = 0, brier = 0;
  const ent = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const best = argmaxRow(meanProbs, i, C);
    const y = labels[i]!;
    const hit = best === y ? 1 : 0;
    correct += hit;
    ll += Math.log(Math.max(CLIP, meanProbs[i * C + y]!));
    for (let c = 0; c < C; c++) brier += (meanProbs[i * C + c]! - (c === y ? 1 : 0)) ** 2;
    ent[i] = entropyOf(meanProbs, i * C, C);
  }
  const { ece } = reliabilityBins(meanProbs, labels, C, bins);
  const meanEnt = ent.reduce((a, v) => a + v, 0) / n;
  const varEnt = ent.reduce((a, v) => a + (v - meanEnt) ** 2, 0) / n;
  const out: ClassificationMetrics = {
    accuracy: correct / n,
    logLikelihood: ll / n,
    logLikelihoodSum: ll,
    entropy: meanEnt,
    entropyStdErr: Math.sqrt(varEnt / n),
    ece,
    brier: brier / n,
    n,
  };
  if (perSample) {
    const { probs, samples: K } = perSample;
    if (probs.length !== n * K * C) throw new ShapeError('classificationMetrics', `samples of ${n}×${K}×${C}`, `${probs.length}`);
    let mi = 0, vr = 0;
    const votes = new Int32Array(C);
    for (let i = 0; i < n; i++) {
      let expected = 0;
      votes.fill(0);
      for (let k = 0; k < K; k++) {
        const at = (i * K + k) * C;
        expected += entropyOf(probs, at, C) / K;
        let best = 0;
        for (let c = 1; c < C; c++) if (probs[at + c]! > probs[at + best]!) best = c;
        votes[best]!++;
      }
      mi += ent[i]! - expected;
      vr += 1 - Math.max(...votes) / K;
    }
    out.mutualInformation = mi / n;
    out.variationRatio = vr / n;
  }
  return out;
}

export interface RegressionMetrics {
  rmse: number;
  /** Mean per-point Gaussian predictive log-likelihood in original units. */
  logLikelihood: number;
  n: number;
}

/**
 * RMSE of the MC predictive mean and the per-point test log-likelihood
 * LSE_k[−½ log(2πσ²) − (y − f̂_k)²/(2σ²)] − log K, in original units: f̂ = f·s_y + ȳ and
 * σ² = s_y²/τ (τ the precision in normalised units).
 */
export function regressionMetrics(samples: ArrayLike<number>, K: number, yRaw: ArrayLike<number>, yMean: number, yStd: number, tau: number): RegressionMetrics {
  const n = yRaw.length;
  if (samples.length !== n * K) throw new ShapeError('regressionMetrics', `samples of ${n}×${K}`, `${samples.length}`);
  if (!(tau > 0)) throw new ValueError('regressionMetrics', 'tau > 0', String(tau));
  const sigma2 = (yStd * yStd) / tau;
  let se = 0, ll = 0;
  for (let i = 0; i < n; i++) {
    let m = 0;
    const terms = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      const f = samples[i * K + k]! * yStd + yMean;
      m += f / K;
      terms[k] = -0.5 * Math.log(2 * Math.PI * sigma2) - (yRaw[i]! - f) ** 2 / (2 * sigma2);
    }
    se += (yRaw[i]! - m) ** 2;
    const mx = Math.max(...terms);
    let s = 0;
    for (const t of terms) s += Math.exp(t - mx);
    ll += mx + Math.log(s) - Math.log(K);
  }
  return { rmse: Math.sqrt(se / n), logLikelihood: ll / n, n };
}

/** AUROC of scores (higher = positive) by the Mann-Whitney statistic, ties counted half. */
export function auroc(positives: ArrayLike<number>, negatives: ArrayLike<number>): number {
  const all = [...Array.from(positives, (v) => [v, 1] as const), ...Array.from(negatives, (v) => [v, 0] as const)].sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j < all.length && all[j]![0] === all[i]![0]) j++;
    const rank = (i + j + 1) / 2; // average 1-based rank of the tie block
    for (let t = i; t < j; t++) if (all[t]![1] === 1) rankSum += rank;
    i = j;
  }
  const P = positives.length, N = negatives.length;
  if (P === 0 || N === 0) throw new ValueError('auroc', 'positives and negatives', `${P} and ${N}`);
  return (rankSum - (P * (P + 1)) / 2) / (P * N);
}
