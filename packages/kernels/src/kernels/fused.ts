// Kernels of the fused primitives: linear (matmul with dropout on A, bias and ReLU in the
// epilogue; the bias one row [N], or one row per batch for model-batched layers), dropout
// (mask regenerated from its Philox coordinates, never stored; one key, or one per slice:
// mask.ts), logsumexp along one axis, and the optimizer update over a flat parameter buffer
// (one dispatch for all parameters).
// Reference: @alphadrop/core referenceKernels[Prim.FusedMatmul | Dropout | LogSumExp | OptimizerUpdate].

import { type Shape } from '@alphadrop/core';
import { sizeOf, stridesOf, OPTIMIZER_SLOTS, Prim, type OptimizerParams, type PrimParams } from '@alphadrop/core/backend';
import type { GpuPlan, OperandSpec } from '../runtime/plan.js';
import { kernelModule, type KernelModule } from '../runtime/kernel-module.js';
import { BUILTINS, f32Bits, flatIndex, grid1d, unravel } from '../runtime/wgsl.js';
import { matmulPlan, matmulProblem, type MatmulFusion, type MatmulProblem } from './matmul.js';
import { IEEE_WGSL } from './elementwise.js';
import { dropoutBlock, keySlicesOf, maskProgram, type KeySlices } from './mask.js';

export { dropoutBlock } from './mask.js';

/**
 * The linear's fusion: dropout on A (its key slices cut A's storage: A as stored, whatever
 * transA says), and a bias [N] or [...batch, 1, N]; a bias whose batch dims hold one row is
 * the shared row.
 */
export function linearFusion(inputs: readonly OperandSpec[], p: PrimParams[Prim.FusedMatmul]): MatmulFusion {
  const fusion: MatmulFusion = { bias: p.bias, relu: p.activation === 'relu', dropout: p.dropout !== null };
  const slices = p.dropout ? keySlicesOf(p.dropout, sizeOf(inputs[0]!.shape), 'linear (webgpu)') : undefined;
  if (slices) fusion.keySlices = slices;
  const biasBatch = p.bias ? inputs[2]!.shape.slice(0, -2) : [];
  if (sizeOf(biasBatch) > 1) fusion.biasBatch = biasBatch;
  return fusion;
}

/** Linear: the matmul generator with dropout on A, bias and ReLU in the epilogue. */
export const fusedMatmulModule: KernelModule<Prim.FusedMatmul, MatmulProblem> = kernelModule({
  prim: Prim.FusedMatmul,
  problem: ({ inputs, params: p, out, caps }) => matmulProblem(inputs, p.transA, p.transB, linearFusion(inputs, p), out, caps),
  plan: matmulPlan,
  // the mask's keys, counter and keep probability arrive as a uniform: a new step reuses the pipeline
  uniforms: (p) => [p.dropout ? dropoutBlock(p.dropout) : undefined],
});

/** What specialises a dropout: the element count and, with per-slice keys, the slicing. */
export interface DropoutProblem {
  n: number;
  slices?: KeySlices;
}

export function dropoutPlan({ n, slices }: DropoutProblem): GpuPlan {
  const p = maskProgram(n, slices);
  return { programs: [{ name: slices ? `dropout/keys${slices.count}` : 'dropout', code: p.code, workgroups: p.workgroups, bindings: ['in0', 'out', 'uniform'] }] };
}

/** The keep probability and the keys live in the uniform block too: one pipeline serves every rate and key. */
export const dropoutModule: KernelModule<Prim.Dropout, DropoutProblem> = kernelModule({
  prim: Prim.Dropout,
  problem: ({ out, params }) => {
    const n = sizeOf(out.shape);
    const slices = keySlicesOf(params, n, 'dropout (webgpu)');
    return slices ? { n, slices } : { n };
  },
  plan: dropoutPlan,
  uniforms: (p) => [dropoutBlock(p)],
});

export function logSumExpPlan({ shape, axis }: { shape: Shape; axis: number }): GpuPlan {
  const R = shape[axis]!;
  const stride = stridesOf(shape)[axis]!;
  const keptShape = shape.map((d, i) => (i === axis ? 1 : d));
  const outputs = sizeOf(keptShape);
  const keptStrides = stridesOf(shape);
  const baseTerms = shape.map((_, i) => (i === axis || shape[i] === 1 ? '' : `k${i} * ${keptStrides[i]}u`)).filter(Boolean);
  const base = `${unravel('o', keptShape, 'k')}\n  let base = ${baseTerms.length ? baseTerms.join(' + ') : '0u'};`;
  const decls = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
fn neg_inf() -> f32 { return f32_bits(0xff800000u); }
// The oracle's rule: the NaN-propagating maximum m; a non-finite m (+Inf, -Inf when all
// are, NaN) is the result itself, else m + log Σ exp(x − m).
${IEEE_WGSL.maxNan}
${IEEE_WGSL.isFinite}`;
  if (outputs >= 4096 || R <= 256) {
    const code = `${decls}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let o = ${flatIndex()};
  if (o >= ${outputs}u) { return; }
  ${base}
  var m = neg_inf();
  for (var r = 0u; r < ${R}u; r++) { m = max_nan(m, x[base + r * ${stride}u]); }
  if (!is_finite_f32(m)) { out[o] = m; return; }
  var s = 0.0;
  for (var r = 0u; r < ${R}u; r++) { s += exp(x[base + r * ${stride}u] - m); }
  out[o] = m + log(s);
}`;
    return { programs: [{ name: 'logsumexp/thread', code, workgroups: grid1d(outputs), bindings: ['in0', 'out'] }] };
  }
  const code = `${decls}
var<workgroup> sv: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= ${outputs}u) { return; }
  ${base}
  var m = neg_inf();
  for (var r = lid.x; r < ${R}u; r += 256u) { m = max_nan(m, x[base + r * ${stride}u]); }
  sv[lid.x] = m;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) { if (lid.x < s) { sv[lid.x] = max_nan(sv[lid.x], sv[lid.x + s]); } workgroupBarrier(); }
  let mx = sv[0];
  workgroupBarrier();
  var acc = 0.0;
  if (is_finite_f32(mx)) { for (var r = lid.x; r < ${R}u; r += 256u) { acc += exp(x[base + r * ${stride}u] - mx); } }
  sv[lid.x] = acc;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) { if (lid.x < s) { sv[lid.x] += sv[lid.x + s]; } workgroupBarrier(); }
  if (lid.x == 0u) { out[o] = select(mx, mx + log(sv[0]), is_finite_f32(mx)); }
}`;
  return { programs: [{ name: 'logsumexp/workgroup', code, workgroups: grid1d(outputs, 1), bindings: ['in0', 'out'] }] };
}

export const logSumExpModule: KernelModule<Prim.LogSumExp, { shape: Shape; axis: number }> = kernelModule({
  prim: Prim.LogSumExp,
  problem: ({ inputs, params }) => ({ shape: inputs[0]!.shape, axis: params.axis }),
  plan: logSumExpPlan,
});

/** The rule's hyper-parameters as a uniform block (lr and the bias corrections change every step). */
export function optimizerBlock(p: PrimParams[Prim.OptimizerUpdate]): Uint32Array {
  const c1 = 1 - Math.pow(p.beta1, p.step);
  const c2 = 1 - Math.pow(p.beta2, p.step);
  return Uint32Array.from([p.lr, p.momentum, p.beta1, p.beta2, p.eps, c1, c2, 0].map(f32Bits));
}

/**
 * What specialises the update: the parameter count, the rule (the hyper-parameters are a
 * uniform block) and whether a decay coefficient input follows the slots.
 */
export interface OptimizerProblem {
  n: number;
  rule: OptimizerParams['rule'];
  decay: boolean;
}

export function optimizerPlan({ n, rule, decay }: OptimizerProblem): GpuPlan {
  const k = OPTIMIZER_SLOTS[rule];
  const d = decay ? 1 : 0;
  const update: Record<OptimizerParams['rule'], string> = {
    sgd: `out[i] = w - h.lr * g;`,
    momentum: `let v = h.momentum * s0[i] + g; out[i] = w - h.lr * v; out[${n}u + i] = v;`,
    nesterov: `let v = h.momentum * s0[i] + g; out[i] = w - h.lr * (g + h.momentum * v); out[${n}u + i] = v;`,
    adam: `let m = h.beta1 * s0[i] + (1.0 - h.beta1) * g;
  let v = h.beta2 * s1[i] + (1.0 - h.beta2) * g * g;
  out[i] = w - h.lr * (m / h.c1) / (sqrt(v / h.c2) + h.eps);
  out[${n}u + i] = m;
  out[${2 * n}u + i] = v;`,
  };
  const slotDecls = Array.from({ length: k }, (_, j) => `@group(0) @binding(${2 + j}) var<storage, read> s${j}: array<f32>;`).join('\n');
  const decayDecl = decay ? `@group(0) @binding(${2 + k}) var<storage, read> decay: array<f32>;` : '';
  // weight decay: g + c·w, as the mul then add it replaces (a compiler may contract it to an
  // fma: equal to the composition within f32 rounding; the CPU backends match it bit for bit)
  const gradOf = decay ? 'let cw = decay[i] * w;\n  let g = grad[i] + cw;' : 'let g = grad[i];';
  const code = `@group(0) @binding(0) var<storage, read> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
${slotDecls}
${decayDecl}
@group(0) @binding(${2 + k + d}) var<storage, read_write> out: array<f32>;
struct Hyper { lr: f32, momentum: f32, beta1: f32, beta2: f32, eps: f32, c1: f32, c2: f32, pad: f32 }
@group(0) @binding(${3 + k + d}) var<uniform> h: Hyper;
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${n}u) { return; }
  let w = param[i];
  ${gradOf}
  ${update[rule]}
}`;
  const bindings = ['in0', 'in1', ...Array.from({ length: k + d }, (_, j) => `in${2 + j}` as const), 'out', 'uniform'] as const;
  return { programs: [{ name: `optimizer/${rule}`, code, workgroups: grid1d(n), bindings }] };
}

export const optimizerModule: KernelModule<Prim.OptimizerUpdate, OptimizerProblem> = kernelModule({
  prim: Prim.OptimizerUpdate,
  problem: ({ inputs, params }) => ({ n: sizeOf(inputs[0]!.shape), rule: params.rule, decay: inputs.length === 3 + OPTIMIZER_SLOTS[params.rule] }),
  plan: optimizerPlan,
  uniforms: (p) => [optimizerBlock(p)],
});
