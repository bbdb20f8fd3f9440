// Philox-4x32-10 (Salmon et al. 2011) in SIMD128, bit-identical to the engine's reference
// generator (src/random/philox.ts) and to the fast CPU one (src/cpu/fast/random.ts): word i of a
// draw at (key, counter words w1..w3) is word i % 4 of the block whose counter is
// (⌊i / 4⌋, w1, w2, w3). Four blocks run side by side, one per lane; the high half of each
// 32×32 product comes from the two 64-bit extended multiplies.

import { chunkStart } from './chunks';

const M0: u32 = 0xd2511f53;
const M1: u32 = 0xcd9e8d57;
const W0: u32 = 0x9e3779b9;
const W1: u32 = 0xbb67ae85;

/** The high 32 bits of each lane's unsigned product x·m. */
// @ts-ignore: decorator
@inline
function mulHi(x: v128, m: v128): v128 {
  return i32x4.shuffle(i64x2.extmul_low_i32x4_u(x, m), i64x2.extmul_high_i32x4_u(x, m), 1, 3, 5, 7);
}

/** Stores four blocks (lanes of x0..x3) as 16 words, each block's four words together (a 4×4 transpose). */
// @ts-ignore: decorator
@inline
function storeGroup(at: usize, x0: v128, x1: v128, x2: v128, x3: v128): void {
  const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(x0, x1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(x2, x3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7);
  v128.store(at, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(at, i32x4.shuffle(t0, t2, 2, 3, 6, 7), 16);
  v128.store(at, i32x4.shuffle(t1, t3, 0, 1, 4, 5), 32);
  v128.store(at, i32x4.shuffle(t1, t3, 2, 3, 6, 7), 48);
}

/**
 * Words [16·g0, 16·g1) of the draw, written at dst + 64·g for each group g of four blocks
 * (so dst holds the draw from word 0 on; the host rounds its buffer up to 16 words). Two
 * groups run interleaved: a round is a chain of dependent multiplies, and two independent
 * chains keep the multiplier busy.
 */
export function philoxGroups(dst: usize, g0: i32, g1: i32, k0: u32, k1: u32, w1: u32, w2: u32, w3: u32): void {
  philoxRun(dst + (<usize>g0 << 6), g0, g1, k0, k1, w1, w2, w3);
}

/** Groups [g0, g1) of the draw, group g written at out + 64·(g − g0). */
// @ts-ignore: decorator
@inline
export function philoxRun(out: usize, g0: i32, g1: i32, k0: u32, k1: u32, w1: u32, w2: u32, w3: u32): void {
  const m0 = i32x4.splat(M0);
  const m1 = i32x4.splat(M1);
  let g = g0;
  for (; g < g1; g += 2) {
    const blk = <u32>g << 2;
    let a0 = i32x4(blk, blk + 1, blk + 2, blk + 3), b0 = i32x4(blk + 4, blk + 5, blk + 6, blk + 7);
    let a1 = i32x4.splat(w1), b1 = a1;
    let a2 = i32x4.splat(w2), b2 = a2;
    let a3 = i32x4.splat(w3), b3 = a3;
    let ka = k0;
    let kb = k1;
    for (let r = 0; r < 10; r++) {
      const kav = i32x4.splat(ka), kbv = i32x4.splat(kb);
      const ah0 = mulHi(a0, m0), al0 = i32x4.mul(a0, m0), ah1 = mulHi(a2, m1), al1 = i32x4.mul(a2, m1);
      const bh0 = mulHi(b0, m0), bl0 = i32x4.mul(b0, m0), bh1 = mulHi(b2, m1), bl1 = i32x4.mul(b2, m1);
      a0 = v128.xor(v128.xor(ah1, a1), kav); a1 = al1; a2 = v128.xor(v128.xor(ah0, a3), kbv); a3 = al0;
      b0 = v128.xor(v128.xor(bh1, b1), kav); b1 = bl1; b2 = v128.xor(v128.xor(bh0, b3), kbv); b3 = bl0;
      ka += W0;
      kb += W1;
    }
    const at = out + (<usize>(g - g0) << 6);
    storeGroup(at, a0, a1, a2, a3);
    // the second group of the last pair may lie past g1: written only when it is wanted
    if (g + 1 < g1) storeGroup(at + 64, b0, b1, b2, b3);
  }
}

/** Piece c of `chunks` of philoxGroups over groups [0, groups). */
export function philoxChunk(c: i32, chunks: i32, _scratch: usize, dst: usize, groups: i32, k0: u32, k1: u32, w1: u32, w2: u32, w3: u32): void {
  philoxGroups(dst, chunkStart(c, chunks, groups), chunkStart(c + 1, chunks, groups), k0, k1, w1, w2, w3);
}
