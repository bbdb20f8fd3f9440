// Index kernels: gather, scatter-add (its transpose) and one-hot, all with i32 indices.
// The index dims sit contiguously in the gathered layout, so every kernel views its
// tensors as [pre, axis, post] and needs no full unravel.
//
// Out-of-range indices (negative or ≥ the axis length): the CPU oracle throws a ValueError
// before computing; on the GPU nothing can be thrown from a shader and a read-back to
// check would stall the recorder, so gather writes 0 for such an element (it never reads
// outside x), scatter-add drops the update (no output element matches it), and one-hot
// gives an all-zero row (the same as the oracle).
//
// Scatter-add has no float atomics to lean on in WGSL: one invocation per OUTPUT element
// scans the whole index list and sums the matching updates in index order, so the result
// is deterministic (the same order as the oracle's loop). The index list streams through
// workgroup memory in tiles of 256, shared by the 256 invocations of a workgroup.
// Reference: @alphadrop/core referenceKernels[Prim.Gather | Prim.ScatterAdd | Prim.OneHot].

import { type Shape } from '@alphadrop/core';
import { Prim, sizeOf, type OutSpec, type PrimParams } from '@alphadrop/core/backend';
import type { GpuPlan, OperandSpec } from '../runtime/plan.js';
import { specModule } from '../runtime/kernel-module.js';
import { BUILTINS, flatIndex, grid1d, lit, storageDecls, wgslType } from '../runtime/wgsl.js';

/** [pre, axis, post] sizes of `shape` around `axis`. */
function around(shape: Shape, axis: number): { pre: number; dim: number; post: number } {
  return { pre: sizeOf(shape.slice(0, axis)), dim: shape[axis]!, post: sizeOf(shape.slice(axis + 1)) };
}

/** Workgroup counts: one invocation per output element. */
function dispatchSize(out: OutSpec): [number, number, number] {
  return grid1d(sizeOf(out.shape));
}

// ---------------------------------------------------------------- gather

/** out[pre, k, post] = x[pre, idx[k], post], or 0 where idx[k] is out of range. */
export function gatherWgsl(x: OperandSpec, idx: OperandSpec, { axis }: PrimParams[Prim.Gather], out: OutSpec): string {
  const { dim, post } = around(x.shape, axis);
  const nIdx = sizeOf(idx.shape);
  const t = wgslType(out.dtype);
  return `${storageDecls([wgslType(x.dtype), 'i32'], t)}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${sizeOf(out.shape)}u) { return; }
  let p = i % ${post}u;
  let r = i / ${post}u;
  let k = r % ${nIdx}u;
  let pre = r / ${nIdx}u;
  let j = bitcast<u32>(in1[k]); // negative indices wrap to ≥ 2^31: out of range
  if (j >= ${dim}u) {
    out[i] = ${lit(0, t)};
    return;
  }
  out[i] = in0[(pre * ${dim}u + j) * ${post}u + p];
}`;
}

export function gatherPlan(inputs: readonly OperandSpec[], p: PrimParams[Prim.Gather], out: OutSpec): GpuPlan {
  return {
    programs: [{ name: 'index/gather', code: gatherWgsl(inputs[0]!, inputs[1]!, p, out), workgroups: dispatchSize(out), bindings: ['in0', 'in1', 'out'] }],
  };
}

// ---------------------------------------------------------------- scatter-add

const TILE = 256;

/** out[pre, j, post] = Σ_{k : idx[k] = j} upd[pre, k, post], k ascending. */
export function scatterAddWgsl(upd: OperandSpec, idx: OperandSpec, { axis, shape }: PrimParams[Prim.ScatterAdd], out: OutSpec): string {
  const { dim, post } = around(shape, axis);
  const nIdx = sizeOf(idx.shape);
  const t = wgslType(out.dtype);
  // No early return: every invocation must reach the workgroup barriers (uniform control flow).
  return `${storageDecls([wgslType(upd.dtype), 'i32'], t)}
var<workgroup> tile: array<i32, ${TILE}>;
@compute @workgroup_size(${TILE})
fn main(${BUILTINS}) {
  let o = ${flatIndex(TILE)};
  let live = o < ${sizeOf(out.shape)}u;
  let p = o % ${post}u;
  let r = o / ${post}u;
  let j = i32(r % ${dim}u);
  let base = (r / ${dim}u) * ${nIdx * post}u + p;
  var acc = ${lit(0, t)};
  for (var k0 = 0u; k0 < ${nIdx}u; k0 += ${TILE}u) {
    workgroupBarrier();
    if (k0 + lid.x < ${nIdx}u) { tile[lid.x] = in1[k0 + lid.x]; }
    workgroupBarrier();
    let m = min(${TILE}u, ${nIdx}u - k0);
    for (var kk = 0u; kk < m; kk++) {
      if (live && tile[kk] == j) { acc += in0[base + (k0 + kk) * ${post}u]; }
    }
  }
  if (live) { out[o] = acc; }
}`;
}

export function scatterAddPlan(inputs: readonly OperandSpec[], p: PrimParams[Prim.ScatterAdd], out: OutSpec): GpuPlan {
  return {
    programs: [
      { name: 'index/scatterAdd', code: scatterAddWgsl(inputs[0]!, inputs[1]!, p, out), workgroups: dispatchSize(out), bindings: ['in0', 'in1', 'out'] },
    ],
  };
}

// ---------------------------------------------------------------- one-hot

/** out[k, c] = (idx[k] == c) ? 1 : 0; an out-of-range index matches no c (a zero row). */
export function oneHotWgsl(idx: OperandSpec, { depth }: PrimParams[Prim.OneHot], out: OutSpec): string {
  const t = wgslType(out.dtype);
  return `${storageDecls(['i32'], t)}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${sizeOf(out.shape)}u) { return; }
  out[i] = select(${lit(0, t)}, ${lit(1, t)}, in0[i / ${depth}u] == i32(i % ${depth}u));
}`;
}

export function oneHotPlan(inputs: readonly OperandSpec[], p: PrimParams[Prim.OneHot], out: OutSpec): GpuPlan {
  return { programs: [{ name: 'index/oneHot', code: oneHotWgsl(inputs[0]!, p, out), workgroups: dispatchSize(out), bindings: ['in0', 'out'] }] };
}

export const gatherModule = specModule(Prim.Gather, gatherPlan);
export const scatterAddModule = specModule(Prim.ScatterAdd, scatterAddPlan);
export const oneHotModule = specModule(Prim.OneHot, oneHotPlan);
