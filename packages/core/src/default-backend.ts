// The default backend: the fast CPU kernels, installed when either entry of the package is
// loaded (both import this module), so that a program that never calls setBackend runs.

import { setDefaultBackendFactory } from './engine.js';
import { createCpuBackend, createReferenceBackend, type CpuBackend } from './cpu/backend.js';
import { fastKernels } from './cpu/fast.js';

setDefaultBackendFactory(() => createCpuBackend(fastKernels));

/**
 * A fresh CPU backend for {@link setBackend}: `'fast'` (the default kernels) or
 * `'reference'` (the float64 oracle the fast and WebGPU kernels are tested against).
 */
export function cpuBackend(kind: 'fast' | 'reference' = 'fast'): CpuBackend {
  return kind === 'fast' ? createCpuBackend(fastKernels) : createReferenceBackend();
}
