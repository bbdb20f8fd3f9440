// Scalar definitions of the elementwise primitives on the host: the records' functions
// (elementwise/unary.ts, binary.ts), gathered by primitive, and the comparisons.
// Comparisons with NaN are false except 'ne' (IEEE). test/core/nonfinite.test.ts.

import { BINARY } from '../elementwise/binary.js';
import { UNARY } from '../elementwise/unary.js';
import { tableOf } from '../elementwise/record.js';
import { BINARY_PRIMS, UNARY_PRIMS, type UnaryPrim, type BinaryPrim, type CompareOp } from '../prims.js';

export const unaryFns: { [P in UnaryPrim]: (x: number) => number } = tableOf(UNARY_PRIMS, (p) => UNARY[p].f);

export const binaryFns: { [P in BinaryPrim]: (a: number, b: number) => number } = tableOf(BINARY_PRIMS, (p) => BINARY[p].f);

export const compareFns: { [O in CompareOp]: (a: number, b: number) => boolean } = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
};
