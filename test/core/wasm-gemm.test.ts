// The WebAssembly SIMD128 f32 GEMM (packages/core/src/cpu/wasm) against the CPU oracle's
// matmul (f64, increasing k) within f32 tolerance: |Δ| ≤ 1e-6 + 1e-5·Σ_k|a·b|, the bound
// computed by the oracle itself on |A|·|B|. Awkward sizes (1, primes, non-multiples of the
// 4×8 tile, K past the kernel's 256-deep K block), every transpose form, strided views with
// offsets, accumulation into a wider f64 result. The kernel's own result must be a fixed
// function of its inputs: the same bits on a second call, after the memory grew, and for a
// block of rows computed on its own.
//
// The compiled module is generated (scripts/build-wasm.mjs, run by npm ci); a fresh clone
// that skipped that step gets it built here before the loader is imported.

import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, ValueError } from '@alphadrop/core';
import { Prim, referenceKernels } from '@alphadrop/core/backend';
import { prng } from '../helpers/gradcheck.js';
import { ensureWasmKernels } from '../helpers/wasm.js';

type WasmApi = typeof import('../../packages/core/src/cpu/wasm/index.js');
let api: WasmApi;

beforeAll(async () => {
  ensureWasmKernels();
  api = await import('../../packages/core/src/cpu/wasm/index.js');
}, 120_000);

/** Seeded values in [-1, 1), rounded to f32 so the oracle sees exactly what the kernel sees. */
function f32Values(n: number, seed: number): Float32Array {
  const r = prng(seed);
  return Float32Array.from({ length: n }, () => 2 * r() - 1);
}

interface Case {
  M: number;
  K: number;
  N: number;
  transA?: boolean;
  transB?: boolean;
}

const form = (c: Case) => `${c.M}×${c.K}×${c.N} ${c.transA ? 'T' : 'N'}${c.transB ? 'T' : 'N'}`;

/** Operands as stored: A [M, K] or [K, M] (transA), B [K, N] or [N, K] (transB). */
function operands(c: Case, seed: number) {
  const a = f32Values(c.M * c.K, seed);
  const b = f32Values(c.K * c.N, seed + 1);
  return {
    a,
    b,
    // (i, k) of A and (k, j) of B through strides: a transpose is a swap of strides
    aView: { data: a, off: 0, rs: c.transA ? 1 : c.K, cs: c.transA ? c.M : 1 },
    bView: { data: b, off: 0, rs: c.transB ? 1 : c.N, cs: c.transB ? c.K : 1 },
  };
}

/** The oracle's matmul (f64) of the stored operands. */
function oracle(c: Case, a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const op = (v: ArrayLike<number>, shape: number[]) => ({ storage: Float64Array.from(v), shape, dtype: 'f64' as const });
  const A = op(a, c.transA ? [c.K, c.M] : [c.M, c.K]);
  const B = op(b, c.transB ? [c.N, c.K] : [c.K, c.N]);
  return referenceKernels[Prim.Matmul]([A, B], { transA: !!c.transA, transB: !!c.transB }, { shape: [c.M, c.N], dtype: 'f64' }) as Float64Array;
}

/** First element of `got` outside |Δ| ≤ 1e-6 + 1e-5·Σ|a·b| of the oracle, or null. */
function mismatch(c: Case, a: ArrayLike<number>, b: ArrayLike<number>, got: ArrayLike<number>): string | null {
  const want = oracle(c, a, b);
  const scale = oracle(c, Array.from(a, Math.abs), Array.from(b, Math.abs));
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= 1e-6 + 1e-5 * scale[i]!)) return `element ${i}: got ${got[i]}, oracle ${want[i]} (|Δ| ${err}, Σ|a·b| ${scale[i]})`;
  }
  return null;
}

function run(c: Case, seed: number) {
  const o = operands(c, seed);
  const out = new Float32Array(c.M * c.N);
  api.wasmGemm(c.M, c.N, c.K, o.aView, o.bView, out);
  return { ...o, out };
}

const bits = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

describe('wasm SIMD GEMM', () => {
  it('loads here (Node 20 has WebAssembly SIMD128)', async () => {
    expect(api.wasmAvailable(), String(api.wasmUnavailableReason())).toBe(true);
    expect(await api.initWasm()).toBe(true);
  });

  const sizes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 5],
    [33, 65, 17],
    [4, 8, 8], // exactly one tile
    [9, 300, 23], // K past one K block, edges in both directions
    [128, 784, 100], // the MLP's first layer at 128 rows
  ];
  for (const [M, K, N] of sizes)
    for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]] as const) {
      const c = { M, K, N, transA, transB };
      it(`matches the oracle within f32 tolerance: ${form(c)}`, () => {
        const r = run(c, M * 1000 + K * 10 + N);
        expect(mismatch(c, r.a, r.b, r.out)).toBeNull();
      });
    }

  it('reads strided views with offsets and accumulates into a wider f64 result', () => {
    // A is rows 3.. and columns 2.. of a 40×50 array; B every other column of a 30×60 array.
    const M = 11, K = 29, N = 19;
    const big = f32Values(40 * 50, 7);
    const wide = f32Values(30 * 60, 8);
    const a = { data: big, off: 3 * 50 + 2, rs: 50, cs: 1 };
    const b = { data: Float64Array.from(wide), off: 1, rs: 60, cs: 2 };
    const ldd = N + 4;
    const dst = new Float64Array(5 + M * ldd).fill(0.5);
    api.wasmGemm(M, N, K, a, b, dst, 5, ldd, true);
    const aDense = Float32Array.from({ length: M * K }, (_, t) => big[a.off + Math.floor(t / K) * 50 + (t % K)]!);
    const bDense = Float32Array.from({ length: K * N }, (_, t) => wide[b.off + Math.floor(t / N) * 60 + (t % N) * 2]!);
    const got = Float64Array.from({ length: M * N }, (_, t) => dst[5 + Math.floor(t / N) * ldd + (t % N)]! - 0.5);
    expect(mismatch({ M, K, N }, aDense, bDense, got)).toBeNull();
    // the padding between rows and before the result is untouched
    for (let i = 0; i < M; i++) for (let j = N; j < ldd && 5 + i * ldd + j < dst.length; j++) expect(dst[5 + i * ldd + j]).toBe(0.5);
    for (let t = 0; t < 5; t++) expect(dst[t]).toBe(0.5);
  });

  it('K = 0 gives zeros (or leaves an accumulated result alone)', () => {
    const dst = new Float32Array(6).fill(3);
    const empty = { data: new Float32Array(0), off: 0, rs: 0, cs: 1 };
    api.wasmGemm(2, 3, 0, empty, empty, dst, 0, 3, true);
    expect(Array.from(dst)).toEqual([3, 3, 3, 3, 3, 3]);
    api.wasmGemm(2, 3, 0, empty, empty, dst);
    expect(Array.from(dst)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('is deterministic: the same bits twice, after the memory grew, and for rows computed in blocks', () => {
    const c = { M: 45, K: 515, N: 37 };
    const first = run(c, 99);
    const again = new Float32Array(c.M * c.N);
    api.wasmGemm(c.M, c.N, c.K, first.aView, first.bView, again);
    expect(bits(again)).toEqual(bits(first.out));

    run({ M: 300, K: 700, N: 90 }, 5); // a larger product moves and grows the memory layout
    const blocks = new Float32Array(c.M * c.N);
    for (const [r0, r1] of [[0, 1], [1, 14], [14, 40], [40, 45]] as const) {
      const aBlock = { ...first.aView, off: r0 * c.K };
      api.wasmGemm(r1 - r0, c.N, c.K, aBlock, first.bView, blocks, r0 * c.N);
    }
    expect(bits(blocks)).toEqual(bits(first.out));
    // the same through the transposed form of A: one more packing path, the same sums
    const aT = new Float32Array(c.K * c.M);
    for (let i = 0; i < c.M; i++) for (let k = 0; k < c.K; k++) aT[k * c.M + i] = first.a[i * c.K + k]!;
    const viaT = new Float32Array(c.M * c.N);
    api.wasmGemm(c.M, c.N, c.K, { data: aT, off: 0, rs: 1, cs: c.M }, first.bView, viaT);
    expect(bits(viaT)).toEqual(bits(first.out));
  });

  it('the tolerance check catches a wrong result', () => {
    const c = { M: 33, K: 65, N: 17 };
    const r = run(c, 3);
    expect(mismatch(c, r.a, r.b, r.out)).toBeNull();
    const off = r.out.slice();
    off[200] = off[200]! + 1e-3; // one element slightly off
    expect(mismatch(c, r.a, r.b, off)).toMatch(/^element 200:/);
    // A read with rows and columns swapped (a transpose bug) on a square product
    const s = { M: 16, K: 16, N: 16 };
    const o = operands(s, 4);
    const wrong = new Float32Array(s.M * s.N);
    api.wasmGemm(s.M, s.N, s.K, { ...o.aView, rs: 1, cs: s.K }, o.bView, wrong);
    expect(mismatch(s, o.a, o.b, wrong)).not.toBeNull();
  });

  it('refuses views that run past their array, and bad sizes, with typed errors', () => {
    const a = { data: new Float32Array(10), off: 0, rs: 5, cs: 1 };
    const b = { data: new Float32Array(15), off: 0, rs: 3, cs: 1 };
    const dst = new Float32Array(6);
    expect(() => api.wasmGemm(2, 3, 5, a, b, dst)).not.toThrow();
    expect(() => api.wasmGemm(3, 3, 5, a, b, new Float32Array(9))).toThrow(ShapeError); // A needs 15
    expect(() => api.wasmGemm(2, 3, 5, a, b, new Float32Array(5))).toThrow(ShapeError); // result too short
    expect(() => api.wasmGemm(2, 3, 5, { ...a, off: 1 }, b, dst)).toThrow(/A \(2×5, strides 5, 1, offset 1\)/);
    expect(() => api.wasmGemm(2.5, 3, 5, a, b, dst)).toThrow(ValueError);
    expect(() => api.wasmGemm(2, 3, 5, { ...a, rs: -5 }, b, dst)).toThrow(ValueError);
  });
});
