// Reductions over any set of axes: sum, max, argmax. Two strategies, chosen by shape:
// one invocation per output element looping over the reduced elements (many outputs,
// short reductions), or one workgroup per output element striding over the reduced
// elements and combining in workgroup memory (few outputs, long reductions: the bias
// gradient over 1280 rows, a loss over the whole batch). A very long sum or max (a whole
// parameter buffer: the finiteness flag of a training step) is split over many workgroups
// whose partial results a second program combines in a fixed order: one workgroup looping
// over millions of elements is bound by memory latency (2 ms for 2.8M floats on an H200).
// Reference: @alphadrop/core referenceKernels[Prim.Sum | Prim.Max | Prim.Argmax].

import { type Shape } from '@alphadrop/core';
import { Prim, sizeOf, stridesOf, type OutSpec } from '@alphadrop/core/backend';
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

  const WG = 256;
  // Split: G workgroups per output each reduce a contiguous chunk into tmp0, then one
  // workgroup per output combines the G partials (same combine, same order every run).
  const G = kind === 'argmax' ? 1 : Math.min(1024, Math.ceil(R / (WG * 16)));
  if (G > 1 && outputs * G <= 65535 * 64) {
    const chunk = Math.ceil(R / G);
    const tmpType = t;
    const part = kind === 'sum'
      ? `var acc = ${init};\n  for (var r = r0 + lid.x; r < r1; r += ${WG}u) { acc += ${elem('r')}; }\n  sv[lid.x] = acc;`
      : `var acc = ${init};\n  for (var r = r0 + lid.x; r < r1; r += ${WG}u) { let v = ${elem('r')}; if ${better('v', 'acc')} { acc = v; } }\n  sv[lid.x] = acc;`;
    const tree = (combineTo: string) => `workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { ${kind === 'sum' ? 'sv[lid.x] += sv[lid.x + s];' : `let v = sv[lid.x + s]; if ${better('v', 'sv[lid.x]')} { sv[lid.x] = v; }`} }
    workgroupBarrier();
  }
  if (lid.x == 0u) { ${combineTo} = sv[0]; }`;
    const pass1 = `@group(0) @binding(0) var<storage, read> in0: array<${t}>;
@group(0) @binding(1) var<storage, read_write> tmp0: array<${tmpType}>;
${redFn}
var<workgroup> sv: array<${t}, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let flat = wid.y * nwg.x + wid.x;
  if (flat >= ${outputs * G}u) { return; }
  let o = flat / ${G}u;
  let g = flat % ${G}u;
  ${base}
  let r0 = g * ${chunk}u;
  let r1 = min(r0 + ${chunk}u, ${R}u);
  ${part}
  ${tree('tmp0[flat]')}
}`;
    const pass2 = `@group(0) @binding(0) var<storage, read> tmp0: array<${tmpType}>;
@group(0) @binding(1) var<storage, read_write> out: array<${ot}>;
var<workgroup> sv: array<${t}, ${WG}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= ${outputs}u) { return; }
  var acc = ${init};
  for (var r = lid.x; r < ${G}u; r += ${WG}u) { let v = tmp0[o * ${G}u + r]; ${kind === 'sum' ? 'acc += v;' : `if ${better('v', 'acc')} { acc = v; }`} }
  sv[lid.x] = acc;
  ${tree('out[o]')}
}`;
    return {
      temps: [outputs * G * 4],
      programs: [
        { name: `reduce/${kind}/split`, code: pass1, workgroups: grid1d(outputs * G, 1), bindings: ['in0', 'tmp0'] },
        { name: `reduce/${kind}/split-combine`, code: pass2, workgroups: grid1d(outputs, 1), bindings: ['tmp0', 'out'] },
      ],
    };
  }

  // One workgroup per output; 256 partial results combined as a tree in workgroup memory.
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
