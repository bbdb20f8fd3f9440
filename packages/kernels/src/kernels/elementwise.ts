// Elementwise kernels, generated from one table of WGSL expressions per primitive (the
// twin of core's cpu/scalar-fns.ts): unary, binary with NumPy broadcasting, compare,
// where, cast, and the broadcast copy (expand). Shapes and strides are specialised into
// the source; one invocation per output element.
// Reference: @alphadrop/core referenceKernels (the CPU oracle) for the same primitives.

import { Prim, sizeOf, type BinaryPrim, type CompareOp, type DType, type OutSpec, type Shape, type UnaryPrim } from '@alphadrop/core';
import type { GpuPlan, OperandSpec } from '../runtime/plan.js';
import { BUILTINS, broadcastOffset, flatIndex, grid1d, lit, sameShape, storageDecls, unravel, wgslType } from '../runtime/wgsl.js';

type T = 'f32' | 'i32' | 'u32';

/** WGSL helper functions some expressions call; emitted only when used. */
const HELPERS: Record<string, string> = {
  // log1p: 2·atanh(s), s = x / (2 + x), by its series where |s| <= 1/3; log(1 + x) only
  // outside [-0.5, 1], where 1 + x loses nothing that matters. (Kahan's log(u)·x/(u - 1)
  // is folded to log(u) by compilers that reassociate, lavapipe among them.)
  log1p_f32: `fn log1p_f32(x: f32) -> f32 {
  if (x < -0.5 || x > 1.0) { return log(1.0 + x); }
  let s = x / (2.0 + x);
  let s2 = s * s;
  let p = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0 + s2 * (1.0 / 17.0))))))));
  return 2.0 * s * p;
}`,
  // tanh: Taylor series below |x| = 0.4 (1 - e cancels there), else through exp(-2|x|),
  // which cannot overflow (the builtin returns NaN for large |x| on some drivers)
  tanh_f32: `fn tanh_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.4) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0 + x2 * (-1382.0 / 155925.0 + x2 * (21844.0 / 6081075.0)))))));
  }
  let e = exp(-2.0 * a);
  return sign(x) * (1.0 - e) / (1.0 + e);
}`,
  // pow with JS Math.pow's semantics (the oracle's): the builtin only on a finite positive
  // base and a finite exponent, where WGSL defines it; zeros, infinities, NaN and negative
  // bases spelled out (lavapipe's pow(0, -1) is 0, not Inf). Infinities are tested on the
  // bits, since WGSL lets a compiler assume they never occur.
  pow_f32: `fn pow_f32(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return f32_bits(0x7fc00000u); }
  let m = abs(a);
  let a_inf = (bitcast<u32>(a) & 0x7fffffffu) == 0x7f800000u;
  let b_inf = (bitcast<u32>(b) & 0x7fffffffu) == 0x7f800000u;
  let whole = !b_inf && floor(b) == b;
  // a finite negative base needs an integral exponent (an infinite one goes by |a|)
  if (a < 0.0 && !a_inf && !b_inf && !whole) { return f32_bits(0x7fc00000u); }
  var r: f32;
  if (b_inf) {
    if (m == 1.0) { return f32_bits(0x7fc00000u); }
    r = select(0.0, f32_bits(0x7f800000u), (m > 1.0) == (b > 0.0));
  } else if (m == 0.0 || a_inf) {
    r = select(0.0, f32_bits(0x7f800000u), (m == 0.0) == (b < 0.0));
  } else {
    r = pow(m, b);
  }
  // the sign of a negative base (-0 and -Inf included) survives an odd integral exponent
  let odd = whole && abs(b) < 16777216.0 && (i32(abs(b)) & 1) == 1;
  return select(r, -r, odd && (bitcast<u32>(a) & 0x80000000u) != 0u);
}`,
};

export const unaryWgsl: { [P in UnaryPrim]: (x: string, t: T) => string } = {
  [Prim.Neg]: (x) => `-${x}`,
  [Prim.Exp]: (x) => `exp(${x})`,
  [Prim.Log]: (x) => `log(${x})`,
  [Prim.Log1p]: (x) => `log1p_f32(${x})`,
  [Prim.Sqrt]: (x) => `sqrt(${x})`,
  [Prim.Abs]: (x) => `abs(${x})`,
  [Prim.Sign]: (x, t) => (t === 'f32' ? `select(sign(${x}), ${x}, is_nan(${x}))` : `sign(${x})`), // sign(NaN) is 0 on lavapipe
  [Prim.Floor]: (x) => `floor(${x})`,
  // NaN stays NaN (tested on the bits): a NaN input must not train as 0
  [Prim.Relu]: (x, t) => (t === 'f32' ? `select(0.0, ${x}, ${x} > 0.0 || is_nan(${x}))` : `select(${lit(0, t)}, ${x}, ${x} > ${lit(0, t)})`),
  [Prim.Sigmoid]: (x) => `1.0 / (1.0 + exp(-${x}))`,
  [Prim.Tanh]: (x) => `tanh_f32(${x})`,
  [Prim.Reciprocal]: (x) => `1.0 / ${x}`,
  [Prim.Sin]: (x) => `sin(${x})`,
  [Prim.Cos]: (x) => `cos(${x})`,
};

export const binaryWgsl: { [P in BinaryPrim]: (a: string, b: string, t: T) => string } = {
  [Prim.Add]: (a, b) => `${a} + ${b}`,
  [Prim.Sub]: (a, b) => `${a} - ${b}`,
  [Prim.Mul]: (a, b) => `${a} * ${b}`,
  [Prim.Div]: (a, b) => `${a} / ${b}`,
  [Prim.Pow]: (a, b) => `pow_f32(${a}, ${b})`,
  // NaN in either operand wins (a's first), as in the CPU oracle
  [Prim.Maximum]: (a, b, t) => (t === 'f32' ? `select(${b}, ${a}, is_nan(${a}) || (!is_nan(${b}) && ${a} >= ${b}))` : `max(${a}, ${b})`),
  [Prim.Minimum]: (a, b, t) => (t === 'f32' ? `select(${b}, ${a}, is_nan(${a}) || (!is_nan(${b}) && ${a} <= ${b}))` : `min(${a}, ${b})`),
};

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

function usedHelpers(body: string): string {
  return Object.entries(HELPERS)
    .filter(([name]) => body.includes(`${name}(`))
    .map(([, code]) => code)
    .join('\n');
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
