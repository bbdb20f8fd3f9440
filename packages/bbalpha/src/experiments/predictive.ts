// What the MNIST-side experiments (adversarial.ts, ood.ts, calibration.ts) share: image
// sets on the host cut into batches, the deterministic view of a dropout model, and the
// predictive distribution of one batch read back to the host in float64 (p̄, and the
// mutual information when there are several MC samples).
//
// Masks: the evaluation of batch b draws under experimentKey(seed, b) =
// derive(rootKey(seed), 'predict', b, 1), the evaluation pass b refined by 1 so that these
// keys never coincide with evaluateClassifier's derive(root, 'predict', pass). Every
// evaluation of the same batch (clean or perturbed, in any experiment) uses the same masks:
// differences between rows of a sweep come from the inputs, not from fresh mask noise, and
// the η = 0 row of an FGS sweep is the clean evaluation itself.

import { keep, keyFor, noGrad, softmax, tensor, tidy, ShapeError, ValueError, type Key, type Tensor } from '@alphadrop/core';
import { Module, type ForwardContext } from '@alphadrop/nn';
import { mcPasses } from '../mc.js';
import { entropyOf } from '../metrics.js';

/** Images on the host ([n, ...row] flattened; MnistSplit fits) or a tensor [n, ...row]. */
export type ImageSet = Tensor | { images: Float32Array; n: number };

export interface HostImages {
  data: Float32Array;
  n: number;
  /** Values per image. */
  width: number;
}

/** The set's pixels on the host (a tensor is read back once), checked against `n` labels when given. */
export async function hostImages(where: string, set: ImageSet, labels?: number): Promise<HostImages> {
  let data: Float32Array;
  let n: number;
  if ('images' in set) {
    ({ images: data, n } = set);
  } else {
    if (set.dtype !== 'f32') throw new ValueError(where, 'f32 images', set.dtype);
    if (set.rank < 2) throw new ShapeError(where, 'images [n, ...]', `[${set.shape}]`);
    n = set.shape[0]!;
    data = (await set.data()) as Float32Array;
  }
  if (!Number.isInteger(n) || n < 1 || data.length % n !== 0 || data.length === 0)
    throw new ShapeError(where, 'a non-empty set of n equal-sized images', `${data.length} values for n = ${n}`);
  if (labels !== undefined && labels !== n) throw new ShapeError(where, `one label per image (${n})`, `${labels} labels`);
  return { data, n, width: data.length / n };
}

/** Class labels as integers ≥ 0 (the upper bound is checked once the model's class count is known). */
export function checkLabels(where: string, labels: ArrayLike<number>): void {
  for (let i = 0; i < labels.length; i++)
    if (!(Number.isInteger(labels[i]) && labels[i]! >= 0)) throw new ValueError(where, 'labels that are integers ≥ 0', String(labels[i]), `at position ${i}`);
}

export function checkPositiveInt(where: string, name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new ValueError(where, `${name} a positive integer`, String(v));
  return v;
}

/** Rows [start, start + count) of a host set as a tensor [count, width] on the current backend. */
export function rowsTensor(set: HostImages, start: number, count: number): Tensor {
  return tensor(set.data.subarray(start * set.width, (start + count) * set.width), [count, set.width]);
}

/** Batches [start, start + count) of `n` rows, `size` at a time. */
export function* batchRanges(n: number, size: number): Generator<{ index: number; start: number; count: number }> {
  for (let index = 0, start = 0; start < n; index++, start += size) yield { index, start, count: Math.min(size, n - start) };
}

/** The masks of batch `batch`'s evaluations (see the header). */
export function experimentKey(seed: number, batch: number): Key {
  return keyFor(seed, 'predict', batch, 1);
}

/**
 * The weight-averaged network of `inner` (dropout off) whatever mode callers set on it:
 * mcPasses and the attacks put their model in MC mode, and this view keeps the inner model
 * in eval mode underneath, so the same prediction and attack code serves the deterministic
 * model with one "sample". It shares (does not own) the inner model's parameters.
 */
class DeterministicView extends Module {
  constructor(readonly inner: Module) {
    super();
  }
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    const prev = this.inner.mode;
    this.inner.eval();
    try {
      return this.inner.forward(x, ctx);
    } finally {
      this.inner.setMode(prev);
    }
  }
  // the working-set guard (mc-working-set.ts) sizes a non-Sequential model from its parameters
  override namedParameters(prefix = ''): [string, Tensor][] {
    return this.inner.namedParameters(prefix);
  }
  override dispose(): void {
    // the inner model is the caller's
  }
}

export interface PredictiveModel {
  net: Module;
  /** MC samples per input: the test samples, or 1 for the deterministic model. */
  samples: number;
  mc: boolean;
}

/** The model the experiments run: MC dropout with `testSamples` samples, or (mc = false) the deterministic view. */
export function predictiveModel(where: string, model: Module, o: { mc: boolean; testSamples?: number }): PredictiveModel {
  if (!o.mc) return { net: new DeterministicView(model), samples: 1, mc: false };
  return { net: model, samples: checkPositiveInt(where, 'testSamples', o.testSamples ?? 10), mc: true };
}

/** Per-sample probabilities of one batch, launched (tensors pending on the device) but not read yet. */
export interface PendingPrediction {
  parts: { probs: Tensor; sample: number }[];
  count: number;
  samples: number;
}

/** MC samples drawn per forward pass: bounds the tiled batch (128 × 10 rows) whatever K is. */
const SAMPLES_PER_PASS = 10;

/**
 * Launches the prediction of inputs x [m, ...] under `key`: softmax outputs [m, k, C] per
 * pass of mcPasses (chunks of samples). Synchronous, so it can run inside an attack's step
 * callback; collect the numbers with readPrediction.
 */
export function launchPrediction(p: PredictiveModel, x: Tensor, key: Key): PendingPrediction {
  const parts: { probs: Tensor; sample: number }[] = [];
  try {
    for (const { outputs, sample } of mcPasses(p.net, x, p.samples, { key, samplesPerPass: Math.min(p.samples, SAMPLES_PER_PASS) })) {
      try {
        parts.push({ probs: keep(noGrad(() => tidy(() => softmax(outputs, -1)))), sample });
      } finally {
        outputs.dispose();
      }
    }
  } catch (err) {
    parts.forEach((q) => q.probs.dispose());
    throw err;
  }
  return { parts, count: x.shape[0]!, samples: p.samples };
}

/** A batch's predictive distribution on the host (float64). */
export interface BatchPrediction {
  /** p̄ [count, C]: the mean of the samples' softmax outputs. */
  meanProbs: Float64Array;
  /** H[p̄] per input (clipped as the paper's code: metrics.ts entropyOf). */
  entropy: Float64Array;
  /** H[p̄] − mean_k H[p_k] per input. */
  mutualInformation: Float64Array;
  C: number;
}

/** Reads a launched prediction back (and frees its tensors); refuses non-finite probabilities. */
export async function readPrediction(where: string, pending: PendingPrediction): Promise<BatchPrediction> {
  const { count: m, samples: K } = pending;
  try {
    const C = pending.parts[0]!.probs.shape[2]!;
    const meanProbs = new Float64Array(m * C);
    const expected = new Float64Array(m);
    for (const { probs } of pending.parts) {
      const k = probs.shape[1]!;
      const v = await probs.data();
      for (let i = 0; i < m; i++)
        for (let s = 0; s < k; s++) {
          const at = (i * k + s) * C;
          for (let c = 0; c < C; c++) {
            const q = v[at + c]!;
            if (!Number.isFinite(q)) throw new ValueError(where, 'finite predictive probabilities', String(q), `input ${i}, class ${c}: the model or the inputs hold non-finite values`);
            meanProbs[i * C + c]! += q / K;
          }
          expected[i]! += entropyOf(v, at, C) / K;
        }
    }
    const entropy = new Float64Array(m);
    const mutualInformation = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      entropy[i] = entropyOf(meanProbs, i * C, C);
      mutualInformation[i] = entropy[i]! - expected[i]!;
    }
    return { meanProbs, entropy, mutualInformation, C };
  } finally {
    pending.parts.forEach((q) => q.probs.dispose());
  }
}

/** Launch and read in one call. */
export async function predictBatch(where: string, p: PredictiveModel, x: Tensor, key: Key): Promise<BatchPrediction> {
  return readPrediction(where, launchPrediction(p, x, key));
}

/** The predicted class of row i of p̄ [*, C]: the first maximum (as metrics.ts counts accuracy). */
export function predictedClass(meanProbs: ArrayLike<number>, i: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (meanProbs[i * C + c]! > meanProbs[i * C + best]!) best = c;
  return best;
}

/** Refuses labels outside [0, C) once the model's class count C is known. */
export function checkLabelRange(where: string, labels: ArrayLike<number>, C: number): void {
  for (let i = 0; i < labels.length; i++) if (labels[i]! >= C) throw new ValueError(where, `labels in [0, ${C}) (the model's classes)`, String(labels[i]), `at position ${i}`);
}
