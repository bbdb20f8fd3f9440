/**
 * The kernel author's entry. The primitive set and its tables
 * (arity, shape and VJP rules, elementwise records), `apply` and the data handles a backend
 * stores, the Backend interface pieces, the CPU oracle and fast kernels, Philox internals,
 * the fused primitives' ops and the working-set estimator. The user-facing names (tensors,
 * ops, autodiff, memory, keys) are in `@alphadrop/core`; no name is exported by both.
 *
 * @module @alphadrop/core/backend
 */

import './default-backend.js';

export { Prim, PRIM_ARITY, UNARY_PRIMS, BINARY_PRIMS, OPTIMIZER_SLOTS, SMALL_ALPHA } from './prims.js';
export type {
  PrimParams, Conv2dGeometry, Pool2dGeometry, UnaryPrim, BinaryPrim, DropoutParams, PhiloxCoords,
  OptimizerRule, OptimizerParams,
} from './prims.js';
export { shapeRules, matmulShape, windowOut, type ShapeRule } from './rules-shape.js';
export { vjpRules, unbroadcast, type VjpRule, type SavedValues } from './rules-vjp.js';
export type { BackendCounters, BackendLimits, Operand, OutSpec, CaptureSupport, Recording } from './backend.js';
export { isStepBound, paramsAtStep } from './trace/step-bound.js';
export { DTYPES, isFloat, allocHost, toHost, bytesPerElement, assertDType, floatResult, type TypedArrayFor } from './dtype.js';
export {
  sizeOf, stridesOf, shapesEqual, fmtShape, assertValidShape, broadcastShapes, normalizeAxes, normalizeAxis, broadcastedAxes,
} from './shape.js';
export * from './working-set.js';
export { DataHandle } from './tensor.js';
export { apply, fromHost } from './engine.js';
export { logsumexpComposite } from './composites.js';
export { dropout, optimizerUpdate, fusedBBAlphaLoss, DEFAULT_OPTIMIZER } from './fused.js';
export { philox4x32, philoxFill, threefry2x32, bitsToUniform, keepThreshold, mulhi32 } from './random/philox.js';
export { foldIn, isKey, checkKey, checkCounter, splitU64, MAX_RANDOM_ELEMENTS } from './random/keys.js';
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
