// The playground suites' data and configs: the embedded MNIST sample and the shipped
// Fashion-MNIST items, read through the playground's own gunzip + parseIdx path (data.ts),
// and a tiny TrainConfig that trains in well under a second on the CPU.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { splitFromGzippedIdx } from '../../packages/playground/src/data.js';
import { DEFAULT_CONFIG, type DataUrls, type TrainConfig } from '../../packages/playground/src/protocol.js';
import type { SessionData } from '../../packages/playground/src/session.js';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
export const MNIST_DIR = repo('packages/bbalpha/fixtures/mnist-sample');
export const FASHION_DIR = repo('packages/playground/fixtures/fashion-sample');

async function split(dir: string, prefix: string) {
  const images = `${dir}/${prefix}-images-idx3-ubyte.gz`;
  const labels = `${dir}/${prefix}-labels-idx1-ubyte.gz`;
  return splitFromGzippedIdx(readFileSync(images), readFileSync(labels), { images, labels });
}

let cached: Promise<SessionData> | null = null;

/** MNIST train and test (the embedded sample) and the 16 Fashion items. */
export function sessionData(): Promise<SessionData> {
  cached ??= (async () => ({ train: await split(MNIST_DIR, 'train'), test: await split(MNIST_DIR, 't10k'), fashion: await split(FASHION_DIR, 't10k') }))();
  return cached;
}

/** 784-16-10, M = 16, K = 2, 256 training digits: a step takes about a millisecond on the CPU. */
export function tinyConfig(over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    ...DEFAULT_CONFIG,
    alphas: [0.5],
    samples: 2,
    dropout: 0.2,
    learningRate: 3e-3,
    batchSize: 16,
    hidden: [16],
    trainSize: 256,
    testSize: 64,
    testSamples: 4,
    evalEvery: 8,
    seed: 7,
    backend: 'cpu',
    ...over,
  };
}

/** The data files as the worker suites serve them: mnist/… from MNIST_DIR, fashion/… from FASHION_DIR. */
export const WORKER_DATA_URLS: DataUrls = {
  mnistTrainImages: 'mnist/train-images-idx3-ubyte.gz',
  mnistTrainLabels: 'mnist/train-labels-idx1-ubyte.gz',
  mnistTestImages: 'mnist/t10k-images-idx3-ubyte.gz',
  mnistTestLabels: 'mnist/t10k-labels-idx1-ubyte.gz',
  fashionImages: 'fashion/t10k-images-idx3-ubyte.gz',
  fashionLabels: 'fashion/t10k-labels-idx1-ubyte.gz',
};
