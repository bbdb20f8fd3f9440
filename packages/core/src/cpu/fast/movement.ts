// Data movement on the fast CPU backend: permute, expand, slice, pad, concat, gather,
// scatterAdd, cast. All but gather/scatter are one strided copy (copyStrided): dims merged
// where both sides are contiguous, rows moved with TypedArray.set where long, a blocked
// transpose where the source is read across rows. O(n), no per-element allocation.

import { allocHost, type HostArray } from '../../dtype.js';
import { ValueError } from '../../errors.js';
import { Prim } from '../../prims.js';
import { stridesOf, type Shape } from '../../shape.js';
import type { CpuKernel } from '../reference.js';
import { broadcastStrides, mergeDims, sizeOfShape } from './strided.js';

/** Rows shorter than this are copied by a loop rather than TypedArray.set. */
const SET_MIN = 32;
/** Tile edge of the blocked 2-D transpose. */
const TILE = 32;

/**
 * dst[dOff + Σ i_d·ds_d] = src[sOff + Σ i_d·ss_d] over every index of `shape`; src and dst
 * have the same element type.
 */
export function copyStrided(
  src: HostArray,
  sOff: number,
  ss: readonly number[],
  dst: HostArray,
  dOff: number,
  ds: readonly number[],
  shape: Shape,
): void {
  if (sizeOfShape(shape) === 0) return;
  const m = mergeDims(shape, [ss, ds]);
  const dims = m.shape;
  const [sst, dst_] = m.strides as [number[], number[]];
  const rank = dims.length;
  const n = dims[rank - 1]!;
  const si = sst[rank - 1]!;
  const di = dst_[rank - 1]!;
  if (rank === 2 && si !== 1 && di === 1 && sst[0] === 1) {
    transpose2d(src, sOff, si, dst, dOff, dst_[0]!, dims[0]!, n);
    return;
  }
  const rows = sizeOfShape(dims) / n;
  const idx = new Array<number>(rank).fill(0);
  let so = sOff, dO = dOff;
  for (let row = 0; row < rows; row++) {
    if (si === 1 && di === 1) {
      if (n >= SET_MIN) dst.set(src.subarray(so, so + n), dO);
      else for (let i = 0; i < n; i++) dst[dO + i] = src[so + i]!;
    } else if (si === 0 && di === 1) {
      dst.fill(src[so]!, dO, dO + n);
    } else {
      for (let i = 0, s = so, d = dO; i < n; i++, s += si, d += di) dst[d] = src[s]!;
    }
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d]! < dims[d]!) {
        so += sst[d]!;
        dO += dst_[d]!;
        break;
      }
      so -= sst[d]! * (dims[d]! - 1);
      dO -= dst_[d]! * (dims[d]! - 1);
      idx[d] = 0;
    }
  }
}

/** dst[dOff + i·dRow + j] = src[sOff + i + j·sCol] for i < R, j < C, in cache-sized tiles. */
function transpose2d(src: HostArray, sOff: number, sCol: number, dst: HostArray, dOff: number, dRow: number, R: number, C: number): void {
  for (let i0 = 0; i0 < R; i0 += TILE) {
    const i1 = Math.min(R, i0 + TILE);
    for (let j0 = 0; j0 < C; j0 += TILE) {
      const j1 = Math.min(C, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const d = dOff + i * dRow;
        const s = sOff + i;
        for (let j = j0; j < j1; j++) dst[d + j] = src[s + j * sCol]!;
      }
    }
  }
}

export const permute: CpuKernel<Prim.Permute> = ([x], { perm }, out) => {
  const r = allocHost(out.dtype, x!.storage.length);
  const inStrides = stridesOf(x!.shape);
  copyStrided(x!.storage, 0, perm.map((p) => inStrides[p]!), r, 0, stridesOf(out.shape), out.shape);
  return r;
};

export const expand: CpuKernel<Prim.Expand> = ([x], _p, out) => {
  const r = allocHost(out.dtype, sizeOfShape(out.shape));
  copyStrided(x!.storage, 0, broadcastStrides(x!.shape, out.shape), r, 0, stridesOf(out.shape), out.shape);
  return r;
};

export const slice: CpuKernel<Prim.Slice> = ([x], { begin }, out) => {
  const r = allocHost(out.dtype, sizeOfShape(out.shape));
  const s = stridesOf(x!.shape);
  let off = 0;
  for (let d = 0; d < s.length; d++) off += begin[d]! * s[d]!;
  copyStrided(x!.storage, off, s, r, 0, stridesOf(out.shape), out.shape);
  return r;
};

export const pad: CpuKernel<Prim.Pad> = ([x], { pads, value }, out) => {
  const r = allocHost(out.dtype, sizeOfShape(out.shape));
  r.fill(value);
  const os = stridesOf(out.shape);
  let off = 0;
  for (let d = 0; d < os.length; d++) off += pads[d]![0] * os[d]!;
  copyStrided(x!.storage, 0, stridesOf(x!.shape), r, off, os, x!.shape);
  return r;
};

export const concat: CpuKernel<Prim.Concat> = (xs, { axis }, out) => {
  const r = allocHost(out.dtype, sizeOfShape(out.shape));
  const os = stridesOf(out.shape);
  let at = 0;
  for (const x of xs) {
    copyStrided(x.storage, 0, stridesOf(x.shape), r, at * os[axis]!, os, x.shape);
    at += x.shape[axis]!;
  }
  return r;
};

/** The oracle's index check (same error), before any work. */
function checkIndices(where: string, idx: HostArray, bound: number): void {
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i]!;
    if (v < 0 || v >= bound) throw new ValueError(where, `indices in [0, ${bound})`, String(v), `at flat position ${i}`);
  }
}

/** (outer, axis size, inner) of `shape` around `axis`. */
function around(shape: Shape, axis: number): [number, number, number] {
  return [sizeOfShape(shape.slice(0, axis)), shape[axis]!, sizeOfShape(shape.slice(axis + 1))];
}

export const gather: CpuKernel<Prim.Gather> = ([x, idx], { axis }, out) => {
  const [outer, A, inner] = around(x!.shape, axis);
  const iv = idx!.storage;
  checkIndices(Prim.Gather, iv, A);
  const r = allocHost(out.dtype, sizeOfShape(out.shape));
  const xv = x!.storage;
  const t = iv.length;
  for (let o = 0, d = 0; o < outer; o++)
    for (let k = 0; k < t; k++, d += inner) {
      const s = (o * A + iv[k]!) * inner;
      if (inner >= SET_MIN) r.set(xv.subarray(s, s + inner), d);
      else for (let j = 0; j < inner; j++) r[d + j] = xv[s + j]!;
    }
  return r;
};

export const scatterAdd: CpuKernel<Prim.ScatterAdd> = ([upd, idx], { axis, shape }, out) => {
  const [outer, A, inner] = around(shape, axis);
  const iv = idx!.storage;
  checkIndices(Prim.ScatterAdd, iv, A);
  // f64 sums in the oracle's order (updates in flat order), then one conversion.
  const acc = new Float64Array(sizeOfShape(shape));
  const uv = upd!.storage;
  const t = iv.length;
  for (let o = 0, s = 0; o < outer; o++)
    for (let k = 0; k < t; k++, s += inner) {
      const d = (o * A + iv[k]!) * inner;
      for (let j = 0; j < inner; j++) acc[d + j] = acc[d + j]! + uv[s + j]!;
    }
  const r = allocHost(out.dtype, acc.length);
  r.set(acc);
  return r;
};

export const cast: CpuKernel<Prim.Cast> = ([x], { dtype }, out) => {
  const v = x!.storage;
  const r = allocHost(out.dtype, v.length);
  if (dtype === 'bool')
    for (let i = 0; i < v.length; i++) r[i] = +(v[i] !== 0); // x != 0: NaN → true, as the oracle
  else if ((dtype === 'i32' || dtype === 'u32') && (x!.dtype === 'f32' || x!.dtype === 'f64')) {
    // The oracle's float → int: truncate, saturate at the i32 range (u32: non-negatives at
    // 2^32 − 1; negatives stored as their i32, wrapped), NaN → 0. Math.trunc(NaN) is NaN,
    // which max/min carry and the typed-array store turns into 0.
    const hi = dtype === 'u32' ? 4294967295 : 2147483647;
    for (let i = 0; i < v.length; i++) {
      const t = Math.trunc(v[i]!);
      r[i] = t >= 0 ? Math.min(t, hi) : Math.max(t, -2147483648);
    }
  } else r.set(v); // element conversion as assignment does
  return r;
};
