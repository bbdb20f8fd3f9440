// Slices and concatenations without a copy. A slice that selects one contiguous range of a
// row-major tensor (a leading-axis slice, a row of a packed buffer, a piece of a flat one),
// and a concatenation whose inputs are adjacent ranges of one storage in order (the pieces
// of a flat buffer put back together), hold the same elements in the same order as the
// storage they read: engine.ts's apply() gives them a DataHandle view of that storage
// (tensor.ts's viewOf) instead of running a kernel, where the backend can alias the range
// (Backend.view: WebGPU needs an aligned offset; anything else falls back to the copy).
// The tape records them like any primitive; their VJPs are unchanged.

import type { DType } from './dtype.js';
import { stridesOf, sizeOf, type Shape } from './shape.js';
import { viewOf, type DataHandle, type Tensor } from './tensor.js';

/**
 * The elements [start, start + count) that a slice (begin, size per axis) of a row-major
 * tensor of `shape` selects, when they are one contiguous range: every axis after the
 * innermost partly-taken one is taken whole, every axis before it has size 1. Else null.
 */
export function sliceRange(shape: Shape, begin: readonly number[], size: readonly number[]): { start: number; count: number } | null {
  let partial = shape.length - 1;
  while (partial >= 0 && size[partial] === shape[partial]) partial--;
  for (let d = 0; d < partial; d++) if (size[d] !== 1) return null;
  const strides = stridesOf(shape);
  let start = 0;
  for (let d = 0; d < shape.length; d++) start += begin[d]! * strides[d]!;
  return { start, count: sizeOf(size) };
}

const rootOf = (h: DataHandle): DataHandle => h.root ?? h;

/** A view for slice(x, begin, size), or null (not one range, or the backend cannot alias it). */
export function sliceView(x: Tensor, begin: readonly number[], size: readonly number[]): DataHandle | null {
  const r = sliceRange(x.shape, begin, size);
  if (r === null || r.count === 0) return null;
  const h = x.handle;
  return viewOf(rootOf(h), x.dtype, h.offset + r.start, r.count);
}

/**
 * A view for concat(xs, axis) with output `shape`, or null. One input is the input itself;
 * otherwise every dimension before `axis` must be 1 (so the output is the inputs one after
 * another) and the non-empty inputs adjacent ranges of one storage, in order.
 */
export function concatView(xs: readonly Tensor[], axis: number, shape: Shape, dtype: DType): DataHandle | null {
  if (xs.length === 1) {
    const h = xs[0]!.handle;
    h.refs++;
    return h;
  }
  if (sizeOf(shape.slice(0, axis)) !== 1) return null;
  const parts = xs.filter((t) => t.size > 0);
  if (parts.length === 0) return null;
  const root = rootOf(parts[0]!.handle);
  const start = parts[0]!.handle.offset;
  let at = start;
  for (const t of parts) {
    const h = t.handle;
    if (rootOf(h) !== root || h.offset !== at) return null;
    at += t.size;
  }
  return viewOf(root, dtype, start, at - start);
}
