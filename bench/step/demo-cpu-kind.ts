// The main job (`alphadrop demo`: BB-α on the embedded MNIST sample for α ∈ {0, 0.5, 1}, the
// uncertainty report) timed on CPU backend kinds, e.g. the default 'fast' against the opt-in
// 'wasm' (f32 matmuls on the WebAssembly SIMD GEMM), which the CLI's --backend cannot pick.
// One process, the kinds one after the other, each its full demo; prints the training seconds
// per α, the total wall time and the demo's own checks per kind.
//
//   node scripts/run-ts.mjs bench/step/demo-cpu-kind.ts [--kinds fast,wasm] [--epochs 5]

import { cpuBackend, setBackend, type CpuBackendKind } from '@alphadrop/core';
import { loadIdxDataset } from '@alphadrop/nn/node';
import { DEMO_DEFAULTS, demoChecks, runDemo } from '../../packages/bbalpha/src/experiments/demo.js';
import { MNIST_SAMPLE_DIR } from '../../packages/bbalpha/src/fixtures.js';
import { listFlag, loadNote, machineName, numberFlag, parseFlags } from '../harness/cli.js';

const flags = parseFlags(process.argv.slice(2));
const kinds = listFlag(flags, 'kinds', ['fast', 'wasm']) as CpuBackendKind[];
const o = { ...DEMO_DEFAULTS, epochs: numberFlag(flags, 'epochs', DEMO_DEFAULTS.epochs) };
const train = loadIdxDataset(MNIST_SAMPLE_DIR, { split: 'train' });
const test = loadIdxDataset(MNIST_SAMPLE_DIR, { split: 'test' });
console.log(`machine: ${machineName()}`);
console.log(`demo: ${train.n} training digits, ${test.n} held out, α ∈ {${o.alphas.join(', ')}}, ${o.epochs} epochs, K = ${o.samples}, batch ${o.batchSize}`);

for (const kind of kinds) {
  const backend = cpuBackend(kind);
  setBackend(backend);
  const t0 = performance.now();
  const rows = await runDemo(train, test, o, (line) => console.log(`  [${backend.name}] ${line}`));
  const total = (performance.now() - t0) / 1000;
  const failures = demoChecks(rows);
  const perAlpha = rows.map((r) => `α=${r.alpha}: ${r.trainSeconds.toFixed(1)} s`).join(', ');
  console.log(`${backend.name}: training ${perAlpha}; demo total ${total.toFixed(1)} s; checks ${failures.length === 0 ? 'hold' : 'FAILED: ' + failures.join('; ')}; ${loadNote()}`);
}
