// Shape and dtype inference, one rule per primitive. A rule validates its inputs and
// parameters (throwing ShapeError / DTypeError / ValueError that name the primitive) and
// returns the output's shape and dtype. Runs before any backend sees the op.

import type { OutSpec } from './backend.js';
import { DTYPES, type DType } from './dtype.js';
import { DTypeError, ShapeError, ValueError } from './errors.js';
import { BINARY } from './elementwise/binary.js';
import { FLOAT, NUMERIC, tableOf } from './elementwise/record.js';
import { UNARY } from './elementwise/unary.js';
import { Prim, OPTIMIZER_SLOTS, BINARY_PRIMS, UNARY_PRIMS, type BinaryPrim, type UnaryPrim, type PrimParams, type Conv2dGeometry, type Pool2dGeometry, type DropoutParams, type PhiloxCoords } from './prims.js';
import { checkCounter, checkKey, MAX_RANDOM_ELEMENTS } from './random/keys.js';
import { broadcastShapes, fmtShape, sizeOf, assertValidShape, type Shape } from './shape.js';

export type ShapeRule<P extends Prim> = (inputs: readonly OutSpec[], params: PrimParams[P]) => OutSpec;


function need(prim: Prim, dtype: DType, allowed: readonly DType[], what = 'input'): void {
  if (!allowed.includes(dtype)) throw new DTypeError(prim, `${what} of dtype ${allowed.join('/')}`, dtype);
}

function sameDType(prim: Prim, a: OutSpec, b: OutSpec): void {
  if (a.dtype !== b.dtype) throw new DTypeError(prim, 'operands of one dtype', `${a.dtype} and ${b.dtype}`);
}

const unary =
  (allowed: readonly DType[]) =>
  <P extends Prim>(prim: P): ShapeRule<P> =>
  ([x]) => {
    need(prim, x!.dtype, allowed);
    return { shape: x!.shape, dtype: x!.dtype };
  };

const binary =
  (allowed: readonly DType[]) =>
  <P extends Prim>(prim: P): ShapeRule<P> =>
  ([a, b]) => {
    sameDType(prim, a!, b!);
    need(prim, a!.dtype, allowed);
    return { shape: broadcastShapes(prim, a!.shape, b!.shape), dtype: a!.dtype };
  };

function reduceShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

function checkAxes(prim: Prim, axes: readonly number[], rank: number): void {
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    if (!Number.isInteger(a) || a < 0 || a >= rank || (i > 0 && a <= axes[i - 1]!))
      throw new ShapeError(prim, `sorted distinct axes in [0, ${rank})`, `[${axes.join(', ')}]`);
  }
}

function checkPositivePair(prim: Prim, name: string, v: readonly [number, number], min: number): void {
  if (!v.every((x) => Number.isInteger(x) && x >= min))
    throw new ValueError(prim, `${name} of integers >= ${min}`, `[${v.join(', ')}]`);
}

/** Keep probability, coordinates, and per-slice keys that split the `size` masked elements evenly. */
function checkDropout(prim: Prim, d: DropoutParams, size: number): void {
  if (!(d.keepProb > 0 && d.keepProb <= 1)) throw new ValueError(prim, 'keepProb in (0, 1]', String(d.keepProb));
  checkCoords(prim, d);
  if (d.keys !== undefined) {
    if (!Array.isArray(d.keys) || d.keys.length < 1) throw new ValueError(prim, 'dropout keys: a non-empty list of keys', String(d.keys));
    if (size % d.keys.length !== 0) throw new ShapeError(prim, `a masked tensor that splits into ${d.keys.length} equal slices (one per key)`, `${size} elements`);
    d.keys.forEach((k) => checkKey(prim, k));
  }
}

function checkCoords(prim: Prim, c: PhiloxCoords): void {
  checkKey(prim, c.key);
  checkCounter(prim, c.counter);
}

function checkRandomSize(prim: Prim, n: number): void {
  if (n > MAX_RANDOM_ELEMENTS) throw new ValueError(prim, `at most 2^34 random elements under one key`, String(n));
}

function checkBBAlpha(prim: Prim, logits: OutSpec, labels: OutSpec, p: { alpha: number; reduction: string }, dy: OutSpec | null): OutSpec {
  need(prim, logits.dtype, FLOAT, 'logits');
  need(prim, labels.dtype, ['i32'], 'labels');
  if (!Number.isFinite(p.alpha)) throw new ValueError(prim, 'a finite alpha', String(p.alpha));
  if (p.reduction !== 'mean' && p.reduction !== 'none') throw new ValueError(prim, "reduction 'mean' or 'none'", String(p.reduction));
  if (logits.shape.length !== 3) throw new ShapeError(prim, 'MC logits of shape [M, K, C]', fmtShape(logits.shape));
  const M = logits.shape[0]!;
  // K = 0 would be log(0)/0 = NaN in every kernel: refused here so every backend refuses it,
  // with the error the composed loss (bbalpha bbAlphaPerPoint) throws
  if (logits.shape[1] === 0) throw new ValueError(prim, 'K >= 1 samples', '0', `logits of shape ${fmtShape(logits.shape)}`);
  if (labels.shape.length !== 1 || labels.shape[0] !== M) throw new ShapeError(prim, `labels of shape [${M}]`, fmtShape(labels.shape));
  const out: OutSpec = { shape: p.reduction === 'mean' ? [] : [M], dtype: logits.dtype };
  if (dy) {
    sameDType(prim, logits, dy);
    if (dy.shape.length !== out.shape.length || dy.shape.some((d, i) => d !== out.shape[i]))
      throw new ShapeError(prim, `a loss cotangent of shape ${fmtShape(out.shape)}`, fmtShape(dy.shape));
  }
  return out;
}

/** Output size of a sliding window along one axis. */
export function windowOut(size: number, k: number, stride: number, pad: number, dilation: number): number {
  return Math.floor((size + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

function convOutShape(prim: Prim, x: Shape, w: Shape, g: Conv2dGeometry): [number, number, number, number] {
  if (x.length !== 4) throw new ShapeError(prim, 'input of rank 4 [N, C, H, W]', fmtShape(x));
  if (w.length !== 4) throw new ShapeError(prim, 'filter of rank 4 [O, C, kh, kw]', fmtShape(w));
  if (x[1] !== w[1]) throw new ShapeError(prim, `filter in-channels equal to input channels ${x[1]}`, String(w[1]));
  checkPositivePair(prim, 'stride', g.stride, 1);
  checkPositivePair(prim, 'dilation', g.dilation, 1);
  checkPositivePair(prim, 'padding', g.padding, 0);
  const ho = windowOut(x[2]!, w[2]!, g.stride[0], g.padding[0], g.dilation[0]);
  const wo = windowOut(x[3]!, w[3]!, g.stride[1], g.padding[1], g.dilation[1]);
  if (ho < 1 || wo < 1) throw new ShapeError(prim, 'a filter that fits the padded input', `output ${ho}x${wo}`);
  return [x[0]!, w[0]!, ho, wo];
}

function poolOutShape(prim: Prim, x: Shape, g: Pool2dGeometry): [number, number, number, number] {
  if (x.length !== 4) throw new ShapeError(prim, 'input of rank 4 [N, C, H, W]', fmtShape(x));
  checkPositivePair(prim, 'kernel', g.kernel, 1);
  checkPositivePair(prim, 'stride', g.stride, 1);
  checkPositivePair(prim, 'padding', g.padding, 0);
  if (g.padding[0] * 2 > g.kernel[0] || g.padding[1] * 2 > g.kernel[1])
    throw new ValueError(prim, 'padding at most half the kernel', `[${g.padding.join(', ')}]`);
  const ho = windowOut(x[2]!, g.kernel[0], g.stride[0], g.padding[0], 1);
  const wo = windowOut(x[3]!, g.kernel[1], g.stride[1], g.padding[1], 1);
  if (ho < 1 || wo < 1) throw new ShapeError(prim, 'a window that fits the padded input', `output ${ho}x${wo}`);
  return [x[0]!, x[1]!, ho, wo];
}

/** Shape of a (possibly transposed, batched) matmul, or a ShapeError. */
export function matmulShape(a: Shape, b: Shape, transA: boolean, transB: boolean): number[] {
  const where = Prim.Matmul;
  if (a.length < 2 || b.length < 2)
    throw new ShapeError(where, 'operands of rank >= 2', `${fmtShape(a)} and ${fmtShape(b)}`);
  const [m, ka] = transA ? [a[a.length - 1]!, a[a.length - 2]!] : [a[a.length - 2]!, a[a.length - 1]!];
  const [kb, n] = transB ? [b[b.length - 1]!, b[b.length - 2]!] : [b[b.length - 2]!, b[b.length - 1]!];
  if (ka !== kb)
    throw new ShapeError(where, `inner dimensions to agree`, `${ka} vs ${kb}`, `shapes ${fmtShape(a)}${transA ? 'ᵀ' : ''} x ${fmtShape(b)}${transB ? 'ᵀ' : ''}`);
  const batch = broadcastShapes(where, a.slice(0, -2), b.slice(0, -2));
  return [...batch, m, n];
}

/** Elementwise rules from the records: the input's shape (or the broadcast), the operands' dtype. */
const unaryShapeRules: { [P in UnaryPrim]: ShapeRule<P> } = tableOf(UNARY_PRIMS, (p) => unary(UNARY[p].dtypes)(p));
const binaryShapeRules: { [P in BinaryPrim]: ShapeRule<P> } = tableOf(BINARY_PRIMS, (p) => binary(BINARY[p].dtypes)(p));

export const shapeRules: { [P in Prim]: ShapeRule<P> } = {
  ...unaryShapeRules,
  ...binaryShapeRules,
  [Prim.Compare]: ([a, b], { op }) => {
    sameDType(Prim.Compare, a!, b!);
    if (!['eq', 'ne', 'lt', 'le', 'gt', 'ge'].includes(op)) throw new ValueError(Prim.Compare, 'op eq/ne/lt/le/gt/ge', String(op));
    return { shape: broadcastShapes(Prim.Compare, a!.shape, b!.shape), dtype: 'bool' };
  },
  [Prim.Where]: ([c, a, b]) => {
    need(Prim.Where, c!.dtype, ['bool'], 'condition');
    sameDType(Prim.Where, a!, b!);
    return { shape: broadcastShapes(Prim.Where, c!.shape, a!.shape, b!.shape), dtype: a!.dtype };
  },
  [Prim.Sum]: ([x], { axes, keepDims }) => {
    need(Prim.Sum, x!.dtype, NUMERIC);
    checkAxes(Prim.Sum, axes, x!.shape.length);
    return { shape: reduceShape(x!.shape, axes, keepDims), dtype: x!.dtype };
  },
  [Prim.Max]: ([x], { axes, keepDims }) => {
    need(Prim.Max, x!.dtype, NUMERIC);
    checkAxes(Prim.Max, axes, x!.shape.length);
    if (axes.some((a) => x!.shape[a] === 0)) throw new ShapeError(Prim.Max, 'non-empty reduced axes', fmtShape(x!.shape));
    return { shape: reduceShape(x!.shape, axes, keepDims), dtype: x!.dtype };
  },
  [Prim.Argmax]: ([x], { axis, keepDims }) => {
    need(Prim.Argmax, x!.dtype, NUMERIC);
    checkAxes(Prim.Argmax, [axis], x!.shape.length);
    if (x!.shape[axis] === 0) throw new ShapeError(Prim.Argmax, 'a non-empty axis', fmtShape(x!.shape));
    return { shape: reduceShape(x!.shape, [axis], keepDims), dtype: 'i32' };
  },
  [Prim.Matmul]: ([a, b], { transA, transB }) => {
    sameDType(Prim.Matmul, a!, b!);
    need(Prim.Matmul, a!.dtype, FLOAT);
    return { shape: matmulShape(a!.shape, b!.shape, transA, transB), dtype: a!.dtype };
  },
  [Prim.Conv2d]: ([x, w], g) => {
    sameDType(Prim.Conv2d, x!, w!);
    need(Prim.Conv2d, x!.dtype, FLOAT);
    return { shape: convOutShape(Prim.Conv2d, x!.shape, w!.shape, g), dtype: x!.dtype };
  },
  [Prim.Conv2dInputGrad]: ([dy, w], g) => {
    const p = Prim.Conv2dInputGrad;
    sameDType(p, dy!, w!);
    need(p, dy!.dtype, FLOAT);
    const expectDy = convOutShape(p, g.inputShape, w!.shape, g);
    if (dy!.shape.length !== 4 || !expectDy.every((d, i) => d === dy!.shape[i]))
      throw new ShapeError(p, `output gradient of shape ${fmtShape(expectDy)}`, fmtShape(dy!.shape));
    return { shape: g.inputShape, dtype: dy!.dtype };
  },
  [Prim.Conv2dFilterGrad]: ([x, dy], g) => {
    const p = Prim.Conv2dFilterGrad;
    sameDType(p, x!, dy!);
    need(p, x!.dtype, FLOAT);
    const expectDy = convOutShape(p, x!.shape, g.filterShape, g);
    if (dy!.shape.length !== 4 || !expectDy.every((d, i) => d === dy!.shape[i]))
      throw new ShapeError(p, `output gradient of shape ${fmtShape(expectDy)}`, fmtShape(dy!.shape));
    return { shape: g.filterShape, dtype: x!.dtype };
  },
  [Prim.MaxPool2d]: ([x], g) => {
    need(Prim.MaxPool2d, x!.dtype, FLOAT);
    return { shape: poolOutShape(Prim.MaxPool2d, x!.shape, g), dtype: x!.dtype };
  },
  [Prim.MaxPool2dGrad]: ([x, dy], g) => {
    const p = Prim.MaxPool2dGrad;
    sameDType(p, x!, dy!);
    need(p, x!.dtype, FLOAT);
    const expectDy = poolOutShape(p, x!.shape, g);
    if (dy!.shape.length !== 4 || !expectDy.every((d, i) => d === dy!.shape[i]))
      throw new ShapeError(p, `output gradient of shape ${fmtShape(expectDy)}`, fmtShape(dy!.shape));
    return { shape: x!.shape, dtype: x!.dtype };
  },
  [Prim.Reshape]: ([x], { shape }) => {
    assertValidShape(Prim.Reshape, shape);
    if (sizeOf(shape) !== sizeOf(x!.shape))
      throw new ShapeError(Prim.Reshape, `a shape of ${sizeOf(x!.shape)} elements (from ${fmtShape(x!.shape)})`, fmtShape(shape));
    return { shape, dtype: x!.dtype };
  },
  [Prim.Permute]: ([x], { perm }) => {
    const r = x!.shape.length;
    const ok = perm.length === r && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
    if (!ok) throw new ShapeError(Prim.Permute, `a permutation of 0..${r - 1}`, `[${perm.join(', ')}]`);
    return { shape: perm.map((p) => x!.shape[p]!), dtype: x!.dtype };
  },
  [Prim.Expand]: ([x], { shape }) => {
    assertValidShape(Prim.Expand, shape);
    const out = broadcastShapes(Prim.Expand, x!.shape, shape);
    if (out.length !== shape.length || !out.every((d, i) => d === shape[i]))
      throw new ShapeError(Prim.Expand, `a shape that ${fmtShape(x!.shape)} broadcasts to`, fmtShape(shape));
    return { shape, dtype: x!.dtype };
  },
  [Prim.Slice]: ([x], { begin, size }) => {
    const s = x!.shape;
    const ok =
      begin.length === s.length &&
      size.length === s.length &&
      begin.every((b, i) => Number.isInteger(b) && b >= 0 && Number.isInteger(size[i]) && size[i]! >= 0 && b + size[i]! <= s[i]!);
    if (!ok) throw new ShapeError(Prim.Slice, `begin/size within ${fmtShape(s)}`, `begin [${begin.join(', ')}] size [${size.join(', ')}]`);
    return { shape: size, dtype: x!.dtype };
  },
  [Prim.Pad]: ([x], { pads, value }) => {
    const s = x!.shape;
    if (pads.length !== s.length || !pads.every(([a, b]) => Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0))
      throw new ShapeError(Prim.Pad, `${s.length} [before, after] pairs of non-negative integers`, JSON.stringify(pads));
    if (Number.isNaN(value)) throw new ValueError(Prim.Pad, 'a pad value that is a number', 'NaN');
    return { shape: s.map((d, i) => d + pads[i]![0] + pads[i]![1]), dtype: x!.dtype };
  },
  [Prim.Concat]: (xs, { axis }) => {
    if (xs.length === 0) throw new ShapeError(Prim.Concat, 'at least one tensor', 'none');
    const first = xs[0]!;
    const r = first.shape.length;
    if (!Number.isInteger(axis) || axis < 0 || axis >= r) throw new ShapeError(Prim.Concat, `axis in [0, ${r})`, String(axis));
    let total = 0;
    for (const x of xs) {
      sameDType(Prim.Concat, first, x);
      const ok = x.shape.length === r && x.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!ok) throw new ShapeError(Prim.Concat, `shapes equal to ${fmtShape(first.shape)} except on axis ${axis}`, fmtShape(x.shape));
      total += x.shape[axis]!;
    }
    const shape = [...first.shape];
    shape[axis] = total;
    return { shape, dtype: first.dtype };
  },
  [Prim.Gather]: ([x, idx], { axis }) => {
    need(Prim.Gather, idx!.dtype, ['i32'], 'indices');
    checkAxes(Prim.Gather, [axis], x!.shape.length);
    const s = x!.shape;
    return { shape: [...s.slice(0, axis), ...idx!.shape, ...s.slice(axis + 1)], dtype: x!.dtype };
  },
  [Prim.ScatterAdd]: ([upd, idx], { axis, shape }) => {
    need(Prim.ScatterAdd, idx!.dtype, ['i32'], 'indices');
    need(Prim.ScatterAdd, upd!.dtype, NUMERIC, 'updates');
    assertValidShape(Prim.ScatterAdd, shape);
    checkAxes(Prim.ScatterAdd, [axis], shape.length);
    const expect = [...shape.slice(0, axis), ...idx!.shape, ...shape.slice(axis + 1)];
    if (expect.length !== upd!.shape.length || !expect.every((d, i) => d === upd!.shape[i]))
      throw new ShapeError(Prim.ScatterAdd, `updates of shape ${fmtShape(expect)}`, fmtShape(upd!.shape));
    return { shape, dtype: upd!.dtype };
  },
  [Prim.OneHot]: ([idx], { depth, dtype }) => {
    need(Prim.OneHot, idx!.dtype, ['i32'], 'indices');
    if (!Number.isInteger(depth) || depth < 1) throw new ValueError(Prim.OneHot, 'depth a positive integer', String(depth));
    if (!DTYPES.includes(dtype)) throw new DTypeError(Prim.OneHot, 'a known dtype', String(dtype));
    return { shape: [...idx!.shape, depth], dtype };
  },
  [Prim.Cast]: ([x], { dtype }) => {
    if (!DTYPES.includes(dtype)) throw new DTypeError(Prim.Cast, 'a known dtype', String(dtype));
    return { shape: x!.shape, dtype };
  },
  [Prim.RandomBits]: (_inputs, p) => {
    const { shape, kind, dtype } = p;
    assertValidShape(Prim.RandomBits, shape);
    checkCoords(Prim.RandomBits, p);
    checkRandomSize(Prim.RandomBits, sizeOf(shape));
    if (kind === 'bits' && dtype !== 'u32') throw new DTypeError(Prim.RandomBits, "dtype u32 for kind 'bits'", dtype);
    if (kind === 'uniform') need(Prim.RandomBits, dtype, FLOAT, 'uniform output');
    return { shape, dtype };
  },
  [Prim.FusedMatmul]: (inputs, p) => {
    const P = Prim.FusedMatmul;
    const [a, b, bias] = inputs;
    if (inputs.length !== (p.bias ? 3 : 2)) throw new ShapeError(P, `${p.bias ? 3 : 2} inputs`, `${inputs.length}`);
    sameDType(P, a!, b!);
    need(P, a!.dtype, FLOAT);
    if (p.activation !== 'none' && p.activation !== 'relu') throw new ValueError(P, "activation 'none' or 'relu'", String(p.activation));
    if (p.dropout) {
      checkDropout(P, p.dropout, sizeOf(a!.shape));
      checkRandomSize(P, sizeOf(a!.shape));
    }
    const shape = matmulShape(a!.shape, b!.shape, p.transA, p.transB);
    if (bias) {
      sameDType(P, a!, bias);
      // [n], shared by every row; or [...batch, 1, n], one bias row per batch matrix (model-batched layers)
      const n = shape[shape.length - 1]!;
      const batched = [...shape.slice(0, -2), 1, n];
      const ok = (bias.shape.length === 1 && bias.shape[0] === n) || (shape.length > 2 && bias.shape.length === batched.length && bias.shape.every((d, i) => d === batched[i]));
      if (!ok) throw new ShapeError(P, `bias of shape [${n}]${shape.length > 2 ? ` or [${batched.join(', ')}]` : ''}`, fmtShape(bias.shape));
    }
    return { shape, dtype: a!.dtype };
  },
  [Prim.Dropout]: ([x], p) => {
    need(Prim.Dropout, x!.dtype, FLOAT);
    checkDropout(Prim.Dropout, p, sizeOf(x!.shape));
    checkRandomSize(Prim.Dropout, sizeOf(x!.shape));
    return { shape: x!.shape, dtype: x!.dtype };
  },
  [Prim.LogSumExp]: ([x], { axis, keepDims }) => {
    need(Prim.LogSumExp, x!.dtype, FLOAT);
    checkAxes(Prim.LogSumExp, [axis], x!.shape.length);
    if (x!.shape[axis] === 0) throw new ShapeError(Prim.LogSumExp, 'a non-empty axis', fmtShape(x!.shape));
    return { shape: reduceShape(x!.shape, [axis], keepDims), dtype: x!.dtype };
  },
  [Prim.OptimizerUpdate]: (inputs, p) => {
    const P = Prim.OptimizerUpdate;
    const slots = OPTIMIZER_SLOTS[p.rule];
    if (slots === undefined) throw new ValueError(P, 'rule sgd/momentum/nesterov/adam', String(p.rule));
    if (inputs.length !== 2 + slots && inputs.length !== 3 + slots)
      throw new ShapeError(P, `${2 + slots} inputs (param, grad, ${slots} slots) for ${p.rule}, or ${3 + slots} with a decay coefficient last`, `${inputs.length}`);
    const [param] = inputs;
    need(P, param!.dtype, FLOAT);
    for (const t of inputs) {
      sameDType(P, param!, t);
      if (t.shape.length !== param!.shape.length || t.shape.some((d, i) => d !== param!.shape[i]))
        throw new ShapeError(P, `operands of the parameter's shape ${fmtShape(param!.shape)}`, fmtShape(t.shape));
    }
    for (const [name, v] of [['lr', p.lr], ['momentum', p.momentum], ['beta1', p.beta1], ['beta2', p.beta2], ['eps', p.eps]] as const)
      if (!Number.isFinite(v)) throw new ValueError(P, `a finite ${name}`, String(v));
    if (!Number.isInteger(p.step) || p.step < 1) throw new ValueError(P, 'step an integer >= 1', String(p.step));
    return { shape: [1 + slots, ...param!.shape], dtype: param!.dtype };
  },
  [Prim.BBAlphaLoss]: ([logits, labels], p) => checkBBAlpha(Prim.BBAlphaLoss, logits!, labels!, p, null),
  [Prim.BBAlphaLossGrad]: ([logits, labels, dy], p) => {
    checkBBAlpha(Prim.BBAlphaLossGrad, logits!, labels!, p, dy!);
    return { shape: logits!.shape, dtype: logits!.dtype };
  },
};
