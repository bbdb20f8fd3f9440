// Movement kernels: permute, slice, pad and concat. Pure index arithmetic with every shape
// and stride specialised into the source; one invocation per output element (per element
// of the slab a concat program writes), so every output element is written exactly once.
// Reference: @alphadrop/core referenceKernels for the same primitives.

import { type Shape } from '@alphadrop/core';
import { Prim, sizeOf, stridesOf, type OutSpec, type PrimParams } from '@alphadrop/core/backend';
import type { BufferRole, GpuPlan, GpuProgram, OperandSpec } from '../runtime/plan.js';
import { kernelModule, specModule, specOf, type KernelModule } from '../runtime/kernel-module.js';
import { BUILTINS, flatIndex, grid1d, lit, storageDecls, unravel, wgslType } from '../runtime/wgsl.js';

/** Sum of `${prefix}d * stride_d` over the dims whose coordinate can be non-zero. */
function linear(terms: readonly { coord: string; stride: number; dim: number }[]): string {
  const parts = terms.filter((t) => t.dim !== 1 && t.stride !== 0).map((t) => (t.stride === 1 ? t.coord : `${t.coord} * ${t.stride}u`));
  return parts.length ? parts.join(' + ') : '0u';
}

/** A shader with one input, one output and one invocation per output element. */
function gatherShader(x: OperandSpec, out: OutSpec, body: string): string {
  const n = sizeOf(out.shape);
  return `${storageDecls([wgslType(x.dtype)], wgslType(out.dtype))}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${n}u) { return; }
  ${unravel('i', out.shape, 'c')}
  ${body}
}`;
}

function singleProgram(name: string, code: string, out: OutSpec, bindings: readonly BufferRole[]): GpuPlan {
  return { programs: [{ name, code, workgroups: dispatchSize(out), bindings }] };
}

/** Workgroup counts of the one-invocation-per-output-element kernels. */
function dispatchSize(out: OutSpec): [number, number, number] {
  return grid1d(sizeOf(out.shape));
}

// ---------------------------------------------------------------- permute

/** out[c] = x[Σ_d c_d · stride_x[perm[d]]]. */
export function permuteWgsl(x: OperandSpec, { perm }: PrimParams[Prim.Permute], out: OutSpec): string {
  const inStrides = stridesOf(x.shape);
  const off = linear(perm.map((p, d) => ({ coord: `c${d}`, stride: inStrides[p]!, dim: out.shape[d]! })));
  return gatherShader(x, out, `out[i] = in0[${off}];`);
}

export function permutePlan(inputs: readonly OperandSpec[], p: PrimParams[Prim.Permute], out: OutSpec): GpuPlan {
  return singleProgram('movement/permute', permuteWgsl(inputs[0]!, p, out), out, ['in0', 'out']);
}

// ---------------------------------------------------------------- slice

/** out[c] = x[c + begin]. */
export function sliceWgsl(x: OperandSpec, { begin }: PrimParams[Prim.Slice], out: OutSpec): string {
  const inStrides = stridesOf(x.shape);
  const base = begin.reduce((acc, b, d) => acc + b * inStrides[d]!, 0);
  const off = linear(out.shape.map((dim, d) => ({ coord: `c${d}`, stride: inStrides[d]!, dim })));
  return gatherShader(x, out, `out[i] = in0[${base}u + ${off}];`);
}

export function slicePlan(inputs: readonly OperandSpec[], p: PrimParams[Prim.Slice], out: OutSpec): GpuPlan {
  return singleProgram('movement/slice', sliceWgsl(inputs[0]!, p, out), out, ['in0', 'out']);
}

// ---------------------------------------------------------------- pad

/**
 * out[c] = x[c - before] inside the copied box, else the fill value. The fill is converted
 * as the oracle's typed-array fill converts it (truncation for integers, rounding for f32);
 * a bool fill is 1 for any non-zero value.
 */
export function padWgsl(x: OperandSpec, { pads, value }: PrimParams[Prim.Pad], out: OutSpec): string {
  const t = wgslType(out.dtype);
  const fill = out.dtype === 'bool' ? lit(value !== 0 ? 1 : 0, 'u32') : lit(value, t);
  if (sizeOf(x.shape) === 0) return gatherShader(x, out, `out[i] = ${fill};`);
  const inStrides = stridesOf(x.shape);
  const inside: string[] = [];
  const terms: { coord: string; stride: number; dim: number }[] = [];
  x.shape.forEach((dim, d) => {
    const [before, after] = pads[d]!;
    if (before > 0) inside.push(`c${d} >= ${before}u`);
    if (after > 0) inside.push(`c${d} < ${before + dim}u`);
    terms.push({ coord: before > 0 ? `(c${d} - ${before}u)` : `c${d}`, stride: inStrides[d]!, dim });
  });
  if (inside.length === 0) return gatherShader(x, out, `out[i] = in0[${linear(terms)}];`);
  return gatherShader(
    x,
    out,
    `if (${inside.join(' && ')}) {
    out[i] = in0[${linear(terms)}];
  } else {
    out[i] = ${fill};
  }`,
  );
}

export function padPlan(inputs: readonly OperandSpec[], p: PrimParams[Prim.Pad], out: OutSpec): GpuPlan {
  return singleProgram('movement/pad', padWgsl(inputs[0]!, p, out), out, ['in0', 'out']);
}

// ---------------------------------------------------------------- concat

/**
 * Inputs bound per program where the device says nothing more: WebGPU guarantees 8 storage
 * buffers per shader stage (maxStorageBuffersPerShaderStage), one of which is the output.
 * Devices that allow more get one program for up to (their limit − 1) inputs, capped at 32
 * (the optimizer's gradient concatenation is 2·parameters pieces with its zero padding).
 */
export const CONCAT_INPUTS_PER_PROGRAM = 7;
const CONCAT_INPUTS_MAX = 32;

/** Inputs one concat program binds on a device allowing `maxStorageBuffers` per shader. */
export function concatInputsPerProgram(maxStorageBuffers: number): number {
  return Math.max(1, Math.min(CONCAT_INPUTS_MAX, maxStorageBuffers - 1));
}

/**
 * One program writes the slab of `out` whose coordinate along `axis` lies in
 * [start, start + Σ extents) from the inputs `members` (indices into the op's inputs), each
 * contributing its extent along the axis in order. Invocation per element of the slab.
 */
export function concatGroupWgsl(inputs: readonly OperandSpec[], members: readonly number[], axis: number, start: number, out: OutSpec): string {
  const slabShape = [...out.shape];
  const extents = members.map((k) => inputs[k]!.shape[axis]!);
  const total = extents.reduce((a, b) => a + b, 0);
  slabShape[axis] = total;
  const n = sizeOf(slabShape);
  const outStrides = stridesOf(out.shape);
  const outOff = linear(out.shape.map((dim, d) => ({ coord: d === axis ? 'ca' : `c${d}`, stride: outStrides[d]!, dim: d === axis ? 0 : dim })));
  // The axis coordinate within the slab picks the member; `q` is the coordinate within it.
  let at = 0;
  const branches = members.map((k, j) => {
    const x = inputs[k]!;
    const inStrides = stridesOf(x.shape);
    const off = linear(x.shape.map((dim, d) => ({ coord: d === axis ? 'q' : `c${d}`, stride: inStrides[d]!, dim: d === axis ? 0 : dim })));
    const lo = at;
    at += extents[j]!;
    const load = `let q = c${axis} - ${lo}u; out[o] = in${j}[${off}];`;
    return j === members.length - 1 ? `{ ${load} }` : `if (c${axis} < ${at}u) { ${load} }`;
  });
  return `${storageDecls(members.map((k) => wgslType(inputs[k]!.dtype)), wgslType(out.dtype))}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${n}u) { return; }
  ${unravel('i', slabShape, 'c')}
  let ca = c${axis} + ${start}u;
  let o = ${outOff};
  ${branches.join(' else ')}
}`;
}

/** Splits the non-empty inputs into programs of at most `perProgram` inputs, each writing its own slab. */
export function concatPlan(inputs: readonly OperandSpec[], { axis }: PrimParams[Prim.Concat], out: OutSpec, perProgram = CONCAT_INPUTS_PER_PROGRAM): GpuPlan {
  const programs: GpuProgram[] = [];
  let start = 0;
  let members: number[] = [];
  let extent = 0;
  const emit = () => {
    if (members.length === 0) return;
    const slab: Shape = out.shape.map((d, i) => (i === axis ? extent : d));
    programs.push({
      name: `movement/concat${members.length}`,
      code: concatGroupWgsl(inputs, members, axis, start, out),
      workgroups: grid1d(sizeOf(slab)),
      bindings: [...members.map((k) => `in${k}` as const), 'out'],
    });
    start += extent;
    members = [];
    extent = 0;
  };
  inputs.forEach((x, k) => {
    // An empty input has extent 0 along the axis (else the output is empty and nothing runs).
    if (sizeOf(x.shape) === 0) return;
    members.push(k);
    extent += x.shape[axis]!;
    if (members.length === perProgram) emit();
  });
  emit();
  return { programs };
}

export const permuteModule = specModule(Prim.Permute, permutePlan);
export const sliceModule = specModule(Prim.Slice, slicePlan);
export const padModule = specModule(Prim.Pad, padPlan);

/** Concat specialises on every input spec, the axis and how many inputs one program may bind. */
export const concatModule: KernelModule<Prim.Concat, { inputs: readonly OperandSpec[]; axis: number; out: OutSpec; perProgram: number }> = kernelModule({
  prim: Prim.Concat,
  problem: ({ inputs, params, out, caps }) => ({ inputs: inputs.map(specOf), axis: params.axis, out: specOf(out), perProgram: concatInputsPerProgram(caps.maxStorageBuffers) }),
  plan: (p) => concatPlan(p.inputs, { axis: p.axis }, p.out, p.perProgram),
});
