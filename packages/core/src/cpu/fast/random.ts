// Philox-4x32-10 bits for the fast CPU backend, bit-identical to random/philox.ts (the
// reference `philoxFill`, checked in the tests), ~2.5× its speed. Two things make it faster:
// four counter blocks are interleaved, so the multiply chains of one round overlap
// (a round is latency-bound), and the high word of each 32×32 product comes from one f64
// product corrected by the exact low word (Math.imul): P = c·M is within 2^12 of the double
// c·M, so hi = round((c·M − lo) / 2^32) is exact.
//
// Dropout masks are pure functions of (key, counter, size), and the fused
// primitives regenerate in the backward pass exactly the bits their forward pass drew
// (that is their design: on a GPU regenerating is cheaper than storing). On the CPU the
// bits cost more than the matmul they mask feeds, so `maskBits` keeps the last few arrays
// (bounded: MEMO_ENTRIES arrays, MEMO_WORDS words in all) and hands them out read-only.

import { allocHost, type HostArray } from '../../dtype.js';
import type { Prim } from '../../prims.js';
import type { CpuKernel } from '../reference.js';
import { sizeOfShape } from './strided.js';

/** out[i] = Philox word i at (key, counter words) for i < n, or its uniform float when `uniform`. */
export function philoxWords(out: HostArray | Float64Array, n: number, key: readonly [number, number], counter: readonly [number, number, number], uniform: boolean): void {
  // Function-local copies of the constants: V8 folds these, not module-level bindings.
  const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;
  const TWO_M32 = 2.3283064365386963e-10;
  const U24 = 5.9604644775390625e-8; // a uniform float is the top 24 bits times 2^-24 (bitsToUniform)
  const key0 = key[0] >>> 0, key1 = key[1] >>> 0;
  const w1 = counter[0] >>> 0, w2 = counter[1] >>> 0, w3 = counter[2] >>> 0;
  const words = new Uint32Array(16);
  // Four counter blocks (a, b, c, d) per pass, 16 words; block index i / 4 (< 2^32: checked by the shape rules).
  for (let i = 0, blk = 0; i < n; i += 16, blk += 4) {
    let a0 = blk, b0 = blk + 1, c0 = blk + 2, d0 = blk + 3;
    let a1 = w1, b1 = w1, c1 = w1, d1 = w1;
    let a2 = w2, b2 = w2, c2 = w2, d2 = w2;
    let a3 = w3, b3 = w3, c3 = w3, d3 = w3;
    let k0 = key0, k1 = key1;
    for (let r = 0; r < 10; r++) {
      // (hi, lo) of M0·x0 and M1·x2 for each block; see the header for the high word.
      const al0 = Math.imul(M0, a0) >>> 0, ah0 = Math.round((a0 * M0 - al0) * TWO_M32);
      const al1 = Math.imul(M1, a2) >>> 0, ah1 = Math.round((a2 * M1 - al1) * TWO_M32);
      const bl0 = Math.imul(M0, b0) >>> 0, bh0 = Math.round((b0 * M0 - bl0) * TWO_M32);
      const bl1 = Math.imul(M1, b2) >>> 0, bh1 = Math.round((b2 * M1 - bl1) * TWO_M32);
      const cl0 = Math.imul(M0, c0) >>> 0, ch0 = Math.round((c0 * M0 - cl0) * TWO_M32);
      const cl1 = Math.imul(M1, c2) >>> 0, ch1 = Math.round((c2 * M1 - cl1) * TWO_M32);
      const dl0 = Math.imul(M0, d0) >>> 0, dh0 = Math.round((d0 * M0 - dl0) * TWO_M32);
      const dl1 = Math.imul(M1, d2) >>> 0, dh1 = Math.round((d2 * M1 - dl1) * TWO_M32);
      a0 = (ah1 ^ a1 ^ k0) >>> 0; a1 = al1; a2 = (ah0 ^ a3 ^ k1) >>> 0; a3 = al0;
      b0 = (bh1 ^ b1 ^ k0) >>> 0; b1 = bl1; b2 = (bh0 ^ b3 ^ k1) >>> 0; b3 = bl0;
      c0 = (ch1 ^ c1 ^ k0) >>> 0; c1 = cl1; c2 = (ch0 ^ c3 ^ k1) >>> 0; c3 = cl0;
      d0 = (dh1 ^ d1 ^ k0) >>> 0; d1 = dl1; d2 = (dh0 ^ d3 ^ k1) >>> 0; d3 = dl0;
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    if (i + 16 <= n && !uniform) {
      out[i] = a0; out[i + 1] = a1; out[i + 2] = a2; out[i + 3] = a3;
      out[i + 4] = b0; out[i + 5] = b1; out[i + 6] = b2; out[i + 7] = b3;
      out[i + 8] = c0; out[i + 9] = c1; out[i + 10] = c2; out[i + 11] = c3;
      out[i + 12] = d0; out[i + 13] = d1; out[i + 14] = d2; out[i + 15] = d3;
      continue;
    }
    words[0] = a0; words[1] = a1; words[2] = a2; words[3] = a3;
    words[4] = b0; words[5] = b1; words[6] = b2; words[7] = b3;
    words[8] = c0; words[9] = c1; words[10] = c2; words[11] = c3;
    words[12] = d0; words[13] = d1; words[14] = d2; words[15] = d3;
    const m = Math.min(16, n - i);
    if (uniform) for (let j = 0; j < m; j++) out[i + j] = (words[j]! >>> 8) * U24;
    else for (let j = 0; j < m; j++) out[i + j] = words[j]!;
  }
}

const MEMO_ENTRIES = 6;
const MEMO_WORDS = 4 << 20; // 16 MiB of u32
const memo: { key: string; bits: Uint32Array }[] = [];

/**
 * The first n Philox words at (key, counter), shared and read-only (see header); with
 * per-slice `keys` (prims.ts DropoutParams), each of the keys.length equal slices from its own key.
 */
export function maskBits(n: number, k: readonly [number, number], counter: readonly [number, number, number], keys?: readonly (readonly [number, number])[]): Uint32Array {
  const key = `${keys ? keys.map((s) => `${s[0]}.${s[1]}`).join(',') : `${k[0]}:${k[1]}`}:${counter[0]}:${counter[1]}:${counter[2]}:${n}`;
  const at = memo.findIndex((e) => e.key === key);
  if (at >= 0) {
    const e = memo.splice(at, 1)[0]!;
    memo.push(e);
    return e.bits;
  }
  const bits = new Uint32Array(n);
  if (!keys) philoxWords(bits, n, k, counter, false);
  else {
    const S = n / keys.length;
    keys.forEach((sk, g) => philoxWords(bits.subarray(g * S, (g + 1) * S), S, sk, counter, false));
  }
  if (n <= MEMO_WORDS) {
    memo.push({ key, bits });
    let words = 0;
    for (const e of memo) words += e.bits.length;
    while (memo.length > MEMO_ENTRIES || words > MEMO_WORDS) words -= memo.shift()!.bits.length;
  }
  return bits;
}

export const randomBits: CpuKernel<Prim.RandomBits> = (_in, { key, counter, kind }, out) => {
  const n = sizeOfShape(out.shape);
  const r = allocHost(out.dtype, n);
  philoxWords(r, n, key, counter, kind === 'uniform');
  return r;
};
