// Philox-4x32-10 in WGSL, bit-identical to core's random/philox.ts (same key and counter
// mapping, PhiloxCoords in core's prims.ts). One invocation per 4-word block. Key and
// counter words arrive in a uniform block, so a new step's masks reuse the compiled pipeline.
// Reference: @alphadrop/core referenceKernels[Prim.RandomBits].

import { sizeOf, type PhiloxCoords, Prim } from '@alphadrop/core/backend';
import type { GpuPlan } from '../runtime/plan.js';
import { kernelModule, type KernelModule } from '../runtime/kernel-module.js';
import { BUILTINS, flatIndex, grid1d } from '../runtime/wgsl.js';

/** WGSL source of the Philox functions (mulhi through 16-bit halves: WGSL has no u64). */
export const PHILOX_WGSL = `
fn mulhi32(a: u32, b: u32) -> u32 {
  let aLo = a & 0xffffu; let aHi = a >> 16u;
  let bLo = b & 0xffffu; let bHi = b >> 16u;
  let loLo = aLo * bLo; let loHi = aLo * bHi; let hiLo = aHi * bLo;
  let cross = (loLo >> 16u) + (loHi & 0xffffu) + (hiLo & 0xffffu);
  return aHi * bHi + (loHi >> 16u) + (hiLo >> 16u) + (cross >> 16u);
}
fn philox4x32(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = ctr; var k = key;
  for (var round = 0u; round < 10u; round++) {
    let hi0 = mulhi32(0xd2511f53u, c.x); let lo0 = 0xd2511f53u * c.x;
    let hi1 = mulhi32(0xcd9e8d57u, c.z); let lo1 = 0xcd9e8d57u * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
  }
  return c;
}
/** Block b at (key, counter words c1, c2, c3). */
fn philox_block(key: vec2<u32>, c1: u32, c2: u32, c3: u32, b: u32) -> vec4<u32> {
  return philox4x32(vec4<u32>(b, c1, c2, c3), key);
}
/** The exact bits-to-float rule: top 24 bits times 2^-24. */
fn bits_to_uniform(w: u32) -> f32 { return f32(w >> 8u) * 5.9604644775390625e-8; }
`;

/** Uniform block: key words, counter words c1..c3 (padded to 8 words). */
export function randomUniformBlock(c: PhiloxCoords): Uint32Array {
  return Uint32Array.from([c.key[0], c.key[1], c.counter[0], c.counter[1], c.counter[2], 0, 0, 0]);
}

/** What specialises the generator: the element count and what each word becomes. */
export interface RandomProblem {
  n: number;
  kind: 'bits' | 'uniform';
}

export function randomBitsPlan({ n, kind }: RandomProblem): GpuPlan {
  const blocks = Math.ceil(n / 4);
  const t = kind === 'bits' ? 'u32' : 'f32';
  const conv = kind === 'bits' ? (w: string) => w : (w: string) => `bits_to_uniform(${w})`;
  const code = `@group(0) @binding(0) var<storage, read_write> out: array<${t}>;
struct Key { k0: u32, k1: u32, c1: u32, c2: u32, c3: u32, p0: u32, p1: u32, p2: u32 }
@group(0) @binding(1) var<uniform> key: Key;
${PHILOX_WGSL}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let b = ${flatIndex()};
  if (b >= ${blocks}u) { return; }
  let w = philox_block(vec2<u32>(key.k0, key.k1), key.c1, key.c2, key.c3, b);
  let i = b * 4u;
  out[i] = ${conv('w.x')};
  if (i + 1u < ${n}u) { out[i + 1u] = ${conv('w.y')}; }
  if (i + 2u < ${n}u) { out[i + 2u] = ${conv('w.z')}; }
  if (i + 3u < ${n}u) { out[i + 3u] = ${conv('w.w')}; }
}`;
  return { programs: [{ name: `random/${kind}`, code, workgroups: grid1d(blocks), bindings: ['out', 'uniform'] }] };
}

/** Philox coordinates arrive as a uniform block: a new step's bits reuse the compiled pipeline. */
export const randomBitsModule: KernelModule<Prim.RandomBits, RandomProblem> = kernelModule({
  prim: Prim.RandomBits,
  problem: ({ out, params }) => ({ n: sizeOf(out.shape), kind: params.kind }),
  plan: randomBitsPlan,
  uniforms: (p) => [randomUniformBlock(p)],
});
