// The CPU GEMM core: C[M,N] = A[M,K]·B[K,N] over typed arrays, GotoBLAS-style.
// A is packed into panels of MR=4 rows, B into panels of NR=4 columns (both f64, zero-padded
// to whole panels), and a 4×4 register-blocked micro-kernel walks K for each pair of panels,
// keeping its 16 sums in locals. Operands are read through (row, column) strides, so
// transposed and strided views (matmul transA/transB, im2col columns) cost nothing extra.
//
// Numerics: every output element is summed in f64 in increasing k, exactly as the oracle
// (cpu/reference.ts) does, so results equal the oracle's bit for bit, whichever thread
// computes a tile. V8 has no f32 arithmetic and no fused multiply-add, which is what makes
// this hold; measured in plain JS the micro-kernel runs at ~4-5 GFLOP/s per core, limited by
// the bounds and map checks V8 emits per typed-array load (bench numbers in fast.ts).
//
// Work is cut into chunks (a block of A panels × a block of B panels, sized for L2) that
// threads claim from a shared counter (workers.ts); the calling thread always takes part, so
// the result does not depend on how many workers showed up.

import type { DropoutParams } from '../../prims.js';
import { gemmScratch, gemmTiles, releaseLargeGemmScratch } from './gemm-tiles.js';
import { parallelGemm } from './workers.js';

const MR = 4;
const NR = 4;

/** Any float host array an operand or result may live in. */
export type FloatArray = Float32Array | Float64Array;
type Readable = ArrayLike<number>;

/**
 * Packs the R×K matrix X (element (r, k) at off + r·rs + k·ks) into panels of 4 rows:
 * P[(p·K + k)·4 + q] = X[4p + q, k], rows past R zero.
 */
function packPanels(x: Readable, off: number, rs: number, ks: number, R: number, K: number, P: Float64Array): void {
  const panels = Math.ceil(R / 4);
  for (let p = 0; p < panels; p++) {
    const base = p * K * 4;
    const rows = Math.min(4, R - p * 4);
    if (ks === 1) {
      // Rows contiguous in k: read each row straight through.
      for (let q = 0; q < rows; q++) {
        const src = off + (p * 4 + q) * rs;
        for (let k = 0, d = base + q; k < K; k++, d += 4) P[d] = x[src + k]!;
      }
    } else {
      for (let k = 0; k < K; k++) {
        const src = off + p * 4 * rs + k * ks;
        const d = base + k * 4;
        for (let q = 0; q < rows; q++) P[d + q] = x[src + q * rs]!;
      }
    }
    if (rows < 4) for (let k = 0; k < K; k++) for (let q = rows; q < 4; q++) P[base + k * 4 + q] = 0;
  }
}

/**
 * Inverted dropout on an operand's stored elements: element at flat index t reads
 * bits[t] < threshold ? x / keepProb : 0 (cpu/reference.ts `applyDropout`, in f64), the bits
 * being the mask's Philox words at `draw`. A route either asks for the words (`bits()`, drawn
 * once and memoised) or draws them itself from `draw` (the Wasm route, inside its kernel).
 */
export interface PackMask {
  draw: DropoutParams;
  bits(): Uint32Array;
  threshold: number;
  keepProb: number;
}

/** packPanels with dropout applied to each element read (see PackMask). */
function packPanelsMasked(x: Readable, m: PackMask, off: number, rs: number, ks: number, R: number, K: number, P: Float64Array): void {
  const bits = m.bits();
  const thr = m.threshold;
  const keep = m.keepProb;
  const all = +(keep === 1);
  // Branch-free keep/drop (a coin flip per element): pick[1] = x / keep, pick[0] = 0.
  const pick = new Float64Array(2);
  const panels = Math.ceil(R / 4);
  for (let p = 0; p < panels; p++) {
    const base = p * K * 4;
    const rows = Math.min(4, R - p * 4);
    if (ks === 1)
      for (let q = 0; q < rows; q++) {
        const src = off + (p * 4 + q) * rs;
        for (let k = 0, d = base + q, t = src; k < K; k++, d += 4, t++) {
          pick[1] = x[t]! / keep;
          P[d] = pick[all | +(bits[t]! < thr)]!;
        }
      }
    else
      for (let k = 0; k < K; k++) {
        const src = off + p * 4 * rs + k * ks;
        const d = base + k * 4;
        for (let q = 0, t = src; q < rows; q++, t += rs) {
          pick[1] = x[t]! / keep;
          P[d + q] = pick[all | +(bits[t]! < thr)]!;
        }
      }
    if (rows < 4) for (let k = 0; k < K; k++) for (let q = rows; q < 4; q++) P[base + k * 4 + q] = 0;
  }
}

/** Strided view of a matrix inside a host array: element (i, j) at off + i·rs + j·cs. */
export interface MatView {
  data: Readable;
  off: number;
  rs: number;
  cs: number;
  /** Dropout applied while packing (bits indexed like `data`). */
  mask?: PackMask | null;
}

/** What happens to each result on its way out: + bias[j], then ReLU. */
export interface Epilogue {
  bias: Readable | null;
  relu: boolean;
}

/** A B operand already packed (reused across the batch when B is broadcast). */
export interface PackedB {
  Bp: Float64Array;
  N: number;
  K: number;
}

/**
 * C = A·B for one matrix: dst[dOff + i·ldd + j] (=, or += when `accumulate`) (A·B)[i, j],
 * or epilogue(A·B)[i, j] when an epilogue is given. `b` may come packed already (packB).
 */
export function gemm(
  M: number,
  N: number,
  K: number,
  a: MatView,
  b: MatView | PackedB,
  dst: FloatArray | Float64Array,
  dOff: number,
  ldd: number,
  accumulate = false,
  epilogue: Epilogue | null = null,
): void {
  if (M === 0 || N === 0) return;
  if (K === 0) {
    if (accumulate) return;
    for (let i = 0; i < M; i++) dst.fill(0, dOff + i * ldd, dOff + i * ldd + N);
    if (epilogue) applyEpilogue(new Float64Array(N), 0, M, N, dst, dOff, ldd, epilogue);
    return;
  }
  const Mp = Math.ceil(M / MR) * MR;
  const Np = Math.ceil(N / NR) * NR;
  const s = gemmScratch(Mp * K, 'data' in b ? Np * K : 0, Mp * Np);
  const Bp = 'data' in b ? s.Bp : b.Bp;
  if ('data' in b) pack(b, b.off, b.cs, b.rs, N, K, Bp);
  pack(a, a.off, a.rs, a.cs, M, K, s.Ap);
  runTiles(s.Ap, Bp, s.C, M, N, K);
  const C = s.C;
  releaseLargeGemmScratch(); // no giant buffers kept between calls
  if (epilogue) applyEpilogue(C, Np, M, N, dst, dOff, ldd, epilogue);
  else if (accumulate) {
    for (let i = 0; i < M; i++) {
      const d = dOff + i * ldd;
      const c = i * Np;
      for (let j = 0; j < N; j++) dst[d + j] = dst[d + j]! + C[c + j]!;
    }
  } else if (N === Np && ldd === N) {
    dst.set(C.subarray(0, M * N), dOff);
  } else {
    for (let i = 0; i < M; i++) {
      const d = dOff + i * ldd;
      const c = i * Np;
      for (let j = 0; j < N; j++) dst[d + j] = C[c + j]!;
    }
  }
}

function pack(v: MatView, off: number, rs: number, ks: number, R: number, K: number, P: Float64Array): void {
  if (v.mask) packPanelsMasked(v.data, v.mask, off, rs, ks, R, K, P);
  else packPanels(v.data, off, rs, ks, R, K, P);
}

/**
 * dst[i, j] = act(C[i·ldc + j] + bias[j]), as the oracle's FusedMatmul epilogue (bias 0 when
 * absent), in f64 whatever C holds (the Wasm GEMM's f32 sums come through here too).
 */
export function applyEpilogue(C: FloatArray, ldc: number, M: number, N: number, dst: FloatArray | Float64Array, dOff: number, ldd: number, e: Epilogue): void {
  const bias = e.bias;
  const pick = new Float64Array(2); // branch-free ReLU: pick[+(v > 0 or NaN)], NaN propagating
  for (let i = 0; i < M; i++) {
    const d = dOff + i * ldd;
    const c = i * ldc;
    if (e.relu)
      for (let j = 0; j < N; j++) {
        const v = C[c + j]! + (bias ? bias[j]! : 0);
        pick[1] = v;
        dst[d + j] = pick[+(v > 0) | +(v !== v)]!;
      }
    else for (let j = 0; j < N; j++) dst[d + j] = C[c + j]! + (bias ? bias[j]! : 0);
  }
}

/**
 * A GEMM the matmul kernels (matmul.ts) run on: `gemm`'s contract; `packB`, when given, packs
 * a B shared by a batch once (null: every call takes B as a view).
 */
export interface GemmRoute {
  gemm: typeof gemm;
  packB: typeof packB | null;
}

/** Packs B (K×N view) once for several gemm calls; the result owns its buffer. */
export function packB(b: MatView, K: number, N: number): PackedB {
  const Bp = new Float64Array(Math.ceil(N / NR) * NR * K);
  pack(b, b.off, b.cs, b.rs, N, K, Bp);
  return { Bp, N, K };
}

/** Target bytes of packed panels one chunk touches: about half a typical L2. */
const CHUNK_BYTES = 384 * 1024;

/**
 * Runs the micro-kernel over all tiles, in chunks sized for L2; large products are spread
 * over worker threads when the pool is up (workers.ts), else run here.
 */
function runTiles(Ap: Float64Array, Bp: Float64Array, C: Float64Array, M: number, N: number, K: number): void {
  const mPanels = Math.ceil(M / MR);
  const nPanels = Math.ceil(N / NR);
  const panelBytes = K * 4 * 8;
  // B panels per chunk: as many as fit in half the budget; A panels: the rest, at least 1.
  const jpBlock = Math.max(1, Math.min(nPanels, Math.floor(CHUNK_BYTES / 2 / panelBytes)));
  const ipBlock = Math.max(1, Math.min(mPanels, Math.floor((CHUNK_BYTES - jpBlock * panelBytes) / panelBytes)));
  const flops = 2 * M * N * K;
  if (parallelGemm(Ap, Bp, C, K, nPanels * NR, mPanels, nPanels, ipBlock, jpBlock, flops)) return;
  const Np = nPanels * NR;
  for (let jp = 0; jp < nPanels; jp += jpBlock)
    for (let ip = 0; ip < mPanels; ip += ipBlock)
      gemmTiles(Ap, Bp, C, K, Np, ip, Math.min(mPanels, ip + ipBlock), jp, Math.min(nPanels, jp + jpBlock));
}

/** This file's f64 GEMM as a route: equals the oracle bit for bit. */
export const jsGemmRoute: GemmRoute = { gemm, packB };
