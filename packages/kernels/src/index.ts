/**
 * The WebGPU backend for @alphadrop/core. `init` picks WebGPU where a
 * device is found (Dawn in Node, navigator.gpu in a browser) and the CPU otherwise;
 * `createWebGpuBackend` wraps a device you already hold. The kernel modules, the GEMM
 * generator and the plan/module API that kernel authors use are in the
 * `@alphadrop/kernels/modules` entry (modules.ts). Each name is exported by one entry only.
 *
 * @module @alphadrop/kernels
 */

export { init, createWebGpuBackend, isSoftwareAdapter, type InitOptions, type Initialized, type BackendKind } from './init.js';
export { preferWasmCpu } from './cpu-choice.js';
export { WebGpuBackend, type GpuStorage, type WebGpuBackendOptions } from './runtime/backend.js';
export type { KernelProfile } from './runtime/profiler.js';
export { acquireBrowserDevice, deviceDescriptor, requestDeviceFrom, OPTIONAL_FEATURES, type AcquiredDevice } from './device/browser.js';
export { acquireNodeDevice, type NodeDevice, type NodeDeviceOptions } from './device/node.js';
