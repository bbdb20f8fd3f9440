// Shape arithmetic: sizes, strides, NumPy broadcasting, axis normalisation.

import { ShapeError } from './errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function assertValidShape(where: string, shape: Shape): void {
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0)
      throw new ShapeError(where, 'non-negative integer dimensions', fmtShape(shape));
}

/** NumPy broadcasting: align trailing dims; each pair must be equal or contain a 1. */
export function broadcastShapes(where: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o])
        throw new ShapeError(where, 'shapes that broadcast', shapes.map(fmtShape).join(' and '), `dimension ${o - rank} differs`);
    }
  }
  return out;
}

/** Normalises possibly-negative axes against `rank`; rejects out-of-range and repeats. */
export function normalizeAxes(where: string, axes: readonly number[] | number | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = list.map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank)
      throw new ShapeError(where, `axis in [${-rank}, ${rank})`, String(a));
    return a < 0 ? a + rank : a;
  });
  if (new Set(out).size !== out.length) throw new ShapeError(where, 'distinct axes', `[${list.join(', ')}]`);
  return out.sort((x, y) => x - y);
}

export function normalizeAxis(where: string, axis: number, rank: number): number {
  return normalizeAxes(where, [axis], rank)[0]!;
}

/**
 * The axes of `outShape` along which an operand of shape `inShape` was broadcast
 * (including prepended axes). Summing a gradient over them and reshaping to `inShape`
 * undoes the broadcast.
 */
export function broadcastedAxes(inShape: Shape, outShape: Shape): number[] {
  const lead = outShape.length - inShape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < lead) axes.push(i);
    else if (inShape[i - lead] === 1 && outShape[i] !== 1) axes.push(i);
  }
  return axes;
}
