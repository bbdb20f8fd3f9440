// C = A·B in f32 on the WebAssembly SIMD128 GEMM (packages/core/wasm/gemm.ts), for host
// arrays: the operands' spans are copied into the module's memory (a native typed-array copy,
// converting f64 to f32 when needed), packed into panels there, multiplied by the 4×8
// register-blocked micro-kernel, and the result copied out. Operands are strided views, so
// the NN, NT and TN forms of matmul (and im2col columns) need no transposing copy.
//
// The opt-in CPU backend kind `cpuBackend('wasm')` (../fast-wasm.ts) runs its f32 matmuls
// here; the default fast backend keeps its f64 GEMM (cpu/fast/gemm.ts), which equals the
// oracle bit for bit. This one sums in f32 (see the kernel's header), so it matches the
// oracle within f32 tolerance, and its own result is a fixed function of the inputs: the same
// bits on every call, and the same bits for any row block of A computed on its own.
// FusedMatmul's parts ride along: a dropout mask is drawn and applied to A's span once it is
// in the module's memory (random.ts dropoutInMemory: x / keepProb in f64, rounded to f32
// once, as the oracle's dropout rounds),
// and the bias + ReLU epilogue is applied in f64 (fast/gemm.ts `applyEpilogue`) as results are
// copied out. Packing, the mask and the product are shared with worker threads where there
// are any (threads.ts); each output is still summed by one thread in the same order.

import { ShapeError, ValueError } from '../../errors.js';
import { applyEpilogue, type Epilogue, type FloatArray, type PackMask } from '../fast/gemm.js';
import { alignUp, loadedKernels, reserveMemory, workBase } from './module.js';
import { dropoutInMemory } from './random.js';
import { runChunks } from './threads.js';

/** A matrix inside a host array: element (i, j) at data[off + i·rs + j·cs]. */
export interface StridedMatrix {
  data: ArrayLike<number>;
  off: number;
  rs: number;
  cs: number;
  /** Dropout applied to the span once copied in (the mask's words indexed like `data`, drawn in the kernel). */
  mask?: PackMask | null;
}

const WHERE = 'wasmGemm';

function checkCount(name: string, v: number): void {
  if (!(Number.isInteger(v) && v >= 0)) throw new ValueError(WHERE, `${name} a non-negative integer`, String(v));
}

/** Number of elements from the view's first element to its last (R×C, R and C ≥ 1). */
function spanOf(name: string, m: StridedMatrix, R: number, C: number): number {
  for (const [k, v] of [['off', m.off], ['rs', m.rs], ['cs', m.cs]] as const) checkCount(`${name}.${k}:`, v);
  const span = (R - 1) * m.rs + (C - 1) * m.cs + 1;
  if (m.off + span > m.data.length)
    throw new ShapeError(WHERE, `${name} (${R}×${C}, strides ${m.rs}, ${m.cs}, offset ${m.off}) inside its array`, `an array of ${m.data.length} elements`);
  return span;
}

/** Copies data[from, from + n) to f32 memory at element index `at`. */
function copyIn(mem: Float32Array, at: number, data: ArrayLike<number>, from: number, n: number): void {
  if (data instanceof Float32Array || data instanceof Float64Array) mem.set(data.subarray(from, from + n), at);
  else for (let i = 0; i < n; i++) mem[at + i] = data[from + i]!;
}

/**
 * dst[dOff + i·ldd + j] (=, or += when `accumulate`) Σ_k A[i, k]·B[k, j] for A M×K and B K×N,
 * summed in f32 in increasing k; with an epilogue, dst gets epilogue(A·B) instead (bias and
 * ReLU in f64, as fast/gemm.ts's gemm). Throws a DeviceError where WebAssembly SIMD is missing
 * (check wasmAvailable() first).
 */
export function wasmGemm(
  M: number,
  N: number,
  K: number,
  a: StridedMatrix,
  b: StridedMatrix,
  dst: FloatArray,
  dOff = 0,
  ldd = N,
  accumulate = false,
  epilogue: Epilogue | null = null,
): void {
  checkCount('M:', M);
  checkCount('N:', N);
  checkCount('K:', K);
  checkCount('dOff:', dOff);
  checkCount('ldd:', ldd);
  if (M === 0 || N === 0) return;
  if (dOff + (M - 1) * ldd + N > dst.length) throw new ShapeError(WHERE, `a result array of at least ${dOff + (M - 1) * ldd + N} elements`, `${dst.length}`);
  if (K === 0) {
    if (epilogue) applyEpilogue(new Float64Array(N), 0, M, N, dst, dOff, ldd, epilogue);
    else if (!accumulate) for (let i = 0; i < M; i++) dst.fill(0, dOff + i * ldd, dOff + i * ldd + N);
    return;
  }
  const aSpan = spanOf('A', a, M, K);
  const bSpan = spanOf('B', b, K, N);
  const l = loadedKernels(WHERE);
  const k = l.kernels;
  const MR = k.rowsPerPanel();
  const NR = k.colsPerPanel();
  // Layout from workBase, in bytes: A's span, B's span, packed A, packed B, C.
  const aAt = workBase(k);
  const bAt = alignUp(aAt + 4 * aSpan);
  const apAt = alignUp(bAt + 4 * bSpan);
  const bpAt = alignUp(apAt + 4 * Math.ceil(M / MR) * MR * K);
  const cAt = alignUp(bpAt + 4 * Math.ceil(N / NR) * NR * K);
  const mem = new Float32Array(reserveMemory(l, cAt + 4 * M * N, WHERE));

  copyIn(mem, aAt / 4, a.data, a.off, aSpan);
  if (a.mask) dropoutInMemory(l, aAt, a.off, aSpan, a.mask.draw, a.data.length);
  copyIn(mem, bAt / 4, b.data, b.off, bSpan);
  runChunks(l, 'packAChunk', M * K, [aAt, a.rs, a.cs, M, K, apAt]);
  runChunks(l, 'packBChunk', K * N, [bAt, b.rs, b.cs, K, N, bpAt]);
  runChunks(l, 'gemmChunk', 2 * M * N * K, [M, N, K, apAt, bpAt, cAt, N]);

  const c = cAt / 4;
  if (epilogue) {
    applyEpilogue(mem.subarray(c, c + M * N), N, M, N, dst, dOff, ldd, epilogue);
    return;
  }
  if (!accumulate && ldd === N) {
    dst.set(mem.subarray(c, c + M * N), dOff);
    return;
  }
  for (let i = 0; i < M; i++) {
    const row = mem.subarray(c + i * N, c + (i + 1) * N);
    const d = dOff + i * ldd;
    if (accumulate) for (let j = 0; j < N; j++) dst[d + j] = dst[d + j]! + row[j]!;
    else dst.set(row, d);
  }
}
