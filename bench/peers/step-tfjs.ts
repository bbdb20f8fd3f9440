// The BB-α training step (mlp-problem.ts) in TensorFlow.js on its pure-JS 'cpu' backend, in
// Node: tfjs loaded through the run-time bundle (tfjs-loader.ts), the step itself is
// tfjs-step.ts's.

import { loadTfjsCpu } from './tfjs-loader.js';
import { tfjsLibrary } from './tfjs-step.js';
import type { StepLibrary } from '../step/mlp-problem.js';

export async function tfjsCpuLibrary(): Promise<StepLibrary> {
  const tf = await loadTfjsCpu();
  tf.enableProdMode(); // silences the "install tfjs-node" banner; no effect on the kernels
  if (!(await tf.setBackend('cpu')) || tf.getBackend() !== 'cpu') throw new Error("tf.setBackend('cpu') failed");
  await tf.ready();
  return tfjsLibrary(tf, 'tfjs-cpu', `@tensorflow/tfjs-core ${tf.version_core}, backend 'cpu' (plain JS)`);
}
