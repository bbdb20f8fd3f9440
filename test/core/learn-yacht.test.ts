// End-to-end learning with the core alone: a small MLP with plain SGD on UCI yacht, split 0:
// the protocol's split with a data directory (a linear least-squares fit gets a test RMSE
// of 9.25 there), else the embedded rows with the generated split 0 (see helpers/data.ts).
// The model is written here against @alphadrop/core alone (no layers, no optimizer, no fit):
// Glorot-uniform weights from the counter-based RNG, ReLU, mean squared error, plain SGD;
// only the data loading and the epoch order (the one shuffle) come from @alphadrop/nn.
import { describe, expect, it } from 'vitest';
import {
  add, cpuBackend, gather, keep, keyFor, matmul, memory, mse, mul, noGrad, randomUniform, relu, reshape, setBackend, sub, tensor, tidy,
  valueAndGradsOf, type Tensor,
} from '@alphadrop/core';
import { permutation, shuffleKey } from '@alphadrop/nn';
import { loadUci, uciSplit } from '@alphadrop/nn/node';
import { yachtForTests } from '../helpers/data.js';

class Mlp {
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

interface SgdConfig {
  sizes: readonly number[];
  seed: number;
  learningRate: number;
  epochs: number;
  batchSize: number;
}

/** Minibatch SGD on the MSE, the epoch order from nn's permutation; onEpoch after each epoch. */
function trainMlp(data: { x: Float32Array; y: Float32Array; rows: number; inputs: number }, cfg: SgdConfig, onEpoch: () => void): Mlp {
  const model = new Mlp([data.inputs, ...cfg.sizes.slice(1)], cfg.seed);
  const x = keep(tensor(data.x, [data.rows, data.inputs]));
  const y = keep(tensor(data.y, [data.rows, 1]));
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    const order = permutation(data.rows, shuffleKey(cfg.seed, epoch));
    for (let start = 0; start < data.rows; start += cfg.batchSize) {
      const idx = order.slice(start, Math.min(data.rows, start + cfg.batchSize));
      const next = tidy(() => {
        const i = tensor(idx, [idx.length]);
        const { grads } = valueAndGradsOf(() => mse(model.forward(gather(x, i, 0)), gather(y, i, 0)), model.params);
        return model.params.map((p, k) => sub(p, mul(grads[k]!, cfg.learningRate)));
      });
      model.params.forEach((p, k) => {
        p.dispose();
        model.params[k] = keep(next[k]!);
      });
    }
    onEpoch();
  }
  x.dispose();
  y.dispose();
  return model;
}

/** Root mean squared error in original units, given standardised predictions. */
function rmseOriginal(pred: ArrayLike<number>, yRaw: ArrayLike<number>, yMean: number, yStd: number): number {
  let s = 0;
  for (let i = 0; i < yRaw.length; i++) s += (pred[i]! * yStd + yMean - yRaw[i]!) ** 2;
  return Math.sqrt(s / yRaw.length);
}

describe('yacht MLP with plain SGD (core only)', () => {
  const yacht = yachtForTests('yacht MLP');
  // Linear least squares gets 9.25 on the protocol's split 0 and 11.0 on the generated one
  // (numpy lstsq, offline); this MLP gets about 0.97 and 0.77 there, so one bound fits both.
  const maxRmse = 3.0;
  it(`reaches a test RMSE <= ${maxRmse} on split 0 and holds memory flat`, () => {
    setBackend(cpuBackend('fast'));
    const split = uciSplit(loadUci(yacht.root, 'yacht'), 0);
    expect(split.nTrain).toBe(277);
    expect(split.nTest).toBe(31);
    const before = memory().tensors;
    const tensorsPerEpoch: number[] = [];
    const model = trainMlp(
      { x: split.xTrain, y: split.yTrain, rows: split.nTrain, inputs: split.inputs },
      { sizes: [split.inputs, 50, 50, 1], seed: 1, learningRate: 0.05, epochs: 150, batchSize: 32 },
      () => tensorsPerEpoch.push(memory().tensors),
    );
    // the training loop holds a flat tensor count: parameters only, after every epoch
    expect(new Set(tensorsPerEpoch).size).toBe(1);
    expect(memory().tensors - before).toBe(model.params.length);
    const pred = model.predict(split.xTest, split.nTest).dataSync();
    const rmse = rmseOriginal(pred, split.yTestRaw, split.yMean, split.yStd);
    console.log(JSON.stringify({ yacht: yacht.full ? 'protocol split 0' : 'embedded split 0', rmse }));
    expect(rmse).toBeLessThanOrEqual(maxRmse);
  });
});
