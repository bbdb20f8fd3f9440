// The fused BB-α loss and its gradient (one dispatch each, instead of the ~25 of the
// composed loss and its backward): per point n of MC logits [M, K, C], the class
// log-likelihoods ll_k by a stable log-softmax, the energy (α = 0: −mean; |α| < SMALL_ALPHA: the
// series −mean − (α/2)·Var; else −(LSE_k(α·ll) − log K)/α) and, for the gradient, the
// importance weights w_k = softmax_k(α·ll): d/dlogits[n,k,c] = −dy_n·w_k·(onehot_c − p_kc).
// α is specialised into the WGSL; the batch mean is a workgroup reduction in fixed order.
// Non-finite logits follow the oracle: maxima propagate NaN, and a log-sum-exp whose shift
// is non-finite is that shift (so an Inf logit off the label gives ll = -Inf, weight 0).
// Reference: @alphadrop/core referenceKernels[Prim.BBAlphaLoss | Prim.BBAlphaLossGrad].

import { Prim, SMALL_ALPHA, type PrimParams } from '@alphadrop/core/backend';
import type { GpuPlan } from '../runtime/plan.js';
import { kernelModule, type KernelModule } from '../runtime/kernel-module.js';
import { BUILTINS, flatIndex, grid1d, lit } from '../runtime/wgsl.js';
import { IEEE_WGSL } from './elementwise.js';

/** WGSL: ll[k] for point n (stable log-softmax at the label), and the point's energy. */
function pointFunctions(K: number, C: number, alpha: number): string {
  const a = lit(alpha, 'f32');
  const energy =
    alpha === 0
      ? 'return -mean;'
      : Math.abs(alpha) < SMALL_ALPHA
        ? `var v = 0.0; for (var k = 0u; k < ${K}u; k++) { let d = ll[k] - mean; v += d * d; } return -mean - (${a} * 0.5) * (v / ${K}.0);`
        : `var m = ${a} * ll[0]; for (var k = 1u; k < ${K}u; k++) { m = max_nan(m, ${a} * ll[k]); }
  var z = 0.0; for (var k = 0u; k < ${K}u; k++) { z += exp(${a} * ll[k] - m); }
  return -(shifted_lse(m, z) - log(${K}.0)) / ${a};`;
  return `
${IEEE_WGSL.maxNan}
${IEEE_WGSL.isFinite}
fn shifted_lse(m: f32, z: f32) -> f32 { return select(m, m + log(z), is_finite_f32(m)); }
fn log_lik(n: u32, k: u32, y: u32) -> f32 {
  let at = (n * ${K}u + k) * ${C}u;
  var m = logits[at];
  for (var c = 1u; c < ${C}u; c++) { m = max_nan(m, logits[at + c]); }
  var z = 0.0;
  for (var c = 0u; c < ${C}u; c++) { z += exp(logits[at + c] - m); }
  return logits[at + y] - shifted_lse(m, z);
}
fn point_energy(n: u32) -> f32 {
  let y = u32(labels[n]);
  var ll: array<f32, ${K}>;
  var mean = 0.0;
  for (var k = 0u; k < ${K}u; k++) { ll[k] = log_lik(n, k, y); mean += ll[k]; }
  mean = mean / ${K}.0;
  ${energy}
}`;
}

const DECLS = (out: string) => `@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
${out}`;

function wgsl(shape: readonly [number, number, number], p: PrimParams[Prim.BBAlphaLoss]): string {
  const [M, K, C] = shape;
  if (p.reduction === 'none')
    return `${DECLS('@group(0) @binding(2) var<storage, read_write> out: array<f32>;')}
${pointFunctions(K, C, p.alpha)}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let n = ${flatIndex()};
  if (n >= ${M}u) { return; }
  out[n] = point_energy(n);
}`;
  // batch mean: one workgroup, a fixed-order tree over 256 partial sums
  return `${DECLS('@group(0) @binding(2) var<storage, read_write> out: array<f32>;')}
${pointFunctions(K, C, p.alpha)}
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var n = lid.x; n < ${M}u; n += 256u) { s += point_energy(n); }
  part[lid.x] = s;
  workgroupBarrier();
  for (var h = 128u; h > 0u; h >>= 1u) {
    if (lid.x < h) { part[lid.x] += part[lid.x + h]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[0] = part[0] / ${M}.0; }
}`;
}

function gradWgsl(shape: readonly [number, number, number], p: PrimParams[Prim.BBAlphaLossGrad]): string {
  const [M, K, C] = shape;
  const a = lit(p.alpha, 'f32');
  const scale = p.reduction === 'mean' ? `dy[0] / ${M}.0` : 'dy[n]';
  const weight =
    p.alpha === 0
      ? `let w = 1.0 / ${K}.0;`
      : `var m = ${a} * log_lik(n, 0u, y);
  var lls: array<f32, ${K}>;
  for (var j = 0u; j < ${K}u; j++) { lls[j] = ${a} * log_lik(n, j, y); m = max_nan(m, lls[j]); }
  var z = 0.0;
  for (var j = 0u; j < ${K}u; j++) { z += exp(lls[j] - m); }
  let w = exp(lls[k] - m) / z;`;
  return `${DECLS(`@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;`)}
${pointFunctions(K, C, p.alpha)}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${M * K}u) { return; }
  let n = i / ${K}u;
  let k = i % ${K}u;
  let y = u32(labels[n]);
  ${weight}
  let g = -(${scale}) * w;
  let at = i * ${C}u;
  var mx = logits[at];
  for (var c = 1u; c < ${C}u; c++) { mx = max_nan(mx, logits[at + c]); }
  var z2 = 0.0;
  for (var c = 0u; c < ${C}u; c++) { z2 += exp(logits[at + c] - mx); }
  // softmax = exp(x − LSE): with a non-finite shift LSE is the shift itself
  let norm = is_finite_f32(mx);
  for (var c = 0u; c < ${C}u; c++) {
    let e = exp(logits[at + c] - mx);
    let p = select(e, e / z2, norm);
    out[at + c] = g * (select(0.0, 1.0, c == y) - p);
  }
}`;
}


/** The logits' [M, K, C] and the params (α is specialised into the WGSL). */
export interface BBAlphaProblem<P extends Prim.BBAlphaLoss | Prim.BBAlphaLossGrad> {
  shape: readonly [number, number, number];
  params: PrimParams[P];
}

const logitsShape = (s: readonly number[]) => [s[0]!, s[1]!, s[2]!] as const;

export function bbAlphaLossPlan({ shape, params: p }: BBAlphaProblem<Prim.BBAlphaLoss>): GpuPlan {
  const workgroups = p.reduction === 'mean' ? ([1, 1, 1] as const) : grid1d(shape[0]);
  return { programs: [{ name: `bbalpha/${p.reduction}`, code: wgsl(shape, p), workgroups, bindings: ['in0', 'in1', 'out'] }] };
}

export function bbAlphaLossGradPlan({ shape, params: p }: BBAlphaProblem<Prim.BBAlphaLossGrad>): GpuPlan {
  return { programs: [{ name: `bbalpha/grad`, code: gradWgsl(shape, p), workgroups: grid1d(shape[0] * shape[1]), bindings: ['in0', 'in1', 'in2', 'out'] }] };
}

export const bbAlphaLossModule: KernelModule<Prim.BBAlphaLoss, BBAlphaProblem<Prim.BBAlphaLoss>> = kernelModule({
  prim: Prim.BBAlphaLoss,
  problem: ({ inputs, params }) => ({ shape: logitsShape(inputs[0]!.shape), params }),
  plan: bbAlphaLossPlan,
});
export const bbAlphaLossGradModule: KernelModule<Prim.BBAlphaLossGrad, BBAlphaProblem<Prim.BBAlphaLossGrad>> = kernelModule({
  prim: Prim.BBAlphaLossGrad,
  problem: ({ inputs, params }) => ({ shape: logitsShape(inputs[0]!.shape), params }),
  plan: bbAlphaLossGradPlan,
});
