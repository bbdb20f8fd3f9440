// f32 GEMM in WebAssembly SIMD128 (AssemblyScript, part of the module index.ts; the host side
// is packages/core/src/cpu/wasm/gemm.ts, which copies operands in and out).
// The same GotoBLAS-style structure as the fast TS GEMM (src/cpu/fast/gemm.ts): operands are
// packed into panels, a register-blocked micro-kernel walks k for each pair of panels.
//
// Memory is the host's business: this module owns no heap (runtime "stub", nothing is
// allocated), the host places every buffer above heapBase() and grows the memory itself.
// Pointers are byte addresses, strides and sizes are in f32 elements.
//
// Numerics: each C element is summed in f32, one product at a time, in increasing k, from 0:
// c = fl(c + fl(a·b)). Plain SIMD128 (no relaxed FMA: Node 20's V8 lacks it) rounds the
// product and the sum separately, and Binaryen never reassociates float arithmetic, so the
// result is a fixed function of the inputs: independent of the blocking below, of which rows
// a call covers, and of the split over threads (gemmChunk) (a K block resumes from the stored
// partial sum, which is the same f32 value).

import { chunkStart } from './chunks';

// Register tile: MR rows of A (each splatted across a vector) times NR = 8 columns of B (two
// f32x4 vectors). 8 accumulators + 2 B vectors + 1 splat leave room in x86-64's 16 xmm
// registers, which is all V8's register allocator has.
const MR: i32 = 4;
const NR: i32 = 8;
// K block: an A micro-panel (MR·KC·4 = 4 KiB) and a B micro-panel (NR·KC·4 = 8 KiB) stay in L1.
const KC: i32 = 256;
// Row block: MC·KC·4 = 128 KiB of packed A stays in L2 while every B micro-panel passes over it.
const MC: i32 = 128;

/** First byte the host may use: past this module's static data, 64-byte aligned. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** Panel geometry, so the host sizes its buffers from the same constants. */
export function rowsPerPanel(): i32 {
  return MR;
}
export function colsPerPanel(): i32 {
  return NR;
}

// ---------------------------------------------------------------- packing

/**
 * Transposes a 4×4 block: reads 4 vectors of 4 floats at src + r·srcStride (bytes) and writes
 * lane q of every vector, as one vector, at dst + q·dstStride.
 */
// @ts-ignore: decorator
@inline
function transpose4(src: usize, srcStride: usize, dst: usize, dstStride: usize): void {
  const r0 = v128.load(src);
  const r1 = v128.load(src + srcStride);
  const r2 = v128.load(src + 2 * srcStride);
  const r3 = v128.load(src + 3 * srcStride);
  const t0 = f32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = f32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = f32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = f32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, f32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + dstStride, f32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * dstStride, f32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * dstStride, f32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

/**
 * Packs W lines of an R×K matrix X (element (r, k) at src + 4·(r·rs + k·ks)) into panels of
 * W lines each: dst[(p·K + k)·W + q] = X[p·W + q, k], lines past R zero. Used for A (lines are
 * rows, W = MR) and for B (lines are columns, W = NR).
 */
// @ts-ignore: decorator
@inline
function packPanels(src: usize, rs: i32, ks: i32, R: i32, K: i32, dst: usize, W: i32): void {
  const panels = (R + W - 1) / W;
  const rsB = <usize>rs << 2;
  const ksB = <usize>ks << 2;
  const wB = <usize>W << 2;
  for (let p = 0; p < panels; p++) {
    const lines = min(W, R - p * W);
    const from = src + <usize>(p * W) * rsB;
    const to = dst + <usize>p * <usize>K * wB;
    let k = 0;
    if (lines == W && rs == 1) {
      // The W lines of a panel are adjacent in memory: a k-slice is W/4 plain vectors.
      for (; k < K; k++) {
        const s = from + <usize>k * ksB;
        const d = to + <usize>k * wB;
        for (let q = 0; q < W; q += 4) v128.store(d + (<usize>q << 2), v128.load(s + (<usize>q << 2)));
      }
    } else if (lines == W && ks == 1) {
      // Each line is contiguous in k: transpose 4 lines × 4 k at a time.
      for (; k + 4 <= K; k += 4)
        for (let q = 0; q < W; q += 4) transpose4(from + <usize>q * rsB + (<usize>k << 2), rsB, to + <usize>k * wB + (<usize>q << 2), wB);
    }
    for (; k < K; k++) {
      const d = to + <usize>k * wB;
      for (let q = 0; q < W; q++) store<f32>(d + (<usize>q << 2), q < lines ? load<f32>(from + <usize>q * rsB + <usize>k * ksB) : 0);
    }
  }
}

/** A (M×K, element (i, k) at src + 4·(i·rs + k·cs)) into panels of MR rows: Ap[(p·K + k)·MR + r]. */
export function packA(src: usize, rs: i32, cs: i32, M: i32, K: i32, dst: usize): void {
  packPanels(src, rs, cs, M, K, dst, MR);
}

/** B (K×N, element (k, j) at src + 4·(k·rs + j·cs)) into panels of NR columns: Bp[(q·K + k)·NR + j]. */
export function packB(src: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void {
  packPanels(src, cs, rs, N, K, dst, NR);
}

/** Panels [p0, p1) of packPanels: the same bytes as the whole call writes there. */
// @ts-ignore: decorator
@inline
function packPanelRange(c: i32, chunks: i32, src: usize, rs: i32, ks: i32, R: i32, K: i32, dst: usize, W: i32): void {
  const panels = (R + W - 1) / W;
  const p0 = chunkStart(c, chunks, panels);
  const p1 = chunkStart(c + 1, chunks, panels);
  if (p1 <= p0) return;
  const lines = min(R, p1 * W) - p0 * W;
  packPanels(src + ((<usize>(p0 * W) * <usize>rs) << 2), rs, ks, lines, K, dst + ((<usize>p0 * <usize>K * <usize>W) << 2), W);
}

/** Piece c of `chunks` of packA (whole panels of MR rows). */
export function packAChunk(c: i32, chunks: i32, _scratch: usize, src: usize, rs: i32, cs: i32, M: i32, K: i32, dst: usize): void {
  packPanelRange(c, chunks, src, rs, cs, M, K, dst, MR);
}

/** Piece c of `chunks` of packB (whole panels of NR columns). */
export function packBChunk(c: i32, chunks: i32, _scratch: usize, src: usize, rs: i32, cs: i32, K: i32, N: i32, dst: usize): void {
  packPanelRange(c, chunks, src, cs, rs, N, K, dst, NR);
}

// ---------------------------------------------------------------- the product

/**
 * One MR×NR tile over kc steps of k: C[r, j] (+)= Σ_k a[k·MR + r]·b[k·NR + j], C rows ldc bytes
 * apart; `first` starts the sums at 0, else at C's current values.
 */
// @ts-ignore: decorator
@inline
function microKernel(a: usize, b: usize, c: usize, ldc: usize, kc: i32, first: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  if (!first) {
    c00 = v128.load(c); c01 = v128.load(c, 16);
    c10 = v128.load(c + ldc); c11 = v128.load(c + ldc, 16);
    c20 = v128.load(c + 2 * ldc); c21 = v128.load(c + 2 * ldc, 16);
    c30 = v128.load(c + 3 * ldc); c31 = v128.load(c + 3 * ldc, 16);
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let s = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(s, b0));
    c01 = f32x4.add(c01, f32x4.mul(s, b1));
    s = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(s, b0));
    c11 = f32x4.add(c11, f32x4.mul(s, b1));
    s = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(s, b0));
    c21 = f32x4.add(c21, f32x4.mul(s, b1));
    s = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(s, b0));
    c31 = f32x4.add(c31, f32x4.mul(s, b1));
    a += 16;
    b += 32;
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
}

/**
 * The left half of a tile (MR×4: B's first vector only, panels still NR wide), for the last
 * B panel when N mod 8 ≤ 4: the same sums as microKernel's, half the work.
 */
// @ts-ignore: decorator
@inline
function microKernelHalf(a: usize, b: usize, c: usize, ldc: usize, kc: i32, first: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
  if (!first) {
    c0 = v128.load(c); c1 = v128.load(c + ldc); c2 = v128.load(c + 2 * ldc); c3 = v128.load(c + 3 * ldc);
  }
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(a), b0));
    c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(a, 4), b0));
    c2 = f32x4.add(c2, f32x4.mul(v128.load32_splat(a, 8), b0));
    c3 = f32x4.add(c3, f32x4.mul(v128.load32_splat(a, 12), b0));
    a += 16;
    b += 32;
  }
  v128.store(c, c0); v128.store(c + ldc, c1); v128.store(c + 2 * ldc, c2); v128.store(c + 3 * ldc, c3);
}

/**
 * A tile cut by the matrix edge: run in `tmp` (MR×NR floats, rows NR apart), then copy its
 * rows×cols part out; starts from C's part when continuing a sum.
 */
function edgeTile(a: usize, b: usize, c: usize, ldc: usize, kc: i32, first: bool, rows: i32, cols: i32, tmp: usize): void {
  const ldt: usize = <usize>NR << 2;
  if (!first)
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < cols; j++) store<f32>(tmp + <usize>r * ldt + (<usize>j << 2), load<f32>(c + <usize>r * ldc + (<usize>j << 2)));
  if (cols <= 4) microKernelHalf(a, b, tmp, ldt, kc, first);
  else microKernel(a, b, tmp, ldt, kc, first);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < cols; j++) store<f32>(c + <usize>r * ldc + (<usize>j << 2), load<f32>(tmp + <usize>r * ldt + (<usize>j << 2)));
}

/**
 * C = A·B from packed panels (packA, packB with the same K): C[i·ldc + j] for i < M, j < N,
 * overwritten. `tmp` holds MR×NR floats of scratch for the edge tiles. K ≥ 1.
 */
export function gemm(M: i32, N: i32, K: i32, ap: usize, bp: usize, c: usize, ldc: i32, tmp: usize): void {
  gemmPanels(0, (M + MR - 1) / MR, M, N, K, ap, bp, c, ldc, tmp);
}

/**
 * Piece c of `chunks` of gemm: the rows of A's panels [p0, p1), every column. Each C element
 * is summed by one piece in the order gemm sums it, so any split gives gemm's bits.
 */
export function gemmChunk(c: i32, chunks: i32, scratch: usize, M: i32, N: i32, K: i32, ap: usize, bp: usize, cp: usize, ldc: i32): void {
  const mPanels = (M + MR - 1) / MR;
  gemmPanels(chunkStart(c, chunks, mPanels), chunkStart(c + 1, chunks, mPanels), M, N, K, ap, bp, cp, ldc, scratch);
}

/** gemm over A's row panels [pStart, pEnd) only. */
function gemmPanels(pStart: i32, pEnd: i32, M: i32, N: i32, K: i32, ap: usize, bp: usize, c: usize, ldc: i32, tmp: usize): void {
  const ldcB = <usize>ldc << 2;
  const nPanels = (N + NR - 1) / NR;
  const panelsPerBlock = MC / MR;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const first = k0 == 0;
    for (let ip0 = pStart; ip0 < pEnd; ip0 += panelsPerBlock) {
      const ip1 = min(pEnd, ip0 + panelsPerBlock);
      for (let jp = 0; jp < nPanels; jp++) {
        const bPanel = bp + ((<usize>jp * <usize>K + <usize>k0) * <usize>NR << 2);
        const cols = min(NR, N - jp * NR);
        for (let ip = ip0; ip < ip1; ip++) {
          const aPanel = ap + ((<usize>ip * <usize>K + <usize>k0) * <usize>MR << 2);
          const rows = min(MR, M - ip * MR);
          const cTile = c + <usize>(ip * MR) * ldcB + (<usize>(jp * NR) << 2);
          if (rows == MR && cols == NR) microKernel(aPanel, bPanel, cTile, ldcB, kc, first);
          else if (rows == MR && cols == 4) microKernelHalf(aPanel, bPanel, cTile, ldcB, kc, first);
          else edgeTile(aPanel, bPanel, cTile, ldcB, kc, first, rows, cols, tmp);
        }
      }
    }
  }
}
