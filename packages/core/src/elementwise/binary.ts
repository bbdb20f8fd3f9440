// The binary elementwise primitives (NumPy broadcasting), one record each (record.ts says
// what a record holds and what is derived from it).
//
// Non-finite values follow IEEE 754 / JS arithmetic: NaN in either operand gives NaN
// (maximum and minimum included: a NaN is never "lost" to a comparison; a's NaN first), and
// pow is JS Math.pow (pow(NaN, 0) = 1, pow(±1, ±Inf) = NaN). reluGrad is a selection, not
// arithmetic: where(greater(b, 0), a, 0) exactly (b NaN → 0; a NaN where b > 0 → NaN).
// test/core/nonfinite.test.ts.

import { Prim, type BinaryPrim } from '../prims.js';
import { FLOAT, NUMERIC, SIGNED, pick, zeroOf, type BinaryRecord } from './record.js';

/**
 * pow with JS Math.pow's semantics (the oracle's): the builtin only on a finite positive
 * base and a finite exponent, where WGSL defines it; zeros, infinities, NaN and negative
 * bases spelled out (lavapipe's pow(0, -1) is 0, not Inf). Infinities are tested on the
 * bits, since WGSL lets a compiler assume they never occur.
 */
const POW_F32 = `fn pow_f32(a: f32, b: f32) -> f32 {
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
}`;

const U = (lo: number, hi: number) => ({ lo, hi });
/** Kernel test operands: b kept off zero so that div's results stay finite. */
const VALUES = { a: U(-1, 1), b: U(0.5, 3) };
const GRAD = { a: U(-1, 1), b: U(-1, 1) };

export const BINARY: { readonly [P in BinaryPrim]: BinaryRecord } = {
  [Prim.Add]: {
    dtypes: NUMERIC,
    f: (a, b) => a + b,
    wgsl: (a, b) => `${a} + ${b}`,
    // d(a + b) = (dy, dy)
    vjp: { saves: 'none', rule: (dy, _v, n) => [n[0] ? dy : null, n[1] ? dy : null] },
    test: { ...VALUES, grad: GRAD },
  },
  [Prim.Sub]: {
    dtypes: NUMERIC,
    f: (a, b) => a - b,
    wgsl: (a, b) => `${a} - ${b}`,
    // d(a - b) = (dy, -dy)
    vjp: { saves: 'none', rule: (dy, _v, n, op) => [n[0] ? dy : null, n[1] ? op.neg(dy) : null] },
    test: { ...VALUES, grad: GRAD },
  },
  [Prim.Mul]: {
    dtypes: NUMERIC,
    f: (a, b) => a * b,
    wgsl: (a, b) => `${a} * ${b}`,
    // d(a b) = (b dy, a dy)
    vjp: { saves: 'x', rule: (dy, { a, b }, n, op) => [n[0] ? op.mul(dy, b) : null, n[1] ? op.mul(dy, a) : null] },
    test: { ...VALUES, grad: GRAD },
  },
  [Prim.Div]: {
    dtypes: NUMERIC,
    f: (a, b) => a / b, // x/±0 = ±Inf by the signs, 0/0 = NaN (integers: truncated on store)
    wgsl: (a, b) => `${a} / ${b}`,
    // d(a / b) = (dy / b, -dy a / b²)
    vjp: {
      saves: 'x',
      rule: (dy, { a, b }, n, op) => [n[0] ? op.div(dy, b) : null, n[1] ? op.neg(op.div(op.mul(dy, a), op.mul(b, b))) : null],
    },
    test: { ...VALUES, grad: { a: U(-1, 1), b: { lo: 0.5, hi: 2, avoid: 'zero' } } },
  },
  [Prim.Pow]: {
    dtypes: FLOAT,
    // Math.pow; x·x for the square is the same number (V8's pow(x, 2)) without the call
    f: (a, b) => (b === 2 ? a * a : Math.pow(a, b)),
    wgsl: (a, b) => `pow_f32(${a}, ${b})`,
    wgslHelpers: { pow_f32: POW_F32 },
    // d(a^b) = (b a^(b-1) dy, a^b log(a) dy); the b-cotangent is taken as 0 where a <= 0
    vjp: {
      saves: 'xy',
      rule: (dy, { a, b, y }, n, op) => [
        n[0] ? op.mul(dy, op.mul(b, op.pow(a, op.sub(b, 1)))) : null,
        n[1] ? op.mul(dy, op.where(op.greater(a, 0), op.mul(y, op.log(op.abs(a))), 0)) : null,
      ],
    },
    test: { a: U(0.1, 4), b: U(-3, 3), grad: { a: U(0.4, 2), b: U(-2, 2) } },
  },
  [Prim.Maximum]: {
    dtypes: NUMERIC,
    // a >= b or a is NaN ? a : b (a NaN b falls through to b)
    f: (a, b) => pick(+(a >= b) | +(a !== a), a, b),
    // NaN in either operand wins (a's first), as in the CPU oracle
    wgsl: (a, b, t) => (t === 'f32' ? `select(${b}, ${a}, is_nan(${a}) || (!is_nan(${b}) && ${a} >= ${b}))` : `max(${a}, ${b})`),
    // d max(a, b) = ([a >= b] dy, [a < b] dy)
    vjp: {
      saves: 'x',
      rule: (dy, { a, b }, n, op) => {
        const aWins = op.greaterEqual(a, b);
        return [n[0] ? op.where(aWins, dy, 0) : null, n[1] ? op.where(aWins, 0, dy) : null];
      },
    },
    test: { ...VALUES, grad: GRAD },
  },
  [Prim.Minimum]: {
    dtypes: NUMERIC,
    // a <= b or a is NaN ? a : b
    f: (a, b) => pick(+(a <= b) | +(a !== a), a, b),
    wgsl: (a, b, t) => (t === 'f32' ? `select(${b}, ${a}, is_nan(${a}) || (!is_nan(${b}) && ${a} <= ${b}))` : `min(${a}, ${b})`),
    // d min(a, b) = ([a <= b] dy, [a > b] dy)
    vjp: {
      saves: 'x',
      rule: (dy, { a, b }, n, op) => {
        const aWins = op.lessEqual(a, b);
        return [n[0] ? op.where(aWins, dy, 0) : null, n[1] ? op.where(aWins, 0, dy) : null];
      },
    },
    test: { ...VALUES, grad: GRAD },
  },
  [Prim.ReluGrad]: {
    dtypes: SIGNED,
    // where(greater(b, 0), a, 0) in one pass: a comparison with NaN is false, so b NaN gives 0
    f: (a, b) => pick(+(b > 0), a, 0),
    // NaN tested on the bits: WGSL may fold NaN > 0 either way
    wgsl: (a, b, t) => (t === 'f32' ? `select(0.0, ${a}, ${b} > 0.0 && !is_nan(${b}))` : `select(${zeroOf(t)}, ${a}, ${b} > ${zeroOf(t)})`),
    // linear in a under b's mask, piecewise constant in b: d reluGrad(a, b) = (reluGrad(dy, b), 0)
    vjp: { saves: 'x', rule: (dy, { b }, n, op) => [n[0] ? op.reluGrad(dy, b) : null, null] },
    // b off zero for the central differences (its kink)
    test: { a: U(-1, 1), b: U(-1, 1), grad: { a: U(-1, 1), b: { lo: 0.2, hi: 1.5, avoid: 'zero' } } },
  },
};

