// The CPU a program should run on when init() found no GPU: core's 'wasm' kind (f32 matmuls
// on the WebAssembly SIMD128 GEMM, about 3.5x the plain-JS kernels on the BB-α step) where
// the runtime has SIMD128, else init's 'fast' kind. A separate step from init() so that a page
// that only predicts does not carry the Wasm kernels (init's bundle budget: scripts/browser-bundles.mjs).

import { cpuBackend, initWasm, setBackend } from '@alphadrop/core';
import type { Initialized } from './init.js';

/**
 * Given init()'s result: a CPU result moves to the 'wasm' kind when WebAssembly SIMD128 is
 * there (compiled asynchronously, so it works on a browser main thread too); a WebGPU result,
 * or a runtime without SIMD128, is returned as it is.
 */
export async function preferWasmCpu(g: Initialized): Promise<Initialized> {
  if (g.kind !== 'cpu' || !(await initWasm())) return g;
  const backend = cpuBackend('wasm');
  setBackend(backend);
  return { ...g, backend, description: g.description.replace(/^cpu/, 'cpu, wasm simd') };
}
