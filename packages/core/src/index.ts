// @alphadrop/core: tensors, the primitive set and its rule tables, reverse-mode autodiff,
// memory scopes, the counter-based RNG and the CPU backends.

import { setDefaultBackendFactory } from './engine.js';
import { createCpuBackend, createReferenceBackend, type CpuBackend } from './cpu/backend.js';
import { fastKernels } from './cpu/fast.js';

setDefaultBackendFactory(() => createCpuBackend(fastKernels));

export * from './errors.js';
export * from './dtype.js';
export * from './shape.js';
export { Prim, PRIM_ARITY, UNARY_PRIMS, BINARY_PRIMS, OPTIMIZER_SLOTS, SMALL_ALPHA } from './prims.js';
export type { PrimParams, CompareOp, Conv2dGeometry, Pool2dGeometry, UnaryPrim, BinaryPrim, DropoutParams, PhiloxCoords, Activation, OptimizerRule, OptimizerParams } from './prims.js';
export { shapeRules, matmulShape, windowOut, type ShapeRule } from './rules-shape.js';
export { vjpRules, unbroadcast, type VjpRule, type SavedValues } from './rules-vjp.js';
export type { Backend, BackendCounters, BackendLimits, Operand, OutSpec } from './backend.js';
export * from './working-set.js';
export { Tensor, DataHandle } from './tensor.js';
export { apply, fromHost, setBackend, getBackend } from './engine.js';
export { tidy, keep, dispose, memory, type MemoryInfo } from './memory.js';
export { grad, valueAndGrad, valueAndGradsOf, noGrad, type ValueAndGrads } from './autodiff.js';
export * from './ops.js';
export * from './composites.js';
export * from './fused.js';
export * from './random/random.js';
export { philox4x32, philoxFill, threefry2x32, bitsToUniform, keepThreshold, mulhi32 } from './random/philox.js';
export * from './random/keys.js';
export { CpuBackend, createCpuBackend, createReferenceBackend, type CpuKernelTable, type CpuBackendOptions } from './cpu/backend.js';
export { referenceKernels, applyDropout, type CpuKernel, type CpuOperand } from './cpu/reference.js';
export { unaryFns, binaryFns, compareFns } from './cpu/scalar-fns.js';
export { UNARY } from './elementwise/unary.js';
export { BINARY } from './elementwise/binary.js';
export type { UnaryRecord, BinaryRecord, GradOps, TestDomain, WgslScalar } from './elementwise/record.js';
export {
  fastKernels, configureFastCpuThreads, fastCpuThreadStats, fastCpuThreadsReady,
  type FastCpuThreadOptions, type FastCpuThreadStats,
} from './cpu/fast.js';

/** Convenience: a fresh CPU backend (fast kernels) or the reference oracle. */
export function cpuBackend(kind: 'fast' | 'reference' = 'fast'): CpuBackend {
  return kind === 'fast' ? createCpuBackend(fastKernels) : createReferenceBackend();
}
