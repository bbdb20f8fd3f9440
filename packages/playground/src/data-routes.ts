// Where the page finds its data: the server (serve.ts) maps these URL folders onto the
// shipped samples, and the page (main.ts) hands the worker the file URLs under them. One
// table, so the two cannot drift apart.

import type { DataUrls } from './protocol.js';

/** URL folder → the repository folder it serves (relative to the repository root). */
export const DATA_FOLDERS = {
  '/data/mnist/': 'packages/bbalpha/fixtures/mnist-sample/',
  '/data/fashion/': 'packages/playground/fixtures/fashion-sample/',
} as const;

/** The data files' URLs, absolute against the page's address (the worker fetches them). */
export function dataUrls(page: string): DataUrls {
  const at = (path: string) => new URL(`.${path}`, page).href;
  return {
    mnistTrainImages: at('/data/mnist/train-images-idx3-ubyte.gz'),
    mnistTrainLabels: at('/data/mnist/train-labels-idx1-ubyte.gz'),
    mnistTestImages: at('/data/mnist/t10k-images-idx3-ubyte.gz'),
    mnistTestLabels: at('/data/mnist/t10k-labels-idx1-ubyte.gz'),
    fashionImages: at('/data/fashion/t10k-images-idx3-ubyte.gz'),
    fashionLabels: at('/data/fashion/t10k-labels-idx1-ubyte.gz'),
  };
}
