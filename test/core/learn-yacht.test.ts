// End-to-end learning with the core alone: a small MLP with plain SGD on UCI yacht, split 0:
// the protocol's split with a data directory (a linear least-squares fit gets a test RMSE
// of 9.25 there), else the embedded rows with the generated split 0 (see helpers/data.ts).
import { describe, expect, it } from 'vitest';
import { loadUci, uciSplit } from '@alphadrop/nn/node';
import { setBackend, cpuBackend, memory } from '@alphadrop/core';
import { rmseOriginal, trainMlp } from '../../examples/mlp-sgd.js';
import { yachtForTests } from '../helpers/data.js';

describe('yacht MLP with plain SGD (core only)', () => {
  const yacht = yachtForTests('yacht MLP');
  // Linear least squares gets 9.25 on the protocol's split 0 and 11.0 on the generated one
  // (numpy lstsq, offline); this MLP gets about 1.4 on the generated split, so one bound fits both.
  const maxRmse = 3.0;
  it(`reaches a test RMSE <= ${maxRmse} on split 0 and holds memory flat`, () => {
    setBackend(cpuBackend('fast'));
    const split = uciSplit(loadUci(yacht.root, 'yacht'), 0);
    expect(split.nTrain).toBe(277);
    expect(split.nTest).toBe(31);
    const before = memory().tensors;
    const tensorsPerEpoch: number[] = [];
    const { model } = trainMlp(
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
