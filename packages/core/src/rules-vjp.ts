// Vector-Jacobian products, one rule per primitive, written with other primitives (so they
// are differentiable again). Each rule names what it saves: the inputs it reads (by
// position) and whether it reads the output. `null` means a zero cotangent (integer or
// piecewise-constant ops). The math of each rule is the one-line comment above it.

import type { DType } from './dtype.js';
import { StateError } from './errors.js';
import * as op from './ops.js';
import { Prim, type PrimParams } from './prims.js';
import { broadcastedAxes, type Shape } from './shape.js';
import * as fused from './fused.js';
import type { Tensor } from './tensor.js';

export interface SavedValues {
  /** Inputs, undefined where the rule did not ask to save them. */
  x: readonly (Tensor | undefined)[];
  y: Tensor | undefined;
  shapes: readonly Shape[];
  dtypes: readonly DType[];
}

export interface VjpRule<P extends Prim> {
  saves: { inputs: 'all' | readonly number[]; output: boolean };
  vjp(dy: Tensor, s: SavedValues, params: PrimParams[P], needs: readonly boolean[]): (Tensor | null)[];
}

const NONE = { inputs: [] as number[], output: false };
const X = { inputs: 'all' as const, output: false };
const Y = { inputs: [] as number[], output: true };
const XY = { inputs: 'all' as const, output: true };

const x0 = (s: SavedValues) => s.x[0]!;
const x1 = (s: SavedValues) => s.x[1]!;

/** Sums a broadcast cotangent back to the operand's shape. */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  const axes = broadcastedAxes(shape, g.shape);
  if (axes.length === 0) return g;
  return op.reshape(op.sum(g, axes), shape);
}

function zerosLikeShape(shape: Shape, like: Tensor): Tensor {
  return op.zeros(shape, { dtype: like.dtype, backend: like.backend });
}

/** Batched matmul operands may have been broadcast over batch dims. */
function unbroadcastBatch(g: Tensor, shape: Shape): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const batchIn = shape.slice(0, -2);
  const batchOut = g.shape.slice(0, -2);
  const axes = broadcastedAxes(batchIn, batchOut);
  return op.reshape(axes.length ? op.sum(g, axes) : g, shape);
}

const unary = <P extends Prim>(saves: VjpRule<P>['saves'], f: (dy: Tensor, s: SavedValues) => Tensor | null): VjpRule<P> => ({
  saves,
  vjp: (dy, s) => [f(dy, s)],
});

export const vjpRules: { [P in Prim]: VjpRule<P> } = {
  // d(-x) = -dy
  [Prim.Neg]: unary(NONE, (dy) => op.neg(dy)),
  // d exp = y dy
  [Prim.Exp]: unary(Y, (dy, s) => op.mul(dy, s.y!)),
  // d log = dy / x
  [Prim.Log]: unary(X, (dy, s) => op.div(dy, x0(s))),
  // d log1p = dy / (1 + x)
  [Prim.Log1p]: unary(X, (dy, s) => op.div(dy, op.add(x0(s), 1))),
  // d sqrt = dy / (2 y)
  [Prim.Sqrt]: unary(Y, (dy, s) => op.div(dy, op.mul(s.y!, 2))),
  // d |x| = sign(x) dy
  [Prim.Abs]: unary(X, (dy, s) => op.mul(dy, op.sign(x0(s)))),
  // piecewise constant
  [Prim.Sign]: unary(NONE, () => null),
  [Prim.Floor]: unary(NONE, () => null),
  // d relu = [x > 0] dy
  [Prim.Relu]: unary(X, (dy, s) => op.where(op.greater(x0(s), 0), dy, 0)),
  // d sigmoid = y (1 - y) dy
  [Prim.Sigmoid]: unary(Y, (dy, s) => op.mul(dy, op.mul(s.y!, op.sub(1, s.y!)))),
  // d tanh = (1 - y²) dy
  [Prim.Tanh]: unary(Y, (dy, s) => op.mul(dy, op.sub(1, op.mul(s.y!, s.y!)))),
  // d (1/x) = -y² dy
  [Prim.Reciprocal]: unary(Y, (dy, s) => op.neg(op.mul(dy, op.mul(s.y!, s.y!)))),
  // d sin = cos(x) dy
  [Prim.Sin]: unary(X, (dy, s) => op.mul(dy, op.cos(x0(s)))),
  // d cos = -sin(x) dy
  [Prim.Cos]: unary(X, (dy, s) => op.neg(op.mul(dy, op.sin(x0(s))))),

  // d(a + b) = (dy, dy), summed over broadcast axes
  [Prim.Add]: { saves: NONE, vjp: (dy, s, _p, n) => [n[0] ? unbroadcast(dy, s.shapes[0]!) : null, n[1] ? unbroadcast(dy, s.shapes[1]!) : null] },
  // d(a - b) = (dy, -dy)
  [Prim.Sub]: {
    saves: NONE,
    vjp: (dy, s, _p, n) => [n[0] ? unbroadcast(dy, s.shapes[0]!) : null, n[1] ? unbroadcast(op.neg(dy), s.shapes[1]!) : null],
  },
  // d(a b) = (b dy, a dy)
  [Prim.Mul]: {
    saves: X,
    vjp: (dy, s, _p, n) => [
      n[0] ? unbroadcast(op.mul(dy, x1(s)), s.shapes[0]!) : null,
      n[1] ? unbroadcast(op.mul(dy, x0(s)), s.shapes[1]!) : null,
    ],
  },
  // d(a / b) = (dy / b, -dy a / b²)
  [Prim.Div]: {
    saves: X,
    vjp: (dy, s, _p, n) => [
      n[0] ? unbroadcast(op.div(dy, x1(s)), s.shapes[0]!) : null,
      n[1] ? unbroadcast(op.neg(op.div(op.mul(dy, x0(s)), op.mul(x1(s), x1(s)))), s.shapes[1]!) : null,
    ],
  },
  // d(a^b) = (b a^(b-1) dy, a^b log(a) dy); the b-cotangent is taken as 0 where a <= 0
  [Prim.Pow]: {
    saves: XY,
    vjp: (dy, s, _p, n) => [
      n[0] ? unbroadcast(op.mul(dy, op.mul(x1(s), op.pow(x0(s), op.sub(x1(s), 1)))), s.shapes[0]!) : null,
      n[1]
        ? unbroadcast(op.mul(dy, op.where(op.greater(x0(s), 0), op.mul(s.y!, op.log(op.abs(x0(s)))), 0)), s.shapes[1]!)
        : null,
    ],
  },
  // d max(a, b) = ([a >= b] dy, [a < b] dy)
  [Prim.Maximum]: {
    saves: X,
    vjp: (dy, s, _p, n) => {
      const aWins = op.greaterEqual(x0(s), x1(s));
      return [
        n[0] ? unbroadcast(op.where(aWins, dy, 0), s.shapes[0]!) : null,
        n[1] ? unbroadcast(op.where(aWins, 0, dy), s.shapes[1]!) : null,
      ];
    },
  },
  // d min(a, b) = ([a <= b] dy, [a > b] dy)
  [Prim.Minimum]: {
    saves: X,
    vjp: (dy, s, _p, n) => {
      const aWins = op.lessEqual(x0(s), x1(s));
      return [
        n[0] ? unbroadcast(op.where(aWins, dy, 0), s.shapes[0]!) : null,
        n[1] ? unbroadcast(op.where(aWins, 0, dy), s.shapes[1]!) : null,
      ];
    },
  },
  [Prim.Compare]: { saves: NONE, vjp: () => [null, null] },
  // d where(c, a, b) = (0, [c] dy, [!c] dy)
  [Prim.Where]: {
    saves: { inputs: [0], output: false },
    vjp: (dy, s, _p, n) => [
      null,
      n[1] ? unbroadcast(op.where(x0(s), dy, 0), s.shapes[1]!) : null,
      n[2] ? unbroadcast(op.where(x0(s), 0, dy), s.shapes[2]!) : null,
    ],
  },
  // d sum = dy broadcast back over the reduced axes
  [Prim.Sum]: {
    saves: NONE,
    vjp: (dy, s, { axes }) => {
      const shape = s.shapes[0]!;
      return [op.expand(op.reshape(dy, shape.map((d, i) => (axes.includes(i) ? 1 : d))), shape)];
    },
  },
  // d max = dy on the maxima, shared equally among ties
  [Prim.Max]: {
    saves: XY,
    vjp: (dy, s, { axes }) => {
      const shape = s.shapes[0]!;
      const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const isMax = op.cast(op.equal(x0(s), op.reshape(s.y!, kept)), x0(s).dtype);
      const count = op.sum(isMax, axes, true);
      return [op.mul(isMax, op.div(op.reshape(dy, kept), count))];
    },
  },
  [Prim.Argmax]: { saves: NONE, vjp: () => [null] },
  // C = op(A) op(B): dA = dC op(B)ᵀ (transposed back if transA), dB = op(A)ᵀ dC (likewise)
  [Prim.Matmul]: {
    saves: X,
    vjp: (dy, s, { transA, transB }, n) => {
      const a = x0(s);
      const b = x1(s);
      const da = !n[0] ? null : transA ? op.matmul(b, dy, { transA: transB, transB: true }) : op.matmul(dy, b, { transB: !transB });
      const db = !n[1] ? null : transB ? op.matmul(dy, a, { transA: true, transB: transA }) : op.matmul(a, dy, { transA: !transA });
      return [da && unbroadcastBatch(da, s.shapes[0]!), db && unbroadcastBatch(db, s.shapes[1]!)];
    },
  },
  // y = x ⋆ w: dx = conv2dInputGrad(dy, w), dw = conv2dFilterGrad(x, dy)
  [Prim.Conv2d]: {
    saves: X,
    vjp: (dy, s, g, n) => {
      const geometry = { stride: g.stride, padding: g.padding, dilation: g.dilation };
      const xs = s.shapes[0]! as unknown as [number, number, number, number];
      const ws = s.shapes[1]! as unknown as [number, number, number, number];
      return [
        n[0] ? inputGrad(dy, x1(s), geometry, xs) : null,
        n[1] ? filterGrad(x0(s), dy, geometry, ws) : null,
      ];
    },
  },
  // dx(dy, w) is bilinear: <dx, g> = <dy, conv(g, w)>, so d dy = conv(g, w), d w = filterGrad(g, dy)
  [Prim.Conv2dInputGrad]: {
    saves: X,
    vjp: (g, s, p, n) => {
      const geometry = { stride: p.stride, padding: p.padding, dilation: p.dilation };
      const ws = s.shapes[1]! as unknown as [number, number, number, number];
      return [n[0] ? op.conv2d(g, x1(s), geometry) : null, n[1] ? filterGrad(g, x0(s), geometry, ws) : null];
    },
  },
  // dw(x, dy) is bilinear: <dw, g> = <dy, conv(x, g)>, so d x = inputGrad(dy, g), d dy = conv(x, g)
  [Prim.Conv2dFilterGrad]: {
    saves: X,
    vjp: (g, s, p, n) => {
      const geometry = { stride: p.stride, padding: p.padding, dilation: p.dilation };
      const xs = s.shapes[0]! as unknown as [number, number, number, number];
      return [n[0] ? inputGrad(x1(s), g, geometry, xs) : null, n[1] ? op.conv2d(x0(s), g, geometry) : null];
    },
  },
  // dx = dy routed to each window's first maximum
  [Prim.MaxPool2d]: { saves: X, vjp: (dy, s, g) => [maxPoolGrad(x0(s), dy, g)] },
  // piecewise constant in x; linear in dy, whose transpose (a gather at the argmax) is not a primitive yet
  [Prim.MaxPool2dGrad]: {
    saves: NONE,
    vjp: (_g, _s, _p, n) => {
      if (n[1]) throw new StateError('vjp of maxPool2dGrad', 'no second derivative through max pooling', 'a request for one');
      return [null, null];
    },
  },
  // reshape back
  [Prim.Reshape]: { saves: NONE, vjp: (dy, s) => [op.reshape(dy, s.shapes[0]!)] },
  // permute by the inverse permutation
  [Prim.Permute]: {
    saves: NONE,
    vjp: (dy, _s, { perm }) => {
      const inv = new Array<number>(perm.length);
      perm.forEach((p, i) => (inv[p] = i));
      return [op.permute(dy, inv)];
    },
  },
  // sum over the broadcast axes
  [Prim.Expand]: { saves: NONE, vjp: (dy, s) => [unbroadcast(dy, s.shapes[0]!)] },
  // pad the cotangent back into place with zeros
  [Prim.Slice]: {
    saves: NONE,
    vjp: (dy, s, { begin, size }) => [op.pad(dy, s.shapes[0]!.map((d, i) => [begin[i]!, d - begin[i]! - size[i]!] as const))],
  },
  // slice the interior back out
  [Prim.Pad]: {
    saves: NONE,
    vjp: (dy, s, { pads }) => [op.slice(dy, pads.map((p) => p[0]), s.shapes[0]!)],
  },
  // split the cotangent along the axis
  [Prim.Concat]: {
    saves: NONE,
    vjp: (dy, s, { axis }, n) => {
      let at = 0;
      return s.shapes.map((shape, i) => {
        const begin = shape.map((_, j) => (j === axis ? at : 0));
        at += shape[axis]!;
        return n[i] ? op.slice(dy, begin, shape) : null;
      });
    },
  },
  // d gather = scatter-add of dy at the same indices
  [Prim.Gather]: {
    saves: { inputs: [1], output: false },
    vjp: (dy, s, { axis }) => [op.scatterAdd(dy, x1(s), axis, s.shapes[0]!), null],
  },
  // d scatterAdd = gather of dy at the same indices
  [Prim.ScatterAdd]: {
    saves: { inputs: [1], output: false },
    vjp: (dy, s, { axis }) => [op.gather(dy, x1(s), axis), null],
  },
  [Prim.OneHot]: { saves: NONE, vjp: () => [null] },
  // float → float casts pass the cotangent through (cast back); others are constant
  [Prim.Cast]: {
    saves: NONE,
    vjp: (dy, s) => [s.dtypes[0] === 'f32' || s.dtypes[0] === 'f64' ? op.cast(dy, s.dtypes[0]) : null],
  },
  [Prim.RandomBits]: { saves: NONE, vjp: () => [] },

  // y = act(op(A ⊙ m/keep) · op(B) + bias): dz = act'(y) dy; dA = dropout(dz op(B)ᵀ) (in A's layout);
  // dB = op(A ⊙ m/keep)ᵀ dz (the mask regenerated, never stored); dbias = Σ_rows dz
  [Prim.FusedMatmul]: {
    saves: XY,
    vjp: (dy, s, p, n) => {
      const a = x0(s);
      const b = x1(s);
      const dz = p.activation === 'relu' ? op.where(op.greater(s.y!, 0), dy, 0) : dy;
      let da: Tensor | null = null;
      if (n[0]) {
        const g = p.transA ? op.matmul(b, dz, { transA: p.transB, transB: true }) : op.matmul(dz, b, { transB: !p.transB });
        da = unbroadcastBatch(p.dropout ? fused.dropout(g, p.dropout) : g, s.shapes[0]!);
      }
      let db: Tensor | null = null;
      if (n[1]) {
        if (!p.transB) db = fused.linear(a, dz, null, { transA: !p.transA, dropout: p.dropout });
        else db = op.matmul(dz, p.dropout ? fused.dropout(a, p.dropout) : a, { transA: true, transB: p.transA });
        db = unbroadcastBatch(db, s.shapes[1]!);
      }
      const dbias = p.bias && n[2] ? op.sum(dz, dz.shape.slice(0, -1).map((_, i) => i)) : null;
      return [da, db, dbias];
    },
  },
  // linear and diagonal: dx = dy ⊙ m / keep, the same mask
  [Prim.Dropout]: { saves: NONE, vjp: (dy, _s, p) => [fused.dropout(dy, p)] },
  // d logsumexp = softmax(x) dy = exp(x - y) dy
  [Prim.LogSumExp]: {
    saves: XY,
    vjp: (dy, s, { axis, keepDims }) => {
      const kept = s.shapes[0]!.map((d, i) => (i === axis ? 1 : d));
      const y = keepDims ? s.y! : op.reshape(s.y!, kept);
      const g = keepDims ? dy : op.reshape(dy, kept);
      return [op.mul(g, op.exp(op.sub(x0(s), y)))];
    },
  },
  // an optimizer step is not differentiated
  [Prim.OptimizerUpdate]: { saves: NONE, vjp: (_dy, s) => s.shapes.map(() => null) },
  // d ℓ_α / d logits[n,k,c] = −dy_n · w_{n,k} · (onehot(y_n)_c − softmax(logits[n,k])_c), w = softmax_k(α·ll)
  [Prim.BBAlphaLoss]: {
    saves: X,
    vjp: (dy, s, p) => [apply(Prim.BBAlphaLossGrad, [x0(s), x1(s), dy], p), null],
  },
  // no second derivative through the fused loss (compose bbAlphaPerPoint from primitives for that)
  [Prim.BBAlphaLossGrad]: {
    saves: NONE,
    vjp: (_g, _s, _p, n) => {
      if (n.some(Boolean)) throw new StateError('vjp of bbAlphaLossGrad', 'no second derivative through the fused BB-α loss', 'a request for one', 'use the composed loss');
      return [null, null, null];
    },
  },
};

// The backward primitives are reached only through these helpers (not public ops).
import { apply } from './engine.js';
type Geometry = PrimParams[Prim.Conv2d];
type Four = readonly [number, number, number, number];
function inputGrad(dy: Tensor, w: Tensor, g: Geometry, inputShape: Four): Tensor {
  return apply(Prim.Conv2dInputGrad, [dy, w], { ...g, inputShape });
}
function filterGrad(x: Tensor, dy: Tensor, g: Geometry, filterShape: Four): Tensor {
  return apply(Prim.Conv2dFilterGrad, [x, dy], { ...g, filterShape });
}
function maxPoolGrad(x: Tensor, dy: Tensor, g: PrimParams[Prim.MaxPool2d]): Tensor {
  return apply(Prim.MaxPool2dGrad, [x, dy], g);
}
