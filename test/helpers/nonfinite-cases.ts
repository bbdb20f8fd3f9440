// NaN, ±Inf and ±0 through every primitive: the IEEE expectation per primitive, stated once
// and shared by the CPU suite (oracle against the expectation, fast backend against the
// oracle: test/core/nonfinite.test.ts) and the WebGPU suite (test/kernels/nonfinite.test.ts).
// The table is a mapped type over the Prim enum, so a primitive without cases does not compile.
//
// Expectations are hand-written from IEEE 754 arithmetic (and, for pow, from JS Math.pow),
// element by element: NaN means NaN, infinities must match with their sign, finite values
// match within a relative tolerance (f32 storage, transcendental functions). The sign of a
// zero is not part of the contract. The choices that are not arithmetic (numpy's max/argmax
// rule, logsumexp's non-finite shift, padding products in the conv family, saturating
// casts) are stated in cpu/reference.ts's header and in each `rule` below.

import { type DType } from '@alphadrop/core';
import { Prim, type BinaryPrim, type PrimParams, type UnaryPrim } from '@alphadrop/core/backend';

export interface CaseInput {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly values: readonly number[];
}

/** Expected output values, or a check returning a description of the first violation (null: fine). */
export type Expectation = readonly number[] | ((out: ArrayLike<number>, inputs: readonly CaseInput[]) => string | null);

export interface NonfiniteCase<P extends Prim> {
  readonly label: string;
  readonly inputs: readonly CaseInput[];
  readonly params: PrimParams[P];
  readonly expected: Expectation;
}

export interface PrimNonfinite<P extends Prim> {
  /** The IEEE expectation in words. */
  readonly rule: string;
  readonly cases: readonly NonfiniteCase<P>[];
}

export type NonfiniteTable = { readonly [P in Prim]: PrimNonfinite<P> };

const f32 = (shape: readonly number[], values: readonly number[]): CaseInput => ({ shape, dtype: 'f32', values });
const i32 = (shape: readonly number[], values: readonly number[]): CaseInput => ({ shape, dtype: 'i32', values });
const bool = (shape: readonly number[], values: readonly number[]): CaseInput => ({ shape, dtype: 'bool', values });

const inf = Infinity;
const nan = NaN;

/**
 * `v` is the IEEE result `want`: both NaN, the same infinity, or finite and within `rtol`
 * (relative, with `atol` absolute slack near zero). Signs of zeros are not compared.
 */
export function sameValue(v: number, want: number, rtol: number, atol = 0): boolean {
  if (Number.isNaN(want)) return Number.isNaN(v);
  if (!Number.isFinite(want)) return v === want;
  return Number.isFinite(v) && Math.abs(v - want) <= atol + rtol * Math.abs(want);
}

/** The first element where `got` is not `want` (sameValue), described; null when none. */
export function firstDifference(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol = 0): string | null {
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < want.length; i++)
    if (!sameValue(got[i]!, want[i]!, rtol, atol)) return `element ${i}: got ${got[i]}, expected ${want[i]}`;
  return null;
}

/** Null when `out` meets the case's expectation (values within `rtol`, or its check), else the first violation. */
export function meetsExpectation<P extends Prim>(out: ArrayLike<number>, c: NonfiniteCase<P>, rtol: number, atol = 0): string | null {
  return typeof c.expected === 'function' ? c.expected(out, c.inputs) : firstDifference(out, c.expected, rtol, atol);
}

// ---------------------------------------------------------------- elementwise

/** Unary inputs: NaN, ±Inf, ±0, then ordinary values inside and outside the usual domains. */
const X = [nan, inf, -inf, 0, -0, 1.5, -2, 0.25, -1];
/** Elementwise primitives have no parameters (P is inferred from where the cases go). */
const NO_PARAMS: PrimParams[UnaryPrim | BinaryPrim] = {};
const unaryCase = <P extends UnaryPrim>(expected: readonly number[]): NonfiniteCase<P>[] => [
  { label: 'NaN, ±Inf, ±0, 1.5, -2, 0.25, -1', inputs: [f32([X.length], X)], params: NO_PARAMS, expected },
];
const sig = (x: number) => 1 / (1 + Math.exp(-x));
/** log(1 + eˣ) by the naive formula: fine at these moderate x, independent of the stable form under test. */
const sp = (x: number) => Math.log(1 + Math.exp(x));

function binaryCase<P extends BinaryPrim>(a: readonly number[], b: readonly number[], expected: readonly number[]): NonfiniteCase<P>[] {
  return [{ label: 'pairs of NaN, ±Inf, ±0 and ordinary values', inputs: [f32([a.length], a), f32([b.length], b)], params: NO_PARAMS, expected }];
}

/** Compare operands: NaN on either side, equal and unequal infinities, ±0, ordinary values. */
const CA = [nan, nan, 1, inf, -inf, inf, 0, 1.5, -2];
const CB = [nan, 1, nan, inf, inf, 1e30, -0, 1.5, 3];
const compareCase = (op: PrimParams[Prim.Compare]['op'], expected: readonly number[]): NonfiniteCase<Prim.Compare> => ({
  label: op,
  inputs: [f32([CA.length], CA), f32([CB.length], CB)],
  params: { op },
  expected,
});

// ---------------------------------------------------------------- reductions

/** [rows, 300] filled with `fill`, with `at` overrides: long rows take the GPU's workgroup reduction. */
function longRows(fill: readonly number[], at: readonly (readonly [row: number, col: number, v: number])[]): CaseInput {
  const n = 300;
  const v = fill.flatMap((f) => Array<number>(n).fill(f));
  for (const [r, c, x] of at) v[r * n + c] = x;
  return f32([fill.length, n], v);
}

// ---------------------------------------------------------------- the table

const pool2: PrimParams[Prim.MaxPool2d] = { kernel: [2, 2], stride: [2, 2], padding: [0, 0] };
const POOL_X = f32([1, 1, 4, 4], [1, 2, nan, 5, 3, nan, 1, 1, -inf, -inf, inf, 1, -inf, -inf, 2, 3]);
const conv1: PrimParams[Prim.Conv2d] = { stride: [1, 1], padding: [1, 1], dilation: [1, 1] };
const ONES9 = Array<number>(9).fill(1);
const INF_TAP = [inf, 1, 1, 1, 1, 1, 1, 1, 1];
const NAN_CENTRE = [1, 1, 1, 1, nan, 1, 1, 1, 1];
const hyper = { lr: 0.5, momentum: 0.5, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 1 };
/** Logits [M, K = 2, C = 3]: per point, sample 0 then sample 1. */
const logits = (...points: number[][]): CaseInput => f32([points.length, 2, 3], points.flat());
const zeros3 = [0, 0, 0];

export const NONFINITE: NonfiniteTable = {
  [Prim.Neg]: { rule: '-x; NaN stays NaN', cases: unaryCase([nan, -inf, inf, -0, 0, -1.5, 2, -0.25, 1]) },
  [Prim.Exp]: { rule: 'exp(-Inf) = 0, exp(Inf) = Inf', cases: unaryCase([nan, inf, 0, 1, 1, Math.exp(1.5), Math.exp(-2), Math.exp(0.25), Math.exp(-1)]) },
  [Prim.Log]: { rule: 'log(±0) = -Inf, log(x < 0) = NaN, log(Inf) = Inf', cases: unaryCase([nan, inf, nan, -inf, -inf, Math.log(1.5), nan, Math.log(0.25), nan]) },
  [Prim.Log1p]: { rule: 'log1p(-1) = -Inf, log1p(x < -1) = NaN, log1p(Inf) = Inf', cases: unaryCase([nan, inf, nan, 0, -0, Math.log(2.5), nan, Math.log(1.25), -inf]) },
  [Prim.Sqrt]: { rule: 'sqrt(x < 0) = NaN (also -Inf), sqrt(Inf) = Inf', cases: unaryCase([nan, inf, nan, 0, -0, Math.sqrt(1.5), nan, 0.5, nan]) },
  [Prim.Abs]: { rule: '|±Inf| = Inf, |NaN| = NaN', cases: unaryCase([nan, inf, inf, 0, 0, 1.5, 2, 0.25, 1]) },
  [Prim.Sign]: { rule: 'sign(NaN) = NaN, sign(±Inf) = ±1, sign(±0) = ±0', cases: unaryCase([nan, 1, -1, 0, -0, 1, -1, 1, -1]) },
  [Prim.Floor]: { rule: 'floor keeps NaN and ±Inf', cases: unaryCase([nan, inf, -inf, 0, -0, 1, -2, 0, -1]) },
  [Prim.Relu]: { rule: 'relu(NaN) = NaN (never 0), relu(-Inf) = 0, relu(Inf) = Inf', cases: unaryCase([nan, inf, 0, 0, 0, 1.5, 0, 0.25, 0]) },
  [Prim.Sigmoid]: { rule: 'sigmoid(Inf) = 1, sigmoid(-Inf) = 0', cases: unaryCase([nan, 1, 0, 0.5, 0.5, sig(1.5), sig(-2), sig(0.25), sig(-1)]) },
  [Prim.Tanh]: { rule: 'tanh(±Inf) = ±1', cases: unaryCase([nan, 1, -1, 0, -0, Math.tanh(1.5), Math.tanh(-2), Math.tanh(0.25), Math.tanh(-1)]) },
  [Prim.Reciprocal]: { rule: '1/±0 = ±Inf, 1/±Inf = ±0', cases: unaryCase([nan, 0, -0, inf, -inf, 1 / 1.5, -0.5, 4, -1]) },
  [Prim.Sin]: { rule: 'sin(±Inf) = NaN', cases: unaryCase([nan, nan, nan, 0, -0, Math.sin(1.5), Math.sin(-2), Math.sin(0.25), Math.sin(-1)]) },
  [Prim.Cos]: { rule: 'cos(±Inf) = NaN', cases: unaryCase([nan, nan, nan, 1, 1, Math.cos(1.5), Math.cos(-2), Math.cos(0.25), Math.cos(-1)]) },
  [Prim.Softplus]: { rule: 'softplus(-Inf) = 0, softplus(Inf) = Inf (no overflow on the way)', cases: unaryCase([nan, inf, 0, Math.LN2, Math.LN2, sp(1.5), sp(-2), sp(0.25), sp(-1)]) },
  [Prim.Add]: {
    rule: 'NaN + x = NaN, Inf + -Inf = NaN, Inf + x = Inf',
    cases: binaryCase([nan, 1, inf, inf, -inf, inf, 0, -0, 1.5], [1, nan, -inf, 1, 1, inf, -0, -0, -2], [nan, nan, nan, inf, -inf, inf, 0, -0, -0.5]),
  },
  [Prim.Sub]: {
    rule: 'Inf - Inf = NaN, Inf - -Inf = Inf',
    cases: binaryCase([nan, 1, inf, inf, -inf, inf, 1.5], [1, nan, inf, -inf, inf, 1, -2], [nan, nan, nan, inf, -inf, inf, 3.5]),
  },
  [Prim.Mul]: {
    rule: '0 · ±Inf = NaN, Inf · -2 = -Inf',
    cases: binaryCase([nan, 1, inf, 0, -inf, inf, -0, 1.5], [1, nan, 0, -inf, -2, inf, 2, -2], [nan, nan, nan, nan, inf, inf, -0, -3]),
  },
  [Prim.Div]: {
    rule: 'x/±0 = ±Inf by the signs, 0/0 = NaN, Inf/Inf = NaN, x/Inf = 0',
    cases: binaryCase([nan, 1, 1, -1, 0, inf, inf, 1.5, 1], [1, nan, 0, 0, 0, inf, -2, inf, -0], [nan, nan, inf, -inf, nan, nan, -inf, 0, -inf]),
  },
  [Prim.Pow]: {
    rule: 'JS Math.pow: pow(x, ±0) = 1 even for NaN; NaN otherwise propagates; pow(±1, ±Inf) = NaN; a negative base needs an integral exponent (-Inf and -0 bases follow the odd/even rule)',
    cases: binaryCase(
      [nan, nan, 1, 2, 0, 0, -0, inf, inf, -inf, -inf, -inf, 0.5, 2, 1, -2, -2, -8, -0, -inf],
      [0, 1, nan, inf, -1, 2, -1, -1, 0.5, 3, 2, 0.5, -inf, -inf, inf, 0.5, 3, inf, -0.5, -3],
      [1, nan, nan, inf, inf, 0, -inf, 0, inf, -inf, inf, inf, inf, 0, nan, nan, -8, inf, inf, -0],
    ),
  },
  [Prim.Maximum]: {
    rule: 'NaN if either operand is NaN (numpy.maximum, Math.max)',
    cases: binaryCase([nan, 1, nan, inf, -inf, -inf, 1.5, 0], [1, nan, nan, -inf, 1, -inf, -2, -0], [nan, nan, nan, inf, 1, -inf, 1.5, 0]),
  },
  [Prim.Minimum]: {
    rule: 'NaN if either operand is NaN (numpy.minimum, Math.min)',
    cases: binaryCase([nan, 1, nan, inf, -inf, -inf, 1.5, 0], [1, nan, nan, -inf, 1, -inf, -2, -0], [nan, nan, nan, -inf, -inf, -inf, -2, 0]),
  },
  [Prim.ReluGrad]: {
    rule: 'where(greater(b, 0), a, 0): b NaN, ±0 or negative gives 0 (a NaN there does not leak); b > 0 (+Inf included) passes a as it is',
    cases: binaryCase([nan, 1, nan, 2, inf, -inf, 3, 1.5, -2, 4], [1, nan, -1, -inf, 1, 2, 0, -0, 0.5, inf], [nan, 0, 0, 0, inf, -inf, 0, 0, -2, 4]),
  },
  [Prim.Compare]: {
    rule: 'every comparison with a NaN is false except ne; Inf == Inf; 0 == -0',
    cases: [
      compareCase('eq', [0, 0, 0, 1, 0, 0, 1, 1, 0]),
      compareCase('ne', [1, 1, 1, 0, 1, 1, 0, 0, 1]),
      compareCase('lt', [0, 0, 0, 0, 1, 0, 0, 0, 1]),
      compareCase('le', [0, 0, 0, 1, 1, 0, 1, 1, 1]),
      compareCase('gt', [0, 0, 0, 0, 0, 1, 0, 0, 0]),
      compareCase('ge', [0, 0, 0, 1, 0, 1, 1, 1, 0]),
    ],
  },
  [Prim.Where]: {
    rule: 'a selection: the chosen value as it is (NaN, ±Inf), the other one never leaks',
    cases: [{
      label: 'NaN and ±Inf on both sides',
      inputs: [bool([6], [1, 0, 1, 0, 1, 0]), f32([6], [nan, nan, inf, -inf, 1, 2]), f32([6], [1, 2, nan, 0, -inf, inf])],
      params: {},
      expected: [nan, 2, inf, 0, 1, inf],
    }],
  },
  [Prim.Sum]: {
    rule: 'IEEE sums: a NaN or Inf + -Inf gives NaN, otherwise an Inf gives that Inf',
    cases: [
      { label: 'rows', inputs: [f32([4, 4], [1, nan, 2, 3, inf, 1, 2, 3, inf, -inf, 1, 1, -inf, -inf, 0, -0])], params: { axes: [1], keepDims: false }, expected: [nan, inf, nan, -inf] },
      { label: 'columns', inputs: [f32([4, 4], [1, nan, 2, 3, inf, 1, 2, 3, inf, -inf, 1, 1, -inf, -inf, 0, -0])], params: { axes: [0], keepDims: false }, expected: [nan, nan, 5, 7] },
      { label: 'all', inputs: [f32([2, 2], [1, inf, -inf, 2])], params: { axes: [0, 1], keepDims: false }, expected: [nan] },
      { label: 'long rows', inputs: [longRows([1, 1, 1], [[0, 257, nan], [1, 299, inf], [2, 10, inf], [2, 290, -inf]])], params: { axes: [1], keepDims: false }, expected: [nan, inf, nan] },
    ],
  },
  [Prim.Max]: {
    rule: "numpy's rule: a NaN anywhere makes the maximum NaN; all -Inf gives -Inf",
    cases: [
      { label: 'rows', inputs: [f32([5, 3], [1, nan, 3, nan, 5, 1, -inf, -inf, -inf, inf, 1, nan, 1, inf, 2])], params: { axes: [1], keepDims: false }, expected: [nan, nan, -inf, nan, inf] },
      { label: 'columns', inputs: [f32([3, 2], [-inf, 1, -inf, inf, -inf, nan])], params: { axes: [0], keepDims: true }, expected: [-inf, nan] },
      { label: 'long rows', inputs: [longRows([0, -inf, 0], [[0, 257, nan], [2, 299, inf]])], params: { axes: [1], keepDims: false }, expected: [nan, -inf, inf] },
    ],
  },
  [Prim.Argmax]: {
    rule: "numpy's rule: the index of the first NaN if there is one, else of the first maximum (all -Inf: 0)",
    cases: [
      {
        label: 'rows',
        inputs: [f32([6, 4], [1, nan, 3, nan, nan, 5, nan, 1, -inf, -inf, -inf, -inf, 1, inf, inf, 2, -inf, -1, -inf, -1, 3, 2, 1, nan])],
        params: { axis: 1, keepDims: false },
        expected: [1, 0, 0, 1, 1, 3],
      },
      { label: 'columns', inputs: [f32([3, 3], [1, -inf, nan, nan, -inf, 2, nan, -inf, inf])], params: { axis: 0, keepDims: false }, expected: [1, 0, 0] },
      { label: 'long rows', inputs: [longRows([0, -inf], [[0, 5, 1e30], [0, 257, nan], [0, 280, nan]])], params: { axis: 1, keepDims: false }, expected: [257, 0] },
    ],
  },
  [Prim.Matmul]: {
    rule: 'IEEE dot products: NaN anywhere in a row/column reaches the output; Inf·0 = NaN; Inf + finite = Inf',
    cases: [
      {
        label: 'non-finite A',
        inputs: [f32([4, 3], [1, nan, 2, inf, 1, 0, -inf, -inf, 1, 1, 2, 3]), f32([3, 2], [1, 0, 2, -1, 1, 1])],
        params: { transA: false, transB: false },
        expected: [nan, nan, inf, nan, -inf, nan, 8, 1],
      },
      {
        label: 'non-finite B, transB, sizes off the tiles',
        inputs: [f32([3, 5], [1, 2, 3, 4, 5, 0.5, 1, 1.5, 2, 2.5, 1, 1, 1, 1, 1]), f32([3, 5], [1, 1, 1, 1, 1, inf, 1, 1, 1, 1, 1, 1, 1, 1, -inf])],
        params: { transA: false, transB: true },
        expected: [15, inf, -inf, 7.5, inf, -inf, 5, inf, -inf],
      },
      { label: 'transA', inputs: [f32([2, 2], [nan, 2, 1, 1]), f32([2, 2], [1, 2, 3, 4])], params: { transA: true, transB: false }, expected: [nan, nan, 5, 8] },
    ],
  },
  [Prim.Conv2d]: {
    rule: 'the dense sum over every tap, padding as zeros that multiply: NaN in x reaches every window; a non-finite tap meeting padding gives NaN (0·Inf)',
    cases: [
      { label: 'NaN in x', inputs: [f32([1, 1, 3, 3], NAN_CENTRE), f32([1, 1, 3, 3], ONES9)], params: conv1, expected: Array<number>(9).fill(nan) },
      { label: 'Inf tap over padding', inputs: [f32([1, 1, 3, 3], ONES9), f32([1, 1, 3, 3], INF_TAP)], params: conv1, expected: [nan, nan, nan, nan, inf, inf, nan, inf, inf] },
      {
        label: '-Inf channel times a zero weight',
        inputs: [f32([1, 2, 2, 2], [1, 2, 3, 4, -inf, 1, 1, 1]), f32([2, 2, 1, 1], [1, 1, 1, 0])],
        params: { stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
        expected: [-inf, 3, 4, 5, nan, 2, 3, 4],
      },
    ],
  },
  [Prim.Conv2dInputGrad]: {
    rule: 'the transposed convolution: every tap meets a dy value or a zero of the padding/stride holes, and both multiply (0·Inf = NaN)',
    cases: [
      { label: 'NaN in dy', inputs: [f32([1, 1, 3, 3], NAN_CENTRE), f32([1, 1, 3, 3], ONES9)], params: { ...conv1, inputShape: [1, 1, 3, 3] }, expected: Array<number>(9).fill(nan) },
      { label: 'Inf tap over padding', inputs: [f32([1, 1, 3, 3], ONES9), f32([1, 1, 3, 3], INF_TAP)], params: { ...conv1, inputShape: [1, 1, 3, 3] }, expected: [inf, inf, nan, inf, inf, nan, nan, nan, nan] },
      {
        label: 'Inf tap over stride holes (stride 2)',
        inputs: [f32([1, 1, 2, 2], [1, 1, 1, 1]), f32([1, 1, 2, 2], [inf, 1, 1, 1])],
        params: { stride: [2, 2], padding: [0, 0], dilation: [1, 1], inputShape: [1, 1, 4, 4] },
        expected: [inf, nan, inf, nan, nan, nan, nan, nan, inf, nan, inf, nan, nan, nan, nan, nan],
      },
      {
        label: '-Inf in dy (stride 2)',
        inputs: [f32([1, 1, 2, 2], [-inf, 1, 1, 1]), f32([1, 1, 2, 2], [1, 2, 3, 4])],
        params: { stride: [2, 2], padding: [0, 0], dilation: [1, 1], inputShape: [1, 1, 4, 4] },
        expected: [-inf, -inf, 1, 2, -inf, -inf, 3, 4, 1, 2, 1, 2, 3, 4, 3, 4],
      },
    ],
  },
  [Prim.Conv2dFilterGrad]: {
    rule: 'Σ over outputs of (x or a padding zero)·dy: an Inf in dy meeting padding gives NaN',
    cases: [
      { label: 'Inf in dy over padding', inputs: [f32([1, 1, 3, 3], ONES9), f32([1, 1, 3, 3], INF_TAP)], params: { ...conv1, filterShape: [1, 1, 3, 3] }, expected: [nan, nan, nan, nan, inf, inf, nan, inf, inf] },
      {
        label: 'NaN in x',
        inputs: [f32([1, 1, 3, 3], [nan, 1, 1, 1, 1, 1, 1, 1, 1]), f32([1, 1, 2, 2], [1, 1, 1, 1])],
        params: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], filterShape: [1, 1, 2, 2] },
        expected: [nan, 4, 4, 4],
      },
    ],
  },
  [Prim.MaxPool2d]: {
    rule: 'a window holding a NaN gives NaN (wherever it is); all -Inf gives -Inf',
    cases: [
      { label: 'NaN late, NaN first, all -Inf, Inf', inputs: [POOL_X], params: pool2, expected: [nan, nan, -inf, inf] },
      { label: 'padded windows', inputs: [f32([1, 1, 2, 2], [-inf, nan, -inf, -inf])], params: { kernel: [3, 3], stride: [1, 1], padding: [1, 1] }, expected: [nan, nan, nan, nan] },
    ],
  },
  [Prim.MaxPool2dGrad]: {
    rule: "dy goes to the window's first NaN, else its first maximum; dy's NaN/Inf are added as they are",
    cases: [
      { label: 'routed to the first NaN', inputs: [POOL_X, f32([1, 1, 2, 2], [1, 2, 3, nan])], params: pool2, expected: [0, 0, 2, 0, 0, 1, 0, 0, 3, 0, nan, 0, 0, 0, 0, 0] },
      {
        label: 'two windows on one NaN: Inf + -Inf',
        inputs: [f32([1, 1, 1, 3], [1, nan, 1]), f32([1, 1, 1, 2], [inf, -inf])],
        params: { kernel: [1, 2], stride: [1, 1], padding: [0, 0] },
        expected: [0, nan, 0],
      },
    ],
  },
  [Prim.Reshape]: { rule: 'a copy', cases: [{ label: 'copy', inputs: [f32([2, 3], [nan, inf, -inf, 0, -0, 1.5])], params: { shape: [3, 2] }, expected: [nan, inf, -inf, 0, -0, 1.5] }] },
  [Prim.Permute]: { rule: 'a copy', cases: [{ label: 'transpose', inputs: [f32([2, 3], [nan, inf, -inf, 0, -0, 1.5])], params: { perm: [1, 0] }, expected: [nan, 0, inf, -0, -inf, 1.5] }] },
  [Prim.Expand]: { rule: 'a copy', cases: [{ label: 'broadcast rows', inputs: [f32([1, 3], [nan, inf, -inf])], params: { shape: [2, 3] }, expected: [nan, inf, -inf, nan, inf, -inf] }] },
  [Prim.Slice]: { rule: 'a copy', cases: [{ label: 'window', inputs: [f32([2, 3], [nan, inf, -inf, 0, -0, 1.5])], params: { begin: [0, 1], size: [2, 2] }, expected: [inf, -inf, -0, 1.5] }] },
  [Prim.Pad]: {
    rule: 'a copy; the fill value may be ±Inf (NaN is refused by the shape rule)',
    cases: [
      { label: 'Inf fill', inputs: [f32([2], [nan, -inf])], params: { pads: [[1, 1]], value: inf }, expected: [inf, nan, -inf, inf] },
      { label: '-Inf fill', inputs: [f32([1, 1], [nan])], params: { pads: [[0, 1], [1, 0]], value: -inf }, expected: [-inf, nan, -inf, -inf] },
    ],
  },
  [Prim.Concat]: { rule: 'a copy', cases: [{ label: 'two parts', inputs: [f32([2], [nan, inf]), f32([1], [-inf])], params: { axis: 0 }, expected: [nan, inf, -inf] }] },
  [Prim.Gather]: { rule: 'a copy', cases: [{ label: 'repeats', inputs: [f32([4], [nan, inf, -inf, 1]), i32([4], [3, 0, 2, 0])], params: { axis: 0 }, expected: [1, nan, -inf, nan] }] },
  [Prim.ScatterAdd]: {
    rule: 'IEEE sums of the colliding updates: Inf + -Inf = NaN',
    cases: [{ label: 'collisions', inputs: [f32([5], [inf, -inf, nan, 1, inf]), i32([5], [0, 0, 1, 2, 2])], params: { axis: 0, shape: [4] }, expected: [nan, nan, inf, 0] }],
  },
  [Prim.OneHot]: {
    rule: 'no float input: 0/1 rows (out-of-range indices give zeros)',
    cases: [{ label: 'indices', inputs: [i32([4], [2, 0, -1, 3])], params: { depth: 3, dtype: 'f32' }, expected: [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0] }],
  },
  [Prim.Cast]: {
    rule: 'float → int truncates and saturates, NaN → 0 (u32: negatives wrap from their i32); → bool is x != 0, so NaN → true',
    cases: [
      { label: 'f32 → i32', inputs: [f32([9], [nan, inf, -inf, 0, -0, 1.5, -2.5, 3e9, -3e9])], params: { dtype: 'i32' }, expected: [0, 2147483647, -2147483648, 0, 0, 1, -2, 2147483647, -2147483648] },
      { label: 'f32 → u32', inputs: [f32([7], [nan, inf, 0, 1.5, 5e9, -1, -inf])], params: { dtype: 'u32' }, expected: [0, 4294967295, 0, 1, 4294967295, 4294967295, 2147483648] },
      { label: 'f32 → bool', inputs: [f32([6], [nan, inf, -inf, 0, -0, 1.5])], params: { dtype: 'bool' }, expected: [1, 1, 1, 0, 0, 1] },
    ],
  },
  [Prim.RandomBits]: {
    rule: 'no input; uniform draws are finite, in [0, 1)',
    cases: [{
      label: 'uniform f32',
      inputs: [],
      params: { shape: [64], key: [1, 2], counter: [0, 0, 0], kind: 'uniform', dtype: 'f32' },
      expected: (out) => {
        for (let i = 0; i < out.length; i++) if (!(out[i]! >= 0 && out[i]! < 1)) return `element ${i} is ${out[i]}, not in [0, 1)`;
        return out.length === 64 ? null : `length ${out.length}`;
      },
    }],
  },
  [Prim.FusedMatmul]: {
    rule: "the matmul's IEEE sums, + bias, then relu with relu(NaN) = NaN, relu(-Inf) = 0",
    cases: [
      {
        label: 'non-finite bias, relu',
        inputs: [f32([2, 2], [1, 2, 3, 4]), f32([2, 3], [1, -1, 0.5, 0, 1, -1]), f32([3], [nan, -inf, inf])],
        params: { transA: false, transB: false, bias: true, activation: 'relu', dropout: null },
        expected: [nan, 0, inf, nan, 0, inf],
      },
      {
        label: 'non-finite A, relu',
        inputs: [f32([4, 2], [nan, 1, inf, 1, -inf, 1, 1, 1]), f32([2, 1], [1, -3]), f32([1], [1])],
        params: { transA: false, transB: false, bias: true, activation: 'relu', dropout: null },
        expected: [nan, inf, 0, 0],
      },
      { label: 'Inf - Inf, no epilogue', inputs: [f32([1, 2], [inf, -inf]), f32([2, 1], [1, 1])], params: { transA: false, transB: false, bias: false, activation: 'none', dropout: null }, expected: [nan] },
    ],
  },
  [Prim.Dropout]: {
    rule: 'a selection: kept elements are x / keep (NaN, ±Inf as they are), dropped ones are 0 even when x is NaN',
    cases: [
      { label: 'keep 1', inputs: [f32([5], [nan, inf, -inf, 0, 1.5])], params: { keepProb: 1, key: [5, 6], counter: [0, 0, 0] }, expected: [nan, inf, -inf, 0, 1.5] },
      {
        label: 'keep 0.5',
        inputs: [f32([16], Array.from({ length: 16 }, (_, i) => [nan, inf, -inf, 1.5][i % 4]!))],
        params: { keepProb: 0.5, key: [5, 6], counter: [0, 0, 0] },
        expected: (out, [x]) => {
          let kept = 0;
          for (let i = 0; i < out.length; i++) {
            const v = out[i]!;
            const k = x!.values[i]! / 0.5;
            if (sameValue(v, k, 1e-7)) kept++;
            else if (v !== 0) return `element ${i} is ${v}: neither 0 nor ${k}`;
          }
          return kept > 0 && kept < out.length ? null : `${kept} of ${out.length} kept: the mask did not select`;
        },
      },
    ],
  },
  [Prim.LogSumExp]: {
    rule: 'NaN in → NaN; otherwise a +Inf gives +Inf, all -Inf gives -Inf, else m + log Σ exp(x − m)',
    cases: [
      {
        label: 'rows',
        inputs: [f32([7, 3], [1, nan, 2, inf, 1, 2, -inf, -inf, -inf, inf, -inf, 0, -inf, 0, 0, nan, inf, -inf, inf, inf, 1])],
        params: { axis: 1, keepDims: false },
        expected: [nan, inf, -inf, inf, Math.LN2, nan, inf],
      },
      { label: 'columns', inputs: [f32([3, 2], [-inf, 1, -inf, inf, -inf, nan])], params: { axis: 0, keepDims: false }, expected: [-inf, nan] },
      { label: 'long rows', inputs: [longRows([0, -inf, 0], [[0, 290, inf], [2, 257, nan]])], params: { axis: 1, keepDims: false }, expected: [inf, -inf, nan] },
    ],
  },
  [Prim.OptimizerUpdate]: {
    rule: 'the update formulas in IEEE arithmetic: a NaN or Inf gradient poisons the parameter and its slots (Adam: Inf/Inf = NaN)',
    cases: [
      {
        label: 'sgd',
        inputs: [f32([5], [1, nan, 1, inf, 1]), f32([5], [nan, 1, inf, 1, -inf])],
        params: { rule: 'sgd', ...hyper },
        expected: [nan, nan, -inf, inf, inf],
      },
      {
        label: 'sgd with weight decay g + c·p (0·Inf = NaN)',
        inputs: [f32([4], [1, inf, 1, 2]), f32([4], [0, 0, nan, 1]), f32([4], [inf, 0, 1, 0.5])],
        params: { rule: 'sgd', ...hyper },
        expected: [-inf, nan, nan, 1],
      },
      {
        label: 'momentum',
        inputs: [f32([3], [1, 1, 1]), f32([3], [1, inf, nan]), f32([3], [inf, -inf, 0])],
        params: { rule: 'momentum', ...hyper },
        expected: [-inf, nan, nan, inf, nan, nan],
      },
      {
        label: 'adam',
        inputs: [f32([4], [1, 1, 1, nan]), f32([4], [inf, nan, 2, 1]), f32([4], [0, 0, 0, 0]), f32([4], [0, 0, 0, 0])],
        params: { rule: 'adam', ...hyper, lr: 0.1 },
        expected: [nan, nan, 1 - (0.1 * 2) / (2 + 1e-8), nan, inf, nan, 0.2, 0.1, inf, nan, 0.004, 0.001],
      },
    ],
  },
  [Prim.BBAlphaLoss]: {
    rule: 'log-softmax as x − LSE(x) with the LSE rule: NaN → NaN; an Inf logit at the label gives Inf − Inf = NaN, elsewhere ll = -Inf, which LSE_k(α·ll) weighs by 0 (α > 0) and −mean turns into +Inf (α = 0)',
    cases: [
      {
        label: 'α = 0.5 per point',
        inputs: [
          logits([nan, 0, 0, ...zeros3], [...zeros3, ...zeros3], [inf, 0, 0, ...zeros3], [-inf, 0, 0, ...zeros3], [-inf, -inf, -inf, ...zeros3], [0, inf, 0, ...zeros3]),
          i32([6], [0, 0, 0, 0, 0, 0]),
        ],
        params: { alpha: 0.5, reduction: 'none' },
        expected: [nan, Math.log(3), nan, Math.log(12), nan, Math.log(12)],
      },
      { label: 'α = 0 per point', inputs: [logits([-inf, 0, 0, ...zeros3], [...zeros3, ...zeros3]), i32([2], [0, 0])], params: { alpha: 0, reduction: 'none' }, expected: [inf, Math.log(3)] },
      { label: 'α = 1 mean with a NaN point', inputs: [logits([...zeros3, ...zeros3], [0, nan, 0, ...zeros3]), i32([2], [0, 1])], params: { alpha: 1, reduction: 'mean' }, expected: [nan] },
      { label: 'α = 0.5 mean', inputs: [logits([...zeros3, ...zeros3], [0, inf, 0, ...zeros3]), i32([2], [0, 0])], params: { alpha: 0.5, reduction: 'mean' }, expected: [(Math.log(3) + Math.log(12)) / 2] },
    ],
  },
  [Prim.BBAlphaLossGrad]: {
    rule: '−dy·w_k·(onehot − p_k) in IEEE arithmetic: a NaN sample makes every weight NaN (α ≠ 0) or only its own row NaN (α = 0); a -Inf log-likelihood has weight 0',
    cases: [
      { label: 'NaN sample, α = 0.5', inputs: [logits([nan, 0, 0, ...zeros3]), i32([1], [0]), f32([1], [1])], params: { alpha: 0.5, reduction: 'none' }, expected: Array<number>(6).fill(nan) },
      { label: 'NaN sample, α = 0', inputs: [logits([nan, 0, 0, ...zeros3]), i32([1], [0]), f32([1], [1])], params: { alpha: 0, reduction: 'none' }, expected: [nan, nan, nan, -1 / 3, 1 / 6, 1 / 6] },
      { label: '-Inf log-likelihood, α = 0.5', inputs: [logits([-inf, 0, 0, ...zeros3]), i32([1], [0]), f32([1], [1])], params: { alpha: 0.5, reduction: 'none' }, expected: [-0, 0, 0, -2 / 3, 1 / 3, 1 / 3] },
      { label: 'Inf cotangent', inputs: [logits([...zeros3, ...zeros3]), i32([1], [0]), f32([1], [inf])], params: { alpha: 0.5, reduction: 'none' }, expected: [-inf, inf, inf, -inf, inf, inf] },
    ],
  },
};
