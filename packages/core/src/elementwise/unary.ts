// The unary elementwise primitives, one record each (record.ts says what a record holds and
// what is derived from it). Adding one: a member in the Prim enum and the UnaryPrim union
// (prims.ts), its record here, its public op (ops.ts) and its non-finite expectation
// (test/helpers/nonfinite-cases.ts, written by hand: it is the independent reference).
//
// Non-finite values follow IEEE 754 / JS arithmetic: NaN in gives NaN out (relu included: a
// NaN is never "lost" to a comparison), ±Inf behave as limits (relu(-Inf) = 0,
// exp(-Inf) = 0, 1/±0 = ±Inf). test/core/nonfinite.test.ts, test/kernels/nonfinite.test.ts.

import { Prim, type UnaryPrim } from '../prims.js';
import { FLOAT, SIGNED, pick, zeroOf, type UnaryRecord } from './record.js';

/**
 * log1p in f32: 2·atanh(s), s = x / (2 + x), by its series where |s| <= 1/3; log(1 + x) only
 * outside [-0.5, 1], where 1 + x loses nothing that matters. (Kahan's log(u)·x/(u - 1) is
 * folded to log(u) by compilers that reassociate, lavapipe among them.)
 */
const LOG1P_F32 = `fn log1p_f32(x: f32) -> f32 {
  if (x < -0.5 || x > 1.0) { return log(1.0 + x); }
  let s = x / (2.0 + x);
  let s2 = s * s;
  let p = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0 + s2 * (1.0 / 17.0))))))));
  return 2.0 * s * p;
}`;

/**
 * tanh in f32: Taylor series below |x| = 0.4 (1 - e cancels there), else through
 * exp(-2|x|), which cannot overflow (the builtin returns NaN for large |x| on some drivers).
 */
const TANH_F32 = `fn tanh_f32(x: f32) -> f32 {
  let a = abs(x);
  if (a < 0.4) {
    let x2 = x * x;
    return x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0 + x2 * (62.0 / 2835.0 + x2 * (-1382.0 / 155925.0 + x2 * (21844.0 / 6081075.0)))))));
  }
  let e = exp(-2.0 * a);
  return sign(x) * (1.0 - e) / (1.0 + e);
}`;

/**
 * softplus in f32, the stable form max(x, 0) + log1p(exp(-|x|)) (exp never overflows);
 * NaN and +Inf are their own softplus, tested on the bits (WGSL may assume neither occurs).
 */
const SOFTPLUS_F32 = `fn softplus_f32(x: f32) -> f32 {
  if (is_nan(x) || bitcast<u32>(x) == 0x7f800000u) { return x; }
  return max(x, 0.0) + log1p_f32(exp(-abs(x)));
}`;

const U = (lo: number, hi: number) => ({ lo, hi });
const AWAY = (lo: number, hi: number) => ({ lo, hi, avoid: 'zero' as const });
const WIDE = U(-6, 6);

export const UNARY: { readonly [P in UnaryPrim]: UnaryRecord } = {
  [Prim.Neg]: {
    dtypes: SIGNED,
    f: (x) => -x,
    wgsl: (x) => `-${x}`,
    // d(-x) = -dy
    vjp: { saves: 'none', rule: (dy, op) => op.neg(dy) },
    test: { values: WIDE, grad: U(-1, 1) },
  },
  [Prim.Exp]: {
    dtypes: FLOAT,
    f: (x) => Math.exp(x), // exp(-Inf) = 0, exp(Inf) = Inf
    wgsl: (x) => `exp(${x})`,
    // d exp = y dy
    vjp: { saves: 'y', rule: (dy, y, op) => op.mul(dy, y) },
    test: { values: U(-20, 20), grad: U(-1, 1) },
  },
  [Prim.Log]: {
    dtypes: FLOAT,
    f: (x) => Math.log(x), // log(±0) = -Inf, log(x < 0) = NaN
    wgsl: (x) => `log(${x})`,
    // d log = dy / x
    vjp: { saves: 'x', rule: (dy, x, op) => op.div(dy, x) },
    test: { values: U(0.01, 50), grad: U(0.3, 3) },
  },
  [Prim.Log1p]: {
    dtypes: FLOAT,
    f: (x) => Math.log1p(x),
    wgsl: (x) => `log1p_f32(${x})`,
    wgslHelpers: { log1p_f32: LOG1P_F32 },
    // d log1p = dy / (1 + x)
    vjp: { saves: 'x', rule: (dy, x, op) => op.div(dy, op.add(x, 1)) },
    test: { values: U(-0.9, 20), grad: U(-0.6, 3) },
  },
  [Prim.Sqrt]: {
    dtypes: FLOAT,
    f: (x) => Math.sqrt(x),
    wgsl: (x) => `sqrt(${x})`,
    // d sqrt = dy / (2 y)
    vjp: { saves: 'y', rule: (dy, y, op) => op.div(dy, op.mul(y, 2)) },
    test: { values: U(0, 50), grad: U(0.3, 3) },
  },
  [Prim.Abs]: {
    dtypes: SIGNED,
    f: (x) => Math.abs(x),
    wgsl: (x) => `abs(${x})`,
    // d |x| = sign(x) dy
    vjp: { saves: 'x', rule: (dy, x, op) => op.mul(dy, op.sign(x)) },
    test: { values: WIDE, grad: AWAY(0.2, 1.5) },
  },
  [Prim.Sign]: {
    dtypes: SIGNED,
    // 1, -1, or x itself (±0 and NaN)
    f: (x) => pick(+(x > 0) | +(x < 0), +(x > 0) - +(x < 0), x),
    wgsl: (x, t) => (t === 'f32' ? `select(sign(${x}), ${x}, is_nan(${x}))` : `sign(${x})`), // sign(NaN) is 0 on lavapipe
    vjp: null, // piecewise constant
    test: { values: WIDE, grad: AWAY(0.2, 1.5) },
  },
  [Prim.Floor]: {
    dtypes: FLOAT,
    f: (x) => Math.floor(x),
    wgsl: (x) => `floor(${x})`,
    vjp: null, // piecewise constant
    test: { values: WIDE, grad: { lo: -4, hi: 4, avoid: 'integers' } },
  },
  [Prim.Relu]: {
    dtypes: SIGNED,
    // x > 0 or NaN ? x : 0: a NaN input must not train as 0
    f: (x) => pick(+(x > 0) | +(x !== x), x, 0),
    // NaN stays NaN (tested on the bits)
    wgsl: (x, t) => (t === 'f32' ? `select(0.0, ${x}, ${x} > 0.0 || is_nan(${x}))` : `select(${zeroOf(t)}, ${x}, ${x} > ${zeroOf(t)})`),
    // d relu = [x > 0] dy (one reluGrad kernel rather than compare then where)
    vjp: { saves: 'x', rule: (dy, x, op) => op.reluGrad(dy, x) },
    test: { values: WIDE, grad: AWAY(0.2, 1.5) },
  },
  [Prim.Sigmoid]: {
    dtypes: FLOAT,
    f: (x) => 1 / (1 + Math.exp(-x)), // sigmoid(Inf) = 1, sigmoid(-Inf) = 0
    wgsl: (x) => `1.0 / (1.0 + exp(-${x}))`,
    // d sigmoid = y (1 - y) dy
    vjp: { saves: 'y', rule: (dy, y, op) => op.mul(dy, op.mul(y, op.sub(1, y))) },
    test: { values: WIDE, grad: U(-3, 3) },
  },
  [Prim.Tanh]: {
    dtypes: FLOAT,
    f: (x) => Math.tanh(x),
    wgsl: (x) => `tanh_f32(${x})`,
    wgslHelpers: { tanh_f32: TANH_F32 },
    // d tanh = (1 - y²) dy
    vjp: { saves: 'y', rule: (dy, y, op) => op.mul(dy, op.sub(1, op.mul(y, y))) },
    test: { values: WIDE, grad: U(-2, 2) },
  },
  [Prim.Reciprocal]: {
    dtypes: FLOAT,
    f: (x) => 1 / x, // 1/±0 = ±Inf
    wgsl: (x) => `1.0 / ${x}`,
    // d (1/x) = -y² dy
    vjp: { saves: 'y', rule: (dy, y, op) => op.neg(op.mul(dy, op.mul(y, y))) },
    test: { values: U(0.05, 9), grad: AWAY(0.4, 2) },
  },
  [Prim.Sin]: {
    dtypes: FLOAT,
    f: (x) => Math.sin(x),
    wgsl: (x) => `sin(${x})`,
    // d sin = cos(x) dy
    vjp: { saves: 'x', rule: (dy, x, op) => op.mul(dy, op.cos(x)) },
    test: { values: WIDE, grad: U(-3, 3) },
  },
  [Prim.Cos]: {
    dtypes: FLOAT,
    f: (x) => Math.cos(x),
    wgsl: (x) => `cos(${x})`,
    // d cos = -sin(x) dy
    vjp: { saves: 'x', rule: (dy, x, op) => op.neg(op.mul(dy, op.sin(x))) },
    test: { values: WIDE, grad: U(-3, 3) },
  },
  [Prim.Softplus]: {
    dtypes: FLOAT,
    // log(1 + e^x) in the stable form: softplus(-Inf) = 0, softplus(Inf) = Inf, NaN stays NaN
    f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
    wgsl: (x) => `softplus_f32(${x})`,
    wgslHelpers: { softplus_f32: SOFTPLUS_F32, log1p_f32: LOG1P_F32 },
    // d softplus = sigmoid(x) dy
    vjp: { saves: 'x', rule: (dy, x, op) => op.mul(dy, op.sigmoid(x)) },
    test: { values: WIDE, grad: U(-3, 3) },
  },
};

