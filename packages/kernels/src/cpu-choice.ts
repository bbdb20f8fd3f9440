// The CPU a program should run on when init() found no GPU: core's 'wasm' kind (f32 matmuls,
// Philox and dropout on the WebAssembly SIMD128 kernels, with worker threads where the runtime
// has them: about 5x the plain-JS kernels on the BB-α step on one thread) where the runtime
// has SIMD128, else init's 'fast' kind. A separate step from init() so that a page
// that only predicts does not carry the Wasm kernels (init's bundle budget: scripts/browser-bundles.mjs).

import { cpuBackend, initWasm, setBackend, wasmThreadsReady } from '@alphadrop/core';
import type { Initialized } from './init.js';

/**
 * Given init()'s result: a CPU result moves to the 'wasm' kind when WebAssembly SIMD128 is
 * there (compiled asynchronously, so it works on a browser main thread too), with its worker
 * threads started and ready; a WebGPU result, or a runtime without SIMD128, is returned as it
 * is. The description names the kernels: 'cpu, wasm simd', plus ', N threads' when workers help.
 */
export async function preferWasmCpu(g: Initialized): Promise<Initialized> {
  if (g.kind !== 'cpu' || !(await initWasm())) return g;
  const backend = cpuBackend('wasm');
  setBackend(backend);
  const workers = await wasmThreadsReady();
  return { ...g, backend, description: g.description.replace(/^cpu/, `cpu, wasm simd${workers > 0 ? `, ${workers + 1} threads` : ''}`) };
}
