// The fused primitives on real WebGPU against the CPU oracle: linear (dropout while
// loading A, bias and ReLU epilogue, transposes, batches), dropout masks bit-identical to
// the CPU's (same Philox coordinates), logsumexp in both strategies with extreme values,
// and the optimizer update for every rule.
import { afterAll, describe } from 'vitest';
import { keyFor, linear, logsumexp, matmul, mul } from '@alphadrop/core';
import {
  Prim, apply, fusedBBAlphaLoss, dropout, optimizerUpdate, splitU64, type DropoutParams,
} from '@alphadrop/core/backend';
import { getTestBackend, gpuCase, rand, randInt } from '../helpers/webgpu.js';

afterAll(async () => (await getTestBackend()).device.destroy());

// the mask of dropout layer 3 at `step` in a run with `seed` (counter: layer, step lo, step hi)
const d = (seed: number, keepProb = 0.5, step = 0): DropoutParams => ({ keepProb, key: keyFor(seed, 'trainDropout'), counter: [3, ...splitU64('fused.test', 'step', step)] });

describe('fused linear on WebGPU', () => {
  gpuCase('linear 130x77 · 77x65 + b, relu', () => linear(rand([130, 77], 1), rand([77, 65], 2), rand([65], 3), { activation: 'relu' }), { rtol: 1e-4, atol: 1e-5 });
  gpuCase('linear with dropout on x (1280x97 · 97x10)', () => linear(rand([1280, 97], 4), rand([97, 10], 5), rand([10], 6), { dropout: d(9, 0.5, 2 ** 32 + 3) }), { rtol: 1e-4, atol: 1e-5 });
  gpuCase('linear transA with dropout (backward dW form)', () => linear(rand([33, 20], 7), rand([33, 17], 8), null, { transA: true, dropout: d(2, 0.7) }), { rtol: 1e-4, atol: 1e-5 });
  // the large-product rungs of the matmul ladder (matmul.ts chooseMatmul), with every fusion
  gpuCase('linear on the v4 64x128 rung: 1024x256 · 256x1024, dropout, bias, relu', () => linear(rand([1024, 256], 30), rand([256, 1024], 31), rand([1024], 32), { activation: 'relu', dropout: d(8, 0.5, 7) }), { rtol: 1e-4, atol: 1e-5 });
  gpuCase('matmul on the v4 64x64 rung: dX = dY · Wᵀ (1280x100 · (784x100)ᵀ)', () => matmul(rand([1280, 100], 33), rand([784, 100], 34), { transB: true }), { rtol: 1e-4, atol: 1e-5 });
  gpuCase('linear transB, batched, relu', () => linear(rand([3, 9, 5], 9), rand([4, 5], 10), null, { transB: true, activation: 'relu' }), { rtol: 1e-4, atol: 1e-5 });
});

describe('dropout and logsumexp on WebGPU', () => {
  gpuCase('dropout mask bit-identical (odd size, step past 2^32)', () => dropout(rand([7, 13], 11), d(123, 0.3, 2 ** 33 + 1)));
  gpuCase('dropout keep 0.9', () => dropout(rand([1001], 12), d(5, 0.9)));
  gpuCase('logsumexp last axis, many rows', () => logsumexp(rand([5000, 10], 13, -40, 40), -1), { rtol: 1e-5, atol: 1e-5 });
  gpuCase('logsumexp axis 0, long (workgroup strategy)', () => logsumexp(mul(rand([3000, 3], 14, -1, 1), 1000), 0, true), { rtol: 1e-5, atol: 1e-4 });
  gpuCase('logsumexp middle axis', () => logsumexp(rand([4, 9, 5], 15, -3, 3), 1), { rtol: 1e-5, atol: 1e-5 });
});

describe('fused BB-α loss on WebGPU', () => {
  const labels = () => randInt([130], 40, 0, 9);
  for (const alpha of [0, 5e-4, 0.5, 1, -0.5])
    gpuCase(`fusedBBAlphaLoss mean, α=${alpha}`, () => fusedBBAlphaLoss(rand([130, 10, 10], 41, -4, 4), labels(), alpha), { rtol: 1e-4, atol: 1e-6 });
  gpuCase('fusedBBAlphaLoss per point, K=3, C=7', () => fusedBBAlphaLoss(rand([33, 3, 7], 42, -4, 4), randInt([33], 43, 0, 6), 0.5, 'none'), { rtol: 1e-4, atol: 1e-6 });
  gpuCase('bbAlphaLossGrad (mean)', () => apply(Prim.BBAlphaLossGrad, [rand([130, 10, 10], 44, -4, 4), labels(), rand([], 45, 0.5, 2)], { alpha: 0.5, reduction: 'mean' }), { rtol: 1e-4, atol: 1e-7 });
  gpuCase('bbAlphaLossGrad (none, α=0)', () => apply(Prim.BBAlphaLossGrad, [rand([33, 3, 7], 46, -4, 4), randInt([33], 47, 0, 6), rand([33], 48)], { alpha: 0, reduction: 'none' }), { rtol: 1e-4, atol: 1e-7 });
});

describe('optimizer update on WebGPU', () => {
  const n = [1000];
  gpuCase('sgd', () => optimizerUpdate(rand(n, 20), rand(n, 21), [], { rule: 'sgd', lr: 0.01 })[0]!, { rtol: 1e-6, atol: 1e-7 });
  gpuCase('momentum (velocity)', () => optimizerUpdate(rand(n, 20), rand(n, 21), [rand(n, 22)], { rule: 'momentum', lr: 0.01, momentum: 0.9 })[1]!, { rtol: 1e-6, atol: 1e-7 });
  gpuCase('nesterov (param)', () => optimizerUpdate(rand(n, 20), rand(n, 21), [rand(n, 22)], { rule: 'nesterov', lr: 0.01, momentum: 0.9 })[0]!, { rtol: 1e-6, atol: 1e-7 });
  gpuCase('adam (param, step 7)', () => optimizerUpdate(rand(n, 20), rand(n, 21), [rand(n, 22), rand(n, 23, 0.01, 1)], { rule: 'adam', lr: 1e-3, step: 7 })[0]!, { rtol: 1e-5, atol: 1e-6 });
  // weight decay as the last input: g + c·p in the update kernel
  const c = () => mul(rand(n, 24, 0, 1e-2), rand(n, 25, 0, 1));
  gpuCase('sgd with decay', () => optimizerUpdate(rand(n, 20), rand(n, 21), [], { rule: 'sgd', lr: 0.5 }, c())[0]!, { rtol: 1e-6, atol: 1e-7 });
  gpuCase('momentum with decay (velocity)', () => optimizerUpdate(rand(n, 20), rand(n, 21), [rand(n, 22)], { rule: 'momentum', lr: 0.01, momentum: 0.9 }, c())[1]!, { rtol: 1e-6, atol: 1e-7 });
  gpuCase('adam with decay (first moment)', () => optimizerUpdate(rand(n, 20), rand(n, 21), [rand(n, 22), rand(n, 23, 0.01, 1)], { rule: 'adam', lr: 1e-3, step: 7 }, c())[1]!, { rtol: 1e-5, atol: 1e-7 });
  gpuCase('adam (second moment)', () => optimizerUpdate(rand(n, 20), rand(n, 21), [rand(n, 22), rand(n, 23, 0.01, 1)], { rule: 'adam', lr: 1e-3, step: 7 })[2]!, { rtol: 1e-5, atol: 1e-7 });
});
