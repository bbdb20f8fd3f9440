// Vector-Jacobian products, one rule per primitive, written with other primitives (so they
// are differentiable again). Each rule names what it saves: the inputs it reads (by
// position) and whether it reads the output. `null` means a zero cotangent (integer or
// piecewise-constant ops). The math of each rule is the one-line comment above it.

import type { DType } from './dtype.js';
import { apply } from './engine.js';
import { StateError } from './errors.js';
import * as op from './ops.js';
import { BINARY } from './elementwise/binary.js';
import { tableOf } from './elementwise/record.js';
import { UNARY } from './elementwise/unary.js';
import { Prim, BINARY_PRIMS, UNARY_PRIMS, type BinaryPrim, type PrimParams, type UnaryPrim } from './prims.js';
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

/** The VJP of a unary record: its rule on the saved input or output, the public ops passed in. */
function unaryVjp<P extends UnaryPrim>(p: P): VjpRule<P> {
  const v = UNARY[p].vjp;
  if (v === null) return { saves: NONE, vjp: () => [null] };
  if (v.saves === 'none') return { saves: NONE, vjp: (dy) => [v.rule(dy, op)] };
  if (v.saves === 'x') return { saves: X, vjp: (dy, s) => [v.rule(dy, x0(s), op)] };
  return { saves: Y, vjp: (dy, s) => [v.rule(dy, s.y!, op)] };
}

/** The VJP of a binary record: its rule's cotangents summed back over the broadcast axes. */
function binaryVjp<P extends BinaryPrim>(p: P): VjpRule<P> {
  const v = BINARY[p].vjp;
  return {
    saves: v.saves === 'none' ? NONE : v.saves === 'x' ? X : XY,
    vjp: (dy, s, _p, needs) => {
      // only what `saves` asked for is set; the rule reads only that
      const [da, db] = v.rule(dy, { a: s.x[0]!, b: s.x[1]!, y: s.y! }, needs, op);
      return [da && unbroadcast(da, s.shapes[0]!), db && unbroadcast(db, s.shapes[1]!)];
    },
  };
}

const unaryVjps: { [P in UnaryPrim]: VjpRule<P> } = /* @__PURE__ */ tableOf(UNARY_PRIMS, unaryVjp);
const binaryVjps: { [P in BinaryPrim]: VjpRule<P> } = /* @__PURE__ */ tableOf(BINARY_PRIMS, binaryVjp);

export const vjpRules: { [P in Prim]: VjpRule<P> } = {
  // elementwise: from the records (elementwise/unary.ts, binary.ts), their math there
  ...unaryVjps,
  ...binaryVjps,

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

  // y = act(op(A ⊙ m/keep) · op(B) + bias): dz = act'(y) dy (relu: reluGrad(dy, y), [y > 0] dy); dA = dropout(dz op(B)ᵀ) (in A's layout);
  // dB = op(A ⊙ m/keep)ᵀ dz (the mask regenerated, never stored); dbias = Σ_rows dz
  [Prim.FusedMatmul]: {
    saves: XY,
    vjp: (dy, s, p, n) => {
      const a = x0(s);
      const b = x1(s);
      const dz = p.activation === 'relu' ? op.reluGrad(dy, s.y!) : dy;
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
      // a bias [n] sums over every row; a batched bias [...batch, 1, n] over each matrix's rows
      const batchedBias = p.bias && s.shapes[2]!.length > 1;
      const dbias = p.bias && n[2] ? (batchedBias ? op.sum(dz, [dz.shape.length - 2], true) : op.sum(dz, dz.shape.slice(0, -1).map((_, i) => i))) : null;
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
