// Elementwise kernels of the fast CPU backend: unary, binary (NumPy broadcasting), compare
// and where. Operand strides are merged (strided.ts) so a same-shape op is one flat loop, a
// bias add [R, C] + [C] is R rows of C, a [R, 1] operand is a stride-0 row; anything else
// walks the outer dims with incremental counters, still O(n). Every result equals the
// oracle's bit for bit: the same scalar function (the record's `f`, elementwise/*.ts),
// evaluated in f64 and stored through the output array's conversion.
//
// Loops are compiled per record. One shared loop calling `f` sees every primitive's f at
// its call site and V8 stops inlining it (megamorphic: 2-6× slower, measured); so each
// record gets its own copy of the loop source through `new Function`, with f bound as a
// constant of that copy, which V8 then inlines. Each source is made unique (a comment with
// the primitive's name): V8 caches compilations by source text, and identical sources would
// share one call site again. Where `new Function` is refused (a page whose CSP forbids
// eval), the shared loops run instead: slower, the same numbers.
//
// Selections are branch-free. On dropout masks and ReLU inputs the outcome is a coin flip,
// and V8 compiles `c ? x : y` to a branch: ~50% mispredicted, 5-10× slower than the loop's
// memory traffic. Instead a comparison becomes 0/1 by `+(a < b)` (no branch), and a choice
// reads a two-slot scratch array: sel[0] = y, sel[1] = x, result sel[bit] (the records use
// `pick`, the same trick). A bool byte b becomes its truth bit as (b + 255) >> 8.

import { allocHost, type HostArray } from '../../dtype.js';
import { BINARY } from '../../elementwise/binary.js';
import { tableOf } from '../../elementwise/record.js';
import { UNARY } from '../../elementwise/unary.js';
import { BINARY_PRIMS, UNARY_PRIMS, type BinaryPrim, type CompareOp, type Prim, type UnaryPrim } from '../../prims.js';
import type { Shape } from '../../shape.js';
import type { CpuKernel, CpuOperand } from '../reference.js';
import { broadcastStrides, mergeDims, sizeOfShape } from './strided.js';

type Arr = HostArray;

/** Scratch slots of a branch-free choice (where); see the header. */
const sel = new Float64Array(3);

// ---------------------------------------------------------------- loops compiled per record

/** r[i] = f(x[i]) for i < n. */
type UnaryLoop = (x: Arr, r: Arr, n: number) => void;
/** One row of n outputs: r[ro + i] = f(a[ao + i·as], b[bo + i·bs]). */
type RowFn = (r: Arr, ro: number, a: Arr, ao: number, as: number, b: Arr, bo: number, bs: number, n: number) => void;

const UNARY_LOOP = `return function unaryLoop(x, r, n) {
  for (let i = 0; i < n; i++) r[i] = f(x[i]);
};`;

// Contiguous and scalar-operand rows get their own loops; the rest step the indices.
const BINARY_ROW = `return function binaryRow(r, ro, a, ao, as, b, bo, bs, n) {
  if (as === 1 && bs === 1) for (let i = 0; i < n; i++) r[ro + i] = f(a[ao + i], b[bo + i]);
  else if (as === 1 && bs === 0) { const v = b[bo]; for (let i = 0; i < n; i++) r[ro + i] = f(a[ao + i], v); }
  else if (as === 0 && bs === 1) { const v = a[ao]; for (let i = 0; i < n; i++) r[ro + i] = f(v, b[bo + i]); }
  else for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = f(a[ia], b[ib]);
};`;

const sharedUnaryLoop = (f: (x: number) => number): UnaryLoop => (x, r, n) => {
  for (let i = 0; i < n; i++) r[i] = f(x[i]!);
};
const sharedBinaryRow = (f: (a: number, b: number) => number): RowFn => (r, ro, a, ao, as, b, bo, bs, n) => {
  for (let i = 0, ia = ao, ib = bo; i < n; i++, ia += as, ib += bs) r[ro + i] = f(a[ia]!, b[ib]!);
};

/** `source` compiled with f bound, as its own function (see the header); the shared fallback where eval is refused. */
function compileLoop<F, L>(prim: Prim, source: string, f: F, fallback: (f: F) => L): L {
  try {
    return new Function('f', `// alphadrop fast CPU loop: ${prim}\n${source}`)(f) as L;
  } catch (e) {
    if (e instanceof EvalError) return fallback(f);
    throw e;
  }
}

const UNARY_LOOPS: { [P in UnaryPrim]: UnaryLoop } = tableOf(UNARY_PRIMS, (p) => compileLoop(p, UNARY_LOOP, UNARY[p].f, sharedUnaryLoop));
const BINARY_ROWS: { [P in BinaryPrim]: RowFn } = tableOf(BINARY_PRIMS, (p) => compileLoop(p, BINARY_ROW, BINARY[p].f, sharedBinaryRow));

export const unary =
  (prim: UnaryPrim): CpuKernel<UnaryPrim> =>
  ([x], _p, out) => {
    const n = x!.storage.length;
    const r = allocHost(out.dtype, n);
    UNARY_LOOPS[prim](x!.storage, r, n);
    return r;
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

/** The fast kernels of every unary and binary record. */
export const unaryKernels: { [P in UnaryPrim]: CpuKernel<P> } = tableOf(UNARY_PRIMS, unary);
export const binaryKernels: { [P in BinaryPrim]: CpuKernel<P> } = tableOf(BINARY_PRIMS, binary);

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
