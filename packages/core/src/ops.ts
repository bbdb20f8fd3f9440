// The public op functions: thin, typed wrappers that normalise arguments (negative axes,
// scalars, defaults) and call engine.apply with one primitive. No math lives here; the
// math of each primitive is in its rule tables.

import { allocHost, toHost, type DType, type HostArray, isFloat } from './dtype.js';
import { apply, fromHost, getBackend } from './engine.js';
import { ShapeError, ValueError, DTypeError } from './errors.js';
import { Prim, type CompareOp } from './prims.js';
import { assertValidShape, fmtShape, normalizeAxes, normalizeAxis, sizeOf, type Shape } from './shape.js';
import { Tensor } from './tensor.js';
import { tidy } from './memory.js';
import type { Backend } from './backend.js';

export type TensorLike = Tensor | number;

// ---------------------------------------------------------------- creation

export interface CreateOptions {
  dtype?: DType;
  backend?: Backend;
}

type Nested = number | boolean | readonly Nested[];

/** Where an element sits, for error messages: [1][0]. */
const at = (path: readonly number[]): string => path.map((i) => `[${i}]`).join('') || 'the top level';

function describe(v: unknown): string {
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)})`;
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return ArrayBuffer.isView(v) ? `a nested ${v.constructor.name}` : `an object (${Object.prototype.toString.call(v)})`;
  return `a ${typeof v}`;
}

/**
 * Element checks of tensor(): numbers (NaN and ±Infinity are values like any other) and
 * booleans only. Number('a') would be a silent NaN and Number([]) a silent 0.
 */
function checkElement(v: unknown, path: readonly number[]): number | boolean {
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  throw new DTypeError('tensor', 'numbers or booleans', describe(v), `at ${at(path)}`);
}

/** The shape of a nested array, read along its first elements (checked by flatten). */
function nestedShape(values: unknown): number[] {
  const shape: number[] = [];
  for (let v = values; Array.isArray(v); v = v[0]) {
    shape.push(v.length);
    if (v.length === 0) break;
  }
  return shape;
}

function flatten(values: unknown, shape: readonly number[], out: (number | boolean)[], path: number[]): void {
  const depth = path.length;
  if (depth === shape.length) {
    if (Array.isArray(values)) throw new ShapeError('tensor', `a rectangular nested array (a scalar at ${at(path)})`, `an array of length ${values.length}`);
    out.push(checkElement(values, path));
    return;
  }
  if (!Array.isArray(values))
    throw new ShapeError('tensor', `a rectangular nested array (an array of length ${shape[depth]} at ${at(path)})`, describe(values));
  if (values.length !== shape[depth])
    throw new ShapeError('tensor', `a rectangular nested array (length ${shape[depth]} at ${at(path)})`, `length ${values.length}`);
  for (let i = 0; i < values.length; i++) {
    path.push(i);
    flatten(values[i], shape, out, path);
    path.pop();
  }
}

/**
 * A tensor from nested arrays or a flat array/typed array with an explicit shape.
 * The dtype defaults to the typed array's, or f32. Elements must be numbers or booleans
 * (DTypeError otherwise) and nested arrays rectangular (ShapeError otherwise).
 */
export function tensor(values: Nested | ArrayLike<number>, shape?: Shape, opts: CreateOptions = {}): Tensor {
  let flat: ArrayLike<number | boolean>;
  let inferred: number[];
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    flat = values as unknown as ArrayLike<number>;
    inferred = [flat.length];
  } else {
    const out: (number | boolean)[] = [];
    inferred = nestedShape(values);
    flatten(values, inferred, out, []);
    flat = out;
  }
  const finalShape = shape ? [...shape] : inferred;
  assertValidShape('tensor', finalShape);
  if (sizeOf(finalShape) !== flat.length)
    throw new ShapeError('tensor', `${sizeOf(finalShape)} values for shape ${fmtShape(finalShape)}`, `${flat.length} values`);
  const dtype = opts.dtype ?? typedArrayDType(values) ?? 'f32';
  return fromHost(toHost(dtype, flat), finalShape, dtype, opts.backend);
}

function typedArrayDType(v: unknown): DType | undefined {
  if (v instanceof Float32Array) return 'f32';
  if (v instanceof Float64Array) return 'f64';
  if (v instanceof Int32Array) return 'i32';
  if (v instanceof Uint32Array) return 'u32';
  if (v instanceof Uint8Array) return 'bool';
  return undefined;
}

export function scalar(value: number, opts: CreateOptions = {}): Tensor {
  return full([], value, opts);
}

export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  assertValidShape('full', shape);
  const dtype = opts.dtype ?? 'f32';
  const data: HostArray = allocHost(dtype, sizeOf(shape));
  data.fill(dtype === 'bool' ? (value ? 1 : 0) : value);
  return fromHost(data, shape, dtype, opts.backend);
}

export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}
export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}
export function zerosLike(t: Tensor): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, backend: t.backend });
}
export function onesLike(t: Tensor): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, backend: t.backend });
}

/** [start, stop) with step, like NumPy. */
export function arange(start: number, stop?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new ValueError('arange', 'a finite non-zero step', String(step));
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = opts.dtype ?? 'f32';
  const data = allocHost(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return fromHost(data, [n], dtype, opts.backend);
}

/** A number operand adopts the dtype and backend of the tensor operand. */
function lift(v: TensorLike, like: Tensor): Tensor {
  return typeof v === 'number' ? full([], v, { dtype: like.dtype, backend: like.backend }) : v;
}

function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') {
    const ta = scalar(a);
    return [ta, lift(b, ta)];
  }
  if (typeof a === 'number') return [lift(a, b as Tensor), b as Tensor];
  if (typeof b === 'number') return [a, lift(b, a)];
  return [a, b];
}

// ---------------------------------------------------------------- elementwise

export const neg = (x: Tensor) => apply(Prim.Neg, [x], {});
export const exp = (x: Tensor) => apply(Prim.Exp, [x], {});
export const log = (x: Tensor) => apply(Prim.Log, [x], {});
export const log1p = (x: Tensor) => apply(Prim.Log1p, [x], {});
export const sqrt = (x: Tensor) => apply(Prim.Sqrt, [x], {});
export const abs = (x: Tensor) => apply(Prim.Abs, [x], {});
export const sign = (x: Tensor) => apply(Prim.Sign, [x], {});
export const floor = (x: Tensor) => apply(Prim.Floor, [x], {});
export const relu = (x: Tensor) => apply(Prim.Relu, [x], {});
export const sigmoid = (x: Tensor) => apply(Prim.Sigmoid, [x], {});
export const tanh = (x: Tensor) => apply(Prim.Tanh, [x], {});
export const reciprocal = (x: Tensor) => apply(Prim.Reciprocal, [x], {});
export const sin = (x: Tensor) => apply(Prim.Sin, [x], {});
export const cos = (x: Tensor) => apply(Prim.Cos, [x], {});
/** log(1 + eˣ), computed stably (never overflows). */
export const softplus = (x: Tensor) => apply(Prim.Softplus, [x], {});

export const add = (a: TensorLike, b: TensorLike) => apply(Prim.Add, pair(a, b), {});
export const sub = (a: TensorLike, b: TensorLike) => apply(Prim.Sub, pair(a, b), {});
export const mul = (a: TensorLike, b: TensorLike) => apply(Prim.Mul, pair(a, b), {});
export const div = (a: TensorLike, b: TensorLike) => apply(Prim.Div, pair(a, b), {});
export const pow = (a: TensorLike, b: TensorLike) => apply(Prim.Pow, pair(a, b), {});
export const maximum = (a: TensorLike, b: TensorLike) => apply(Prim.Maximum, pair(a, b), {});
export const minimum = (a: TensorLike, b: TensorLike) => apply(Prim.Minimum, pair(a, b), {});
/**
 * ReLU's backward pass: dy where x > 0, else 0 (x NaN gives 0), with broadcasting; equal to
 * where(greater(x, 0), dy, 0) in one kernel. x may be the ReLU's input or its output.
 */
export const reluGrad = (dy: TensorLike, x: TensorLike) => apply(Prim.ReluGrad, pair(dy, x), {});

export const compare = (a: TensorLike, b: TensorLike, op: CompareOp) => apply(Prim.Compare, pair(a, b), { op });
export const equal = (a: TensorLike, b: TensorLike) => compare(a, b, 'eq');
export const notEqual = (a: TensorLike, b: TensorLike) => compare(a, b, 'ne');
export const less = (a: TensorLike, b: TensorLike) => compare(a, b, 'lt');
export const lessEqual = (a: TensorLike, b: TensorLike) => compare(a, b, 'le');
export const greater = (a: TensorLike, b: TensorLike) => compare(a, b, 'gt');
export const greaterEqual = (a: TensorLike, b: TensorLike) => compare(a, b, 'ge');

/** cond ? a : b elementwise, with broadcasting of all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [ta, tb] = pair(a, b);
  return apply(Prim.Where, [cond, ta, tb], {});
}

export const square = (x: Tensor) => mul(x, x);

// ---------------------------------------------------------------- reductions

export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return apply(Prim.Sum, [x], { axes: normalizeAxes('sum', axes, x.rank), keepDims });
}
export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return apply(Prim.Max, [x], { axes: normalizeAxes('max', axes, x.rank), keepDims });
}
export function min(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return tidy(() => neg(max(neg(x), axes, keepDims)));
}
export function argmax(x: Tensor, axis = -1, keepDims = false): Tensor {
  return apply(Prim.Argmax, [x], { axis: normalizeAxis('argmax', axis, x.rank), keepDims });
}
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normalizeAxes('mean', axes, x.rank);
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  if (!isFloat(x.dtype)) throw new DTypeError('mean', 'a float tensor', x.dtype);
  return tidy(() => div(sum(x, ax, keepDims), count));
}

// ---------------------------------------------------------------- linear algebra

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}
/** [..., M, K] · [..., K, N] → [..., M, N], batch dims broadcast; trans* transposes the last two dims. */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  return apply(Prim.Matmul, [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false });
}

type Pair = number | readonly [number, number];
const asPair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}
/** x [N, C, H, W], w [O, C, kh, kw] → [N, O, Ho, Wo] (cross-correlation, as in every DL library). */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  return apply(Prim.Conv2d, [x, w], {
    stride: asPair(opts.stride ?? 1),
    padding: asPair(opts.padding ?? 0),
    dilation: asPair(opts.dilation ?? 1),
  });
}

export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
}
/** Max over kernel windows; stride defaults to the kernel (non-overlapping windows). */
export function maxPool2d(x: Tensor, kernel: Pair, opts: Pool2dOptions = {}): Tensor {
  const k = asPair(kernel);
  return apply(Prim.MaxPool2d, [x], { kernel: k, stride: asPair(opts.stride ?? k), padding: asPair(opts.padding ?? 0) });
}

// ---------------------------------------------------------------- movement

/** One dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const unknown = shape.indexOf(-1);
  let s = [...shape];
  if (unknown >= 0) {
    const known = sizeOf(shape.filter((_, i) => i !== unknown));
    if (known === 0 || x.size % known !== 0)
      throw new ShapeError('reshape', `a shape whose -1 divides ${x.size} elements`, fmtShape(shape));
    s[unknown] = x.size / known;
  }
  if (s.length === x.rank && s.every((d, i) => d === x.shape[i])) s = [...x.shape];
  return apply(Prim.Reshape, [x], { shape: s });
}
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  return apply(Prim.Permute, [x], { perm: perm.map((p) => normalizeAxis('permute', p, x.rank)) });
}
/** Swaps the last two axes (or the given pair). */
export function transpose(x: Tensor, axisA = -2, axisB = -1): Tensor {
  const a = normalizeAxis('transpose', axisA, x.rank);
  const b = normalizeAxis('transpose', axisB, x.rank);
  const perm = Array.from({ length: x.rank }, (_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}
/** Broadcasts to `shape` (NumPy rules). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  return apply(Prim.Expand, [x], { shape: [...shape] });
}

/** begin per axis (negative counts from the end); size -1 means "to the end". */
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  if (begin.length !== x.rank || (size && size.length !== x.rank))
    throw new ShapeError('slice', `begin/size of length ${x.rank}`, `${begin.length}/${size?.length}`);
  const b = begin.map((v, i) => (v < 0 ? v + x.shape[i]! : v));
  const s = b.map((v, i) => (size === undefined || size[i] === -1 ? x.shape[i]! - v : size[i]!));
  return apply(Prim.Slice, [x], { begin: b, size: s });
}
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  return apply(Prim.Pad, [x], { pads, value });
}
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('concat', 'at least one tensor', 'none');
  return apply(Prim.Concat, xs, { axis: normalizeAxis('concat', axis, xs[0]!.rank) });
}
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ShapeError('stack', 'at least one tensor', 'none');
  const ax = normalizeAxis('stack', axis, xs[0]!.rank + 1);
  return tidy(() =>
    concat(
      xs.map((x) => reshape(x, [...x.shape.slice(0, ax), 1, ...x.shape.slice(ax)])),
      ax,
    ),
  );
}
/** x taken at integer `indices` (i32) along `axis`. */
export function gather(x: Tensor, indices: Tensor, axis = 0): Tensor {
  return apply(Prim.Gather, [x, indices], { axis: normalizeAxis('gather', axis, x.rank) });
}
/** zeros(shape) with `updates` added at `indices` along `axis` (the transpose of gather). */
export function scatterAdd(updates: Tensor, indices: Tensor, axis: number, shape: readonly number[]): Tensor {
  return apply(Prim.ScatterAdd, [updates, indices], { axis: normalizeAxis('scatterAdd', axis, shape.length), shape: [...shape] });
}
export function oneHot(indices: Tensor, depth: number, dtype: DType = 'f32'): Tensor {
  return apply(Prim.OneHot, [indices], { depth, dtype });
}
export function cast(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? apply(Prim.Reshape, [x], { shape: x.shape }) : apply(Prim.Cast, [x], { dtype });
}

/** Copies a tensor to another backend (through the host). */
export async function toBackend(x: Tensor, backend: Backend): Promise<Tensor> {
  const data = await x.data();
  return fromHost(data.slice(), x.shape, x.dtype, backend);
}

export { getBackend };
