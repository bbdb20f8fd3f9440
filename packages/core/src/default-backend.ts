// The default backend: the fast CPU kernels, installed when either entry of the package is
// loaded (both import this module), so that a program that never calls setBackend runs.

import { setDefaultBackendFactory } from './engine.js';
import { createCpuBackend, createReferenceBackend, type CpuBackend } from './cpu/backend.js';
import { fastKernels } from './cpu/fast.js';
import { wasmKernels } from './cpu/fast-wasm.js';
import { wasmAvailable, wasmUnavailableReason } from './cpu/wasm/module.js';
import { DeviceError, ValueError } from './errors.js';

setDefaultBackendFactory(() => createCpuBackend(fastKernels));

/** The kinds of {@link cpuBackend}. */
export type CpuBackendKind = 'fast' | 'reference' | 'wasm';

/**
 * A fresh CPU backend for {@link setBackend}: `'fast'` (the default kernels), `'reference'`
 * (the float64 oracle the fast and WebGPU kernels are tested against), or `'wasm'` (opt-in:
 * the fast kernels with f32 matmuls on the WebAssembly SIMD128 GEMM, equal to the oracle
 * within f32 tolerance rather than bit for bit; a DeviceError saying why where WebAssembly
 * SIMD is unavailable: on a browser main thread, await `initWasm()` first).
 */
export function cpuBackend(kind: CpuBackendKind = 'fast'): CpuBackend {
  if (kind === 'fast') return createCpuBackend(fastKernels);
  if (kind === 'reference') return createReferenceBackend();
  if (kind !== 'wasm') throw new ValueError('cpuBackend', "a kind of 'fast', 'reference' or 'wasm'", String(kind));
  if (!wasmAvailable())
    throw new DeviceError("cpuBackend('wasm')", 'WebAssembly with SIMD128', wasmUnavailableReason() ?? 'no module', 'use the fast kind, or await initWasm() first on a browser main thread');
  return createCpuBackend(wasmKernels, undefined, 'cpu-wasm');
}
