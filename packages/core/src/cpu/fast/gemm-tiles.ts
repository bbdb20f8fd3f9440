// What the calling thread and the GEMM worker threads share (gemm.ts, workers.ts): the 4×4
// micro-kernel, whose source text workers.ts ships to the workers, and the packed-panel
// scratch, allocated on a SharedArrayBuffer so the workers read and write the same panels.
// Kept apart from gemm.ts so that gemm.ts → workers.ts → here has no way back.

/**
 * The micro-kernel over a rectangle of tiles: for A panels [ip0, ip1) and B panels
 * [jp0, jp1), C[ip*4+ii, jp*4+jj] = Σ_k Ap[ip][k][ii]·Bp[jp][k][jj], with ldc = Np.
 * With `accumulate`, each sum continues from C's current value instead of 0, so a reduction
 * split into blocks is still summed strictly in order (as the oracle does).
 * Self-contained (no outer references): workers.ts ships its source text to worker threads.
 */
export function gemmTiles(
  Ap: Float64Array,
  Bp: Float64Array,
  C: Float64Array,
  K: number,
  Np: number,
  ip0: number,
  ip1: number,
  jp0: number,
  jp1: number,
  accumulate = false,
): void {
  const K4 = K * 4;
  for (let ip = ip0; ip < ip1; ip++) {
    const aBase = ip * K4;
    for (let jp = jp0; jp < jp1; jp++) {
      const o0 = ip * 4 * Np + jp * 4, o1 = o0 + Np, o2 = o1 + Np, o3 = o2 + Np;
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      if (accumulate) {
        c00 = C[o0]!; c01 = C[o0 + 1]!; c02 = C[o0 + 2]!; c03 = C[o0 + 3]!;
        c10 = C[o1]!; c11 = C[o1 + 1]!; c12 = C[o1 + 2]!; c13 = C[o1 + 3]!;
        c20 = C[o2]!; c21 = C[o2 + 1]!; c22 = C[o2 + 2]!; c23 = C[o2 + 3]!;
        c30 = C[o3]!; c31 = C[o3 + 1]!; c32 = C[o3 + 2]!; c33 = C[o3 + 3]!;
      }
      let pa = aBase;
      let pb = jp * K4;
      // `| 0` keeps the index arithmetic in int32 without overflow checks.
      for (let k = 0; k < K; k++) {
        const a0 = Ap[pa]!, a1 = Ap[(pa + 1) | 0]!, a2 = Ap[(pa + 2) | 0]!, a3 = Ap[(pa + 3) | 0]!;
        const b0 = Bp[pb]!, b1 = Bp[(pb + 1) | 0]!, b2 = Bp[(pb + 2) | 0]!, b3 = Bp[(pb + 3) | 0]!;
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        pa = (pa + 4) | 0;
        pb = (pb + 4) | 0;
      }
      C[o0] = c00; C[o0 + 1] = c01; C[o0 + 2] = c02; C[o0 + 3] = c03;
      C[o1] = c10; C[o1 + 1] = c11; C[o1 + 2] = c12; C[o1 + 3] = c13;
      C[o2] = c20; C[o2 + 1] = c21; C[o2 + 2] = c22; C[o2 + 3] = c23;
      C[o3] = c30; C[o3 + 1] = c31; C[o3 + 2] = c32; C[o3 + 3] = c33;
    }
  }
}

// ---------------------------------------------------------------- scratch

/** Scratch owned by the GEMM (grown on demand, reused): packed panels and the padded f64 result. */
export interface GemmScratch {
  Ap: Float64Array;
  Bp: Float64Array;
  C: Float64Array;
}

let cur: GemmScratch | null = null;
/** Scratch beyond this (in f64 elements, 48 MiB) is released after the call that needed it. */
const RETAIN_DOUBLES = 6 << 20;

/** Allocates f64 scratch on a SharedArrayBuffer where one exists, so worker threads can read it. */
function allocShared(n: number): Float64Array {
  const bytes = Math.max(8, n * 8);
  return typeof SharedArrayBuffer === 'function' ? new Float64Array(new SharedArrayBuffer(bytes)) : new Float64Array(bytes / 8);
}

function grow(buf: Float64Array | undefined, need: number): Float64Array {
  if (buf !== undefined && buf.length >= need) return buf;
  return allocShared(Math.ceil(need * 1.25));
}

/** The scratch for one product, grown to at least these lengths (reused between calls). */
export function gemmScratch(aLen: number, bLen: number, cLen: number): GemmScratch {
  cur = { Ap: grow(cur?.Ap, aLen), Bp: grow(cur?.Bp, bLen), C: grow(cur?.C, cLen) };
  return cur;
}

/** Drops the scratch once it has grown past RETAIN_DOUBLES. */
export function releaseLargeGemmScratch(): void {
  if (cur !== null && cur.Ap.length + cur.Bp.length + cur.C.length > RETAIN_DOUBLES) cur = null;
}

/** Drops the scratch (after a worker was abandoned mid-job, so its late writes land nowhere we read). */
export function resetGemmScratch(): void {
  cur = null;
}
