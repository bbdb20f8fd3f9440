// Shape helpers for the fast CPU kernels: broadcast strides, merging of dimensions that are
// contiguous for every operand (so most broadcasts become one or two loops), and offset
// tables for small outer index spaces (matmul batches). Everything is O(rank) or O(n).

import type { Shape } from '../../shape.js';

/** Row-major strides of `shape` as seen from an output of rank `rank`, 0 where broadcast. */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const rank = outShape.length;
  const lead = rank - shape.length;
  const s = new Array<number>(rank).fill(0);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d + lead] = shape[d] === 1 && outShape[d + lead] !== 1 ? 0 : acc;
    acc *= shape[d]!;
  }
  return s;
}

/**
 * Merges adjacent output dims wherever every operand's strides allow it (d and d+1 merge when
 * stride[d] = stride[d+1]·size[d+1] for all operands), and drops size-1 dims. Returns the
 * merged sizes and one stride list per operand, innermost last; rank ≥ 1.
 */
export function mergeDims(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, o) => st[o]![last] === s[d]! * n)) {
      dims[last]! *= n;
      for (let o = 0; o < strides.length; o++) st[o]![last] = strides[o]![d]!;
    } else {
      dims.push(n);
      for (let o = 0; o < strides.length; o++) st[o]!.push(strides[o]![d]!);
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    for (const s of st) s.push(0);
  }
  return { shape: dims, strides: st };
}

/** Flat offsets (through `strides`) of every multi-index of `shape`, in row-major order. */
export function offsetTable(shape: Shape, strides: readonly number[]): Float64Array {
  const n = sizeOfShape(shape);
  const out = new Float64Array(n);
  const rank = shape.length;
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < n; i++) {
    out[i] = off;
    for (let d = rank - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) {
        off += strides[d]!;
        break;
      }
      off -= strides[d]! * (shape[d]! - 1);
      idx[d] = 0;
    }
  }
  return out;
}

export function sizeOfShape(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
