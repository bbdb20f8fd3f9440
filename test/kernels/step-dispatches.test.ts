// Dispatches per BB-α training step on WebGPU (lavapipe), the benchmark's models at a small
// batch (M = 8, K = 10; bench/step/bbalpha-step-gpu.ts, SGD with weight decay): the glue
// around the GEMMs. Before this layout: per ReLU layer a compare and a where; per step the
// parameters' and the gradients' concatenations, a mul and an add for the weight decay, the
// update, and a slice per parameter plus one: 32 dispatches (small) and 43 (large) in all.
// Now: one reluGrad per ReLU layer, no slice, no decay kernels, the parameters' concatenation
// a view, so the gradients' concatenation (with the zero padding 10 and 13 pieces: one
// program where the device binds that many storage buffers, else programs of 7) and the
// update are the optimizer's only kernels. The GEMM family is left
// out of the counts asserted here (it changes with the chooser's tiles, splits and mask passes). The weights, views at
// aligned offsets bound by the GEMM kernels, must train as on the CPU.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuBackend, getBackend, setBackend, tensor, type Backend, type Tensor } from '@alphadrop/core';
import { Optimizer, mlp, trainStep, type LossFn } from '@alphadrop/nn';
import { bbAlphaLoss, mcForward } from '@alphadrop/bbalpha';
import type { WebGpuBackend } from '@alphadrop/kernels';
import { getTestBackend } from '../helpers/webgpu.js';
import { concatInputsPerProgram } from '../../packages/kernels/src/kernels/movement.js';
import { ALIGN } from '../../packages/nn/src/optim/optimizer.js';

let gpu: WebGpuBackend;
let prev: Backend;
beforeAll(async () => {
  gpu = await getTestBackend();
  prev = getBackend();
});
afterAll(() => setBackend(prev));

const M = 8, K = 10;
const loss: LossFn = (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, K, ctx), yb, 0.5);
const MODELS = { small: [784, 100, 100, 10], large: [784, 1000, 1000, 1000, 10] } as const;
/** The GEMM family (matmul, fused linear and their split-K helpers): not counted here. */
const isGemm = (name: string) => name.startsWith('linear/') || name.startsWith('matmul/');

function setup(sizes: readonly number[], backend: Backend) {
  setBackend(backend);
  const net = mlp([...sizes], { dropout: 0.5, seed: 1 });
  const optimizer = new Optimizer(net, { rule: 'sgd', lr: 0.01, weightDecay: 1e-6 });
  const x = tensor(new Float32Array(M * 784).map((_, i) => ((i * 7) % 13) / 13), [M, 784]);
  const y = tensor(Int32Array.from({ length: M }, (_, i) => (i * 3) % 10), [M]);
  return { net, optimizer, x, y, dispose: () => [x, y].forEach((t: Tensor) => t.dispose()) };
}

describe('dispatches per BB-α step on WebGPU', () => {
  for (const [name, sizes] of Object.entries(MODELS)) {
    const reluLayers = sizes.length - 2;
    it(`${name} ${sizes.join('-')}: no slice, compare, where or decay kernel; one reluGrad per ReLU layer; the optimizer's two kernels`, async () => {
      const s = setup(sizes, gpu);
      for (let i = 0; i < 2; i++) trainStep(s.net, s.optimizer, loss, s.x, s.y, 7); // the first step copies the initial parameters in
      const before = new Map(gpu.dispatchesByKernel);
      const d0 = gpu.counters.dispatches;
      trainStep(s.net, s.optimizer, loss, s.x, s.y, 7);
      const perKernel: Record<string, number> = {};
      for (const [k, v] of gpu.dispatchesByKernel) if (v > (before.get(k) ?? 0)) perKernel[k] = v - (before.get(k) ?? 0);
      const total = gpu.counters.dispatches - d0;
      const glue = Object.entries(perKernel).filter(([k]) => !isGemm(k));
      const count = (prefix: string) => glue.filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
      const table = JSON.stringify(perKernel);
      for (const gone of ['movement/slice', 'compare/', 'where', 'binary/add', 'binary/mul']) expect(count(gone), `${gone} in ${table}`).toBe(0);
      expect(count('binary/reluGrad'), table).toBe(reluLayers);
      // the gradients, each followed by its zero pad where its size is not a multiple of ALIGN
      const pieces = s.net.parameters().reduce((n, p) => n + (p.size % ALIGN === 0 ? 1 : 2), 0);
      const programs = Math.ceil(pieces / concatInputsPerProgram(gpu.device.limits.maxStorageBuffersPerShaderStage));
      expect(count('movement/concat'), `only the gradients are concatenated: ${table}`).toBe(programs);
      expect(count('optimizer/'), table).toBe(1);
      expect(total).toBe(Object.values(perKernel).reduce((a, v) => a + v, 0));
      // the parameters are views of one buffer: the update's output
      const roots = new Set(s.net.parameters().map((p) => p.handle.root));
      expect(roots.size).toBe(1);
      expect([...roots][0]).not.toBeNull();
      s.optimizer.dispose();
      s.net.dispose();
      s.dispose();
    });
  }

  it('the small model trains on the GPU as on the CPU (weights bound as views at their offsets)', async () => {
    const run = async (backend: Backend) => {
      const s = setup(MODELS.small, backend);
      for (let i = 0; i < 3; i++) trainStep(s.net, s.optimizer, loss, s.x, s.y, 7);
      const out = await Promise.all(s.net.parameters().map(async (p) => Array.from(await p.data())));
      s.optimizer.dispose();
      s.net.dispose();
      s.dispose();
      return out;
    };
    const want = await run(cpuBackend('fast'));
    const got = await run(gpu);
    got.forEach((g, i) => {
      const w = want[i]!;
      const worst = g.reduce((m, v, j) => Math.max(m, Math.abs(v - w[j]!) / (1e-4 + Math.abs(w[j]!))), 0);
      expect(worst, `parameter ${i}`).toBeLessThan(1e-3);
    });
  });
});
