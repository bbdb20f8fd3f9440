// Learning on real data (the acceptance of the nn package): the paper's MLP 784-100-100-10
// with dropout before every layer reaches ≥ 97% on the full 10,000-image MNIST test set with
// the MC-averaged prediction (K_test = 10), and the paper's CNN (conv 32@3×3, conv 32@3×3,
// maxpool 2×2, dense 100, dense 10; dropout before the dense layers) trained on 10,000
// images reaches ≥ 95%. Settings (CI budget): dropout rate 0.2 (MLP) / 0.5 (CNN), Adam,
// minibatch 128, 10 / 3 epochs, plain MC dropout (K = 1 in training).
import { describe, expect, it } from 'vitest';
import { cpuBackend, crossEntropy, setBackend, tensor, tidy } from '@alphadrop/core';
import { Conv2d, Dropout, Flatten, Linear, MaxPool2d, Optimizer, ReLU, Sequential, fit, mlp, resetInitStreams, type Module } from '@alphadrop/nn';
import { loadMnist } from '@alphadrop/nn/node';
import { evaluateClassifier } from '@alphadrop/bbalpha';
import { testDataDir } from '../helpers/data.js';

setBackend(cpuBackend('fast'));

async function trainAndTest(model: Module, images: Float32Array, labels: Int32Array, shape: number[], epochs: number, lr: number) {
  const n = labels.length;
  const optimizer = new Optimizer(model, { rule: 'adam', lr });
  const data = { x: tensor(images, [n, ...shape]), y: tensor(labels, [n]) };
  const t0 = performance.now();
  await fit(model, { epochs, batchSize: 128, seed: 1, optimizer, data, log: 'json', loss: (m, x, y, ctx) => crossEntropy(m.forward(x, ctx), y) });
  const trainSeconds = (performance.now() - t0) / 1000;
  const test = loadMnist(testDataDir(), { split: 'test' });
  const x = tensor(test.images, [test.n, ...shape]);
  const metrics = await evaluateClassifier(model, x, test.labels, { samples: 10, seed: 3, batch: 1000 });
  console.log(JSON.stringify({ model: model.constructor.name, epochs, trainSeconds, ...metrics }));
  return metrics;
}

describe('MNIST learning tests', () => {
  it('MLP 784-100-100-10 with dropout: ≥ 97% MC test accuracy on all 10,000 test digits', async () => {
    resetInitStreams();
    const train = loadMnist(testDataDir(), { split: 'train' });
    const m = await trainAndTest(mlp([784, 100, 100, 10], { dropout: 0.2, seed: 1 }), train.images, train.labels, [784], 10, 2e-3);
    expect(m.n).toBe(10000);
    expect(m.accuracy).toBeGreaterThanOrEqual(0.97);
  }, 1_800_000);

  it('CNN trained on 10,000 images: ≥ 95% MC test accuracy', async () => {
    resetInitStreams();
    const train = loadMnist(testDataDir(), { split: 'train', limit: 10000 });
    // The convolutions carry no dropout, so MC samples differ only in the dense head: the
    // features are computed once per test image and the head is sampled K times on them.
    const features = new Sequential([new Conv2d(1, 32, 3, { seed: 1 }), new ReLU(), new Conv2d(32, 32, 3, { seed: 1 }), new ReLU(), new MaxPool2d(2), new Flatten()]);
    const head = new Sequential([new Dropout(0.5), new Linear(32 * 12 * 12, 100, { seed: 1 }), new ReLU(), new Dropout(0.5), new Linear(100, 10, { seed: 1 })]);
    const cnn = new Sequential([features, head]);
    const n = train.n;
    const optimizer = new Optimizer(cnn, { rule: 'adam', lr: 1e-3 });
    const data = { x: tensor(train.images, [n, 1, 28, 28]), y: tensor(train.labels, [n]) };
    await fit(cnn, { epochs: 3, batchSize: 128, seed: 1, optimizer, data, log: 'json', loss: (m, x, y, ctx) => crossEntropy(m.forward(x, ctx), y) });
    const test = loadMnist(testDataDir(), { split: 'test' });
    const feats = new Float32Array(test.n * 4608);
    features.eval();
    for (let at = 0; at < test.n; at += 500) {
      const f = tidy(() => features.forward(tensor(test.images.subarray(at * 784, (at + 500) * 784), [500, 1, 28, 28]), { seed: 0, step: 0, purpose: 'predict' }));
      feats.set((await f.data()) as Float32Array, at * 4608);
      f.dispose();
    }
    const m = await evaluateClassifier(head, feats, test.labels, { samples: 10, seed: 3, batch: 1000 });
    console.log(JSON.stringify({ model: 'cnn', ...m }));
    expect(m.n).toBe(10000);
    expect(m.accuracy).toBeGreaterThanOrEqual(0.95);
  }, 3_600_000);
});
