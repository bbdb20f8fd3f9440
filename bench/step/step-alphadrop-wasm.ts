// alphadrop's BB-α step (step-alphadrop.ts) on another CPU backend kind, e.g. the opt-in
// cpuBackend('wasm') (f32 matmuls on the WebAssembly SIMD GEMM). The libraries share one
// process and are interleaved, so every call of the runner installs its backend and puts the
// previous one back: tensors created inside (inputs, masks, scalars) all land on it. With
// `workers` set, each call also sets the Wasm kernels' worker threads (0: the caller alone),
// which costs nothing once the pool runs, so one- and two-thread runs interleave fairly.

import { configureWasmThreads, cpuBackend, getBackend, setBackend, type Backend, type CpuBackendKind } from '@alphadrop/core';
import type { StepLibrary, StepRunner } from './mlp-problem.js';

/** `lib` with every build and runner call made on a fresh backend of `kind` (and `workers` Wasm worker threads, if given). */
export function onCpuKind(lib: StepLibrary, kind: CpuBackendKind, name: string, workers?: number): StepLibrary {
  return onBackend(lib, cpuBackend(kind), name, workers); // a DeviceError here, at load, where the kind cannot run
}

function onBackend(lib: StepLibrary, backend: Backend, name: string, workers: number | undefined): StepLibrary {
  const within = <T>(f: () => T): T => {
    const previous = getBackend();
    setBackend(backend);
    if (workers !== undefined) configureWasmThreads({ workers });
    try {
      return f();
    } finally {
      setBackend(previous);
    }
  };
  const withinAsync = async <T>(f: () => Promise<T>): Promise<T> => {
    const previous = getBackend();
    setBackend(backend);
    if (workers !== undefined) configureWasmThreads({ workers });
    try {
      return await f();
    } finally {
      setBackend(previous);
    }
  };
  return {
    ...lib,
    name,
    rebase: (wrap) => onBackend(lib, wrap(backend), name, workers),
    detail: `${lib.detail.replace('cpu backend', `${backend.name} backend`)}${workers === undefined ? '' : `, Wasm threads: ${workers === 0 ? 'the caller alone' : `the caller + ${workers} worker${workers === 1 ? '' : 's'}`}`}`,
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
