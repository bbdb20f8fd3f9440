// Convolution (NCHW input, OIHW filter; stride, padding, dilation) and max-pooling on the
// fast CPU backend. Convolutions run the GEMM micro-kernel (gemm-tiles.ts `gemmTiles`) over an
// implicit column matrix spanning the whole batch (column j = (n, oh, ow), row k = (c, kh, kw),
// element xp[colBase[j] + rowOff[k]] of the zero-padded input), packed straight from the
// input into L2-sized blocks of panels, so the GEMMs are large, the filter is packed once
// and scratch stays bounded (a few hundred KiB, plus one padded copy of the input when
// padding is non-zero):
//   forward      y [O, (n,p)]     = W [O, CKK] · col [CKK, (n,p)], scattered into NCHW
//   input grad   unit stride: dx = conv(dy padded by (K−1)·d − p, flipped Wᵀ), same path;
//                otherwise dcol = Wᵀ · dy in blocks, added into dx at its taps (col2im)
//   filter grad  dW [O, CKK]      = Σ over blocks of (n,p) of dy · colᵀ
// Sums are f64 throughout; only the order differs from the oracle.
// Padding and stride holes are zeros that take part in the products (the oracle's rule: 0·Inf
// = NaN), which the zero-padded copies give for free; only the col2im input gradient visits
// real taps alone, so a filter with non-finite values takes the oracle's path there.
// Pooling scans each window with its in-bounds range computed once, keeping the oracle's
// rule: the first maximum wins, and the first NaN beats everything.

import { allocHost } from '../../dtype.js';
import { Prim, type Conv2dGeometry, type Pool2dGeometry } from '../../prims.js';
import type { Shape } from '../../shape.js';
import { referenceKernels, type CpuKernel, type CpuOperand } from '../reference.js';
import type { FloatArray } from './gemm.js';
import { gemmTiles } from './gemm-tiles.js';
import { sizeOfShape } from './strided.js';

type Dims4 = [number, number, number, number];

/** Target bytes of packed panels one block of the micro-kernel touches (about half an L2). */
const BLOCK_BYTES = 256 * 1024;

/**
 * Geometry of a convolution as an implicit column matrix over the whole batch: column
 * j = n·P + oh·WO + ow, row k = (c·KH + kh)·KW + kw, element xp[colBase[j] + rowOff[k]] of the
 * (zero-padded when padding ≠ 0) input xp [N, C, HP, WP].
 */
export interface ConvPlan {
  N: number; C: number; H: number; W: number;
  O: number; KH: number; KW: number; HO: number; WO: number;
  HP: number; WP: number; ph: number; pw: number;
  /** C·KH·KW and HO·WO. */
  CKK: number; P: number;
  rowOff: Int32Array;
  colBase: Int32Array;
}

export function plan(x: Shape, w: Shape, y: Shape, g: Conv2dGeometry): ConvPlan {
  const [N, C, H, W] = x as Dims4;
  const [O, , KH, KW] = w as Dims4;
  const [, , HO, WO] = y as Dims4;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  // Padded extent: at least the image, and every tap an output reads (so gathers stay in bounds).
  const HP = Math.max(H + 2 * ph, HO > 0 ? (HO - 1) * sh + (KH - 1) * dh + 1 : 0);
  const WP = Math.max(W + 2 * pw, WO > 0 ? (WO - 1) * sw + (KW - 1) * dw + 1 : 0);
  const CKK = C * KH * KW;
  const P = HO * WO;
  const rowOff = new Int32Array(CKK);
  for (let c = 0, k = 0; c < C; c++)
    for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++, k++) rowOff[k] = (c * HP + kh * dh) * WP + kw * dw;
  const colBase = new Int32Array(N * P);
  for (let n = 0, j = 0; n < N; n++)
    for (let oh = 0; oh < HO; oh++) for (let ow = 0; ow < WO; ow++, j++) colBase[j] = n * C * HP * WP + oh * sh * WP + ow * sw;
  return { N, C, H, W, O, KH, KW, HO, WO, HP, WP, ph, pw, CKK, P, rowOff, colBase };
}

export type Readable = ArrayLike<number>;

/** The input as xp [N, C, HP, WP]: itself when no padding is needed, else a zero-padded f64 copy. */
function padded(x: Readable, pl: ConvPlan): Readable {
  const { N, C, H, W, HP, WP, ph, pw } = pl;
  if (HP === H && WP === W) return x;
  const xp = new Float64Array(N * C * HP * WP);
  for (let nc = 0; nc < N * C; nc++)
    for (let h = 0; h < H; h++) {
      const s = (nc * H + h) * W;
      const d = (nc * HP + h + ph) * WP + pw;
      for (let w = 0; w < W; w++) xp[d + w] = x[s + w]!;
    }
  return xp;
}

/** Panels of 4 rows of the R×K matrix X (element (r, k) at r·rs + k·ks): P[(p·K + k)·4 + q] = X[4p + q, k], zero past R. */
function packRows(x: Readable, rs: number, ks: number, R: number, K: number): Float64Array {
  const panels = Math.ceil(R / 4);
  const P = new Float64Array(panels * K * 4);
  for (let r = 0; r < R; r++) {
    const d0 = (r >> 2) * K * 4 + (r & 3);
    for (let k = 0, s = r * rs, d = d0; k < K; k++, s += ks, d += 4) P[d] = x[s]!;
  }
  return P;
}

/**
 * Column panels of the implicit column matrix: for columns [j0, j0 + 4·panels),
 * Bp[(jp·K + k)·4 + q] = xp[colBase[j0 + 4jp + q] + rowOff[k]], zero for columns ≥ J.
 */
function packColumns(xp: Readable, pl: ConvPlan, j0: number, J: number, panels: number, Bp: Float64Array): void {
  const { rowOff, colBase, CKK: K } = pl;
  for (let jp = 0; jp < panels; jp++) {
    const j = j0 + jp * 4;
    let d = jp * K * 4;
    if (j + 4 <= J) {
      const b0 = colBase[j]!, b1 = colBase[j + 1]!, b2 = colBase[j + 2]!, b3 = colBase[j + 3]!;
      for (let k = 0; k < K; k++, d += 4) {
        const o = rowOff[k]!;
        Bp[d] = xp[b0 + o]!;
        Bp[d + 1] = xp[b1 + o]!;
        Bp[d + 2] = xp[b2 + o]!;
        Bp[d + 3] = xp[b3 + o]!;
      }
    } else
      for (let k = 0; k < K; k++, d += 4) {
        const o = rowOff[k]!;
        for (let q = 0; q < 4; q++) Bp[d + q] = j + q < J ? xp[colBase[j + q]! + o]! : 0;
      }
  }
}

/** True when no element is NaN or ±Inf (x − x is 0 exactly for finite x). */
export function allFinite(v: Readable): boolean {
  for (let i = 0; i < v.length; i++) if (v[i]! - v[i]! !== 0) return false;
  return true;
}

/** Column panels per block: as many as keep a block's packed B panels within half of BLOCK_BYTES. */
const panelsPerBlock = (K: number, total: number): number => Math.max(1, Math.min(total, Math.floor(BLOCK_BYTES / 2 / (K * 32))));

export const conv2d: CpuKernel<Prim.Conv2d> = ([x, w], g, out) => {
  const r = allocHost(out.dtype, sizeOfShape(out.shape)) as FloatArray;
  convForward(x!.storage, x!.shape, w!.storage, w!.shape, g, out.shape, r);
  return r;
};

/** y [O, (n, p)] = W [O, CKK] · col [CKK, (n, p)], in blocks of columns across the batch, written into r (NCHW). */
function convForward(x: Readable, xShape: Shape, w: Readable, wShape: Shape, g: Conv2dGeometry, yShape: Shape, r: FloatArray): void {
  const pl = plan(xShape, wShape, yShape, g);
  const { N, O, CKK: K, P } = pl;
  const J = N * P;
  if (J === 0 || O === 0) return;
  if (K === 0) {
    r.fill(0);
    return;
  }
  const xp = padded(x, pl);
  const Ap = packRows(w, K, 1, O, K);
  const mPanels = Math.ceil(O / 4);
  const nPanels = Math.ceil(J / 4);
  const block = panelsPerBlock(K, nPanels);
  const Bp = new Float64Array(block * K * 4);
  const Np = block * 4;
  const C = new Float64Array(mPanels * 4 * Np);
  const OP = O * P;
  for (let jp0 = 0; jp0 < nPanels; jp0 += block) {
    const panels = Math.min(block, nPanels - jp0);
    const j0 = jp0 * 4;
    packColumns(xp, pl, j0, J, panels, Bp);
    gemmTiles(Ap, Bp, C, K, Np, 0, mPanels, 0, panels);
    // Scatter C [O, cols] into y [n, o, p].
    const cols = Math.min(panels * 4, J - j0);
    const n0 = Math.floor(j0 / P);
    const p0 = j0 - n0 * P;
    for (let o = 0; o < O; o++) {
      let d = n0 * OP + o * P + p0;
      let p = p0;
      const c = o * Np;
      for (let jl = 0; jl < cols; jl++) {
        r[d] = C[c + jl]!;
        d++;
        if (++p === P) {
          p = 0;
          d += OP - P;
        }
      }
    }
  }
}

/** The flipped, transposed filter Wf[c, o, kh, kw] = W[o, c, KH−1−kh, KW−1−kw] of a unit-stride input gradient. */
export function flippedFilter(w: Readable, wShape: Shape): Float64Array {
  const [O, C, KH, KW] = wShape as Dims4;
  const wf = new Float64Array(O * C * KH * KW);
  for (let o = 0; o < O; o++)
    for (let c = 0; c < C; c++)
      for (let kh = 0; kh < KH; kh++)
        for (let kw = 0; kw < KW; kw++) wf[((c * O + o) * KH + KH - 1 - kh) * KW + KW - 1 - kw] = w[((o * C + c) * KH + kh) * KW + kw]!;
  return wf;
}

/**
 * The padding of dy that makes a unit-stride input gradient a convolution with the flipped
 * filter, (K−1)·d − p per side, or null where that form does not apply (a stride, or
 * padding beyond the filter's reach).
 */
export function flippedPadding(wShape: Shape, g: Conv2dGeometry): [number, number] | null {
  const [, , KH, KW] = wShape as Dims4;
  const fph = (KH - 1) * g.dilation[0] - g.padding[0];
  const fpw = (KW - 1) * g.dilation[1] - g.padding[1];
  return g.stride[0] === 1 && g.stride[1] === 1 && fph >= 0 && fpw >= 0 ? [fph, fpw] : null;
}

export const conv2dInputGrad: CpuKernel<Prim.Conv2dInputGrad> = ([dy, w], g, out) => {
  // dcol [CKK, (n, p)] = Wᵀ [CKK, O] · dy [O, (n, p)] in blocks of columns, each added into dxp
  // at its taps (col2im), then the padding cropped off.
  const size = sizeOfShape(out.shape);
  const r = allocHost(out.dtype, size) as FloatArray;
  const [O0, C0, KH0, KW0] = w!.shape as Dims4;
  const fp = flippedPadding(w!.shape, g);
  if (fp) {
    // Unit stride: dx is the convolution of dy (padded by (K−1)·d − p) with the flipped,
    // transposed filter Wf[c, o, kh, kw] = W[o, c, KH−1−kh, KW−1−kw]: one GEMM with a long
    // reduction (O·KH·KW), written straight into dx, no col2im.
    const fg: Conv2dGeometry = { stride: [1, 1], padding: fp, dilation: g.dilation };
    convForward(dy!.storage, dy!.shape, flippedFilter(w!.storage, w!.shape), [C0, O0, KH0, KW0], fg, out.shape, r);
    return r;
  }
  // col2im adds only the taps that meet a dy value; the zeros of the stride holes and the
  // padding are products too (0·Inf = NaN), which only matters for a non-finite filter.
  if (!allFinite(w!.storage)) return referenceKernels[Prim.Conv2dInputGrad]([dy!, w!], g, out);
  const pl = plan(g.inputShape, w!.shape, dy!.shape, g);
  const { N, C: Ch, H, W, O, CKK: K, P, HP, WP, ph, pw, rowOff, colBase } = pl;
  const J = N * P;
  const dxp = new Float64Array(N * Ch * HP * WP);
  if (J > 0 && K > 0 && O > 0) {
    const Ap = packRows(w!.storage, 1, K, K, O); // (ckk, o) of Wᵀ
    const mPanels = Math.ceil(K / 4);
    const nPanels = Math.ceil(J / 4);
    const block = Math.max(1, Math.min(nPanels, Math.floor(BLOCK_BYTES / 2 / (Math.max(O, mPanels) * 32))));
    const Np = block * 4;
    const Bp = new Float64Array(block * O * 4);
    const Cb = new Float64Array(mPanels * 4 * Np);
    const d = dy!.storage;
    const OP = O * P;
    for (let jp0 = 0; jp0 < nPanels; jp0 += block) {
      const panels = Math.min(block, nPanels - jp0);
      const j0 = jp0 * 4;
      const cols = Math.min(panels * 4, J - j0);
      // Bp[(jp·O + o)·4 + q] = dy[n, o, p] for column j0 + 4jp + q.
      if (cols < panels * 4) Bp.fill(0);
      for (let jl = 0; jl < cols; jl++) {
        const j = j0 + jl;
        const n = Math.floor(j / P);
        let s = n * OP + (j - n * P);
        let t = (jl >> 2) * O * 4 + (jl & 3);
        for (let o = 0; o < O; o++, s += P, t += 4) Bp[t] = d[s]!;
      }
      gemmTiles(Ap, Bp, Cb, O, Np, 0, mPanels, 0, panels);
      // col2im: dxp[colBase[j] + rowOff[k]] += Cb[k, j - j0].
      for (let k = 0; k < K; k++) {
        const ro = rowOff[k]!;
        const c = k * Np;
        for (let jl = 0; jl < cols; jl++) {
          const at = colBase[j0 + jl]! + ro;
          dxp[at] = dxp[at]! + Cb[c + jl]!;
        }
      }
    }
  }
  if (HP === H && WP === W) r.set(dxp);
  else
    for (let nc = 0; nc < N * Ch; nc++)
      for (let h = 0; h < H; h++) {
        const s = (nc * HP + h + ph) * WP + pw;
        const t = (nc * H + h) * W;
        for (let x = 0; x < W; x++) r[t + x] = dxp[s + x]!;
      }
  return r;
};

export const conv2dFilterGrad: CpuKernel<Prim.Conv2dFilterGrad> = ([x, dy], g, out) => {
  // dW [O, CKK] = Σ over blocks of (n, p) of dy [O, (n, p)] · colᵀ [(n, p), CKK].
  const pl = plan(x!.shape, g.filterShape, dy!.shape, g);
  const { N, O, CKK, P, rowOff, colBase } = pl;
  const dw = new Float64Array(O * CKK);
  const J = N * P;
  if (J > 0 && O > 0 && CKK > 0) {
    const xp = padded(x!.storage, pl);
    const d = dy!.storage;
    const mPanels = Math.ceil(O / 4);
    const nPanels = Math.ceil(CKK / 4);
    // Reduction length per block: A and B panels of one block within 4·BLOCK_BYTES (measured best), at least 64.
    const kb = Math.max(64, Math.min(J, Math.floor((4 * BLOCK_BYTES) / ((mPanels + nPanels) * 32))));
    const Ap = new Float64Array(mPanels * kb * 4);
    const Bp = new Float64Array(nPanels * kb * 4);
    const Np = nPanels * 4;
    const Cb = new Float64Array(mPanels * 4 * Np);
    const OP = O * P;
    for (let j0 = 0; j0 < J; j0 += kb) {
      const K = Math.min(kb, J - j0);
      // Ap[(ip·K + kk)·4 + ii] = dy[n, 4ip + ii, p]; Bp[(jp·K + kk)·4 + q] = xp[colBase[j] + rowOff[4jp + q]].
      if (O & 3) Ap.fill(0);
      if (CKK & 3) Bp.fill(0);
      for (let kk = 0; kk < K; kk++) {
        const j = j0 + kk;
        const n = Math.floor(j / P);
        const s = n * OP + (j - n * P);
        for (let o = 0; o < O; o++) Ap[((o >> 2) * K + kk) * 4 + (o & 3)] = d[s + o * P]!;
        const b = colBase[j]!;
        let t = kk * 4;
        const step = K * 4;
        let q = 0;
        for (; q + 4 <= CKK; q += 4, t += step) {
          Bp[t] = xp[b + rowOff[q]!]!;
          Bp[t + 1] = xp[b + rowOff[q + 1]!]!;
          Bp[t + 2] = xp[b + rowOff[q + 2]!]!;
          Bp[t + 3] = xp[b + rowOff[q + 3]!]!;
        }
        for (let e = 0; q < CKK; q++, e++) Bp[t + e] = xp[b + rowOff[q]!]!;
      }
      gemmTiles(Ap, Bp, Cb, K, Np, 0, mPanels, 0, nPanels, true);
    }
    for (let o = 0; o < O; o++) dw.set(Cb.subarray(o * Np, o * Np + CKK), o * CKK);
  }
  const r = allocHost(out.dtype, dw.length);
  r.set(dw);
  return r;
};

// ---------------------------------------------------------------- max-pooling

/** For every output of the pool, the flat input index of its window's first maximum (−1: no input). */
function poolArgmax(x: CpuOperand, g: Pool2dGeometry, outShape: Shape): Int32Array {
  const [N, C, H, W] = x.shape as Dims4;
  const [, , HO, WO] = outShape as Dims4;
  const arg = new Int32Array(N * C * HO * WO);
  const v = x.storage;
  const [KH, KW] = g.kernel;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  for (let nc = 0, o = 0; nc < N * C; nc++) {
    const base = nc * H * W;
    for (let oh = 0; oh < HO; oh++) {
      const ih0 = oh * sh - ph;
      const khLo = Math.max(0, -ih0);
      const khHi = Math.min(KH, H - ih0);
      for (let ow = 0; ow < WO; ow++, o++) {
        const iw0 = ow * sw - pw;
        const kwLo = Math.max(0, -iw0);
        const kwHi = Math.min(KW, W - iw0);
        let at = -1;
        let best = -Infinity;
        for (let kh = khLo; kh < khHi; kh++) {
          const row = base + (ih0 + kh) * W + iw0;
          for (let kw = kwLo; kw < kwHi; kw++) {
            const val = v[row + kw]!;
            if (at < 0 || (best === best && (val > best || val !== val))) {
              best = val;
              at = row + kw;
            }
          }
        }
        arg[o] = at;
      }
    }
  }
  return arg;
}

export const maxPool2d: CpuKernel<Prim.MaxPool2d> = ([x], g, out) => {
  const r = allocHost(out.dtype, sizeOfShape(out.shape));
  const v = x!.storage;
  const arg = poolArgmax(x!, g, out.shape);
  for (let o = 0; o < arg.length; o++) {
    const at = arg[o]!;
    r[o] = at < 0 ? -Infinity : v[at]!;
  }
  return r;
};

export const maxPool2dGrad: CpuKernel<Prim.MaxPool2dGrad> = ([x, dy], g, out) => {
  // f64 sums in output order, as the oracle does, then one conversion.
  const acc = new Float64Array(sizeOfShape(out.shape));
  const d = dy!.storage;
  const arg = poolArgmax(x!, g, dy!.shape);
  for (let o = 0; o < arg.length; o++) {
    const at = arg[o]!;
    if (at >= 0) acc[at] = acc[at]! + d[o]!;
  }
  const r = allocHost(out.dtype, acc.length);
  r.set(acc);
  return r;
};
