// Reductions of the fast CPU backend: sum / max over any axes, argmax over one. The input's
// dims are merged into alternating kept / reduced groups; each reduced group is one pass over
// an (outer, R, inner) view: inner = 1 is a run along contiguous rows (softmax's last axis),
// otherwise whole inner rows are accumulated at once (bias gradients: sum over rows), so every
// pass streams memory in order. Several reduced groups take several passes, innermost first.
// Sums accumulate in f64 as the oracle does; max and argmax keep its NaN and first-index rules
// (numpy's: NaN is the maximum, argmax is the index of the first NaN).

import { allocHost, type HostArray } from '../../dtype.js';
import type { Prim } from '../../prims.js';
import type { Shape } from '../../shape.js';
import type { CpuKernel } from '../reference.js';
import { sizeOfShape } from './strided.js';

type Src = HostArray | Float64Array;

/** Kept/reduced groups of `shape` (size-1 dims dropped, neighbours of one kind merged). */
function groups(shape: Shape, axes: readonly number[]): { size: number; reduced: boolean }[] {
  const g: { size: number; reduced: boolean }[] = [];
  for (let d = 0; d < shape.length; d++) {
    const size = shape[d]!;
    if (size === 1) continue;
    const reduced = axes.includes(d);
    const last = g[g.length - 1];
    if (last && last.reduced === reduced) last.size *= size;
    else g.push({ size, reduced });
  }
  return g;
}

/** Σ over R of x viewed as (outer, R, inner), into a fresh f64 array of outer·inner. */
function sumPass(x: Src, outer: number, R: number, inner: number): Float64Array {
  const r = new Float64Array(outer * inner);
  if (inner === 1) {
    for (let o = 0, p = 0; o < outer; o++) {
      let s = 0;
      for (let k = 0; k < R; k++, p++) s += x[p]!;
      r[o] = s;
    }
    return r;
  }
  for (let o = 0; o < outer; o++) {
    const ro = o * inner;
    let p = o * R * inner;
    for (let k = 0; k < R; k++, p += inner) for (let j = 0; j < inner; j++) r[ro + j] = r[ro + j]! + x[p + j]!;
  }
  return r;
}

/** Max over R (NaN wins, as in the oracle) of x viewed as (outer, R, inner). */
function maxPass(x: Src, outer: number, R: number, inner: number): Float64Array {
  const r = new Float64Array(outer * inner).fill(-Infinity);
  if (inner === 1) {
    for (let o = 0, p = 0; o < outer; o++) {
      let m = -Infinity;
      for (let k = 0; k < R; k++, p++) {
        const v = x[p]!;
        if (v > m || v !== v) m = v;
      }
      r[o] = m;
    }
    return r;
  }
  for (let o = 0; o < outer; o++) {
    const ro = o * inner;
    let p = o * R * inner;
    for (let k = 0; k < R; k++, p += inner)
      for (let j = 0; j < inner; j++) {
        const v = x[p + j]!;
        if (v > r[ro + j]! || v !== v) r[ro + j] = v;
      }
  }
  return r;
}

function reduceAll(pass: typeof sumPass, x: HostArray, shape: Shape, axes: readonly number[], outDtype: Parameters<typeof allocHost>[0]): HostArray {
  const g = groups(shape, axes);
  let cur: Src = x;
  for (;;) {
    let p = -1;
    for (let i = g.length - 1; i >= 0; i--) if (g[i]!.reduced) { p = i; break; }
    if (p < 0) break;
    let outer = 1, inner = 1;
    for (let i = 0; i < p; i++) outer *= g[i]!.size;
    for (let i = p + 1; i < g.length; i++) inner *= g[i]!.size;
    cur = pass(cur, outer, g[p]!.size, inner);
    g.splice(p, 1);
    // Two kept groups now side by side are one.
    if (p > 0 && p < g.length && !g[p - 1]!.reduced && !g[p]!.reduced) g.splice(p - 1, 2, { size: g[p - 1]!.size * g[p]!.size, reduced: false });
  }
  const n = sizeOfShape(shape.filter((_, d) => !axes.includes(d)));
  const r = allocHost(outDtype, n);
  // Nothing of size > 1 reduced leaves cur === x: the result is a copy.
  r.set(cur === x ? x.subarray(0, n) : cur);
  return r;
}

export const sum: CpuKernel<Prim.Sum> = ([x], { axes }, out) => reduceAll(sumPass, x!.storage, x!.shape, axes, out.dtype);
export const max: CpuKernel<Prim.Max> = ([x], { axes }, out) => reduceAll(maxPass, x!.storage, x!.shape, axes, out.dtype);

export const argmax: CpuKernel<Prim.Argmax> = ([x], { axis }, out) => {
  const shape = x!.shape;
  const v = x!.storage;
  const outer = sizeOfShape(shape.slice(0, axis));
  const R = shape[axis]!;
  const inner = sizeOfShape(shape.slice(axis + 1));
  const r = allocHost('i32', outer * inner) as Int32Array;
  if (r.length === 0) return allocHost(out.dtype, 0);
  if (inner === 1) {
    for (let o = 0, p = 0; o < outer; o++, p += R) {
      let best = v[p]!;
      let at = 0;
      for (let k = 1; k < R; k++) {
        const w = v[p + k]!;
        if (best === best && (w > best || w !== w)) {
          best = w;
          at = k;
        }
      }
      r[o] = at;
    }
    return r;
  }
  const best = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * R * inner;
    const ro = o * inner;
    for (let j = 0; j < inner; j++) best[j] = v[base + j]!;
    for (let k = 1; k < R; k++) {
      const p = base + k * inner;
      for (let j = 0; j < inner; j++) {
        const w = v[p + j]!;
        const b = best[j]!;
        if (b === b && (w > b || w !== w)) {
          best[j] = w;
          r[ro + j] = k;
        }
      }
    }
  }
  return r;
};
