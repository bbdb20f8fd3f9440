/**
 * What a user of tensors needs, and nothing a kernel author needs:
 * tensors and ops, reverse-mode autodiff, memory scopes, keyed randomness, typed errors,
 * backend selection. The primitive set, its rule tables, the CPU kernels, Philox internals
 * and the pieces a backend implements are in the `@alphadrop/core/backend` entry
 * (backend-entry.ts). Each name is exported by one entry only.
 *
 * @module @alphadrop/core
 */

export * from './errors.js';
export type { DType, HostArray } from './dtype.js';
export type { Shape } from './shape.js';
export type { Backend } from './backend.js';
export type { CpuBackend } from './cpu/backend.js';
export type { Activation, CompareOp } from './prims.js';
export { Tensor } from './tensor.js';
export { setBackend, getBackend } from './engine.js';
export { cpuBackend, type CpuBackendKind } from './default-backend.js';
export { initWasm, wasmAvailable, wasmUnavailableReason } from './cpu/wasm/module.js';
export { configureWasmThreads, wasmThreadStats, wasmThreadsReady, type WasmThreadStats } from './cpu/wasm/threads.js';
export { tidy, keep, dispose, memory, type MemoryInfo } from './memory.js';
export { grad, valueAndGrad, valueAndGradsOf, type ValueAndGrads } from './autodiff.js';
export { noGrad } from './grad-mode.js';
export * from './ops.js';
export { logSoftmax, softmax, stopGradient, crossEntropy, mse } from './composites.js';
export { linear, logsumexp, type LinearOptions } from './fused.js';
export { randomBits, randomUniform, randomNormal, bernoulli, type RandomSource } from './random/random.js';
export { rootKey, derive, keyFor, Purpose, type Key } from './random/keys.js';
export { trace, TracedStep, type StepFunction, type TraceState, type TraceResult } from './trace/trace.js';
export { stepBound } from './trace/step-bound.js';
