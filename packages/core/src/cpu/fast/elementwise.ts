// Elementwise kernels of the fast CPU backend: unary, binary (NumPy broadcasting), compare
// and where. Operand strides are merged (strided.ts) so a same-shape op is one flat loop, a
// bias add [R, C] + [C] is R rows of C, a [R, 1] operand is a stride-0 row; anything else
// walks the outer dims with incremental counters, still O(n). Each op has its own loops
// (no per-element callback) so V8 compiles the arithmetic inline. Every result equals the
// oracle's bit for bit: the same scalar expression (scalar-fns.ts), evaluated in f64 and
// stored through the output array's conversion.
//
// Selections are branch-free. On dropout masks and ReLU inputs the outcome is a coin flip,
// and V8 compiles `c ? x : y` to a branch: ~50% mispredicted, 5-10× slower than the loop's
// memory traffic. Instead a comparison becomes 0/1 by `+(a < b)` (no branch), and a choice
// reads a two-slot scratch array: sel[0] = y, sel[1] = x, result sel[bit]. A bool byte b
// becomes its truth bit as (b + 255) >> 8.

import { allocHost, type HostArray } from '../../dtype.js';
import { Prim, type BinaryPrim, type CompareOp, type UnaryPrim } from '../../prims.js';
import type { Shape } from '../../shape.js';
import type { CpuKernel, CpuOperand } from '../reference.js';
import { broadcastStrides, mergeDims, sizeOfShape } from './strided.js';

type Arr = HostArray;

// ---------------------------------------------------------------- unary

/** Two (or three) slots a branch-free choice reads from; see the header. */
const sel = new Float64Array(3);

function unaryLoop(prim: UnaryPrim, x: Arr, r: Arr, n: number): void {
  const s = sel;
  switch (prim) {
    case Prim.Neg: for (let i = 0; i < n; i++) r[i] = -x[i]!; return;
    case Prim.Exp: for (let i = 0; i < n; i++) r[i] = Math.exp(x[i]!); return;
    case Prim.Log: for (let i = 0; i < n; i++) r[i] = Math.log(x[i]!); return;
    case Prim.Log1p: for (let i = 0; i < n; i++) r[i] = Math.log1p(x[i]!); return;
    case Prim.Sqrt: for (let i = 0; i < n; i++) r[i] = Math.sqrt(x[i]!); return;
    case Prim.Abs: for (let i = 0; i < n; i++) r[i] = Math.abs(x[i]!); return;
    case Prim.Sign:
      // v > 0 ? 1 : v < 0 ? -1 : v (keeps ±0 and NaN)
      s[1] = 1;
      s[2] = -1;
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        s[0] = v;
        r[i] = s[+(v > 0) | (+(v < 0) << 1)]!;
      }
      return;
    case Prim.Floor: for (let i = 0; i < n; i++) r[i] = Math.floor(x[i]!); return;
    case Prim.Relu:
      // v > 0 || v is NaN ? v : 0 (NaN propagates, as in scalar-fns.ts)
      s[0] = 0;
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        s[1] = v;
        r[i] = s[+(v > 0) | +(v !== v)]!;
      }
      return;
    case Prim.Sigmoid: for (let i = 0; i < n; i++) r[i] = 1 / (1 + Math.exp(-x[i]!)); return;
    case Prim.Tanh: for (let i = 0; i < n; i++) r[i] = Math.tanh(x[i]!); return;
    case Prim.Reciprocal: for (let i = 0; i < n; i++) r[i] = 1 / x[i]!; return;
    case Prim.Sin: for (let i = 0; i < n; i++) r[i] = Math.sin(x[i]!); return;
    case Prim.Cos: for (let i = 0; i < n; i++) r[i] = Math.cos(x[i]!); return;
  }
}

export const unary =
  (prim: UnaryPrim): CpuKernel<UnaryPrim> =>
  ([x], _p, out) => {
    const n = x!.storage.length;
    const r = allocHost(out.dtype, n);
    unaryLoop(prim, x!.storage, r, n);
    return r;
  };

// ---------------------------------------------------------------- binary rows
// One row of n outputs: r[ro + i] = f(a[ao + i·as], b[bo + i·bs]). Contiguous and
// scalar-operand rows get their own loops; the rest step the indices.

type RowFn = (r: Arr, ro: number, a: Arr, ao: number, as: number, b: Arr, bo: number, bs: number, n: number) => void;

const addRow: RowFn = (r, ro, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 1) for (let i = 0; i < n; i++) r[ro + i] = a[ao + i]! + b[bo + i]!;
  else if (as === 1 && bs === 0) { const v = b[bo]!; for (let i = 0; i < n; i++) r[ro + i] = a[ao + i]! + v; }
  else if (as === 0 && bs === 1) { const v = a[ao]!; for (let i = 0; i < n; i++) r[ro + i] = v + b[bo + i]!; }
  else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = a[ia]! + b[ib]!;
};
const subRow: RowFn = (r, ro, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 1) for (let i = 0; i < n; i++) r[ro + i] = a[ao + i]! - b[bo + i]!;
  else if (as === 1 && bs === 0) { const v = b[bo]!; for (let i = 0; i < n; i++) r[ro + i] = a[ao + i]! - v; }
  else if (as === 0 && bs === 1) { const v = a[ao]!; for (let i = 0; i < n; i++) r[ro + i] = v - b[bo + i]!; }
  else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = a[ia]! - b[ib]!;
};
const mulRow: RowFn = (r, ro, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 1) for (let i = 0; i < n; i++) r[ro + i] = a[ao + i]! * b[bo + i]!;
  else if (as === 1 && bs === 0) { const v = b[bo]!; for (let i = 0; i < n; i++) r[ro + i] = a[ao + i]! * v; }
  else if (as === 0 && bs === 1) { const v = a[ao]!; for (let i = 0; i < n; i++) r[ro + i] = v * b[bo + i]!; }
  else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = a[ia]! * b[ib]!;
};
const divRow: RowFn = (r, ro, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 1) for (let i = 0; i < n; i++) r[ro + i] = a[ao + i]! / b[bo + i]!;
  else if (as === 1 && bs === 0) { const v = b[bo]!; for (let i = 0; i < n; i++) r[ro + i] = a[ao + i]! / v; }
  else if (as === 0 && bs === 1) { const v = a[ao]!; for (let i = 0; i < n; i++) r[ro + i] = v / b[bo + i]!; }
  else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = a[ia]! / b[ib]!;
};
const powRow: RowFn = (r, ro, a, ao, as, b, bo, bs, n) => {
  if (as === 1 && bs === 0) {
    const v = b[bo]!;
    if (v === 2) for (let i = 0; i < n; i++) { const x = a[ao + i]!; r[ro + i] = x * x; } // exact: pow(x, 2) = x·x
    else for (let i = 0; i < n; i++) r[ro + i] = Math.pow(a[ao + i]!, v);
  } else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = Math.pow(a[ia]!, b[ib]!);
};
// maximum: x >= y || x is NaN ? x : y (minimum with <=), chosen branch-free.
const maxRow: RowFn = (r, ro, a, ao, as, b, bo, bs, n) => {
  const s = sel;
  if (as === 1 && bs === 0) {
    s[0] = b[bo]!;
    const v = s[0];
    for (let i = 0; i < n; i++) { const x = a[ao + i]!; s[1] = x; r[ro + i] = s[+(x >= v) | +(x !== x)]!; }
  } else
    for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) {
      const x = a[ia]!, y = b[ib]!;
      s[0] = y;
      s[1] = x;
      r[ro + i] = s[+(x >= y) | +(x !== x)]!;
    }
};
const minRow: RowFn = (r, ro, a, ao, as, b, bo, bs, n) => {
  const s = sel;
  if (as === 1 && bs === 0) {
    s[0] = b[bo]!;
    const v = s[0];
    for (let i = 0; i < n; i++) { const x = a[ao + i]!; s[1] = x; r[ro + i] = s[+(x <= v) | +(x !== x)]!; }
  } else
    for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) {
      const x = a[ia]!, y = b[ib]!;
      s[0] = y;
      s[1] = x;
      r[ro + i] = s[+(x <= y) | +(x !== x)]!;
    }
};

const BINARY_ROWS: { [P in BinaryPrim]: RowFn } = {
  [Prim.Add]: addRow,
  [Prim.Sub]: subRow,
  [Prim.Mul]: mulRow,
  [Prim.Div]: divRow,
  [Prim.Pow]: powRow,
  [Prim.Maximum]: maxRow,
  [Prim.Minimum]: minRow,
};

// Comparisons: the tensor-against-scalar row (Bernoulli thresholds, ReLU masks) gets its own loop.
const COMPARE_ROWS: { [O in CompareOp]: RowFn } = {
  eq: (r, ro, a, ao, as, b, bo, bs, n) => {
    if (as === 1 && bs === 0) { const v = b[bo]; for (let i = 0; i < n; i++) r[ro + i] = +(a[ao + i] === v); }
    else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = +(a[ia] === b[ib]);
  },
  ne: (r, ro, a, ao, as, b, bo, bs, n) => {
    if (as === 1 && bs === 0) { const v = b[bo]; for (let i = 0; i < n; i++) r[ro + i] = +(a[ao + i] !== v); }
    else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = +(a[ia] !== b[ib]);
  },
  lt: (r, ro, a, ao, as, b, bo, bs, n) => {
    if (as === 1 && bs === 0) { const v = b[bo]!; for (let i = 0; i < n; i++) r[ro + i] = +(a[ao + i]! < v); }
    else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = +(a[ia]! < b[ib]!);
  },
  le: (r, ro, a, ao, as, b, bo, bs, n) => {
    if (as === 1 && bs === 0) { const v = b[bo]!; for (let i = 0; i < n; i++) r[ro + i] = +(a[ao + i]! <= v); }
    else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = +(a[ia]! <= b[ib]!);
  },
  gt: (r, ro, a, ao, as, b, bo, bs, n) => {
    if (as === 1 && bs === 0) { const v = b[bo]!; for (let i = 0; i < n; i++) r[ro + i] = +(a[ao + i]! > v); }
    else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = +(a[ia]! > b[ib]!);
  },
  ge: (r, ro, a, ao, as, b, bo, bs, n) => {
    if (as === 1 && bs === 0) { const v = b[bo]!; for (let i = 0; i < n; i++) r[ro + i] = +(a[ao + i]! >= v); }
    else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = +(a[ia]! >= b[ib]!);
  },
};

/**
 * Runs `row` over the broadcast of a and b to `outShape`: merged dims, the innermost as rows,
 * the outer ones stepped by counters.
 */
function broadcastRows(row: RowFn, r: Arr, a: CpuOperand, b: CpuOperand, outShape: Shape): void {
  const m = mergeDims(outShape, [broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape)]);
  const dims = m.shape;
  const [sa, sb] = m.strides as [number[], number[]];
  const rank = dims.length;
  const n = dims[rank - 1]!;
  const as = sa[rank - 1]!;
  const bs = sb[rank - 1]!;
  const rows = sizeOfShape(dims) / n;
  if (rank === 1) return row(r, 0, a.storage, 0, as, b.storage, 0, bs, n);
  if (rank === 2) {
    const oa = sa[0]!, ob = sb[0]!;
    for (let i = 0; i < rows; i++) row(r, i * n, a.storage, i * oa, as, b.storage, i * ob, bs, n);
    return;
  }
  const idx = new Array<number>(rank - 1).fill(0);
  let ia = 0, ib = 0;
  for (let i = 0; i < rows; i++) {
    row(r, i * n, a.storage, ia, as, b.storage, ib, bs, n);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d]! < dims[d]!) {
        ia += sa[d]!;
        ib += sb[d]!;
        break;
      }
      ia -= sa[d]! * (dims[d]! - 1);
      ib -= sb[d]! * (dims[d]! - 1);
      idx[d] = 0;
    }
  }
}


export const binary =
  (prim: BinaryPrim): CpuKernel<BinaryPrim> =>
  ([a, b], _p, outSpec) => {
    const r = allocHost(outSpec.dtype, sizeOfShape(outSpec.shape));
    if (r.length > 0) broadcastRows(BINARY_ROWS[prim], r, a!, b!, outSpec.shape);
    return r;
  };

export const compare: CpuKernel<Prim.Compare> = ([a, b], { op }, outSpec) => {
  const r = allocHost('bool', sizeOfShape(outSpec.shape));
  if (r.length > 0) broadcastRows(COMPARE_ROWS[op], r, a!, b!, outSpec.shape);
  return r;
};

// ---------------------------------------------------------------- where

export const where: CpuKernel<Prim.Where> = ([c, a, b], _p, outSpec) => {
  const shape = outSpec.shape;
  const r = allocHost(outSpec.dtype, sizeOfShape(shape));
  if (r.length === 0) return r;
  const m = mergeDims(shape, [broadcastStrides(c!.shape, shape), broadcastStrides(a!.shape, shape), broadcastStrides(b!.shape, shape)]);
  const dims = m.shape;
  const [sc, sa, sb] = m.strides as [number[], number[], number[]];
  const rank = dims.length;
  const n = dims[rank - 1]!;
  const cs = sc[rank - 1]!, as = sa[rank - 1]!, bs = sb[rank - 1]!;
  const cv = c!.storage, av = a!.storage, bv = b!.storage;
  const s = sel;
  const idx = new Array<number>(rank).fill(0);
  let ic = 0, ia = 0, ib = 0;
  const rows = r.length / n;
  for (let row = 0, o = 0; row < rows; row++) {
    // Masks select between rows and scalars: where(mask, 2, 0), where(mask, 2h, 0), where(c, a, b).
    if (cs === 1 && as === 0 && bs === 0) {
      s[0] = bv[ib]!;
      s[1] = av[ia]!;
      for (let i = 0; i < n; i++, o++) r[o] = s[(cv[ic + i]! + 255) >> 8]!;
    } else if (cs === 1 && as === 1 && bs === 0) {
      s[0] = bv[ib]!;
      for (let i = 0; i < n; i++, o++) {
        s[1] = av[ia + i]!;
        r[o] = s[(cv[ic + i]! + 255) >> 8]!;
      }
    } else
      for (let i = 0, jc = ic, ja = ia, jb = ib; i < n; i++, o++, jc += cs, ja += as, jb += bs) {
        s[0] = bv[jb]!;
        s[1] = av[ja]!;
        r[o] = s[(cv[jc]! + 255) >> 8]!;
      }
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d]! < dims[d]!) {
        ic += sc[d]!;
        ia += sa[d]!;
        ib += sb[d]!;
        break;
      }
      ic -= sc[d]! * (dims[d]! - 1);
      ia -= sa[d]! * (dims[d]! - 1);
      ib -= sb[d]! * (dims[d]! - 1);
      idx[d] = 0;
    }
  }
  return r;
};
