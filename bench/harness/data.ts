// Deterministic benchmark inputs, the same on every machine and in a browser page (no Node imports).

/** mulberry32: a tiny seeded generator of floats in [0, 1), the same on every run and machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic floats in [-1, 1) (mulberry32), the same on every machine. */
export function randomF32(n: number, seed: number): Float32Array {
  const next = prng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}
