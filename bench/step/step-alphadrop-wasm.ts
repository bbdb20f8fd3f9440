// alphadrop's BB-α step (step-alphadrop.ts) on another CPU backend kind, e.g. the opt-in
// cpuBackend('wasm') (f32 matmuls on the WebAssembly SIMD GEMM). The libraries share one
// process and are interleaved, so every call of the runner installs its backend and puts the
// previous one back: tensors created inside (inputs, masks, scalars) all land on it.

import { cpuBackend, getBackend, setBackend, type CpuBackendKind } from '@alphadrop/core';
import type { StepLibrary, StepRunner } from './mlp-problem.js';

/** `lib` with every build and runner call made on a fresh backend of `kind`. */
export function onCpuKind(lib: StepLibrary, kind: CpuBackendKind, name: string): StepLibrary {
  const backend = cpuBackend(kind); // a DeviceError here, at load, where the kind cannot run
  const within = <T>(f: () => T): T => {
    const previous = getBackend();
    setBackend(backend);
    try {
      return f();
    } finally {
      setBackend(previous);
    }
  };
  const withinAsync = async <T>(f: () => Promise<T>): Promise<T> => {
    const previous = getBackend();
    setBackend(backend);
    try {
      return await f();
    } finally {
      setBackend(previous);
    }
  };
  return {
    ...lib,
    name,
    detail: `${lib.detail.replace('cpu backend', `${backend.name} backend`)}`,
    build: (p, fixedMasks, lr) => {
      const r = within(() => lib.build(p, fixedMasks, lr));
      const runner: StepRunner = {
        step: () => within(() => r.step()),
        readLoss: () => withinAsync(() => r.readLoss()),
        params: () => withinAsync(() => r.params()),
        liveTensors: () => r.liveTensors(),
        dispose: () => within(() => r.dispose()),
      };
      return runner;
    },
  };
}
