// Runs in headless Chromium (navigator.gpu on SwiftShader): the same kernels as the Node
// suites, compared in the page with the CPU oracle. Publishes its results on
// window.__alphadrop for the driver (chromium.test.ts).

import * as core from '@alphadrop/core';
import * as backend from '@alphadrop/core/backend';
import { createWebGpuBackend, acquireBrowserDevice } from '@alphadrop/kernels';

interface CaseResult {
  name: string;
  ok: boolean;
  detail: string;
}

const ref = core.cpuBackend('reference');

async function run(backend: core.Backend, build: () => core.Tensor): Promise<ArrayLike<number>> {
  core.setBackend(backend);
  const t = core.tidy(build);
  const v = await t.data();
  t.dispose();
  return v;
}

function compare(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number): string | null {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (g === w) continue;
    if (!(Math.abs(g - w) <= 1e-6 + rtol * Math.abs(w))) return `element ${i}: ${g} vs ${w}`;
  }
  return null;
}

const u = (shape: number[], i: number) => core.randomUniform(shape, core.keyFor(0, 'user', i), -1, 1);
// dropout layer 2 at step 2^32 + 1: every counter word of the mask is non-zero
const drop: backend.DropoutParams = { keepProb: 0.5, key: core.keyFor(77, 'trainDropout'), counter: [2, 1, 1] };

const cases: [string, () => core.Tensor, number][] = [
  ['random bits (bit-identical)', () => core.randomBits([37], { key: core.keyFor(5, 'user'), counter: [1, 2, 3] }), 0],
  ['add with broadcasting', () => core.add(u([9, 7], 1), u([7], 2)), 1e-6],
  ['matmul 33x20x17, transB', () => core.matmul(u([33, 20], 3), u([17, 20], 4), { transB: true }), 1e-4],
  ['linear with dropout, bias, relu', () => core.linear(u([24, 13], 5), u([13, 6], 6), u([6], 7), { activation: 'relu', dropout: drop }), 1e-4],
  ['dropout mask (bit-identical)', () => backend.dropout(core.ones([50]), drop), 0],
  ['sum over axis 0', () => core.sum(u([300, 3], 8), 0), 1e-4],
  ['logSoftmax', () => core.logSoftmax(core.mul(u([5, 10], 9), 20)), 1e-5],
  [
    'gradient of a dropout MLP loss',
    () => {
      const x = u([8, 6], 10), w = u([6, 4], 11), b = u([4], 12);
      const labels = core.tensor(Int32Array.from([0, 1, 2, 3, 0, 1, 2, 3]), [8]);
      const { grads } = core.valueAndGradsOf(() => core.crossEntropy(core.linear(x, w, b, { dropout: drop }), labels), [w, b]);
      return core.concat([core.reshape(grads[0]!, [-1]), grads[1]!]);
    },
    1e-4,
  ],
];

async function main(): Promise<{ adapter: string; results: CaseResult[] }> {
  const acquired = await acquireBrowserDevice();
  const gpu = createWebGpuBackend(acquired.device, { adapterInfo: acquired.adapterInfo, keepAlive: [acquired.adapter] });
  const results: CaseResult[] = [];
  for (const [name, build, rtol] of cases) {
    try {
      const want = await run(ref, build);
      const got = await run(gpu, build);
      const bad = compare(got, want, rtol);
      results.push({ name, ok: bad === null, detail: bad ?? 'matches the CPU oracle' });
    } catch (e) {
      results.push({ name, ok: false, detail: String(e) });
    }
  }
  const info = acquired.adapterInfo;
  return { adapter: `${info.vendor} ${info.architecture} ${info.description}`.trim(), results };
}

(globalThis as unknown as { __alphadrop: Promise<unknown> }).__alphadrop = main().catch((e) => ({ error: String(e) }));
