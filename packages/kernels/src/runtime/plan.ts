// What a kernel builder returns: one or more compute programs and the temporary buffers
// they share. Programs name their buffers by role in binding order, so the runtime can
// bind them without per-kernel glue; the bind-group layout itself is read from the WGSL.

import type { DType, Shape } from '@alphadrop/core';

/** 'in0'.. the op's inputs, 'out' its result, 'tmp0'.. scratch buffers, 'uniform' the program's uniform block. */
export type BufferRole = `in${number}` | 'out' | `tmp${number}` | 'uniform';

export interface GpuProgram {
  /** Kernel family and variant, for profiles and counters (e.g. 'matmul/tile64'). */
  name: string;
  code: string;
  workgroups: readonly [number, number, number];
  bindings: readonly BufferRole[];
  /**
   * Contents of the 'uniform' binding for callers outside the backend (the bench ladder);
   * kernel modules leave it out and give the block per call (KernelModule.uniforms).
   */
  uniform?: Uint32Array;
}

export interface GpuPlan {
  /** Sizes in bytes of scratch buffers tmp0, tmp1, ... */
  temps?: readonly number[];
  programs: readonly GpuProgram[];
}

export interface OperandSpec {
  readonly shape: Shape;
  readonly dtype: DType;
}

/** Device facts a builder may specialise on. */
export interface KernelCaps {
  subgroups: boolean;
  maxWorkgroupStorage: number;
  maxInvocations: number;
  /** Storage buffers one shader may bind (maxStorageBuffersPerShaderStage; WebGPU guarantees 8). */
  maxStorageBuffers: number;
}
