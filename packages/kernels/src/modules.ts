/**
 * The kernel author's entry. The WGSL kernel table for every
 * core primitive, the one kernel-module interface (plan, WGSL, dispatch sizes), the GEMM
 * generator and the kernel families, and the runtime helpers (binding reflection, WGSL
 * snippets, buffer sizes). The user-facing backend and device acquisition are in
 * `@alphadrop/kernels`.
 *
 * @module @alphadrop/kernels/modules
 */

export { gpuKernels } from './table.js';
export { deviceBytes } from './runtime/backend.js';
export type { GpuPlan, GpuProgram, KernelCaps, OperandSpec, BufferRole } from './runtime/plan.js';
export {
  kernelModule, specModule, planOf, wgslOf, dispatchSizesOf, DEFAULT_CAPS,
  type KernelModule, type KernelTable, type KernelCall, type Dispatch,
} from './runtime/kernel-module.js';
export * as gemm from './kernels/gemm.js';
export * as convKernels from './kernels/conv.js';
export * as reduceKernels from './kernels/reduce.js';
export * as matmulKernel from './kernels/matmul.js';
export * as movementKernels from './kernels/movement.js';
export * as indexKernels from './kernels/gather.js';
export { unaryWgsl, binaryWgsl, mapProgram } from './kernels/elementwise.js';
export { reducePlan } from './kernels/reduce.js';
export { readBindings, type BindingDeclaration, type BindingKind } from './runtime/bindings.js';
export * as wgslUtil from './runtime/wgsl.js';
