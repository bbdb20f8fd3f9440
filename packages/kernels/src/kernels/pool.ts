// 2-D max pooling (NCHW) forward and backward, shapes specialised into the source.
// Forward: one invocation per output, scanning its window (padding reads as -inf); a window
// holding a NaN gives NaN, and the backward pass routes its dy to that (first) NaN.
// Backward: one invocation per INPUT element; it visits the windows that cover it, recomputes
// each window's first maximum (scan order kh-major, then kw; ties go to the earliest) and adds
// that window's dy when the maximum is this element. Every dx element is written once by one
// invocation, so no float atomics are needed and the sum order is fixed (windows ascending).
// Reference: @alphadrop/core referenceKernels[Prim.MaxPool2d | Prim.MaxPool2dGrad] (poolArgmax).

import { type Shape } from '@alphadrop/core';
import { Prim, sizeOf, type OutSpec, type PrimParams } from '@alphadrop/core/backend';
import type { GpuPlan, OperandSpec } from '../runtime/plan.js';
import { kernelModule, type KernelModule } from '../runtime/kernel-module.js';
import { BUILTINS, flatIndex, grid1d, lit } from '../runtime/wgsl.js';

export type PoolPrim = Prim.MaxPool2d | Prim.MaxPool2dGrad;
type Quad = readonly [number, number, number, number];
type Pair = readonly [number, number];

export interface PoolProblem {
  prim: PoolPrim;
  /** Input [N, C, H, W]. */
  x: Quad;
  /** Output [N, C, Ho, Wo]. */
  y: Quad;
  kernel: Pair;
  stride: Pair;
  padding: Pair;
}

const quad = (s: Shape): Quad => [s[0]!, s[1]!, s[2]!, s[3]!];

export function poolProblem(prim: PoolPrim, inputs: readonly OperandSpec[], g: PrimParams[Prim.MaxPool2d], out: OutSpec): PoolProblem {
  const y = prim === Prim.MaxPool2d ? out.shape : inputs[1]!.shape;
  return { prim, x: quad(inputs[0]!.shape), y: quad(y), kernel: g.kernel, stride: g.stride, padding: g.padding };
}

/**
 * WGSL function first_max(plane, oh, ow) -> i32: the in-plane offset (ih·W + iw) of the first
 * maximum of window (oh, ow) of the plane starting at x[plane], or -1 for a window entirely
 * in padding. The same rule as the oracle: the first valid element, then strictly greater,
 * and the first NaN beats everything (tested on the bits: WGSL may assume NaN away).
 */
function firstMaxFn(p: PoolProblem): string {
  const [, , H, W] = p.x;
  const [KH, KW] = p.kernel;
  return `fn first_max(plane: u32, oh: u32, ow: u32) -> i32 {
  let ih0 = i32(oh * ${p.stride[0]}u) - ${p.padding[0]}i;
  let iw0 = i32(ow * ${p.stride[1]}u) - ${p.padding[1]}i;
  var best = ${lit(-Infinity, 'f32')};
  var at = -1i;
  for (var kh = 0i; kh < ${KH}i; kh++) {
    let ih = ih0 + kh;
    if (ih < 0i || ih >= ${H}i) { continue; }
    for (var kw = 0i; kw < ${KW}i; kw++) {
      let iw = iw0 + kw;
      if (iw < 0i || iw >= ${W}i) { continue; }
      let v = x[plane + u32(ih * ${W}i + iw)];
      if (at < 0i || (!is_nan(best) && (v > best || is_nan(v)))) { best = v; at = ih * ${W}i + iw; }
    }
  }
  return at;
}`;
}

function wgsl(p: PoolProblem): string {
  const [N, C, H, W] = p.x;
  const [, , Ho, Wo] = p.y;
  if (p.prim === Prim.MaxPool2d) {
    return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${firstMaxFn(p)}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${N * C * Ho * Wo}u) { return; }
  let ow = i % ${Wo}u;
  let oh = (i / ${Wo}u) % ${Ho}u;
  let plane = (i / ${Ho * Wo}u) * ${H * W}u;
  let at = first_max(plane, oh, ow);
  // a window entirely in padding is -inf, as in the oracle
  out[i] = select(${lit(-Infinity, 'f32')}, x[plane + u32(max(at, 0i))], at >= 0i);
}`;
  }
  const [KH, KW] = p.kernel;
  const [sh, sw] = p.stride;
  const [ph, pw] = p.padding;
  // Window oh covers ih iff oh·s - p <= ih <= oh·s - p + k - 1, i.e.
  // ceil((ih + p - k + 1) / s) <= oh <= floor((ih + p) / s), clipped to [0, Ho).
  return `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${firstMaxFn(p)}
fn first_window(i: i32, pad: i32, k: i32, s: i32) -> u32 {
  let lo = i + pad - k + 1i;
  return u32(select(0i, (lo + s - 1i) / s, lo > 0i));
}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${N * C * H * W}u) { return; }
  let iw = i % ${W}u;
  let ih = (i / ${W}u) % ${H}u;
  let nc = i / ${H * W}u;
  let plane = nc * ${H * W}u;
  let self_at = i32(ih * ${W}u + iw);
  let oh0 = first_window(i32(ih), ${ph}i, ${KH}i, ${sh}i);
  let oh1 = min(${Ho}u, (ih + ${ph}u) / ${sh}u + 1u);
  let ow0 = first_window(i32(iw), ${pw}i, ${KW}i, ${sw}i);
  let ow1 = min(${Wo}u, (iw + ${pw}u) / ${sw}u + 1u);
  var acc = 0.0;
  for (var oh = oh0; oh < oh1; oh++) {
    for (var ow = ow0; ow < ow1; ow++) {
      if (first_max(plane, oh, ow) == self_at) { acc += dy[(nc * ${Ho}u + oh) * ${Wo}u + ow]; }
    }
  }
  out[i] = acc;
}`;
}

function dispatchSize(p: PoolProblem): [number, number, number] {
  return grid1d(p.prim === Prim.MaxPool2d ? sizeOf(p.y) : sizeOf(p.x));
}

export function poolPlan(p: PoolProblem): GpuPlan {
  const bindings = p.prim === Prim.MaxPool2d ? (['in0', 'out'] as const) : (['in0', 'in1', 'out'] as const);
  return { programs: [{ name: p.prim === Prim.MaxPool2d ? 'maxPool2d' : 'maxPool2dGrad/gather', code: wgsl(p), workgroups: dispatchSize(p), bindings }] };
}

export const maxPool2dModule: KernelModule<Prim.MaxPool2d, PoolProblem> = kernelModule({
  prim: Prim.MaxPool2d,
  problem: ({ inputs, params, out }) => poolProblem(Prim.MaxPool2d, inputs, params, out),
  plan: poolPlan,
});
export const maxPool2dGradModule: KernelModule<Prim.MaxPool2dGrad, PoolProblem> = kernelModule({
  prim: Prim.MaxPool2dGrad,
  problem: ({ inputs, params, out }) => poolProblem(Prim.MaxPool2dGrad, inputs, params, out),
  plan: poolPlan,
});
