// Monte Carlo dropout batching. A minibatch of M inputs is tiled K times into M·K rows
// (row n·K + k is sample k of input n); every row gets its own dropout mask at every
// layer (the mask coordinates include the row), so one forward pass draws K independent
// network samples per input, and each layer runs as one dispatch over all M·K rows.

import { add, div, expand, keep, keyFor, mean, mul, noGrad, reshape, softmax, tidy, ValueError, type Key, type Tensor } from '@alphadrop/core';
import type { ForwardContext, Module } from '@alphadrop/nn';
import { checkMcTile } from './mc-working-set.js';

/** [M, ...] → [M·K, ...], each input repeated K times in consecutive rows. */
export function tileSamples(x: Tensor, K: number): Tensor {
  if (!Number.isInteger(K) || K < 1) throw new ValueError('tileSamples', 'K a positive integer', String(K));
  const [M, ...rest] = x.shape;
  return reshape(expand(reshape(x, [M!, 1, ...rest]), [M!, K, ...rest]), [M! * K, ...rest]);
}

/** One stochastic pass over K tiled copies: outputs [M, K, ...out]. */
export function mcForward(model: Module, x: Tensor, K: number, ctx: ForwardContext): Tensor {
  const M = x.shape[0]!;
  checkMcTile('mcForward', model, x.shape, K, { dtype: x.dtype, backend: x.backend });
  const y = model.forward(tileSamples(x, K), ctx);
  return reshape(y, [M, K, ...y.shape.slice(1)]);
}

export interface McPredictOptions {
  /** Samples per forward pass (memory bound); K_test is split into chunks of this size. */
  chunk?: number;
  /** Run seed; the masks' key is derive(rootKey(seed), 'predict', pass) unless `key` is given. */
  seed?: number;
  /** Prediction pass number: different passes draw different masks. */
  pass?: number;
  /** The masks' key, derived by the caller for its own purpose (an attack's, say). */
  key?: Key;
}

/** The key of a prediction pass's masks. */
export function predictionKey(opts: McPredictOptions): Key {
  return opts.key ?? keyFor(opts.seed ?? 0, 'predict', opts.pass ?? 0);
}

/**
 * MC predictive probabilities p̄ = (1/K) Σ_k softmax(f_k) [M, C], from K samples drawn in
 * chunks (K = 100 fits memory), with the model in MC mode (dropout on).
 */
export function mcPredictProbs(model: Module, x: Tensor, K: number, opts: McPredictOptions = {}): Tensor {
  if (!Number.isInteger(K) || K < 1) throw new ValueError('mcPredictProbs', 'K_test a positive integer', String(K));
  const chunk = Math.min(K, opts.chunk ?? 10);
  const prevMode = model.mode;
  model.mc();
  try {
    const key = predictionKey(opts);
    return noGrad(() => {
      let acc: Tensor | null = null;
      for (let done = 0, chunkIndex = 0; done < K; done += chunk, chunkIndex++) {
        const k = Math.min(chunk, K - done);
        const ctx: ForwardContext = { key, step: chunkIndex };
        const next: Tensor = tidy(() => {
          const s = mean(softmax(mcForward(model, x, k, ctx), -1), 1); // [M, C]
          const part = k === K ? s : div(mul(s, k), K);
          return acc ? add(acc, part) : part;
        });
        acc?.dispose();
        acc = keep(next);
      }
      return acc!;
    });
  } finally {
    model.setMode(prevMode);
  }
}

/** MC regression predictions in the model's (normalised) units: samples [M, K, D]. */
export function mcPredictSamples(model: Module, x: Tensor, K: number, opts: McPredictOptions = {}): Tensor {
  const prevMode = model.mode;
  model.mc();
  try {
    return noGrad(() => mcForward(model, x, K, { key: predictionKey(opts), step: 0 }));
  } finally {
    model.setMode(prevMode);
  }
}

