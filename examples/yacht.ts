// The core demo (`npm start`): a 6-50-50-1 ReLU MLP trained with plain SGD on the UCI
// yacht data, printing the test RMSE in original units. With a data directory
// (--data-dir DIR or ALPHADROP_DATA) it uses the standard split 0; otherwise it uses the
// embedded copy of the data with a fixed random 90/10 split.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getBackend } from '@alphadrop/core';
import { makeUciSplit, parseUciTable, randomSplit } from '@alphadrop/nn';
import { dataDir, loadUci, uciSplit } from '@alphadrop/nn/node';
import { rmseOriginal, trainMlp } from './mlp-sgd.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const dir = dataDir(arg('--data-dir'));
const epochs = Number(arg('--epochs') ?? 400);
let split;
let source: string;
if (dir) {
  split = uciSplit(loadUci(dir, 'yacht'), 0);
  source = `${dir}/uci/yacht, standard split 0`;
} else {
  const path = fileURLToPath(new URL('../packages/nn/fixtures/uci-yacht/data.txt', import.meta.url));
  const table = parseUciTable(readFileSync(path, 'utf8'), path);
  const { train, test } = randomSplit(table.rows, 1);
  split = makeUciSplit(table, Int32Array.from([0, 1, 2, 3, 4, 5]), 6, train, test);
  source = 'embedded yacht data, fixed random 90/10 split';
}

console.log(`alphadrop core demo: 6-50-50-1 MLP, plain SGD, on ${source}`);
console.log(`backend: ${getBackend().name}; ${split.nTrain} training rows, ${split.nTest} test rows, ${epochs} epochs`);
const t0 = performance.now();
const { model, loss } = trainMlp(
  { x: split.xTrain, y: split.yTrain, rows: split.nTrain, inputs: split.inputs },
  { sizes: [split.inputs, 50, 50, 1], seed: 1, learningRate: 0.05, epochs, batchSize: 32 },
  (epoch, l) => {
    if ((epoch + 1) % 100 === 0) console.log(`epoch ${epoch + 1}: training MSE (standardised) ${l.toFixed(4)}`);
  },
);
const pred = model.predict(split.xTest, split.nTest).dataSync();
const rmse = rmseOriginal(pred, split.yTestRaw, split.yMean, split.yStd);
console.log(`final training MSE ${loss.toFixed(4)}; test RMSE ${rmse.toFixed(3)} (original units) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
