// Deterministic benchmark inputs, the same on every machine and in a browser page (no Node imports).

/** Deterministic floats in [-1, 1) (mulberry32), the same on every machine. */
export function randomF32(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    v[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return v;
}
