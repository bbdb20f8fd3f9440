// Reductions over any set of axes: sum, max, argmax. Two strategies, chosen by shape:
// one invocation per output element looping over the reduced elements (many outputs,
// short reductions), or one workgroup per output element striding over the reduced
// elements and combining in workgroup memory (few outputs, long reductions: the bias
// gradient over 1280 rows, a loss over the whole batch).
// Reference: @alphadrop/core referenceKernels[Prim.Sum | Prim.Max | Prim.Argmax].

import { Prim, sizeOf, stridesOf, type OutSpec, type Shape } from '@alphadrop/core';
import type { GpuPlan, OperandSpec } from '../runtime/plan.js';
import { kernelModule, specOf as spec, type KernelModule } from '../runtime/kernel-module.js';
import { BUILTINS, flatIndex, grid1d, lit, storageDecls, unravel, wgslType } from '../runtime/wgsl.js';

export type ReduceKind = 'sum' | 'max' | 'argmax';
type Kind = ReduceKind;

/** Offset of the element at coordinates `${prefix}k` of `dims` (axes of the input). */
function offsetOf(axes: readonly number[], strides: readonly number[], prefix: string): string {
  const terms = axes.map((a, k) => `${prefix}${k} * ${strides[a]}u`);
  return terms.length ? terms.join(' + ') : '0u';
}

export function reducePlan(kind: Kind, x: OperandSpec, axes: readonly number[], out: OutSpec): GpuPlan {
  const inShape = x.shape;
  const strides = stridesOf(inShape);
  const kept = inShape.map((_, i) => i).filter((i) => !axes.includes(i));
  const keptShape: Shape = kept.map((i) => inShape[i]!);
  const redShape: Shape = axes.map((i) => inShape[i]!);
  const outputs = sizeOf(keptShape);
  const R = sizeOf(redShape);
  const t = wgslType(x.dtype);
  const ot = wgslType(out.dtype);
  // Reduced axes forming the trailing contiguous block: offset = base + r.
  const trailing = axes.length > 0 && axes.every((a, k) => a === inShape.length - axes.length + k);
  const base = `${unravel('o', keptShape, 'k')}\n  let base = ${offsetOf(kept, strides, 'k')};`;
  const elem = (r: string) =>
    trailing ? `in0[base + ${r}]` : `in0[base + red_off(${r})]`;
  const redFn = trailing
    ? ''
    : `fn red_off(r: u32) -> u32 {
  ${unravel('r', redShape, 'q')}
  return ${offsetOf(axes, strides, 'q')};
}`;
  const init = kind === 'sum' ? lit(0, t) : lit(t === 'f32' ? -Infinity : t === 'i32' ? -2147483648 : 0, t);
  // combine (acc, accIdx) with (v, vIdx); ties keep the smaller index (first maximum)
  // NaN wins and then sticks (tested on the bits: WGSL may assume floats are never NaN)
  const better = (v: string, acc: string) => (t === 'f32' ? `(!is_nan(${acc}) && (is_nan(${v}) || ${v} > ${acc}))` : `(${v} > ${acc})`);
  const same = (v: string, a: string) => (t === 'f32' ? `(is_nan(${v}) == is_nan(${a}) && (is_nan(${v}) || ${v} == ${a}))` : `(${v} == ${a})`);
  const decls = storageDecls([t], ot);
  const perThread = outputs >= 4096 || R <= 256;

  if (perThread) {
    const loop =
      kind === 'sum'
        ? `var acc = ${init};\n  for (var r = 0u; r < ${R}u; r++) { acc += ${elem('r')}; }\n  out[o] = acc;`
        : kind === 'max'
          ? `var acc = ${init};\n  for (var r = 0u; r < ${R}u; r++) { let v = ${elem('r')}; if ${better('v', 'acc')} { acc = v; } }\n  out[o] = acc;`
          : `var acc = ${elem('0u')}; var at = 0u;\n  for (var r = 1u; r < ${R}u; r++) { let v = ${elem('r')}; if ${better('v', 'acc')} { acc = v; at = r; } }\n  out[o] = i32(at);`;
    const code = `${decls}
${redFn}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let o = ${flatIndex()};
  if (o >= ${outputs}u) { return; }
  ${base}
  ${loop}
}`;
    return { programs: [{ name: `reduce/${kind}/thread`, code, workgroups: grid1d(outputs), bindings: ['in0', 'out'] }] };
  }

  // One workgroup per output; 256 partial results combined as a tree in workgroup memory.
  const WG = 256;
  const accum =
    kind === 'sum'
      ? `var acc = ${init};\n  for (var r = lid.x; r < ${R}u; r += ${WG}u) { acc += ${elem('r')}; }\n  sv[lid.x] = acc;`
      : `var acc = ${init}; var at = 0xffffffffu;\n  for (var r = lid.x; r < ${R}u; r += ${WG}u) { let v = ${elem('r')}; if (at == 0xffffffffu || ${better('v', 'acc')}) { acc = v; at = r; } }\n  sv[lid.x] = acc; si[lid.x] = at;`;
  const combine =
    kind === 'sum'
      ? `sv[lid.x] += sv[lid.x + s];`
      : `let v = sv[lid.x + s]; let vi = si[lid.x + s]; let a = sv[lid.x]; let ai = si[lid.x];
      if (vi != 0xffffffffu && (ai == 0xffffffffu || ${better('v', 'a')} || (${same('v', 'a')} && vi < ai))) { sv[lid.x] = v; si[lid.x] = vi; }`;
  const write = kind === 'argmax' ? `out[o] = i32(si[0]);` : `out[o] = sv[0];`;
  const code = `${decls}
${redFn}
var<workgroup> sv: array<${t}, ${WG}>;
${kind === 'sum' ? '' : `var<workgroup> si: array<u32, ${WG}>;`}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= ${outputs}u) { return; }
  ${base}
  ${accum}
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) {
      ${combine}
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) { ${write} }
}`;
  return { programs: [{ name: `reduce/${kind}/workgroup`, code, workgroups: grid1d(outputs, 1), bindings: ['in0', 'out'] }] };
}

/** What specialises a reduction: its kind, the input spec, the reduced axes and the result spec. */
export interface ReduceProblem {
  kind: ReduceKind;
  x: OperandSpec;
  axes: readonly number[];
  out: OutSpec;
}

export const sumModule: KernelModule<Prim.Sum, ReduceProblem> = kernelModule({
  prim: Prim.Sum,
  problem: ({ inputs, params, out }) => ({ kind: 'sum', x: spec(inputs[0]!), axes: params.axes, out: spec(out) }),
  plan: (p) => reducePlan(p.kind, p.x, p.axes, p.out),
});
export const maxModule: KernelModule<Prim.Max, ReduceProblem> = kernelModule({
  prim: Prim.Max,
  problem: ({ inputs, params, out }) => ({ kind: 'max', x: spec(inputs[0]!), axes: params.axes, out: spec(out) }),
  plan: (p) => reducePlan(p.kind, p.x, p.axes, p.out),
});
export const argmaxModule: KernelModule<Prim.Argmax, ReduceProblem> = kernelModule({
  prim: Prim.Argmax,
  problem: ({ inputs, params, out }) => ({ kind: 'argmax', x: spec(inputs[0]!), axes: [params.axis], out: spec(out) }),
  plan: (p) => reducePlan(p.kind, p.x, p.axes, p.out),
});
