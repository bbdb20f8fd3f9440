// Philox-4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3",
// SC 2011), the counter-based generator of the engine. Known-answer vectors from Random123
// are checked in the tests. The WGSL twin in @alphadrop/kernels must match bit for bit.
//
// Coordinates. A random tensor is a pure function of its PhiloxCoords (prims.ts):
//   key     = (k0, k1)                 derived per purpose (random/keys.ts), never numbered by hand
//   counter = (b, c1, c2, c3)          b = block index; c1..c3 carry coordinates within the key
// Block b yields four u32 words; element i of a flat random tensor is word (i mod 4) of
// block floor(i / 4). Dropout masks put (layer, step lo, step hi) in (c1, c2, c3)
// (nn/src/layers/dropout.ts).

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 (JS numbers are exact only to 2^53). */
export function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const loHi = aLo * bHi;
  const hiLo = aHi * bLo;
  const cross = (loLo >>> 16) + (loHi & 0xffff) + (hiLo & 0xffff);
  return (aHi * bHi + (loHi >>> 16) + (hiLo >>> 16) + (cross >>> 16)) >>> 0;
}

/**
 * One Philox-4x32-10 block: writes four u32 words into out[at .. at+3].
 * Counter words c0..c3, key words k0, k1.
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array | number[],
  at = 0,
): void {
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[at] = c0;
  out[at + 1] = c1;
  out[at + 2] = c2;
  out[at + 3] = c3;
}

/** Fills `out` with the flat random bits of a tensor at (key, counter words c1..c3). */
export function philoxFill(out: Uint32Array, key: readonly [number, number], counter: readonly [number, number, number]): void {
  const [k0, k1] = key;
  const [c1, c2, c3] = counter;
  const block = new Uint32Array(4);
  const n = out.length;
  for (let b = 0, i = 0; i < n; b++, i += 4) {
    philox4x32(b, c1, c2, c3, k0, k1, block);
    const m = Math.min(4, n - i);
    for (let j = 0; j < m; j++) out[i + j] = block[j]!;
  }
}

/**
 * The words of a dropout mask over `out.length` elements: philoxFill under `key`, or, with
 * per-slice `keys`, philoxFill of each equal slice under its own key (prims.ts DropoutParams).
 */
export function dropoutWords(out: Uint32Array, d: { key: readonly [number, number]; counter: readonly [number, number, number]; keys?: readonly (readonly [number, number])[] | undefined }): void {
  if (!d.keys) return philoxFill(out, d.key, d.counter);
  const S = out.length / d.keys.length;
  d.keys.forEach((k, g) => philoxFill(out.subarray(g * S, (g + 1) * S), k, d.counter));
}

/** The exact bits-to-float rule: the top 24 bits, scaled by 2^-24, a float in [0, 1). */
export function bitsToUniform(bits: number): number {
  return (bits >>> 8) * 5.9604644775390625e-8;
}

/** Bernoulli(keepProb) as an integer threshold on the bits: bits < threshold keeps. */
export function keepThreshold(keepProb: number): number {
  return Math.min(4294967295, Math.round(keepProb * 4294967296));
}

// Threefry-2x32-20 (same paper), kept as the cross-checked alternative: some WGSL
// targets are faster with its adds and rotations than with Philox's 32x32 multiplies.
const ROT = [13, 15, 26, 6, 17, 29, 16, 24];
export function threefry2x32(c0: number, c1: number, k0: number, k1: number): [number, number] {
  const ks = [k0 >>> 0, k1 >>> 0, (0x1bd11bda ^ k0 ^ k1) >>> 0];
  let x0 = (c0 + ks[0]!) >>> 0;
  let x1 = (c1 + ks[1]!) >>> 0;
  for (let r = 0; r < 20; r++) {
    const rot = ROT[r % 8]!;
    x0 = (x0 + x1) >>> 0;
    x1 = ((x1 << rot) | (x1 >>> (32 - rot))) >>> 0;
    x1 = (x1 ^ x0) >>> 0;
    if (r % 4 === 3) {
      const s = (r + 1) / 4;
      x0 = (x0 + ks[s % 3]!) >>> 0;
      x1 = (x1 + ks[(s + 1) % 3]! + s) >>> 0;
    }
  }
  return [x0, x1];
}
