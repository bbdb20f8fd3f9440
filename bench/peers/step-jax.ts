// The BB-α training step (mlp-problem.ts) in jax-js on its Wasm backend, in Node; the step
// itself is jax-step.ts's.
//
// jax-js multithreads Wasm only through Web Workers + SharedArrayBuffer; Node has no global
// Worker, so this runs on one thread.

import { init, defaultDevice } from '@jax-js/jax';
import { packageVersion } from '../harness/cli.js';
import type { StepLibrary } from '../step/mlp-problem.js';
import { jaxLibrary } from './jax-step.js';

/** Initialises jax-js on `device` (default 'wasm') and makes it the default device. */
export async function initJax(device: 'wasm' | 'cpu' = 'wasm'): Promise<string> {
  const got = await init(device);
  if (!got.includes(device)) throw new Error(`jax-js init('${device}') gave [${got.join(', ')}]`);
  defaultDevice(device);
  const threads = typeof (globalThis as { Worker?: unknown }).Worker === 'function' ? 'workers' : '1 thread';
  return `@jax-js/jax ${packageVersion('@jax-js/jax')}, device '${device}' (jit, ${threads})`;
}

export async function jaxWasmLibrary(): Promise<StepLibrary> {
  return jaxLibrary('jax-js wasm', await initJax('wasm'));
}
