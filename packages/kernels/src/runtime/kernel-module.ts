// The one shape of a WGSL kernel module, hand-written or generated: how a call of a core
// primitive becomes compute programs. A module reduces the call to its *problem* (everything
// that specialises the WGSL: shapes, dtypes, static params, device caps), builds the plan
// from that problem alone (each program carries its WGSL and its dispatch size), and names
// the CPU oracle it must agree with. Run-time values that must not recompile anything (RNG
// keys, learning rates) reach the programs as uniform blocks built from the params.
// The backend caches plans by (primitive, problem); tests and the bench ladder call the same
// three functions. The table of modules (one per primitive) is a mapped type over Prim, so a
// primitive without a module does not compile (the twin of core's referenceKernels).

import { referenceKernels, type CpuKernel, type OutSpec, type Prim, type PrimParams } from '@alphadrop/core/backend';
import type { GpuPlan, KernelCaps, OperandSpec } from './plan.js';

/** Workgroup counts of one dispatch (x, y, z). */
export type Dispatch = readonly [number, number, number];

/** One call of a primitive as the backend sees it: operand specs, params, result spec, device facts. */
export interface KernelCall<P extends Prim> {
  readonly inputs: readonly OperandSpec[];
  readonly params: PrimParams[P];
  readonly out: OutSpec;
  readonly caps: KernelCaps;
}

/**
 * One kernel module for primitive P. Methods (not function-valued properties) on purpose:
 * a table holds modules of different Problem types as KernelModule<P>.
 */
export interface KernelModule<P extends Prim, Problem = unknown> {
  readonly prim: P;
  /** What specialises the WGSL, from one call: a plain value (the plan cache key is built from it). */
  problem(call: KernelCall<P>): Problem;
  /** The programs (WGSL, dispatch size, buffer roles) and scratch buffers; a pure function of the problem. */
  plan(problem: Problem): GpuPlan;
  /**
   * Per-program uniform blocks from the run-time params, for modules whose programs bind a
   * 'uniform' (entry i for program i). Absent when every param specialises the WGSL.
   */
  uniforms?(params: PrimParams[P]): readonly (Uint32Array | undefined)[];
  /** The CPU oracle the programs must agree with (tests and the bench ladder validate against it). */
  readonly reference: CpuKernel<P>;
}

/** One module per primitive: a missing primitive does not compile. */
export type KernelTable = { readonly [P in Prim]: KernelModule<P> };

/** Declares a module; infers Problem from `problem` and fills in the core oracle as its reference. */
export function kernelModule<P extends Prim, Problem>(m: Omit<KernelModule<P, Problem>, 'reference'> & { reference?: CpuKernel<P> }): KernelModule<P, Problem> {
  return { ...m, reference: m.reference ?? (referenceKernels[m.prim] as CpuKernel<P>) };
}

/** The plain problem of modules that specialise on operand and result specs only. */
export interface SpecProblem {
  readonly inputs: readonly OperandSpec[];
  readonly out: OutSpec;
}

/** Shape and dtype only: a problem must hold no live tensors or buffers (it becomes a cache key). */
export function specOf(x: OperandSpec): OperandSpec {
  return { shape: x.shape, dtype: x.dtype };
}

/** The problem of a module that specialises on operand and result specs only. */
export function specProblem<P extends Prim>({ inputs, out }: KernelCall<P>): SpecProblem {
  return { inputs: inputs.map(specOf), out: specOf(out) };
}

/** The problem of a module specialised on operand and result specs and every param. */
export interface SpecParamsProblem<P extends Prim> extends SpecProblem {
  readonly params: PrimParams[P];
}

/**
 * A module whose WGSL depends on the specs and all params (plain data), built by a function
 * of those three: movement, index and elementwise kernels.
 */
export function specModule<P extends Prim>(
  prim: P,
  build: (inputs: readonly OperandSpec[], params: PrimParams[P], out: OutSpec) => GpuPlan,
): KernelModule<P, SpecParamsProblem<P>> {
  return kernelModule<P, SpecParamsProblem<P>>({
    prim,
    problem: (call) => ({ ...specProblem(call), params: call.params }),
    plan: (p) => build(p.inputs, p.params, p.out),
  });
}

/** A plan for one call: problem, then plan. */
export function planOf<P extends Prim>(m: KernelModule<P>, call: KernelCall<P>): GpuPlan {
  return m.plan(m.problem(call));
}

/** The WGSL sources of a call's programs, in dispatch order. */
export function wgslOf<P extends Prim>(m: KernelModule<P>, call: KernelCall<P>): string[] {
  return planOf(m, call).programs.map((p) => p.code);
}

/** The dispatch sizes of a call's programs, in dispatch order. */
export function dispatchSizesOf<P extends Prim>(m: KernelModule<P>, call: KernelCall<P>): Dispatch[] {
  return planOf(m, call).programs.map((p) => p.workgroups);
}

/** Caps of WebGPU's guaranteed limits, for building plans without a device (tests, the bench's dry runs). */
export const DEFAULT_CAPS: KernelCaps = { subgroups: false, maxWorkgroupStorage: 16384, maxInvocations: 256, maxStorageBuffers: 8 };
