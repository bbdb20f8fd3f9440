// Convolution (NCHW input, OIHW filter; stride, padding, dilation) and max-pooling on the
// fast CPU backend. Convolutions are im2col + the GEMM core (gemm.ts), one image at a time
// so the column buffer stays bounded:
//   forward      y_n [O, HoWo]   = W [O, CKK] · col_n [CKK, HoWo]
//   input grad   dcol [CKK, HoWo] = Wᵀ · dy_n [O, HoWo], then col2im adds dcol into dx_n
//   filter grad  dW [O, CKK]    += dy_n [O, HoWo] · col_nᵀ
// A 1×1, stride-1, unpadded convolution uses the image itself as its column matrix.
// Sums are f64 throughout (gemm and col2im); only the order differs from the oracle.
// Pooling scans each window with its in-bounds range computed once, keeping the oracle's
// rule: the first maximum wins, NaN only when it comes first.

import { allocHost } from '../../dtype.js';
import type { Conv2dGeometry, Pool2dGeometry, Prim } from '../../prims.js';
import type { Shape } from '../../shape.js';
import type { CpuKernel, CpuOperand } from '../reference.js';
import { gemm, type FloatArray, type MatView } from './gemm.js';
import { sizeOfShape } from './strided.js';

type Dims4 = [number, number, number, number];

interface ConvPlan {
  N: number; C: number; H: number; W: number;
  O: number; KH: number; KW: number; HO: number; WO: number;
  /** C·KH·KW and HO·WO: the column matrix is CKK × P. */
  CKK: number; P: number;
  /** The image is its own column matrix (1×1 filter, unit stride, no padding). */
  direct: boolean;
}

function plan(x: Shape, w: Shape, y: Shape, g: Conv2dGeometry): ConvPlan {
  const [N, C, H, W] = x as Dims4;
  const [O, , KH, KW] = w as Dims4;
  const [, , HO, WO] = y as Dims4;
  const direct = KH === 1 && KW === 1 && g.stride[0] === 1 && g.stride[1] === 1 && g.padding[0] === 0 && g.padding[1] === 0;
  return { N, C, H, W, O, KH, KW, HO, WO, CKK: C * KH * KW, P: HO * WO, direct };
}

/** The first and one-past-last output index whose input coordinate o·s − p + k·d lies in [0, size). */
function validRange(k: number, s: number, p: number, d: number, size: number, outSize: number): [number, number] {
  const off = k * d - p; // input = o·s + off
  const lo = off >= 0 ? 0 : Math.ceil(-off / s);
  const hi = Math.min(outSize, Math.max(0, Math.floor((size - 1 - off) / s) + 1));
  return [Math.min(lo, hi), hi];
}

/** col[(c·KH + kh)·KW + kw][oh·WO + ow] = x_n[c, ih, iw], zero outside the image. */
function im2col(x: CpuOperand['storage'], xOff: number, pl: ConvPlan, g: Conv2dGeometry, col: Float64Array): void {
  const { C, H, W, KH, KW, HO, WO, P } = pl;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  for (let c = 0; c < C; c++)
    for (let kh = 0; kh < KH; kh++) {
      const [ohLo, ohHi] = validRange(kh, sh, ph, dh, H, HO);
      for (let kw = 0; kw < KW; kw++) {
        const row = ((c * KH + kh) * KW + kw) * P;
        const [owLo, owHi] = validRange(kw, sw, pw, dw, W, WO);
        col.fill(0, row, row + ohLo * WO);
        col.fill(0, row + ohHi * WO, row + P);
        const iwBase = kw * dw - pw;
        for (let oh = ohLo; oh < ohHi; oh++) {
          const src = xOff + (c * H + oh * sh - ph + kh * dh) * W + iwBase;
          const d = row + oh * WO;
          col.fill(0, d, d + owLo);
          col.fill(0, d + owHi, d + WO);
          for (let ow = owLo; ow < owHi; ow++) col[d + ow] = x[src + ow * sw]!;
        }
      }
    }
}

/** dx_n[c, ih, iw] += col[(c·KH + kh)·KW + kw][oh·WO + ow] over the in-bounds taps. */
function col2im(col: Float64Array, pl: ConvPlan, g: Conv2dGeometry, dx: Float64Array, dxOff: number): void {
  const { C, H, W, KH, KW, WO, P } = pl;
  const [sh, sw] = g.stride;
  const [ph, pw] = g.padding;
  const [dh, dw] = g.dilation;
  for (let c = 0; c < C; c++)
    for (let kh = 0; kh < KH; kh++) {
      const [ohLo, ohHi] = validRange(kh, sh, ph, dh, H, pl.HO);
      for (let kw = 0; kw < KW; kw++) {
        const row = ((c * KH + kh) * KW + kw) * P;
        const [owLo, owHi] = validRange(kw, sw, pw, dw, W, WO);
        const iwBase = kw * dw - pw;
        for (let oh = ohLo; oh < ohHi; oh++) {
          const dst = dxOff + (c * H + oh * sh - ph + kh * dh) * W + iwBase;
          const s = row + oh * WO;
          for (let ow = owLo; ow < owHi; ow++) dx[dst + ow * sw] = dx[dst + ow * sw]! + col[s + ow]!;
        }
      }
    }
}

const view = (data: MatView['data'], off: number, rs: number, cs: number): MatView => ({ data, off, rs, cs });

export const conv2d: CpuKernel<Prim.Conv2d> = ([x, w], g, out) => {
  const pl = plan(x!.shape, w!.shape, out.shape, g);
  const { N, C, H, W, O, CKK, P } = pl;
  const r = allocHost(out.dtype, sizeOfShape(out.shape)) as FloatArray;
  const col = pl.direct ? null : new Float64Array(CKK * P);
  const wv = view(w!.storage, 0, CKK, 1);
  for (let n = 0; n < N; n++) {
    let b: MatView;
    if (col) {
      im2col(x!.storage, n * C * H * W, pl, g, col);
      b = view(col, 0, P, 1);
    } else b = view(x!.storage, n * C * H * W, P, 1);
    gemm(O, P, CKK, wv, b, r, n * O * P, P);
  }
  return r;
};

export const conv2dInputGrad: CpuKernel<Prim.Conv2dInputGrad> = ([dy, w], g, out) => {
  const pl = plan(g.inputShape, w!.shape, dy!.shape, g);
  const { N, C, H, W, O, CKK, P } = pl;
  const size = sizeOfShape(out.shape);
  const wT = view(w!.storage, 0, 1, CKK); // (ckk, o) of Wᵀ
  if (pl.direct) {
    // dx_n = Wᵀ · dy_n straight into the output.
    const r = allocHost(out.dtype, size) as FloatArray;
    for (let n = 0; n < N; n++) gemm(CKK, P, O, wT, view(dy!.storage, n * O * P, P, 1), r, n * C * H * W, P);
    return r;
  }
  const dx = new Float64Array(size);
  const dcol = new Float64Array(CKK * P);
  for (let n = 0; n < N; n++) {
    gemm(CKK, P, O, wT, view(dy!.storage, n * O * P, P, 1), dcol, 0, P);
    col2im(dcol, pl, g, dx, n * C * H * W);
  }
  const r = allocHost(out.dtype, size);
  r.set(dx);
  return r;
};

export const conv2dFilterGrad: CpuKernel<Prim.Conv2dFilterGrad> = ([x, dy], g, out) => {
  const pl = plan(x!.shape, g.filterShape, dy!.shape, g);
  const { N, C, H, W, O, CKK, P } = pl;
  const dw = new Float64Array(O * CKK);
  const col = pl.direct ? null : new Float64Array(CKK * P);
  for (let n = 0; n < N; n++) {
    let colT: MatView; // (p, ckk) of col_nᵀ
    if (col) {
      im2col(x!.storage, n * C * H * W, pl, g, col);
      colT = view(col, 0, 1, P);
    } else colT = view(x!.storage, n * C * H * W, 1, P);
    gemm(O, CKK, P, view(dy!.storage, n * O * P, P, 1), colT, dw, 0, CKK, true);
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
            if (at < 0 || val > best) {
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
