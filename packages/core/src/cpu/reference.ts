// The CPU oracle: a naive, obviously-correct implementation of every primitive, written
// for clarity (index arithmetic, no blocking) and computing in float64 JS numbers. Every
// other implementation (the fast CPU backend, the WGSL kernels) is tested against it.
//
// Non-finite values propagate as in IEEE arithmetic (test/helpers/nonfinite-cases.ts states
// the expectation per primitive). The rules that are choices rather than arithmetic:
//   max, argmax, max-pool  NaN is the largest value and the first NaN wins (numpy's rule:
//                          max is NaN, argmax and the pool's routing pick the first NaN)
//   logsumexp              m = max (NaN-propagating); a non-finite m is the result (+Inf,
//                          -Inf when all are -Inf, NaN), else m + log Σ exp(x − m)
//   conv family            every product of the dense formula is evaluated, padding and
//                          stride holes as zeros (0·Inf = NaN): what the GEMM kernels do
//   cast float → int       truncates, saturates at the type's range, NaN → 0; → bool is
//                          x != 0, so NaN → true (numpy)
//   where, dropout         selections: an unselected or dropped NaN does not leak

import type { Operand, OutSpec } from '../backend.js';
import { allocHost, isFloat, type HostArray } from '../dtype.js';
import { ValueError } from '../errors.js';
import { tableOf } from '../elementwise/record.js';
import { Prim, BINARY_PRIMS, OPTIMIZER_SLOTS, SMALL_ALPHA, UNARY_PRIMS, type DropoutParams, type PrimParams, type UnaryPrim, type BinaryPrim } from '../prims.js';
import { bitsToUniform, dropoutWords, keepThreshold, philoxFill } from '../random/philox.js';
import { sizeOf, stridesOf, type Shape } from '../shape.js';
import { binaryFns, compareFns, unaryFns } from './scalar-fns.js';

export type CpuOperand = Operand<HostArray>;
export type CpuKernel<P extends Prim> = (inputs: readonly CpuOperand[], params: PrimParams[P], out: OutSpec) => HostArray;

/** Multi-index of flat position i in `shape`. */
function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/** Flat offset into `shape` of an output multi-index under broadcasting (size-1 dims pinned to 0). */
function broadcastOffset(outIdx: readonly number[], shape: Shape): number {
  const lead = outIdx.length - shape.length;
  const strides = stridesOf(shape);
  let off = 0;
  for (let d = 0; d < shape.length; d++) off += (shape[d] === 1 ? 0 : outIdx[d + lead]!) * strides[d]!;
  return off;
}

const unary =
  (prim: UnaryPrim): CpuKernel<UnaryPrim> =>
  ([x], _p, out) => {
    const r = allocHost(out.dtype, x!.storage.length);
    const f = unaryFns[prim];
    for (let i = 0; i < r.length; i++) r[i] = f(x!.storage[i]!);
    return r;
  };

const binary =
  (prim: BinaryPrim): CpuKernel<BinaryPrim> =>
  ([a, b], _p, out) => {
    const r = allocHost(out.dtype, sizeOf(out.shape));
    const f = binaryFns[prim];
    for (let i = 0; i < r.length; i++) {
      const idx = unravel(i, out.shape);
      r[i] = f(a!.storage[broadcastOffset(idx, a!.shape)]!, b!.storage[broadcastOffset(idx, b!.shape)]!);
    }
    return r;
  };

function reduce(x: CpuOperand, axes: readonly number[], out: OutSpec, init: number, step: (acc: number, v: number) => number): HostArray {
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const acc = new Float64Array(sizeOf(keptShape)).fill(init);
  for (let i = 0; i < x.storage.length; i++) {
    const idx = unravel(i, x.shape);
    const o = broadcastOffset(idx, keptShape);
    acc[o] = step(acc[o]!, x.storage[i]!);
  }
  const r = allocHost(out.dtype, acc.length);
  for (let i = 0; i < acc.length; i++) r[i] = acc[i]!;
  return r;
}

function matmulRef([a, b]: readonly CpuOperand[], { transA, transB }: PrimParams[Prim.Matmul], out: OutSpec): HostArray {
  const r = allocHost(out.dtype, sizeOf(out.shape));
  const M = out.shape[out.shape.length - 2]!;
  const N = out.shape[out.shape.length - 1]!;
  const K = transA ? a!.shape[a!.shape.length - 2]! : a!.shape[a!.shape.length - 1]!;
  const batchShape = out.shape.slice(0, -2);
  const aBatch = a!.shape.slice(0, -2);
  const bBatch = b!.shape.slice(0, -2);
  const aMat = a!.shape[a!.shape.length - 2]! * a!.shape[a!.shape.length - 1]!;
  const bMat = b!.shape[b!.shape.length - 2]! * b!.shape[b!.shape.length - 1]!;
  const batches = sizeOf(batchShape);
  for (let bi = 0; bi < batches; bi++) {
    const bIdx = unravel(bi, batchShape);
    const aOff = broadcastOffset(bIdx, aBatch) * aMat;
    const bOff = broadcastOffset(bIdx, bBatch) * bMat;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = a!.storage[aOff + (transA ? k * M + i : i * K + k)]!;
          const bv = b!.storage[bOff + (transB ? j * K + k : k * N + j)]!;
          s += av * bv;
        }
        r[bi * M * N + i * N + j] = s;
      }
  }
  return r;
}

/**
 * Visits every (output position, filter tap, input position) triple of a convolution,
 * taps that land in the padding included with input position -1 (a zero of the padded input).
 */
function forEachConvTap(
  xShape: Shape,
  wShape: Shape,
  yShape: Shape,
  g: PrimParams[Prim.Conv2d],
  visit: (xi: number, wi: number, yi: number) => void,
): void {
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [O, , KH, KW] = wShape as [number, number, number, number];
  const [, , HO, WO] = yShape as [number, number, number, number];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oh = 0; oh < HO; oh++)
        for (let ow = 0; ow < WO; ow++)
          for (let c = 0; c < C; c++)
            for (let kh = 0; kh < KH; kh++)
              for (let kw = 0; kw < KW; kw++) {
                const ih = oh * g.stride[0] - g.padding[0] + kh * g.dilation[0];
                const iw = ow * g.stride[1] - g.padding[1] + kw * g.dilation[1];
                const inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                visit(inside ? ((n * C + c) * H + ih) * W + iw : -1, ((o * C + c) * KH + kh) * KW + kw, ((n * O + o) * HO + oh) * WO + ow);
              }
}

/** NaN counts as larger than everything and the first NaN stays (numpy's max/argmax rule). */
function beats(v: number, best: number): boolean {
  return best === best && (v > best || v !== v);
}

/** For each pooling output, the flat input index of its first maximum, or first NaN (-1 if the window is all padding). */
export function poolArgmax(x: CpuOperand, g: PrimParams[Prim.MaxPool2d], outShape: Shape): Int32Array {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, , HO, WO] = outShape as [number, number, number, number];
  const arg = new Int32Array(N * C * HO * WO).fill(-1);
  for (let nc = 0; nc < N * C; nc++)
    for (let oh = 0; oh < HO; oh++)
      for (let ow = 0; ow < WO; ow++) {
        let best = -Infinity;
        let at = -1;
        for (let kh = 0; kh < g.kernel[0]; kh++)
          for (let kw = 0; kw < g.kernel[1]; kw++) {
            const ih = oh * g.stride[0] - g.padding[0] + kh;
            const iw = ow * g.stride[1] - g.padding[1] + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const i = (nc * H + ih) * W + iw;
            const v = x.storage[i]!;
            if (at < 0 || beats(v, best)) {
              best = v;
              at = i;
            }
          }
        arg[(nc * HO + oh) * WO + ow] = at;
      }
  return arg;
}

/** m + log Σ exp(x − m) given the shift m = max(x) (NaN-propagating): a non-finite m is the answer itself. */
function shiftedLse(m: number, sumExp: () => number): number {
  return Number.isFinite(m) ? m + Math.log(sumExp()) : m;
}

/** Float → integer: truncate toward zero, saturate at the i32 range, NaN → 0 (u32 stores wrap negatives). */
function floatToInt(v: number, dtype: 'i32' | 'u32'): number {
  if (v !== v) return 0;
  if (dtype === 'u32' && v >= 0) return Math.min(Math.trunc(v), 4294967295);
  return Math.max(-2147483648, Math.min(2147483647, Math.trunc(v)));
}

function checkIndices(where: string, idx: HostArray, bound: number): void {
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= bound) throw new ValueError(where, `indices in [0, ${bound})`, String(v), `at flat position ${i}`);
  }
}

/** x ⊙ mask / keep in float64, the mask from the Philox words at the dropout's coordinates. */
export function applyDropout(x: ArrayLike<number>, d: DropoutParams): Float64Array {
  const bits = new Uint32Array(x.length);
  dropoutWords(bits, d);
  const thr = keepThreshold(d.keepProb);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = d.keepProb === 1 || bits[i]! < thr ? x[i]! / d.keepProb : 0;
  return out;
}

/**
 * Per point n of MC logits [M, K, C]: the class log-likelihoods ll_k, the BB-α energy
 * (α = 0: −mean; |α| < SMALL_ALPHA: −mean − (α/2)·Var; else −(LSE_k(α·ll) − log K)/α) and the
 * importance weights w_k = softmax_k(α·ll) (uniform at α = 0). Shared by the fused loss
 * and its gradient.
 */
export function bbAlphaPoint(logits: ArrayLike<number>, n: number, K: number, C: number, label: number, alpha: number): { loss: number; weights: Float64Array; softmax: Float64Array } {
  const ll = new Float64Array(K);
  const sm = new Float64Array(K * C);
  for (let k = 0; k < K; k++) {
    const at = (n * K + k) * C;
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, logits[at + c]!);
    const lse = shiftedLse(m, () => {
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(logits[at + c]! - m);
      return z;
    });
    for (let c = 0; c < C; c++) sm[k * C + c] = Math.exp(logits[at + c]! - lse);
    ll[k] = logits[at + label]! - lse;
  }
  let mean = 0;
  for (let k = 0; k < K; k++) mean += ll[k]! / K;
  let loss: number;
  const weights = new Float64Array(K);
  if (alpha === 0) {
    loss = -mean;
    weights.fill(1 / K);
  } else {
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, alpha * ll[k]!);
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(alpha * ll[k]! - m);
    for (let k = 0; k < K; k++) weights[k] = Math.exp(alpha * ll[k]! - m) / z;
    if (Math.abs(alpha) < SMALL_ALPHA) {
      let v = 0;
      for (let k = 0; k < K; k++) v += (ll[k]! - mean) ** 2 / K;
      loss = -mean - (alpha / 2) * v;
    } else loss = -(shiftedLse(m, () => z) - Math.log(K)) / alpha;
  }
  return { loss, weights, softmax: sm };
}

/** The elementwise oracle: each record's scalar function, element by element. */
const unaryKernels: { [P in UnaryPrim]: CpuKernel<P> } = tableOf(UNARY_PRIMS, unary);
const binaryKernels: { [P in BinaryPrim]: CpuKernel<P> } = tableOf(BINARY_PRIMS, binary);

export const referenceKernels: { [P in Prim]: CpuKernel<P> } = {
  ...unaryKernels,
  ...binaryKernels,
  [Prim.Compare]: ([a, b], { op }, out) => {
    const r = allocHost('bool', sizeOf(out.shape));
    const f = compareFns[op];
    for (let i = 0; i < r.length; i++) {
      const idx = unravel(i, out.shape);
      r[i] = f(a!.storage[broadcastOffset(idx, a!.shape)]!, b!.storage[broadcastOffset(idx, b!.shape)]!) ? 1 : 0;
    }
    return r;
  },
  [Prim.Where]: ([c, a, b], _p, out) => {
    const r = allocHost(out.dtype, sizeOf(out.shape));
    for (let i = 0; i < r.length; i++) {
      const idx = unravel(i, out.shape);
      const pick = c!.storage[broadcastOffset(idx, c!.shape)];
      r[i] = pick ? a!.storage[broadcastOffset(idx, a!.shape)]! : b!.storage[broadcastOffset(idx, b!.shape)]!;
    }
    return r;
  },
  [Prim.Sum]: ([x], { axes }, out) => reduce(x!, axes, out, 0, (acc, v) => acc + v),
  [Prim.Max]: ([x], { axes }, out) =>
    reduce(x!, axes, out, -Infinity, (acc, v) => (beats(v, acc) ? v : acc)),
  [Prim.Argmax]: ([x], { axis }, out) => {
    const r = allocHost('i32', sizeOf(out.shape));
    const best = new Float64Array(r.length).fill(-Infinity);
    const seen = new Uint8Array(r.length);
    const keptShape = x!.shape.map((d, i) => (i === axis ? 1 : d));
    for (let i = 0; i < x!.storage.length; i++) {
      const idx = unravel(i, x!.shape);
      const o = broadcastOffset(idx, keptShape);
      const v = x!.storage[i]!;
      if (!seen[o] || beats(v, best[o]!)) {
        seen[o] = 1;
        best[o] = v;
        r[o] = idx[axis]!;
      }
    }
    return r;
  },
  [Prim.Matmul]: matmulRef,
  [Prim.Conv2d]: ([x, w], g, out) => {
    const r = new Float64Array(sizeOf(out.shape));
    forEachConvTap(x!.shape, w!.shape, out.shape, g, (xi, wi, yi) => (r[yi]! += (xi < 0 ? 0 : x!.storage[xi]!) * w!.storage[wi]!));
    const o = allocHost(out.dtype, r.length);
    o.set(r);
    return o;
  },
  [Prim.Conv2dInputGrad]: ([dy, w], g, out) => {
    // The transposed convolution: dx[n, c, ih, iw] = Σ_(o, kh, kw) dy'[n, o, th, tw]·w[o, c, kh, kw]
    // with th = ih + p − kh·d, where dy' is dy upsampled by the stride and padded, both with
    // zeros: every filter tap meets a dy value or a zero (0·Inf = NaN, as on the GPU).
    const [N, C, H, W] = g.inputShape;
    const [O, , KH, KW] = w!.shape as [number, number, number, number];
    const [, , HO, WO] = dy!.shape as [number, number, number, number];
    const dyAt = (n: number, o: number, th: number, tw: number): number => {
      if (th < 0 || tw < 0 || th % g.stride[0] !== 0 || tw % g.stride[1] !== 0) return 0;
      const oh = th / g.stride[0];
      const ow = tw / g.stride[1];
      return oh < HO && ow < WO ? dy!.storage[((n * O + o) * HO + oh) * WO + ow]! : 0;
    };
    const o = allocHost(out.dtype, sizeOf(out.shape));
    for (let n = 0; n < N; n++)
      for (let c = 0; c < C; c++)
        for (let ih = 0; ih < H; ih++)
          for (let iw = 0; iw < W; iw++) {
            let s = 0;
            for (let oc = 0; oc < O; oc++)
              for (let kh = 0; kh < KH; kh++)
                for (let kw = 0; kw < KW; kw++) {
                  const th = ih + g.padding[0] - kh * g.dilation[0];
                  const tw = iw + g.padding[1] - kw * g.dilation[1];
                  s += dyAt(n, oc, th, tw) * w!.storage[((oc * C + c) * KH + kh) * KW + kw]!;
                }
            o[((n * C + c) * H + ih) * W + iw] = s;
          }
    return o;
  },
  [Prim.Conv2dFilterGrad]: ([x, dy], g, out) => {
    const r = new Float64Array(sizeOf(out.shape));
    forEachConvTap(x!.shape, g.filterShape, dy!.shape, g, (xi, wi, yi) => (r[wi]! += (xi < 0 ? 0 : x!.storage[xi]!) * dy!.storage[yi]!));
    const o = allocHost(out.dtype, r.length);
    o.set(r);
    return o;
  },
  [Prim.MaxPool2d]: ([x], g, out) => {
    const arg = poolArgmax(x!, g, out.shape);
    const r = allocHost(out.dtype, arg.length);
    for (let i = 0; i < arg.length; i++) r[i] = arg[i]! < 0 ? -Infinity : x!.storage[arg[i]!]!;
    return r;
  },
  [Prim.MaxPool2dGrad]: ([x, dy], g, out) => {
    const arg = poolArgmax(x!, g, dy!.shape);
    const r = new Float64Array(sizeOf(out.shape));
    for (let i = 0; i < arg.length; i++) if (arg[i]! >= 0) r[arg[i]!]! += dy!.storage[i]!;
    const o = allocHost(out.dtype, r.length);
    o.set(r);
    return o;
  },
  [Prim.Reshape]: ([x]) => x!.storage.slice(),
  [Prim.Permute]: ([x], { perm }, out) => {
    const r = allocHost(out.dtype, x!.storage.length);
    const inStrides = stridesOf(x!.shape);
    for (let i = 0; i < r.length; i++) {
      const idx = unravel(i, out.shape);
      let off = 0;
      for (let d = 0; d < perm.length; d++) off += idx[d]! * inStrides[perm[d]!]!;
      r[i] = x!.storage[off]!;
    }
    return r;
  },
  [Prim.Expand]: ([x], _p, out) => {
    const r = allocHost(out.dtype, sizeOf(out.shape));
    for (let i = 0; i < r.length; i++) r[i] = x!.storage[broadcastOffset(unravel(i, out.shape), x!.shape)]!;
    return r;
  },
  [Prim.Slice]: ([x], { begin }, out) => {
    const r = allocHost(out.dtype, sizeOf(out.shape));
    const inStrides = stridesOf(x!.shape);
    for (let i = 0; i < r.length; i++) {
      const idx = unravel(i, out.shape);
      let off = 0;
      for (let d = 0; d < idx.length; d++) off += (idx[d]! + begin[d]!) * inStrides[d]!;
      r[i] = x!.storage[off]!;
    }
    return r;
  },
  [Prim.Pad]: ([x], { pads, value }, out) => {
    const r = allocHost(out.dtype, sizeOf(out.shape));
    r.fill(value);
    const outStrides = stridesOf(out.shape);
    for (let i = 0; i < x!.storage.length; i++) {
      const idx = unravel(i, x!.shape);
      let off = 0;
      for (let d = 0; d < idx.length; d++) off += (idx[d]! + pads[d]![0]) * outStrides[d]!;
      r[off] = x!.storage[i]!;
    }
    return r;
  },
  [Prim.Concat]: (xs, { axis }, out) => {
    const r = allocHost(out.dtype, sizeOf(out.shape));
    const outStrides = stridesOf(out.shape);
    let at = 0;
    for (const x of xs) {
      for (let i = 0; i < x.storage.length; i++) {
        const idx = unravel(i, x.shape);
        idx[axis]! += at;
        let off = 0;
        for (let d = 0; d < idx.length; d++) off += idx[d]! * outStrides[d]!;
        r[off] = x.storage[i]!;
      }
      at += x.shape[axis]!;
    }
    return r;
  },
  [Prim.Gather]: ([x, idx], { axis }, out) => {
    checkIndices(Prim.Gather, idx!.storage, x!.shape[axis]!);
    const r = allocHost(out.dtype, sizeOf(out.shape));
    const inStrides = stridesOf(x!.shape);
    const ir = idx!.shape.length;
    for (let i = 0; i < r.length; i++) {
      const o = unravel(i, out.shape);
      const idxFlat = o.slice(axis, axis + ir).reduce((acc, v, d) => acc * idx!.shape[d]! + v, 0);
      const src = [...o.slice(0, axis), idx!.storage[idxFlat]!, ...o.slice(axis + ir)];
      r[i] = x!.storage[src.reduce((acc, v, d) => acc + v * inStrides[d]!, 0)]!;
    }
    return r;
  },
  [Prim.ScatterAdd]: ([upd, idx], { axis, shape }, out) => {
    checkIndices(Prim.ScatterAdd, idx!.storage, shape[axis]!);
    const acc = new Float64Array(sizeOf(shape));
    const outStrides = stridesOf(shape);
    const ir = idx!.shape.length;
    for (let i = 0; i < upd!.storage.length; i++) {
      const u = unravel(i, upd!.shape);
      const idxFlat = u.slice(axis, axis + ir).reduce((a, v, d) => a * idx!.shape[d]! + v, 0);
      const dst = [...u.slice(0, axis), idx!.storage[idxFlat]!, ...u.slice(axis + ir)];
      acc[dst.reduce((a, v, d) => a + v * outStrides[d]!, 0)]! += upd!.storage[i]!;
    }
    const r = allocHost(out.dtype, acc.length);
    for (let i = 0; i < acc.length; i++) r[i] = acc[i]!;
    return r;
  },
  [Prim.OneHot]: ([idx], { depth }, out) => {
    const r = allocHost(out.dtype, sizeOf(out.shape));
    for (let i = 0; i < idx!.storage.length; i++) {
      const v = idx!.storage[i]!;
      if (v >= 0 && v < depth) r[i * depth + v] = 1; // out-of-range indices give an all-zero row, as in tf.oneHot
    }
    return r;
  },
  [Prim.Cast]: ([x], { dtype }, out) => {
    const r = allocHost(out.dtype, x!.storage.length);
    for (let i = 0; i < r.length; i++) {
      const v = x!.storage[i]!;
      // → bool is v != 0 (NaN → true); float → int truncates and saturates, NaN → 0
      r[i] = dtype === 'bool' ? (v !== 0 ? 1 : 0) : (dtype === 'i32' || dtype === 'u32') && isFloat(x!.dtype) ? floatToInt(v, dtype) : v;
    }
    return r;
  },
  [Prim.RandomBits]: (_in, { key, counter, kind }, out) => {
    const bits = new Uint32Array(sizeOf(out.shape));
    philoxFill(bits, key, counter);
    if (kind === 'bits') return bits;
    const r = allocHost(out.dtype, bits.length);
    for (let i = 0; i < bits.length; i++) r[i] = bitsToUniform(bits[i]!);
    return r;
  },
  [Prim.FusedMatmul]: (inputs, p, out) => {
    const [a, b, bias] = inputs;
    const masked = p.dropout ? { ...a!, storage: applyDropout(a!.storage, p.dropout) } : a!;
    const y = matmulRef([masked, b!], { transA: p.transA, transB: p.transB }, { shape: out.shape, dtype: 'f64' });
    const r = allocHost(out.dtype, y.length);
    const n = out.shape[out.shape.length - 1]!;
    // a bias [n] is shared by every row; a bias [...batch, 1, n] has one row per batch matrix
    const rowsPerBias = bias && bias.shape.length > 1 ? out.shape[out.shape.length - 2]! * n : y.length;
    for (let i = 0; i < y.length; i++) {
      const v = y[i]! + (bias ? bias.storage[Math.floor(i / rowsPerBias) * n + (i % n)]! : 0);
      r[i] = p.activation === 'relu' ? unaryFns[Prim.Relu](v) : v;
    }
    return r;
  },
  [Prim.Dropout]: ([x], p, out) => {
    const r = allocHost(out.dtype, x!.storage.length);
    r.set(applyDropout(x!.storage, p));
    return r;
  },
  [Prim.LogSumExp]: ([x], { axis }, out) => {
    const keptShape = x!.shape.map((d, i) => (i === axis ? 1 : d));
    const m = new Float64Array(sizeOf(keptShape)).fill(-Infinity);
    const offs = new Int32Array(x!.storage.length);
    for (let i = 0; i < x!.storage.length; i++) {
      offs[i] = broadcastOffset(unravel(i, x!.shape), keptShape);
      m[offs[i]!] = Math.max(m[offs[i]!]!, x!.storage[i]!);
    }
    const s = new Float64Array(m.length);
    for (let i = 0; i < x!.storage.length; i++) s[offs[i]!]! += Math.exp(x!.storage[i]! - m[offs[i]!]!);
    const r = allocHost(out.dtype, m.length);
    for (let o = 0; o < m.length; o++) r[o] = shiftedLse(m[o]!, () => s[o]!);
    return r;
  },
  [Prim.OptimizerUpdate]: (inputs, p, out) => {
    const [param, grad, s1, s2] = inputs;
    const decay = inputs[2 + OPTIMIZER_SLOTS[p.rule]];
    const n = param!.storage.length;
    const r = allocHost(out.dtype, sizeOf(out.shape));
    // g + c·p rounded as the separate mul and add would store it (f32: after each op)
    const round = out.dtype === 'f32' ? Math.fround : (v: number) => v;
    for (let i = 0; i < n; i++) {
      const w = param!.storage[i]!;
      const g = decay ? round(grad!.storage[i]! + round(decay.storage[i]! * w)) : grad!.storage[i]!;
      switch (p.rule) {
        case 'sgd':
          r[i] = w - p.lr * g;
          break;
        case 'momentum':
        case 'nesterov': {
          const v = p.momentum * s1!.storage[i]! + g;
          r[i] = w - p.lr * (p.rule === 'nesterov' ? g + p.momentum * v : v);
          r[n + i] = v;
          break;
        }
        case 'adam': {
          const m = p.beta1 * s1!.storage[i]! + (1 - p.beta1) * g;
          const v = p.beta2 * s2!.storage[i]! + (1 - p.beta2) * g * g;
          const mHat = m / (1 - Math.pow(p.beta1, p.step));
          const vHat = v / (1 - Math.pow(p.beta2, p.step));
          r[i] = w - (p.lr * mHat) / (Math.sqrt(vHat) + p.eps);
          r[n + i] = m;
          r[2 * n + i] = v;
          break;
        }
      }
    }
    return r;
  },
  [Prim.BBAlphaLoss]: ([logits, labels], { alpha, reduction }, out) => {
    const [M, K, C] = logits!.shape as [number, number, number];
    checkIndices(Prim.BBAlphaLoss, labels!.storage, C);
    const r = allocHost(out.dtype, reduction === 'mean' ? 1 : M);
    let total = 0;
    for (let n = 0; n < M; n++) {
      const { loss } = bbAlphaPoint(logits!.storage, n, K, C, labels!.storage[n]!, alpha);
      if (reduction === 'mean') total += loss / M;
      else r[n] = loss;
    }
    if (reduction === 'mean') r[0] = total;
    return r;
  },
  [Prim.BBAlphaLossGrad]: ([logits, labels, dy], { alpha, reduction }, out) => {
    const [M, K, C] = logits!.shape as [number, number, number];
    checkIndices(Prim.BBAlphaLossGrad, labels!.storage, C);
    const r = allocHost(out.dtype, M * K * C);
    for (let n = 0; n < M; n++) {
      const y = labels!.storage[n]!;
      const g = reduction === 'mean' ? dy!.storage[0]! / M : dy!.storage[n]!;
      const { weights, softmax } = bbAlphaPoint(logits!.storage, n, K, C, y, alpha);
      for (let k = 0; k < K; k++)
        for (let c = 0; c < C; c++) r[(n * K + k) * C + c] = -g * weights[k]! * ((c === y ? 1 : 0) - softmax[k * C + c]!);
    }
    return r;
  },
};

