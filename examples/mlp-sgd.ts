// A small regression MLP written against @alphadrop/core (no layers; nn only for its shuffle):
// Glorot-uniform weights from the counter-based RNG, ReLU hidden layers, mean squared
// error, plain minibatch SGD. Used by the yacht demo (`npm run demo:core`).

import {
  add, matmul, mse, relu, reshape, sub, mul, tensor, tidy, keep, valueAndGradsOf, randomUniform, noGrad, gather, keyFor,
  type Tensor,
} from '@alphadrop/core';
import { permutation, shuffleKey } from '@alphadrop/nn';

export interface MlpConfig {
  sizes: readonly number[];
  seed: number;
  learningRate: number;
  epochs: number;
  batchSize: number;
}

export interface RegressionData {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  inputs: number;
}

export class Mlp {
  readonly params: Tensor[] = [];

  constructor(readonly sizes: readonly number[], seed: number) {
    for (let l = 0; l + 1 < sizes.length; l++) {
      // weight l: its own key, derive(rootKey(seed), 'init', l), as nn's layers do
      const fanIn = sizes[l]!;
      const fanOut = sizes[l + 1]!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      this.params.push(keep(tidy(() => randomUniform([fanIn, fanOut], keyFor(seed, 'init', l), -limit, limit))));
      this.params.push(keep(tensor(new Float32Array(fanOut), [fanOut])));
    }
  }

  forward(x: Tensor): Tensor {
    let h = x;
    for (let l = 0; l < this.params.length / 2; l++) {
      h = add(matmul(h, this.params[2 * l]!), this.params[2 * l + 1]!);
      if (l < this.params.length / 2 - 1) h = relu(h);
    }
    return h;
  }

  predict(x: Float32Array, rows: number): Tensor {
    return noGrad(() => tidy(() => reshape(this.forward(tensor(x, [rows, this.sizes[0]!])), [rows])));
  }
}

/** Trains with minibatch SGD on the MSE; returns the model and the last epoch's mean loss. */
export function trainMlp(data: RegressionData, cfg: MlpConfig, onEpoch?: (epoch: number, loss: number) => void): { model: Mlp; loss: number } {
  const model = new Mlp([data.inputs, ...cfg.sizes.slice(1)], cfg.seed);
  const x = keep(tensor(data.x, [data.rows, data.inputs]));
  const y = keep(tensor(data.y, [data.rows, 1]));
  let loss = NaN;
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    const order = permutation(data.rows, shuffleKey(cfg.seed, epoch)); // the one shuffle (nn's batches.ts)
    let sum = 0;
    for (let start = 0; start < data.rows; start += cfg.batchSize) {
      const idx = order.slice(start, Math.min(data.rows, start + cfg.batchSize));
      const next = tidy(() => {
        const i = tensor(idx, [idx.length]);
        const xb = gather(x, i, 0);
        const yb = gather(y, i, 0);
        const { value, grads } = valueAndGradsOf(() => mse(model.forward(xb), yb), model.params);
        sum += value.dataSync()[0]! * idx.length;
        return model.params.map((p, k) => sub(p, mul(grads[k]!, cfg.learningRate)));
      });
      model.params.forEach((p, k) => {
        p.dispose();
        model.params[k] = keep(next[k]!);
      });
    }
    loss = sum / data.rows;
    onEpoch?.(epoch, loss);
  }
  x.dispose();
  y.dispose();
  return { model, loss };
}

/** Root mean squared error in original units, given standardised predictions. */
export function rmseOriginal(pred: ArrayLike<number>, yRaw: ArrayLike<number>, yMean: number, yStd: number): number {
  let s = 0;
  for (let i = 0; i < yRaw.length; i++) s += (pred[i]! * yStd + yMean - yRaw[i]!) ** 2;
  return Math.sqrt(s / yRaw.length);
}
