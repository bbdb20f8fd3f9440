// The shape of an elementwise primitive's record: everything the engine needs to know about
// one unary or binary elementwise primitive, in one place. From the records (unary.ts,
// binary.ts) the rest is derived: the shape/dtype rule (rules-shape.ts), the VJP
// (rules-vjp.ts), the CPU oracle (cpu/reference.ts), the fast CPU loops compiled per record
// (cpu/fast/elementwise.ts), the WGSL kernels (@alphadrop/kernels, kernels/elementwise.ts)
// and the test tables (test/core/grad.test.ts, test/kernels/elementwise.test.ts).
// Follows webgpu-torch's single op table and jax-js's WGSL-next-to-its-TS-twin layout; the
// WGSL is plain text here (data, no kernels import), the program around it lives in kernels.
//
// Records import nothing that imports the engine: a VJP receives the ops it may use
// (GradOps, the public ops passed in by rules-vjp.ts), so no import cycle runs through them.

import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';

/** The WGSL scalar type an expression is generated for (bool never reaches these kernels). */
export type WgslScalar = 'f32' | 'i32' | 'u32';

type T = Tensor;
type TL = Tensor | number;

/** The public ops a VJP may be written with (ops.ts satisfies it; rules-vjp.ts passes it in). */
export interface GradOps {
  add(a: TL, b: TL): T;
  sub(a: TL, b: TL): T;
  mul(a: TL, b: TL): T;
  div(a: TL, b: TL): T;
  pow(a: TL, b: TL): T;
  neg(x: T): T;
  exp(x: T): T;
  log(x: T): T;
  abs(x: T): T;
  sign(x: T): T;
  sin(x: T): T;
  cos(x: T): T;
  sigmoid(x: T): T;
  where(cond: T, a: TL, b: TL): T;
  greater(a: TL, b: TL): T;
  greaterEqual(a: TL, b: TL): T;
  lessEqual(a: TL, b: TL): T;
  reluGrad(dy: T, x: T): T;
}

/** Where test inputs come from: uniform in [lo, hi], or ±[lo, hi] ('zero': kinks at 0), or 0.2 away from integers. */
export interface TestDomain {
  readonly lo: number;
  readonly hi: number;
  readonly avoid?: 'zero' | 'integers';
}

/**
 * A unary elementwise primitive. Output: the input's shape and dtype.
 * `f` is the definition: the oracle runs it, and the fast CPU backend compiles a loop per
 * record around it (inlined), so f must be a small pure function of its argument. Branches
 * on data (a NaN test, a sign) are written with `pick`, which V8 compiles without a branch.
 */
export interface UnaryRecord {
  /** Input dtypes it accepts. */
  readonly dtypes: readonly DType[];
  /** The math of one element in float64, non-finite rule included (IEEE, NaN in → NaN out). */
  readonly f: (x: number) => number;
  /** The same as a WGSL expression of x (of scalar type t); NaN and Inf tested on the bits where WGSL may assume them away. */
  readonly wgsl: (x: string, t: WgslScalar) => string;
  /** WGSL functions the expression calls (emitted once per program that uses them). */
  readonly wgslHelpers?: Readonly<Record<string, string>>;
  /**
   * The VJP: what it saves ('x' the input, 'y' the output, 'none') and the input cotangent
   * written with ops; null: piecewise constant, no cotangent.
   */
  readonly vjp:
    | null
    | { readonly saves: 'none'; readonly rule: (dy: T, op: GradOps) => T }
    | { readonly saves: 'x' | 'y'; readonly rule: (dy: T, saved: T, op: GradOps) => T };
  /** Test inputs: `values` for kernel ≡ oracle (finite outputs), `grad` for central differences (smooth). */
  readonly test: { readonly values: TestDomain; readonly grad: TestDomain };
}

/**
 * A binary elementwise primitive with NumPy broadcasting; output: the broadcast shape and the
 * operands' (common) dtype. `f` as for unary records.
 */
export interface BinaryRecord {
  readonly dtypes: readonly DType[];
  readonly f: (a: number, b: number) => number;
  readonly wgsl: (a: string, b: string, t: WgslScalar) => string;
  readonly wgslHelpers?: Readonly<Record<string, string>>;
  /**
   * The VJP: saves the inputs ('x'), inputs and output ('xy') or nothing, and gives the
   * operands' cotangents in the broadcast shape (the engine sums them back to each operand's
   * shape); `needs[i]` false: that cotangent is not wanted, return null.
   */
  readonly vjp: {
    readonly saves: 'x' | 'xy' | 'none';
    readonly rule: (dy: T, v: { a: T; b: T; y: T }, needs: readonly boolean[], op: GradOps) => [T | null, T | null];
  };
  readonly test: { readonly a: TestDomain; readonly b: TestDomain; readonly grad: { readonly a: TestDomain; readonly b: TestDomain } };
}

/** Scratch slots of `pick` (module-level so that the inlined choice allocates nothing). */
const slots = new Float64Array(2);

/**
 * `bit ? yes : no` without a branch: on data-dependent choices (ReLU inputs, dropout masks)
 * a branch is mispredicted half the time, 4-10× slower than the loop's memory traffic
 * (measured: relu over random signs, 1.3 ms branch-free vs 5 ms branchy per 2·10^5
 * elements). `bit` must be 0 or 1: build it with `+(a < b)` and combine with `|`, not `||`
 * (short-circuiting is a branch). Both arms are evaluated.
 */
export function pick(bit: number, yes: number, no: number): number {
  slots[0] = no;
  slots[1] = yes;
  return slots[bit]!;
}

export const FLOAT: readonly DType[] = ['f32', 'f64'];
export const SIGNED: readonly DType[] = ['f32', 'f64', 'i32'];
export const NUMERIC: readonly DType[] = ['f32', 'f64', 'i32', 'u32'];

/** A WGSL zero literal of type t. */
export const zeroOf = (t: WgslScalar): string => (t === 'f32' ? '0.0' : t === 'i32' ? '0i' : '0u');

/** A table over `keys`, one entry per key: how the rule tables are derived from the records. */
export function tableOf<K extends string, V>(keys: readonly K[], entry: (key: K) => V): Record<K, V> {
  return Object.fromEntries(keys.map((k) => [k, entry(k)])) as Record<K, V>;
}
