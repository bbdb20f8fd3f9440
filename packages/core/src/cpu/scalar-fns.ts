// Scalar definitions of the elementwise primitives, shared by the CPU oracle and the fast
// CPU backend (one definition of each function's math on the host).
// Non-finite values follow IEEE 754 / JS arithmetic: NaN in gives NaN out (relu, maximum
// and minimum included: a NaN is never "lost" to a comparison), ±Inf behave as limits
// (relu(-Inf) = 0, exp(-Inf) = 0, 1/±0 = ±Inf), and comparisons with NaN are false except
// 'ne'. pow is JS Math.pow (pow(NaN, 0) = 1, pow(±1, ±Inf) = NaN). test/core/nonfinite.test.ts.

import { Prim, type UnaryPrim, type BinaryPrim, type CompareOp } from '../prims.js';

export const unaryFns: { [P in UnaryPrim]: (x: number) => number } = {
  [Prim.Neg]: (x) => -x,
  [Prim.Exp]: Math.exp,
  [Prim.Log]: Math.log,
  [Prim.Log1p]: Math.log1p,
  [Prim.Sqrt]: Math.sqrt,
  [Prim.Abs]: Math.abs,
  [Prim.Sign]: (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  [Prim.Floor]: Math.floor,
  [Prim.Relu]: (x) => (x > 0 || x !== x ? x : 0), // NaN stays NaN: a NaN input must not train as 0
  [Prim.Sigmoid]: (x) => 1 / (1 + Math.exp(-x)),
  [Prim.Tanh]: Math.tanh,
  [Prim.Reciprocal]: (x) => 1 / x,
  [Prim.Sin]: Math.sin,
  [Prim.Cos]: Math.cos,
};

export const binaryFns: { [P in BinaryPrim]: (a: number, b: number) => number } = {
  [Prim.Add]: (a, b) => a + b,
  [Prim.Sub]: (a, b) => a - b,
  [Prim.Mul]: (a, b) => a * b,
  [Prim.Div]: (a, b) => a / b,
  [Prim.Pow]: Math.pow,
  [Prim.Maximum]: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  [Prim.Minimum]: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
};

export const compareFns: { [O in CompareOp]: (a: number, b: number) => boolean } = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
};
