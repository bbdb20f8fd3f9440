// Inverted dropout applied to f32 values: y = bits < threshold ? x / keep : 0, with x / keep
// divided in f64 and rounded to f32 once, as the CPU kernels and the oracle compute it (an
// f32 division would differ when keep is not an f32 value). keep = 1 never comes here (its
// threshold 2^32 does not fit in a u32, and x / 1 = x). dst may be src. The mask's words are
// drawn here too (dropoutDrawChunk), so they never leave a thread's scratch.

import { chunkStart } from './chunks';
import { philoxRun } from './philox';

/** y = dropout(x) over n elements from src, bits and dst on. */
// @ts-ignore: decorator
@inline
function dropoutSpan(src: usize, bits: usize, n: i32, threshold: u32, keep: f64, dst: usize): void {
  const kv = f64x2.splat(keep);
  const tv = i32x4.splat(threshold);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const x = v128.load(src + off);
    const lo = f64x2.div(f64x2.promote_low_f32x4(x), kv);
    const hi = f64x2.div(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1)), kv);
    const y = i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
    const kept = i32x4.lt_u(v128.load(bits + off), tv);
    v128.store(dst + off, v128.and(y, kept));
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    const kept = load<u32>(bits + off) < threshold;
    store<f32>(dst + off, kept ? <f32>(<f64>load<f32>(src + off) / keep) : 0);
  }
}

/**
 * Piece c of `chunks` of dropout with its mask drawn here: the element at src + 4·(w − w0)
 * takes Philox word w at the coordinates stored at `coords` (u32 key0, key1, counter words
 * 1..3), for w in [w0, w1), and the result goes to the same place under dst. Pieces split
 * the draw's 16-word groups, two at a time through `scratch` (128 bytes), so the bits never
 * reach memory beyond it.
 */
export function dropoutDrawChunk(c: i32, chunks: i32, scratch: usize, src: usize, w0: i32, w1: i32, coords: usize, threshold: u32, keep: f64, dst: usize): void {
  const k0 = load<u32>(coords), k1 = load<u32>(coords, 4);
  const c1 = load<u32>(coords, 8), c2 = load<u32>(coords, 12), c3 = load<u32>(coords, 16);
  const first = w0 >> 4;
  const groups = ((w1 + 15) >> 4) - first;
  const g1 = first + chunkStart(c + 1, chunks, groups);
  for (let g = first + chunkStart(c, chunks, groups); g < g1; g += 2) {
    const gEnd = min(g + 2, g1);
    philoxRun(scratch, g, gEnd, k0, k1, c1, c2, c3);
    const lo = max(g << 4, w0);
    const hi = min(gEnd << 4, w1);
    const at = <usize>(lo - w0) << 2;
    dropoutSpan(src + at, scratch + (<usize>(lo - (g << 4)) << 2), hi - lo, threshold, keep, dst + at);
  }
}
