// Elementwise kernels: unary and binary from core's elementwise records (each record's WGSL
// expression and helper functions, @alphadrop/core elementwise/unary.ts, binary.ts), and
// compare, where, cast and the broadcast copy (expand). Shapes and strides are specialised
// into the source; one invocation per output element.
// Reference: @alphadrop/core referenceKernels (the CPU oracle) for the same primitives.

import { type CompareOp, type DType, type Shape } from '@alphadrop/core';
import {
  BINARY, BINARY_PRIMS, UNARY, UNARY_PRIMS, sizeOf, type BinaryPrim, type OutSpec, type UnaryPrim,
  type WgslScalar,
} from '@alphadrop/core/backend';
import { specModule, type KernelModule } from '../runtime/kernel-module.js';
import type { GpuPlan, OperandSpec } from '../runtime/plan.js';
import { BUILTINS, broadcastOffset, flatIndex, grid1d, lit, sameShape, storageDecls, unravel, wgslType } from '../runtime/wgsl.js';

/** Every WGSL helper function a record declares, by name (one definition per name). */
const HELPERS: Record<string, string> = Object.assign({}, ...[...Object.values(UNARY), ...Object.values(BINARY)].map((r) => r.wgslHelpers ?? {}));

export const unaryWgsl: { [P in UnaryPrim]: (x: string, t: WgslScalar) => string } = Object.fromEntries(
  UNARY_PRIMS.map((p) => [p, UNARY[p].wgsl]),
) as { [P in UnaryPrim]: (x: string, t: WgslScalar) => string };

export const binaryWgsl: { [P in BinaryPrim]: (a: string, b: string, t: WgslScalar) => string } = Object.fromEntries(
  BINARY_PRIMS.map((p) => [p, BINARY[p].wgsl]),
) as { [P in BinaryPrim]: (a: string, b: string, t: WgslScalar) => string };

/**
 * WGSL helpers for IEEE semantics in the other kernel modules (reductions, logsumexp, the
 * BB-α loss, the matmul epilogue): WGSL lets a compiler assume NaN and Inf never occur
 * (lavapipe folds x != x to false; its max(NaN, x) is x), so both are tested on the bits.
 * is_nan comes with the runtime prelude (runtime/wgsl.ts).
 */
export const IEEE_WGSL = {
  /** max(a, b), NaN if either is NaN. */
  maxNan: 'fn max_nan(a: f32, b: f32) -> f32 { return select(b, a, is_nan(a) || (!is_nan(b) && a >= b)); }',
  /** Neither NaN nor ±Inf. */
  isFinite: 'fn is_finite_f32(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }',
  /** relu with relu(NaN) = NaN. */
  relu: 'fn relu_f32(x: f32) -> f32 { return select(0.0, x, x > 0.0 || is_nan(x)); }',
  relu4:
    'fn relu_v4(x: vec4<f32>) -> vec4<f32> { return select(vec4<f32>(0.0), x, (x > vec4<f32>(0.0)) | ((bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u))); }',
} as const;

const compareOps: { [O in CompareOp]: string } = { eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=' };

/** The helpers `body` calls, and the helpers they call (softplus_f32 calls log1p_f32). */
function usedHelpers(body: string): string {
  const used = new Set<string>();
  let text = body;
  for (let grew = true; grew; ) {
    grew = false;
    for (const [name, code] of Object.entries(HELPERS))
      if (!used.has(name) && text.includes(`${name}(`)) {
        used.add(name);
        text += code;
        grew = true;
      }
  }
  return [...used].map((name) => HELPERS[name]!).join('\n');
}

/**
 * The one elementwise program: out[i] = expr(in0[off0(i)], in1[off1(i)], ...), every
 * operand broadcast to the output shape.
 */
export function mapProgram(name: string, inputs: readonly OperandSpec[], out: OutSpec, expr: (vals: string[]) => string): GpuPlan {
  const n = sizeOf(out.shape);
  const anyBroadcast = inputs.some((x) => !sameShape(x.shape, out.shape));
  const loads = inputs.map((x, k) => {
    const off = sameShape(x.shape, out.shape) ? 'i' : sizeOf(x.shape) === 1 ? '0u' : broadcastOffset(x.shape, out.shape, 'c');
    return `in${k}[${off}]`;
  });
  const body = `out[i] = ${expr(loads)};`;
  const code = `${storageDecls(inputs.map((x) => wgslType(x.dtype)), wgslType(out.dtype))}
${usedHelpers(body)}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${n}u) { return; }
  ${anyBroadcast ? unravel('i', out.shape, 'c') : ''}
  ${body}
}`;
  return {
    programs: [{ name, code, workgroups: grid1d(n), bindings: [...inputs.map((_, k) => `in${k}` as const), 'out'] }],
  };
}

export function unaryPlan(prim: UnaryPrim) {
  return (inputs: readonly OperandSpec[], _p: unknown, out: OutSpec): GpuPlan =>
    mapProgram(`unary/${prim}`, inputs, out, ([x]) => unaryWgsl[prim](x!, wgslType(out.dtype)));
}

export function binaryPlan(prim: BinaryPrim) {
  return (inputs: readonly OperandSpec[], _p: unknown, out: OutSpec): GpuPlan =>
    mapProgram(`binary/${prim}`, inputs, out, ([a, b]) => binaryWgsl[prim](a!, b!, wgslType(out.dtype)));
}

/** The kernel module of every unary and binary record. */
export const unaryModules: { [P in UnaryPrim]: KernelModule<P> } = Object.fromEntries(
  UNARY_PRIMS.map((p) => [p, specModule(p, unaryPlan(p))]),
) as { [P in UnaryPrim]: KernelModule<P> };
export const binaryModules: { [P in BinaryPrim]: KernelModule<P> } = Object.fromEntries(
  BINARY_PRIMS.map((p) => [p, specModule(p, binaryPlan(p))]),
) as { [P in BinaryPrim]: KernelModule<P> };

/** Float comparisons spell out NaN (unordered: only 'ne' holds), since WGSL may assume it never occurs. */
export function compareExpr(a: string, b: string, op: CompareOp, dtype: DType): string {
  const cmp = `${a} ${compareOps[op]} ${b}`;
  if (dtype !== 'f32') return cmp;
  return op === 'ne' ? `(is_nan(${a}) || is_nan(${b}) || ${cmp})` : `(!is_nan(${a}) && !is_nan(${b}) && ${cmp})`;
}

export function comparePlan(inputs: readonly OperandSpec[], { op }: { op: CompareOp }, out: OutSpec): GpuPlan {
  return mapProgram(`compare/${op}`, inputs, out, ([a, b]) => `select(0u, 1u, ${compareExpr(a!, b!, op, inputs[0]!.dtype)})`);
}

export function wherePlan(inputs: readonly OperandSpec[], _p: unknown, out: OutSpec): GpuPlan {
  return mapProgram('where', inputs, out, ([c, a, b]) => `select(${b}, ${a}, ${c} != 0u)`);
}

/**
 * Same semantics as the oracle: float → int truncates and saturates (Tint's own conversion
 * stops at the largest f32 below 2^31), NaN → 0; negative float → u32 wraps from its i32;
 * → bool is x != 0, so NaN → true.
 */
export function castExpr(x: string, from: DType, to: DType): string {
  const src = from === 'bool' ? 'u32' : wgslType(from);
  if (to === 'bool') return src === 'f32' ? `select(0u, 1u, ${x} != 0.0 || is_nan(${x}))` : `select(0u, 1u, ${x} != ${lit(0, src)})`;
  const dst = wgslType(to);
  if (src === dst) return x;
  const i32Of = (v: string) => `select(i32(${v}), 2147483647i, ${v} >= 2147483648.0)`;
  if (src === 'f32' && dst === 'i32') return `select(${i32Of(x)}, 0i, is_nan(${x}))`;
  if (src === 'f32' && dst === 'u32')
    return `select(select(select(u32(${x}), 4294967295u, ${x} >= 4294967296.0), bitcast<u32>(${i32Of(x)}), ${x} < 0.0), 0u, is_nan(${x}))`;
  if (src !== 'f32' && dst !== 'f32') return `bitcast<${dst}>(${x})`;
  return `${dst}(${x})`;
}

export function castPlan(inputs: readonly OperandSpec[], _p: unknown, out: OutSpec): GpuPlan {
  return mapProgram(`cast/${inputs[0]!.dtype}-${out.dtype}`, inputs, out, ([x]) => castExpr(x!, inputs[0]!.dtype, out.dtype));
}

/** Expand and the reshape copy are the identity map with broadcasting. */
export function copyPlan(name: string) {
  return (inputs: readonly OperandSpec[], _p: unknown, out: OutSpec): GpuPlan => {
    // A reshape copies its input flat: give it the output's shape so no broadcast applies.
    const spec = sizeOf(inputs[0]!.shape) === sizeOf(out.shape) ? [{ shape: out.shape as Shape, dtype: inputs[0]!.dtype }] : inputs;
    return mapProgram(name, spec, out, ([x]) => x!);
  };
}
