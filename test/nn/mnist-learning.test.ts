// Learning on real data (the acceptance of the nn package): the paper's MLP 784-100-100-10
// with dropout before every layer reaches ≥ 97% on the full 10,000-image MNIST test set with
// the MC-averaged prediction (K_test = 10), and the paper's CNN (conv 32@3×3, conv 32@3×3,
// maxpool 2×2, dense 100, dense 10; dropout before the dense layers) trained on 10,000
// images reaches ≥ 95%. Settings (CI budget): dropout rate 0.2 (MLP) / 0.5 (CNN), Adam,
// minibatch 128, 10 / 3 epochs, plain MC dropout (K = 1 in training).
// Without a data directory the same models train on the embedded sample (8,000 training
// digits, tested on its 1,000 test digits), with the bounds in EMBEDDED below.
import { describe, expect, it } from 'vitest';
import { cpuBackend, crossEntropy, keyFor, setBackend, tensor, tidy } from '@alphadrop/core';
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, Optimizer, ReLU, Sequential, fit, mlp, type Module } from '@alphadrop/nn';
import { loadMnist } from '@alphadrop/nn/node';
import { evaluateClassifier } from '@alphadrop/bbalpha';
import { mnistForTests } from '../helpers/data.js';

setBackend(cpuBackend('fast'));
const mnist = mnistForTests('MNIST learning');
// Bounds for the embedded sample: measured 94.4% (MLP) and 95.0% (CNN) on its 1,000 test
// digits; 92% leaves about three standard errors (0.7% each) for another random stream and
// stays far above a broken model (10%).
const EMBEDDED = { mlp: 0.92, cnn: 0.92 };
const bound = mnist.full ? { mlp: 0.97, cnn: 0.95 } : EMBEDDED;

async function trainAndTest(model: Module, images: Float32Array, labels: Int32Array, shape: number[], epochs: number, lr: number) {
  const n = labels.length;
  const optimizer = new Optimizer(model, { rule: 'adam', lr });
  const data = { x: tensor(images, [n, ...shape]), y: tensor(labels, [n]) };
  const t0 = performance.now();
  await fit(model, { epochs, batchSize: 128, seed: 1, optimizer, data, log: 'json', loss: (m, x, y, ctx) => crossEntropy(m.forward(x, ctx), y) });
  const trainSeconds = (performance.now() - t0) / 1000;
  const test = loadMnist(mnist.dir, { split: 'test' });
  const x = tensor(test.images, [test.n, ...shape]);
  const metrics = await evaluateClassifier(model, x, test.labels, { samples: 10, seed: 3, batch: 1000 });
  console.log(JSON.stringify({ model: model.constructor.name, epochs, trainSeconds, ...metrics }));
  return metrics;
}

describe('MNIST learning tests', () => {
  it(`MLP 784-100-100-10 with dropout: ≥ ${bound.mlp * 100}% MC test accuracy on all ${mnist.test} test digits`, async () => {
    const train = loadMnist(mnist.dir, { split: 'train' });
    const m = await trainAndTest(mlp([784, 100, 100, 10], { dropout: 0.2, seed: 1 }), train.images, train.labels, [784], 10, 2e-3);
    expect(m.n).toBe(mnist.test);
    expect(m.accuracy).toBeGreaterThanOrEqual(bound.mlp);
  }, 1_800_000);

  it(`CNN trained on ${Math.min(10000, mnist.train)} images: ≥ ${bound.cnn * 100}% MC test accuracy`, async () => {
    const train = loadMnist(mnist.dir, { split: 'train', limit: Math.min(10000, mnist.train) });
    // The convolutions carry no dropout, so MC samples differ only in the dense head: the
    // features are computed once per test image and the head is sampled K times on them.
    // hand-built: each weighted layer numbered, so each gets its own init key
    const features = new Sequential([new Conv2d(1, 32, 3, { seed: 1, index: 0 }), new ReLU(), new Conv2d(32, 32, 3, { seed: 1, index: 1 }), new ReLU(), new MaxPool2d(2), new Flatten()]);
    const head = new Sequential([new Dropout(0.5), new Linear(32 * 12 * 12, 100, { seed: 1, index: 2 }), new ReLU(), new Dropout(0.5), new Linear(100, 10, { seed: 1, index: 3 })]);
    const cnn = new Sequential([features, head]);
    const n = train.n;
    const optimizer = new Optimizer(cnn, { rule: 'adam', lr: 1e-3 });
    const data = { x: tensor(train.images, [n, 1, 28, 28]), y: tensor(train.labels, [n]) };
    await fit(cnn, { epochs: 3, batchSize: 128, seed: 1, optimizer, data, log: 'json', loss: (m, x, y, ctx) => crossEntropy(m.forward(x, ctx), y) });
    const test = loadMnist(mnist.dir, { split: 'test' });
    const feats = new Float32Array(test.n * 4608);
    features.eval();
    for (let at = 0; at < test.n; at += 500) {
      const f = tidy(() => features.forward(tensor(test.images.subarray(at * 784, (at + 500) * 784), [500, 1, 28, 28]), { key: keyFor(0, 'predict', 0), step: 0 } /* no dropout in the features: the key draws nothing */));
      feats.set((await f.data()) as Float32Array, at * 4608);
      f.dispose();
    }
    const m = await evaluateClassifier(head, feats, test.labels, { samples: 10, seed: 3, batch: 1000 });
    console.log(JSON.stringify({ model: 'cnn', ...m }));
    expect(m.n).toBe(mnist.test);
    expect(m.accuracy).toBeGreaterThanOrEqual(bound.cnn);
  }, 3_600_000);
});
