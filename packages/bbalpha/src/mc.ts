// Monte Carlo dropout batching. A minibatch of M inputs is tiled K times into M·K rows
// (row n·K + k is sample k of input n); every row gets its own dropout mask at every
// layer (the mask coordinates include the row), so one forward pass draws K independent
// network samples per input, and each layer runs as one dispatch over all M·K rows.
//
// Prediction has one path: mcPasses draws the [M, K, ...] outputs pass by pass, in chunks of
// inputs and of samples (bounded memory); mcPredictSamples, mcPredictProbs and the
// evaluation's mcSampleProbs (experiments/evaluate.ts) are built on it.

import { add, concat, div, expand, keep, keyFor, mean, mul, noGrad, reshape, slice, softmax, tidy, ValueError, type Key, type Tensor } from '@alphadrop/core';
import type { ForwardContext, Module } from '@alphadrop/nn';
import { checkMcTile } from './mc-working-set.js';

/** [M, ...] → [M·K, ...], each input repeated K times in consecutive rows. */
export function tileSamples(x: Tensor, samples: number): Tensor {
  if (!Number.isInteger(samples) || samples < 1) throw new ValueError('tileSamples', 'samples a positive integer', String(samples));
  const [M, ...rest] = x.shape;
  return reshape(expand(reshape(x, [M!, 1, ...rest]), [M!, samples, ...rest]), [M! * samples, ...rest]);
}

/** One stochastic pass over K tiled copies: outputs [M, K, ...out]. */
export function mcForward(model: Module, x: Tensor, samples: number, ctx: ForwardContext): Tensor {
  const M = x.shape[0]!;
  checkMcTile('mcForward', model, x.shape, samples, { dtype: x.dtype, backend: x.backend });
  const y = model.forward(tileSamples(x, samples), ctx);
  return reshape(y, [M, samples, ...y.shape.slice(1)]);
}

/**
 * A model batch's pass (@alphadrop/nn batch/): inputs [G, M, ...] (model g's minibatch),
 * each model's rows tiled K times as tileSamples does; outputs [G, M, K, ...out].
 */
export function mcForwardBatch(model: Module, x: Tensor, samples: number, ctx: ForwardContext): Tensor {
  const [G, M, ...rest] = x.shape as [number, number, ...number[]];
  // model g's rows are rows g·M … of the flattened batch, so tiling it tiles each model's rows
  const tiled = reshape(tileSamples(reshape(x, [G * M, ...rest]), samples), [G, M * samples, ...rest]);
  const y = model.forward(tiled, ctx);
  return reshape(y, [G, M, samples, ...y.shape.slice(2)]);
}

export interface McPredictOptions {
  /** Samples per forward pass (memory bound); the K samples are drawn in chunks of this size. */
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

export interface McPassOptions {
  /** The masks' key (predictionKey). */
  key: Key;
  /** Inputs per forward pass (default: all). */
  inputsPerPass?: number;
  /** Samples per forward pass (default: all). */
  samplesPerPass?: number;
}

/** One forward pass of mcPasses: outputs [m, k, ...out] for inputs [input, input + m) and samples [sample, sample + k). */
export interface McPass {
  outputs: Tensor;
  input: number;
  sample: number;
}

/**
 * The one MC prediction path: draws the outputs [M, K, ...out] of `samples` = K network
 * samples for inputs x [M, ...], one forward pass per chunk of inputs × chunk of samples,
 * with the model in MC mode (dropout on) and no gradient recorded. Pass p (inputs chunk b,
 * samples chunk c, p = b·(chunks of samples) + c) draws its masks at counter step p under
 * `key`. Each pass's outputs are the caller's to dispose; the model's mode is restored when
 * the loop ends (also by break or throw).
 */
export function* mcPasses(model: Module, x: Tensor, samples: number, o: McPassOptions): Generator<McPass, void, undefined> {
  for (const [name, v] of [['samples', samples], ['inputsPerPass', o.inputsPerPass ?? 1], ['samplesPerPass', o.samplesPerPass ?? 1]] as const)
    if (!Number.isInteger(v) || v < 1) throw new ValueError('mcPasses', `${name} a positive integer`, String(v));
  const M = x.shape[0]!;
  const rest = x.shape.slice(1);
  const inputsPerPass = Math.max(1, Math.min(M, o.inputsPerPass ?? M));
  const samplesPerPass = Math.min(samples, o.samplesPerPass ?? samples);
  const prevMode = model.mode;
  model.mc();
  try {
    let step = 0;
    // input === 0 once even for M = 0: an empty batch still yields its (empty) outputs
    for (let input = 0; input === 0 || input < M; input += inputsPerPass) {
      const m = Math.min(inputsPerPass, M - input);
      const xs = m === M ? x : null;
      for (let sample = 0; sample < samples; sample += samplesPerPass, step++) {
        const k = Math.min(samplesPerPass, samples - sample);
        const ctx: ForwardContext = { key: o.key, step };
        const outputs = noGrad(() => tidy(() => mcForward(model, xs ?? slice(x, [input, ...rest.map(() => 0)], [m, ...rest]), k, ctx)));
        yield { outputs, input, sample };
      }
    }
  } finally {
    model.setMode(prevMode);
  }
}

/** MC predictions in the model's output units: samples [M, K, ...out], drawn `chunk` samples per pass (default: all in one). */
export function mcPredictSamples(model: Module, x: Tensor, samples: number, opts: McPredictOptions = {}): Tensor {
  const parts: Tensor[] = [];
  for (const pass of mcPasses(model, x, samples, { key: predictionKey(opts), samplesPerPass: opts.chunk ?? samples })) parts.push(pass.outputs);
  if (parts.length === 1) return parts[0]!;
  const all = concat(parts, 1);
  for (const p of parts) p.dispose();
  return all;
}

/**
 * MC predictive probabilities p̄ = (1/K) Σ_k softmax(f_k) [M, C], from K samples drawn in
 * chunks of `chunk` (default 10; K = 100 fits memory), with the model in MC mode (dropout on).
 */
export function mcPredictProbs(model: Module, x: Tensor, samples: number, opts: McPredictOptions = {}): Tensor {
  if (!Number.isInteger(samples) || samples < 1) throw new ValueError('mcPredictProbs', 'samples (K_test) a positive integer', String(samples));
  let acc: Tensor | null = null;
  for (const { outputs } of mcPasses(model, x, samples, { key: predictionKey(opts), samplesPerPass: opts.chunk ?? 10 })) {
    const k = outputs.shape[1]!;
    const prev: Tensor | null = acc;
    const next: Tensor = noGrad(() =>
      tidy((): Tensor => {
        const s = mean(softmax(outputs, -1), 1); // [M, C]
        const part = k === samples ? s : div(mul(s, k), samples);
        return prev ? add(prev, part) : part;
      }),
    );
    outputs.dispose();
    prev?.dispose();
    acc = keep(next);
  }
  return acc!;
}
