// Convolution and both gradients in f32 on the WebAssembly SIMD128 GEMM (gemm.ts `wasmGemm`),
// for the opt-in 'wasm' CPU kind: one sample at a time, an explicit column matrix in f32
// (grow-only scratch), then one GEMM whose operands are strided views, so no transpose is
// copied. f64 operands, empty shapes and the cases noted below run the fast kernels
// (../fast/conv.ts), whose geometry helpers (`plan`, `flippedFilter`, `flippedPadding`) this
// file shares.
//
//   forward      y_n [O, P]   = W [O, CKK] · col_n [CKK, P]
//   input grad   unit stride and C ≥ 4: the forward of dy padded by (K−1)·d − p with the
//                flipped filter [C, O, KH, KW]; otherwise dcol_n [CKK, P] = Wᵀ · dy_n [O, P]
//                (W read transposed through its strides), added into dx at its taps (col2im)
//   filter grad  dW [O, CKK]  = Σ_n dy_n [O, P] · col_nᵀ (col_n read transposed)
//
// Column matrices. With unit stride a row k = (c, kh, kw) of the columns is a contiguous run
// of the (padded) image when the output grid is taken WP wide instead of WO: position
// p' = oh·WP + ow reads xp[c, oh + kh·dh, ow + kw·dw] = xp[rowOff[k] + p']. So the "wide"
// column matrix is one native copy per row, at the price of WP − WO extra columns per output
// row (their results are dropped, their products are zero in the filter gradient). It is used
// where the columns outweigh the output (CKK > O: conv2 of the paper's CNN, 32@3×3 over 32
// channels); elsewhere (conv1, C = 1: 9 rows against 32 outputs) the compact matrix is
// gathered and the GEMM writes y_n directly.
//
// Numerics: wasmGemm sums every output in f32 in increasing k, so the forward and the flipped
// input gradient are each output's f32 sum over (c, kh, kw) (the flipped form: over (o, kh, kw)),
// the same bits whichever column layout is used and whatever the batch: a batch of 2N gives
// the two batches of N bit for bit. The col2im input gradient adds a pixel's taps in f64 in
// increasing k and rounds once (also per sample). The filter gradient is each sample's f32 sum
// over its P positions, those partial sums added in f64 in sample order and rounded once: a
// fixed function of the inputs (no block size depends on the batch), though not the sum of
// two half batches' gradients bit for bit. Padding zeros take part in the products, as in the
// oracle (0·Inf = NaN); the dropped columns of the wide filter gradient would add 0·x for
// arbitrary x, so a non-finite input takes the compact matrix there, and a non-finite filter
// takes the fast kernels' col2im rule.

import { allocHost } from '../../dtype.js';
import { Prim, type Conv2dGeometry } from '../../prims.js';
import type { Shape } from '../../shape.js';
import type { CpuKernelTable } from '../backend.js';
import type { CpuKernel, CpuOperand } from '../reference.js';
import { allFinite, conv2d, conv2dFilterGrad, conv2dInputGrad, flippedFilter, flippedPadding, plan, type ConvPlan, type Readable } from '../fast/conv.js';
import { sizeOfShape } from '../fast/strided.js';
import { wasmGemm, type StridedMatrix } from './gemm.js';

type Dims4 = [number, number, number, number];

/** Grow-only f32 scratch, one per role, so a training loop allocates nothing per call. */
class Scratch {
  private buf = new Float32Array(0);
  /** At least n elements (contents unspecified). */
  get(n: number): Float32Array {
    if (this.buf.length < n) this.buf = new Float32Array(n);
    return this.buf;
  }
}
const colScratch = new Scratch();
const outScratch = new Scratch();
const padScratch = new Scratch();
const dyScratch = new Scratch();

/** The f32 path applies: an f32 result and no empty dimension (empty shapes are the fast kernels' business). */
const runsHere = (out: { dtype: string }, ...shapes: Shape[]): boolean => out.dtype === 'f32' && shapes.every((s) => sizeOfShape(s) > 0);

/**
 * One sample's image as the column matrices read it: `src` from `base` holds [C, HP, WP]. The
 * sample itself when the plan does not pad; else a zero-padded f32 copy in scratch, whose
 * border is zeroed once per call (`fresh`) and whose interior every sample overwrites.
 */
function sampleImage(x: Readable, n: number, pl: ConvPlan, pad: Float32Array | null): { src: Readable; base: number } {
  const { C, H, W, HP, WP, ph, pw } = pl;
  if (pad === null) return { src: x, base: n * C * H * W };
  const from = n * C * H * W;
  const xs = x as Float32Array | Float64Array;
  for (let c = 0; c < C; c++)
    for (let h = 0; h < H; h++) {
      const s = from + (c * H + h) * W;
      pad.set(xs.subarray(s, s + W), (c * HP + h + ph) * WP + pw);
    }
  return { src: pad, base: 0 };
}

/** The padded-image scratch for a plan, border zeroed; null when the plan does not pad. */
function padBuffer(pl: ConvPlan): Float32Array | null {
  if (pl.HP === pl.H && pl.WP === pl.W) return null;
  const n = pl.C * pl.HP * pl.WP;
  const pad = padScratch.get(n);
  pad.fill(0, 0, n);
  return pad;
}

/** Columns of the wide matrix (unit stride): (HO − 1)·WP + WO, the last output row not widened (so reads stay inside the image). */
const wideCols = (pl: ConvPlan): number => (pl.HO - 1) * pl.WP + pl.WO;

/** The wide column matrix col[k·S + p'] = src[base + rowOff[k] + p'] (S = wideCols), one copy per row. */
function wideColumns(src: Readable, base: number, pl: ConvPlan, col: Float32Array): void {
  const S = wideCols(pl);
  const s = src as Float32Array | Float64Array;
  for (let k = 0; k < pl.CKK; k++) {
    const at = base + pl.rowOff[k]!;
    col.set(s.subarray(at, at + S), k * S);
  }
}

/** The compact column matrix col[k·P + p] = src[base + colBase[p] + rowOff[k]] (colBase of sample 0). */
function compactColumns(src: Readable, base: number, pl: ConvPlan, g: Conv2dGeometry, col: Float32Array): void {
  const { CKK, HO, WO, WP, rowOff } = pl;
  const rowStep = g.stride[0] * WP;
  const sw = g.stride[1];
  for (let k = 0, d = 0; k < CKK; k++) {
    const r0 = base + rowOff[k]!;
    for (let oh = 0; oh < HO; oh++) {
      let s = r0 + oh * rowStep;
      for (let ow = 0; ow < WO; ow++, s += sw) col[d++] = src[s]!;
    }
  }
}

/** The wide layout pays where a sample's columns (CKK rows) outweigh its output rows (O). */
const useWide = (pl: ConvPlan, g: Conv2dGeometry): boolean => g.stride[0] === 1 && g.stride[1] === 1 && pl.CKK > pl.O;

/** y [N, O, HO, WO] (f32) = conv(x, w) per sample; w is [O, C, KH, KW] in any float array. */
function forwardF32(x: Readable, xShape: Shape, w: Readable, wShape: Shape, g: Conv2dGeometry, yShape: Shape, y: Float32Array): void {
  const [N, C, H, W] = xShape as Dims4;
  const pl = plan([1, C, H, W], wShape, [1, ...(yShape as Dims4).slice(1)], g);
  const { O, CKK, P, HO, WO, WP } = pl;
  const pad = padBuffer(pl);
  const wide = useWide(pl, g);
  const S = wide ? wideCols(pl) : P;
  const col = colScratch.get(CKK * S);
  const yw = wide ? outScratch.get(O * S) : null;
  const A = { data: w, off: 0, rs: CKK, cs: 1 };
  const B = { data: col, off: 0, rs: S, cs: 1 };
  for (let n = 0; n < N; n++) {
    const { src, base } = sampleImage(x, n, pl, pad);
    if (!wide) {
      compactColumns(src, base, pl, g, col);
      wasmGemm(O, P, CKK, A, B, y, n * O * P, P);
      continue;
    }
    wideColumns(src, base, pl, col);
    wasmGemm(O, S, CKK, A, B, yw!, 0, S);
    // Keep the first WO of every WP-wide output row.
    for (let o = 0; o < O; o++)
      for (let oh = 0; oh < HO; oh++) {
        const s = o * S + oh * WP;
        y.set(yw!.subarray(s, s + WO), ((n * O + o) * HO + oh) * WO);
      }
  }
}

const conv2dWasm: CpuKernel<Prim.Conv2d> = (inputs, g, out) => {
  const [x, w] = inputs as [CpuOperand, CpuOperand];
  if (!runsHere(out, x.shape, w.shape, out.shape)) return conv2d(inputs, g, out);
  const y = allocHost('f32', sizeOfShape(out.shape)) as Float32Array;
  forwardF32(x.storage, x.shape, w.storage, w.shape, g, out.shape, y);
  return y;
};

const conv2dInputGradWasm: CpuKernel<Prim.Conv2dInputGrad> = (inputs, g, out) => {
  const [dy, w] = inputs as [CpuOperand, CpuOperand];
  if (!runsHere(out, dy.shape, w.shape, out.shape)) return conv2dInputGrad(inputs, g, out);
  const [O, C, KH, KW] = w.shape as Dims4;
  const dx = allocHost('f32', sizeOfShape(out.shape)) as Float32Array;
  const fp = flippedPadding(w.shape, g);
  if (fp && C >= 4) {
    // A full row panel of the GEMM (4 rows): the flipped convolution, one long f32 reduction.
    const fg: Conv2dGeometry = { stride: [1, 1], padding: fp, dilation: g.dilation };
    forwardF32(dy.storage, dy.shape, flippedFilter(w.storage, w.shape), [C, O, KH, KW], fg, out.shape, dx);
    return dx;
  }
  // col2im visits only the taps that meet a dy value: a non-finite filter takes the oracle's rule there.
  if (!allFinite(w.storage)) return conv2dInputGrad(inputs, g, out);
  const [N, , H, W] = g.inputShape;
  const pl = plan([1, C, H, W], w.shape, [1, ...(dy.shape as Dims4).slice(1)], g);
  const { CKK, P, HP, WP, ph, pw, rowOff, colBase } = pl;
  const dcol = colScratch.get(CKK * P);
  const acc = new Float64Array(C * HP * WP);
  const A = { data: w.storage, off: 0, rs: 1, cs: CKK }; // Wᵀ [CKK, O]
  for (let n = 0; n < N; n++) {
    wasmGemm(CKK, P, O, A, { data: dy.storage, off: n * O * P, rs: P, cs: 1 }, dcol, 0, P);
    acc.fill(0);
    for (let k = 0; k < CKK; k++) {
      const ro = rowOff[k]!;
      for (let p = 0, s = k * P; p < P; p++, s++) {
        const at = colBase[p]! + ro;
        acc[at] = acc[at]! + dcol[s]!;
      }
    }
    const to = n * C * H * W;
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++) {
        const s = (c * HP + h + ph) * WP + pw;
        dx.set(acc.subarray(s, s + W), to + (c * H + h) * W);
      }
  }
  return dx;
};

const conv2dFilterGradWasm: CpuKernel<Prim.Conv2dFilterGrad> = (inputs, g, out) => {
  const [x, dy] = inputs as [CpuOperand, CpuOperand];
  if (!runsHere(out, x.shape, dy.shape, out.shape)) return conv2dFilterGrad(inputs, g, out);
  const [N, C, H, W] = x.shape as Dims4;
  const pl = plan([1, C, H, W], g.filterShape, [1, ...(dy.shape as Dims4).slice(1)], g);
  const { O, CKK, P, HO, WO, WP } = pl;
  const pad = padBuffer(pl);
  const wide = useWide(pl, g) && allFinite(x.storage);
  const S = wide ? wideCols(pl) : P;
  const col = colScratch.get(CKK * S);
  // Wide: dy spread to the WP-wide grid, zeros in the dropped columns (written once, kept).
  const dyw = wide ? dyScratch.get(O * S).fill(0, 0, O * S) : null;
  const part = new Float32Array(O * CKK);
  const acc = new Float64Array(O * CKK);
  const B = { data: col, off: 0, rs: 1, cs: S }; // colᵀ [S, CKK]
  for (let n = 0; n < N; n++) {
    const { src, base } = sampleImage(x.storage, n, pl, pad);
    let A: StridedMatrix;
    if (wide) {
      wideColumns(src, base, pl, col);
      const d = dy.storage as Float32Array | Float64Array;
      for (let o = 0; o < O; o++)
        for (let oh = 0; oh < HO; oh++) {
          const s = (n * O + o) * P + oh * WO;
          dyw!.set(d.subarray(s, s + WO), o * S + oh * WP);
        }
      A = { data: dyw!, off: 0, rs: S, cs: 1 };
    } else {
      compactColumns(src, base, pl, g, col);
      A = { data: dy.storage, off: n * O * P, rs: P, cs: 1 };
    }
    wasmGemm(O, CKK, S, A, B, part);
    for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + part[i]!;
  }
  const dw = allocHost('f32', acc.length);
  dw.set(acc);
  return dw;
};

/** The convolution kernels of the 'wasm' CPU kind, to merge over its table (f64 runs the fast kernels). */
export const wasmConvKernels: Partial<CpuKernelTable> = {
  [Prim.Conv2d]: conv2dWasm,
  [Prim.Conv2dInputGrad]: conv2dInputGradWasm,
  [Prim.Conv2dFilterGrad]: conv2dFilterGradWasm,
};
