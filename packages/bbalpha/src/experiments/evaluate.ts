// Evaluation of a classifier by MC dropout: per-sample probabilities [n, K, C] in chunks
// of inputs (bounded memory; mc.ts's mcPasses), then every metric of metrics.ts on the host.

import { softmax, tensor, type Key, type Tensor } from '@alphadrop/core';
import type { Module } from '@alphadrop/nn';
import { classificationMetrics, type ClassificationMetrics } from '../metrics.js';
import { mcPasses, predictionKey } from '../mc.js';

export interface EvalOptions {
  samples: number;
  /** Run seed: masks under derive(rootKey(seed), 'predict', pass), batch b at step b. */
  seed?: number;
  /** Evaluation pass: each evaluation of one run (clean, noisy, attacked, …) takes its own. */
  pass?: number;
  /** Or the masks' key itself. */
  key?: Key;
  /** Inputs per forward pass. */
  batch?: number;
}

/** MC probabilities per sample [n, K, C] for inputs x [n, ...], read back to the host pass by pass (mcPasses, `batch` inputs each). */
export async function mcSampleProbs(model: Module, x: Tensor, o: EvalOptions): Promise<{ probs: Float32Array; C: number }> {
  const n = x.shape[0]!;
  const parts: Float32Array[] = [];
  let C = 0;
  for (const { outputs } of mcPasses(model, x, o.samples, { key: predictionKey(o), inputsPerPass: o.batch ?? 500 })) {
    const p = softmax(outputs, -1);
    outputs.dispose();
    C = p.shape[2]!;
    try {
      parts.push((await p.data()) as Float32Array);
    } finally {
      p.dispose();
    }
  }
  const probs = new Float32Array(n * o.samples * C);
  let off = 0;
  for (const q of parts) {
    probs.set(q, off);
    off += q.length;
  }
  return { probs, C };
}

/** Mean over K of per-sample probabilities [n, K, C] → [n, C] (float64). */
export function meanOverSamples(probs: ArrayLike<number>, n: number, K: number, C: number): Float64Array {
  const out = new Float64Array(n * C);
  for (let i = 0; i < n; i++) for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) out[i * C + c]! += probs[(i * K + k) * C + c]! / K;
  return out;
}

/** Accuracy, log-likelihood, entropy, mutual information, ... of MC dropout on (images, labels). */
export async function evaluateClassifier(model: Module, images: Float32Array | Tensor, labels: ArrayLike<number>, o: EvalOptions): Promise<ClassificationMetrics> {
  const n = labels.length;
  const x = images instanceof Float32Array ? tensor(images, [n, images.length / n]) : images;
  try {
    const { probs, C } = await mcSampleProbs(model, x, o);
    return classificationMetrics(meanOverSamples(probs, n, o.samples, C), labels, C, { probs, samples: o.samples });
  } finally {
    if (images instanceof Float32Array) x.dispose();
  }
}

