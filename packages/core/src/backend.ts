// The Backend interface: where tensor data lives and how primitives execute on it.
// core ships the CPU backends (cpu/backend.ts); @alphadrop/kernels provides WebGPU.
// The engine (engine.ts) does validation, shape inference and autodiff once, for every
// backend; a backend only allocates, executes already-validated primitives, and reads back.

import type { DType, HostArray } from './dtype.js';
import type { Prim, PrimParams } from './prims.js';
import type { Shape } from './shape.js';

/** An already-validated operand: its backend storage plus shape and dtype. */
export interface Operand<S = unknown> {
  readonly storage: S;
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface OutSpec {
  readonly shape: Shape;
  readonly dtype: DType;
}

export interface BackendCounters {
  /** Primitive executions (kernel dispatches on a GPU). */
  dispatches: number;
  /** Command submissions (always 0 on the CPU). */
  submits: number;
  /** Pipeline compilations (always 0 on the CPU). */
  compiles: number;
  /** Bytes allocated for tensor storage since the backend started. */
  bytesAllocated: number;
  /** Bytes copied to and from the host. */
  bytesTransferred: number;
}

/** What one working set may use on a backend (working-set.ts checks tiles against it). */
export interface BackendLimits {
  /** The largest single tensor storage, in bytes (WebGPU: min(maxBufferSize, maxStorageBufferBindingSize)). */
  maxBufferBytes: number;
  /** Host memory all live tensors may use, in bytes (the CPU's budget); undefined where unknown. */
  hostBudgetBytes?: number;
}

export interface Backend<S = unknown> {
  /** 'cpu', 'cpu-reference', 'webgpu', ... */
  readonly name: string;
  /** Element types this backend stores (the CPU adds f64). */
  readonly dtypes: readonly DType[];
  readonly counters: BackendCounters;
  /** Takes ownership of `values` (the caller must not reuse the array). */
  upload(values: HostArray, dtype: DType): S;
  execute<P extends Prim>(prim: P, inputs: readonly Operand<S>[], params: PrimParams[P], out: OutSpec): S;
  read(storage: S, dtype: DType, size: number): Promise<HostArray>;
  /** Synchronous read-back, where the backend can (the CPU); undefined elsewhere. */
  readSync?(storage: S, dtype: DType, size: number): HostArray;
  free(storage: S): void;
  /** Submits any recorded work (GPU); a no-op on the CPU. */
  flush(): void;
  /** Size limits, for refusing a too-large tile before allocating it; absent means none known. */
  limits?(): BackendLimits;
}
