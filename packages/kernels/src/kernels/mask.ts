// Dropout masks in WGSL, in one place: the uniform block of a mask's Philox coordinates, the
// mask helpers every masking program includes (the dropout primitive, the linear's mask pass
// and the GEMM that masks A while loading it), and the mask program itself.
//
// A mask has one key, or one key per slice (model-batched training: G models in one program,
// each with its own dropout randomness): the masked tensor is cut into G consecutive slices
// of S = n / G elements, and element i = g·S + j (slice g, local index j) takes word j mod 4
// of the Philox block at counter (floor(j / 4), c1, c2, c3) under key g. One slice is the
// one-key mask. The keys travel in the uniform block (two per vec4), so they, like the
// step's counter words, never recompile a pipeline; the slice count and size do.
// Reference: @alphadrop/core cpu/reference.ts applyDropout.

import { ShapeError, ValueError } from '@alphadrop/core';
import { keepThreshold, type DropoutParams } from '@alphadrop/core/backend';
import { BUILTINS, f32Bits, flatIndex, grid1d } from '../runtime/wgsl.js';
import { PHILOX_WGSL } from './random.js';

/** A keyed mask's slicing: `count` ≥ 2 consecutive slices of `size` elements, one key each. */
export interface KeySlices {
  readonly count: number;
  readonly size: number;
}

/**
 * Slices a uniform block can hold: WebGPU guarantees 64 KiB per uniform binding, and the
 * block is 32 bytes of coordinates then 16 bytes per two keys.
 */
export const MAX_KEY_SLICES = (2 * (65536 - 32)) / 16;

/**
 * The slicing of a mask over `n` elements, or undefined for a one-key mask (no keys, or a
 * single key: its block carries that key as the mask's key, so it shares the one-key
 * pipeline). Throws for a slicing the kernels cannot honour.
 */
export function keySlicesOf(d: DropoutParams, n: number, where: string): KeySlices | undefined {
  const keys = d.keys;
  if (keys === undefined || keys.length === 1) return undefined;
  if (keys.length === 0) throw new ValueError(where, 'at least one dropout key', 'an empty key list');
  if (keys.length > MAX_KEY_SLICES) throw new ValueError(where, `at most ${MAX_KEY_SLICES} dropout keys (one uniform block)`, `${keys.length}`);
  if (n % keys.length !== 0) throw new ShapeError(where, `a masked tensor that ${keys.length} keys cut into equal slices`, `${n} elements`);
  return { count: keys.length, size: n / keys.length };
}

/**
 * Uniform block of a dropout mask: key, counter words c1..c3, threshold, 1/keep (as f32 bits),
 * then with two keys or more the keys, two per vec4 (WGSL's uniform arrays have a 16-byte
 * stride). The block's own key is keys[0] when keys are given.
 */
export function dropoutBlock(d: DropoutParams): Uint32Array {
  const keys = d.keys ?? [];
  const key = keys[0] ?? d.key;
  const head = [key[0], key[1], d.counter[0], d.counter[1], d.counter[2], keepThreshold(d.keepProb), f32Bits(1 / d.keepProb), 0];
  if (keys.length < 2) return Uint32Array.from(head);
  const block = new Uint32Array(8 + 4 * Math.ceil(keys.length / 2));
  block.set(head);
  keys.forEach((k, g) => block.set(k, 8 + 2 * g));
  return block;
}

/**
 * The dropout uniform block at `binding`, Philox, and the mask helpers: `mask_word(i)` is the
 * word of element i, `mask_words(b)` the words of elements 4b..4b+3 (one Philox block unless
 * a slice boundary falls inside, where each element takes its own slice's word),
 * `dropped(x, w)` / `dropped4(x, w)` apply the keep rule.
 */
export function dropoutWgsl(binding: number, slices?: KeySlices): string {
  const lines = [
    `struct Drop { k0: u32, k1: u32, c1: u32, c2: u32, c3: u32, threshold: u32, scale: f32, pad: u32${slices ? `, keys: array<vec4<u32>, ${Math.ceil(slices.count / 2)}>` : ''} }`,
    `@group(0) @binding(${binding}) var<uniform> drop: Drop;`,
    PHILOX_WGSL,
  ];
  if (!slices) {
    lines.push(
      'fn mask_words(b: u32) -> vec4<u32> { return philox_block(vec2<u32>(drop.k0, drop.k1), drop.c1, drop.c2, drop.c3, b); }',
      'fn mask_word(i: u32) -> u32 { return mask_words(i / 4u)[i % 4u]; }',
    );
  } else {
    const { count: G, size: S } = slices;
    lines.push(
      'fn slice_key(g: u32) -> vec2<u32> { let v = drop.keys[g / 2u]; return select(v.xy, v.zw, (g & 1u) == 1u); }',
      '/** Block lb of slice g (counter (lb, c1, c2, c3) under key g). */',
      'fn slice_words(g: u32, lb: u32) -> vec4<u32> { return philox_block(slice_key(g), drop.c1, drop.c2, drop.c3, lb); }',
      // min(): an index past the tensor (a padded read) stays inside the key table
      `fn mask_word(i: u32) -> u32 { let g = min(i / ${S}u, ${G - 1}u); let j = i - g * ${S}u; return slice_words(g, j / 4u)[j % 4u]; }`,
      S % 4 === 0
        ? `fn mask_words(b: u32) -> vec4<u32> { let g = min(b / ${S / 4}u, ${G - 1}u); return slice_words(g, b - g * ${S / 4}u); }`
        : 'fn mask_words(b: u32) -> vec4<u32> { let i = b * 4u; return vec4<u32>(mask_word(i), mask_word(i + 1u), mask_word(i + 2u), mask_word(i + 3u)); }',
    );
  }
  lines.push(
    'fn dropped(x: f32, w: u32) -> f32 { return select(0.0, x * drop.scale, w < drop.threshold); }',
    'fn dropped4(x: vec4<f32>, w: vec4<u32>) -> vec4<f32> { return select(vec4<f32>(0.0), x * drop.scale, w < vec4<u32>(drop.threshold)); }',
  );
  return lines.join('\n');
}

/**
 * The mask program: out = x⊙mask / keep over n elements, one invocation per Philox block (one
 * generator call per four elements). Blocks follow the slices: where S % 4 ≠ 0 an invocation
 * takes block lb of slice g and writes that slice's elements 4lb.. (at most four), so a block
 * never straddles two keys. vec4 where n % 4 = 0 and the blocks align with the slices.
 * Bindings: x (0), out (1), the dropout uniform (2).
 */
export function maskProgram(n: number, slices?: KeySlices): { code: string; workgroups: [number, number, number] } {
  const aligned = !slices || slices.size % 4 === 0;
  const vec = aligned && n % 4 === 0;
  const T = vec ? 'vec4<f32>' : 'f32';
  let invocations: number;
  let body: string;
  if (aligned) {
    invocations = Math.ceil(n / 4);
    body = vec
      ? 'out[t] = dropped4(x[t], mask_words(t));'
      : `let w = mask_words(t);
  for (var q = 0u; q < 4u; q++) {
    let i = t * 4u + q;
    if (i < ${n}u) { out[i] = dropped(x[i], w[q]); }
  }`;
  } else {
    const { size: S } = slices;
    const perSlice = Math.ceil(S / 4);
    invocations = slices.count * perSlice;
    body = `let g = t / ${perSlice}u;
  let lb = t - g * ${perSlice}u;
  let w = slice_words(g, lb);
  for (var q = 0u; q < 4u; q++) {
    let j = lb * 4u + q;
    if (j < ${S}u) { let i = g * ${S}u + j; out[i] = dropped(x[i], w[q]); }
  }`;
  }
  const code = `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read_write> out: array<${T}>;
${dropoutWgsl(2, slices)}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let t = ${flatIndex()};
  if (t >= ${invocations}u) { return; }
  ${body}
}`;
  return { code, workgroups: grid1d(invocations) };
}
