/**
 * Inference only: load a checkpoint, draw Monte Carlo dropout predictions, report their
 * uncertainty. This entry pulls in no training code, no experiments and no charts, so a page
 * that only predicts stays small (its minified, gzipped size is reported by `npm run build`).
 * It runs on the current backend: the CPU by default, WebGPU after `init()` (re-exported
 * here from `@alphadrop/kernels`, so a page needs this one import).
 *
 * ```ts
 * import { init, loadPredictor, predictClasses } from '@alphadrop/bbalpha/infer';
 * await init(); // WebGPU where the browser has it, else the CPU
 * const predictor = loadPredictor(new Uint8Array(await (await fetch('model.safetensors')).arrayBuffer()));
 * const { probs, entropy, mutualInformation } = await predictClasses(predictor, pixels, { samples: 50 });
 * ```
 *
 * @module @alphadrop/bbalpha/infer
 */

import { softmax, tensor, tidy, ShapeError, ValueError, type Tensor } from '@alphadrop/core';
import { decodeSafetensors, modelFromCheckpoint, type CheckpointMetadata, type Module } from '@alphadrop/nn';
import { mcPredictSamples, type McPredictOptions } from './mc.js';
import { entropyOf } from './metrics.js';

export { init, type InitOptions, type Initialized, type BackendKind } from '@alphadrop/kernels';

/** A model rebuilt from a checkpoint, with what the checkpoint says about it. */
export interface Predictor {
  model: Module;
  metadata: CheckpointMetadata;
  /** Values per example of a flat input (the first linear's `in`, or the size a leading reshape takes); 0 when the model starts with a convolution (pass tensors). */
  inputSize: number;
  /** Outputs per example: classes, or 1 for a regression. */
  outputSize: number;
}

/**
 * Rebuilds the model of a checkpoint (the safetensors bytes `alphadrop train` and the
 * playground write). A file that is not an alphadrop checkpoint, or whose tensors do not fit
 * its architecture, is refused with a DataError naming `source`.
 */
export function loadPredictor(bytes: Uint8Array, source = 'checkpoint'): Predictor {
  const { model, metadata } = modelFromCheckpoint(decodeSafetensors(bytes, source), source);
  const layers = metadata.architecture!;
  const first = layers.find((l) => l.kind === 'linear' || l.kind === 'reshape' || l.kind === 'conv2d');
  const inputSize = first?.kind === 'linear' ? first.in : first?.kind === 'reshape' ? first.shape.reduce((a, b) => a * b, 1) : 0;
  const last = layers.filter((l) => l.kind === 'linear').pop();
  return { model, metadata, inputSize, outputSize: last?.kind === 'linear' ? last.out : 0 };
}

export interface PredictOptions extends McPredictOptions {
  /** K: Monte Carlo samples per input (default: the checkpoint's K, else 10). */
  samples?: number;
}

/** Per input: the MC predictive distribution and its uncertainty. */
export interface ClassPredictions {
  /** Inputs predicted. */
  n: number;
  classes: number;
  /** Mean of the K softmax outputs p̄, [n, classes] row-major. */
  probs: Float64Array;
  /** argmax p̄ per input (first maximum). */
  predicted: Int32Array;
  /** Predictive entropy H[p̄] (nats). */
  entropy: Float64Array;
  /** Mutual information H[p̄] − mean_k H[p_k] (nats): the model's share of the uncertainty. */
  mutualInformation: Float64Array;
}

function asInputs(where: string, p: Predictor, x: Tensor | Float32Array): { x: Tensor; owned: boolean } {
  if (!(x instanceof Float32Array)) return { x, owned: false };
  if (p.inputSize === 0) throw new ShapeError(where, 'a tensor [n, channels, height, width] (the model starts with a convolution)', `a flat array of ${x.length} values`);
  if (x.length % p.inputSize !== 0) throw new ShapeError(where, `inputs of ${p.inputSize} values each`, `${x.length} values`, 'a whole number of inputs');
  return { x: tensor(x, [x.length / p.inputSize, p.inputSize]), owned: true };
}

const samplesOf = (p: Predictor, o: PredictOptions) => o.samples ?? p.metadata.samples ?? 10;

/**
 * The MC predictive distribution of a classifier, with entropy and mutual information per
 * input, from K samples with masks keyed by `predictionKey(opts)` (the same seed and pass give
 * the same masks on every backend, in Node and in the page).
 */
export async function predictClasses(p: Predictor, inputs: Tensor | Float32Array, opts: PredictOptions = {}): Promise<ClassPredictions> {
  const K = samplesOf(p, opts);
  const { x, owned } = asInputs('predictClasses', p, inputs);
  try {
    const perSample = tidy(() => softmax(mcPredictSamples(p.model, x, K, opts), -1)); // [n, K, C]
    const data = await perSample.data();
    const [n, , C] = perSample.shape as [number, number, number];
    perSample.dispose();
    if (C < 2) throw new ValueError('predictClasses', 'a classifier (at least 2 outputs)', `${C} output`, 'use predictRegression');
    const probs = new Float64Array(n * C);
    const predicted = new Int32Array(n);
    const entropy = new Float64Array(n);
    const mutualInformation = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let expected = 0;
      for (let k = 0; k < K; k++) {
        const at = (i * K + k) * C;
        for (let c = 0; c < C; c++) probs[i * C + c]! += data[at + c]! / K;
        expected += entropyOf(data, at, C) / K;
      }
      let best = 0;
      for (let c = 1; c < C; c++) if (probs[i * C + c]! > probs[i * C + best]!) best = c;
      predicted[i] = best;
      entropy[i] = entropyOf(probs, i * C, C);
      mutualInformation[i] = entropy[i]! - expected;
    }
    return { n, classes: C, probs, predicted, entropy, mutualInformation };
  } finally {
    if (owned) x.dispose();
  }
}

/** Per input of a regression: the predictive mean and standard deviation in the target's units. */
export interface RegressionPredictions {
  n: number;
  mean: Float64Array;
  /** √(variance of the K sampled means + 1/τ), in target units (τ: the checkpoint's precision). */
  std: Float64Array;
}

/**
 * The MC predictive mean and standard deviation of a regression model. Inputs are raw: the
 * checkpoint's normalisation (fitted on its training data) is applied here, and its τ gives
 * the noise term. A checkpoint without τ is refused.
 */
export async function predictRegression(p: Predictor, inputs: Float32Array, opts: PredictOptions = {}): Promise<RegressionPredictions> {
  const tau = p.metadata.tau;
  if (tau === undefined) throw new ValueError('predictRegression', 'a checkpoint with a learned precision τ (a regression model)', 'no tau in its metadata');
  const norm = p.metadata.normalisation ?? {};
  const d = p.inputSize;
  const scaled = Float32Array.from(inputs, (v, i) => (norm.inputMean && norm.inputStd ? (v - norm.inputMean[i % d]!) / norm.inputStd[i % d]! : v));
  const K = samplesOf(p, opts);
  const { x } = asInputs('predictRegression', p, scaled);
  try {
    const samples = tidy(() => mcPredictSamples(p.model, x, K, opts)); // [n, K, 1]
    const data = await samples.data();
    samples.dispose();
    const n = x.shape[0]!;
    const yMean = norm.targetMean ?? 0, yStd = norm.targetStd ?? 1;
    const mean = new Float64Array(n), std = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let m = 0, m2 = 0;
      for (let k = 0; k < K; k++) {
        const f = data[i * K + k]! * yStd + yMean;
        m += f / K;
        m2 += (f * f) / K;
      }
      mean[i] = m;
      std[i] = Math.sqrt(Math.max(0, m2 - m * m) + (yStd * yStd) / tau);
    }
    return { n, mean, std };
  } finally {
    x.dispose();
  }
}
