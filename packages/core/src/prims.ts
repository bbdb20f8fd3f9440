// The primitive set, defined once. Every op of the engine is one of these members; the
// rule tables (shape + dtype inference in rules-shape.ts, VJPs in rules-vjp.ts, the CPU
// oracle in cpu/reference.ts, WGSL in @alphadrop/kernels) are mapped types over this enum,
// so adding a member without its rules does not compile.
// Composites (softmax, logsumexp, cross-entropy, mean, ...) live in composites.ts and have
// no rules of their own: only primitives have derivatives.

import type { DType } from './dtype.js';

export enum Prim {
  // elementwise unary
  Neg = 'neg',
  Exp = 'exp',
  Log = 'log',
  Log1p = 'log1p',
  Sqrt = 'sqrt',
  Abs = 'abs',
  Sign = 'sign',
  Floor = 'floor',
  Relu = 'relu',
  Sigmoid = 'sigmoid',
  Tanh = 'tanh',
  Reciprocal = 'reciprocal',
  Sin = 'sin',
  Cos = 'cos',
  Softplus = 'softplus',
  // elementwise binary, NumPy broadcasting
  Add = 'add',
  Sub = 'sub',
  Mul = 'mul',
  Div = 'div',
  Pow = 'pow',
  Maximum = 'maximum',
  Minimum = 'minimum',
  /** a where b > 0, else 0: ReLU's backward pass (a = dy, b = its input or output) in one kernel. */
  ReluGrad = 'reluGrad',
  // comparison (-> bool) and selection
  Compare = 'compare',
  Where = 'where',
  // reductions over any axes
  Sum = 'sum',
  Max = 'max',
  Argmax = 'argmax',
  // linear algebra and convolution
  Matmul = 'matmul',
  Conv2d = 'conv2d',
  Conv2dInputGrad = 'conv2dInputGrad',
  Conv2dFilterGrad = 'conv2dFilterGrad',
  MaxPool2d = 'maxPool2d',
  MaxPool2dGrad = 'maxPool2dGrad',
  // movement
  Reshape = 'reshape',
  Permute = 'permute',
  Expand = 'expand',
  Slice = 'slice',
  Pad = 'pad',
  Concat = 'concat',
  Gather = 'gather',
  ScatterAdd = 'scatterAdd',
  OneHot = 'oneHot',
  Cast = 'cast',
  // randomness (counter-based, see random/philox.ts)
  RandomBits = 'randomBits',
  // fused primitives: each must equal its composition (tested), with its own VJP
  /** act((A ⊙ mask / keep) · B + bias): a linear layer with dropout on its input. */
  FusedMatmul = 'fusedMatmul',
  /** x ⊙ mask / keep, the mask regenerated from its Philox coordinates. */
  Dropout = 'dropout',
  /** log Σ exp along one axis, stabilised by the maximum. */
  LogSumExp = 'logSumExp',
  /**
   * One optimizer step over a flat parameter buffer: [param, grad, ...slots, decay?] → packed
   * [1 + slots, ...]. The optional last input c adds weight decay, g' = g + c ⊙ p.
   */
  OptimizerUpdate = 'optimizerUpdate',
  /** The BB-α energy of MC logits [M, K, C] against labels [M]: per point or its batch mean. */
  BBAlphaLoss = 'bbAlphaLoss',
  /** Its gradient with respect to the logits, given the cotangent of the loss. */
  BBAlphaLossGrad = 'bbAlphaLossGrad',
}

// The elementwise primitives. Each has one record (elementwise/unary.ts, binary.ts) from
// which its rules, kernels and test tables are derived; these lists are what the records
// are keyed by.
export const UNARY_PRIMS = [
  Prim.Neg, Prim.Exp, Prim.Log, Prim.Log1p, Prim.Sqrt, Prim.Abs, Prim.Sign, Prim.Floor,
  Prim.Relu, Prim.Sigmoid, Prim.Tanh, Prim.Reciprocal, Prim.Sin, Prim.Cos, Prim.Softplus,
] as const;
export const BINARY_PRIMS = [Prim.Add, Prim.Sub, Prim.Mul, Prim.Div, Prim.Pow, Prim.Maximum, Prim.Minimum, Prim.ReluGrad] as const;

export type UnaryPrim = (typeof UNARY_PRIMS)[number];
export type BinaryPrim = (typeof BINARY_PRIMS)[number];

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** Conv geometry shared by the forward conv and both backward kernels (NCHW, OIHW). */
export interface Conv2dGeometry {
  stride: readonly [number, number];
  padding: readonly [number, number];
  dilation: readonly [number, number];
}

export interface Pool2dGeometry {
  kernel: readonly [number, number];
  stride: readonly [number, number];
  padding: readonly [number, number];
}

type None = Record<string, never>;

/**
 * Philox coordinates of a random tensor: element i (flat, row-major) is word (i mod 4) of
 * Philox-4x32-10 at counter (floor(i / 4), c1, c2, c3) under key (k0, k1). All are u32
 * words; keys come from random/keys.ts (`derive`), the counter words carry coordinates
 * within a key (a dropout layer and step, say). At most 2^34 elements per tensor.
 */
export interface PhiloxCoords {
  key: readonly [number, number];
  counter: readonly [number, number, number];
}

/**
 * Where a dropout mask comes from: element i of the masked tensor is kept iff its Philox
 * word (PhiloxCoords) is below round(keepProb · 2^32). Kept elements are scaled by
 * 1 / keepProb (inverted dropout).
 */
export interface DropoutParams extends PhiloxCoords {
  keepProb: number;
  /**
   * Per-slice keys (model-batched training: one key per model). When given, the masked
   * tensor is split into keys.length equal consecutive slices of S elements; element i is
   * in slice g = floor(i / S) at local index j = i − g·S, and takes word j of the Philox
   * stream under keys[g] (at the same counter words) instead of `key`. Slice g's mask is
   * then exactly the mask an unbatched tensor of S elements would draw under keys[g].
   */
  keys?: readonly (readonly [number, number])[];
}

export type Activation = 'none' | 'relu';

export type OptimizerRule = 'sgd' | 'momentum' | 'nesterov' | 'adam';

/** Hyper-parameters of one optimizer step; `step` counts from 1 (Adam's bias correction). */
export interface OptimizerParams {
  rule: OptimizerRule;
  lr: number;
  momentum: number;
  beta1: number;
  beta2: number;
  eps: number;
  step: number;
}

/** Optimizer state slots each rule carries (velocity; or first and second moments). */
export const OPTIMIZER_SLOTS: { [R in OptimizerRule]: number } = { sgd: 0, momentum: 1, nesterov: 1, adam: 2 };

/**
 * Below this |α| the BB-α energy takes its series form −mean − (α/2)·Var_k, where 1/α would
 * amplify float32 round-off; the oracle, the WGSL kernel and the composed loss all read it here.
 */
export const SMALL_ALPHA = 1e-3;

/** Elementwise primitives have no static parameters. */
type ElementwiseParams = { [P in UnaryPrim | BinaryPrim]: None };

/** The static parameters of each primitive (everything that is not a tensor input). */
export interface PrimParams extends ElementwiseParams {
  [Prim.Compare]: { op: CompareOp };
  [Prim.Where]: None;
  /** axes: sorted, non-negative, distinct. */
  [Prim.Sum]: { axes: readonly number[]; keepDims: boolean };
  [Prim.Max]: { axes: readonly number[]; keepDims: boolean };
  /** Index (i32) along one axis of the first NaN, else of the first maximum (numpy's rule). */
  [Prim.Argmax]: { axis: number; keepDims: boolean };
  /** [..., M, K] x [..., K, N] with broadcast batch dims; trans* transposes the last two dims first. */
  [Prim.Matmul]: { transA: boolean; transB: boolean };
  [Prim.Conv2d]: Conv2dGeometry;
  /** dy [N,O,Ho,Wo], w [O,C,kh,kw] -> dx [N,C,H,W]; H, W given because strides lose them. */
  [Prim.Conv2dInputGrad]: Conv2dGeometry & { inputShape: readonly [number, number, number, number] };
  /** x [N,C,H,W], dy [N,O,Ho,Wo] -> dw [O,C,kh,kw]. */
  [Prim.Conv2dFilterGrad]: Conv2dGeometry & { filterShape: readonly [number, number, number, number] };
  [Prim.MaxPool2d]: Pool2dGeometry;
  /** x, dy -> dx: dy routed to the first NaN, else the first maximum, of each window. */
  [Prim.MaxPool2dGrad]: Pool2dGeometry;
  [Prim.Reshape]: { shape: readonly number[] };
  [Prim.Permute]: { perm: readonly number[] };
  [Prim.Expand]: { shape: readonly number[] };
  /** begin and size per axis (step 1). */
  [Prim.Slice]: { begin: readonly number[]; size: readonly number[] };
  /** [before, after] per axis, constant fill. */
  [Prim.Pad]: { pads: readonly (readonly [number, number])[]; value: number };
  [Prim.Concat]: { axis: number };
  /** x, indices (i32) -> x taken along `axis` at each index; out shape = x.shape with axis replaced by indices.shape. */
  [Prim.Gather]: { axis: number };
  /** updates, indices -> zeros(shape) with updates added at indices along axis (the transpose of Gather). */
  [Prim.ScatterAdd]: { axis: number; shape: readonly number[] };
  [Prim.OneHot]: { depth: number; dtype: DType };
  [Prim.Cast]: { dtype: DType };
  /**
   * Philox-4x32-10 bits at PhiloxCoords (element i: word i mod 4 of block floor(i / 4)).
   * kind 'uniform' maps each word exactly to a float in [0, 1) with 24 bits.
   */
  [Prim.RandomBits]: PhiloxCoords & {
    shape: readonly number[];
    kind: 'bits' | 'uniform';
    dtype: DType;
  };
  /** Inputs a, b[, bias]; the mask (if any) applies to a's stored elements, whatever transA. */
  [Prim.FusedMatmul]: { transA: boolean; transB: boolean; bias: boolean; activation: Activation; dropout: DropoutParams | null };
  [Prim.Dropout]: DropoutParams;
  [Prim.LogSumExp]: { axis: number; keepDims: boolean };
  [Prim.OptimizerUpdate]: OptimizerParams;
  /** alpha finite; 'mean' gives a scalar, 'none' the per-point energies [M]. */
  [Prim.BBAlphaLoss]: { alpha: number; reduction: 'mean' | 'none' };
  /** Inputs logits, labels, dy (dy of the loss: scalar for 'mean', [M] for 'none'). */
  [Prim.BBAlphaLossGrad]: { alpha: number; reduction: 'mean' | 'none' };
}

/** Number of tensor inputs (Concat is variadic: -1). */
export const PRIM_ARITY: { [P in Prim]: number } = {
  ...(Object.fromEntries(UNARY_PRIMS.map((p) => [p, 1])) as { [P in UnaryPrim]: 1 }),
  ...(Object.fromEntries(BINARY_PRIMS.map((p) => [p, 2])) as { [P in BinaryPrim]: 2 }),
  [Prim.Compare]: 2, [Prim.Where]: 3,
  [Prim.Sum]: 1, [Prim.Max]: 1, [Prim.Argmax]: 1,
  [Prim.Matmul]: 2, [Prim.Conv2d]: 2, [Prim.Conv2dInputGrad]: 2, [Prim.Conv2dFilterGrad]: 2,
  [Prim.MaxPool2d]: 1, [Prim.MaxPool2dGrad]: 2,
  [Prim.Reshape]: 1, [Prim.Permute]: 1, [Prim.Expand]: 1, [Prim.Slice]: 1, [Prim.Pad]: 1,
  [Prim.Concat]: -1, [Prim.Gather]: 2, [Prim.ScatterAdd]: 2, [Prim.OneHot]: 1, [Prim.Cast]: 1,
  [Prim.RandomBits]: 0,
  [Prim.FusedMatmul]: -1, [Prim.Dropout]: 1, [Prim.LogSumExp]: 1, [Prim.OptimizerUpdate]: -1,
  [Prim.BBAlphaLoss]: 2, [Prim.BBAlphaLossGrad]: 3,
};
