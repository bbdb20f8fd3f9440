// @alphadrop/kernels: the WebGPU backend. WGSL kernels for every core primitive (table.ts),
// the runtime that pools buffers, caches pipelines and records one command encoder per
// step (runtime/), and device acquisition in Node (Dawn) and the browser (device/).

export { WebGpuBackend, deviceBytes, type GpuStorage, type WebGpuBackendOptions } from './runtime/backend.js';
export { gpuKernels } from './table.js';
export type { GpuPlan, GpuProgram, KernelCaps, OperandSpec, BufferRole } from './runtime/plan.js';
export { kernelModule, specModule, planOf, wgslOf, dispatchSizesOf, DEFAULT_CAPS, type KernelModule, type KernelTable, type KernelCall, type Dispatch } from './runtime/kernel-module.js';
export * as gemm from './kernels/gemm.js';
export * as convKernels from './kernels/conv.js';
export * as reduceKernels from './kernels/reduce.js';
export type { KernelProfile } from './runtime/profiler.js';
export { reflectBindings } from './runtime/pipelines.js';
export * as wgslUtil from './runtime/wgsl.js';
export * as matmulKernel from './kernels/matmul.js';
export { unaryWgsl, binaryWgsl, mapProgram } from './kernels/elementwise.js';
export { reducePlan } from './kernels/reduce.js';
export * as movementKernels from './kernels/movement.js';
export * as indexKernels from './kernels/gather.js';
export { acquireBrowserDevice, deviceDescriptor, requestDeviceFrom, OPTIONAL_FEATURES, type AcquiredDevice } from './device/browser.js';
export { acquireNodeDevice, type NodeDevice, type NodeDeviceOptions } from './device/node.js';
export { init, createWebGpuBackend, isSoftwareAdapter, type InitOptions, type Initialized, type BackendKind } from './init.js';
