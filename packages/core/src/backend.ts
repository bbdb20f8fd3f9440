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
  /**
   * Storage aliasing elements [offset, offset + size) of `storage` (of `dtype`), or null
   * where the backend cannot alias that range (WebGPU: an offset that is not a multiple of
   * minStorageBufferOffsetAlignment). The engine makes contiguous slices and concatenations
   * views this way (engine.ts); it never frees a view, only the storage it aliases, once no
   * view is left. Absent: every slice and concatenation is a copy.
   */
  view?(storage: S, dtype: DType, offset: number, size: number): S | null;
  /** Submits any recorded work (GPU); a no-op on the CPU. */
  flush(): void;
  /** Size limits, for refusing a too-large tile before allocating it; absent means none known. */
  limits?(): BackendLimits;
  /** Dispatch recording and replay (traced steps); absent where the backend cannot replay. */
  readonly capture?: CaptureSupport<S>;
}

/**
 * Dispatch recording, for replaying a step without running its JavaScript again (trace.ts).
 * Backends that cannot replay (the CPU: there is nothing to save) leave `capture` out.
 */
export interface CaptureSupport<S = unknown> {
  /**
   * Records every primitive executed (its programs, buffers, dispatch sizes and params),
   * every upload and every copy() until endCapture(). With `own`, the storage allocated
   * while recording belongs to the recording afterwards (the pool never hands it out
   * again) and the storage it reads from outside stays allocated while it lives.
   */
  beginCapture(own: boolean): void;
  endCapture(): Recording;
  /** Encodes a copy of all of `src` into `dst` (same size), in order with the dispatches. */
  copy(src: S, dst: S): void;
  /** Fresh storage holding a copy of `src` (encoded in order). */
  clone(src: S): S;
}

/** Recorded work, replayable at another step. */
export interface Recording {
  /** Dispatches per replay. */
  readonly dispatches: number;
  /**
   * Why `next`, recorded one step later, is not this recording with its step-bound params
   * at `step` (a dispatch, size, uniform value or upload differs); null when it is.
   */
  mismatch(next: Recording, step: number): string | null;
  /** Submits the recorded work with every step-bound param at `step`. */
  replay(step: number): void;
  /** Releases what the recording owns and pins. */
  dispose(): void;
}
