// Small WGSL emitters shared by the kernel builders: element types, exact literals,
// flat-index decomposition with shapes specialised as constants, and the 1-D/2-D
// dispatch that covers more than 65535 workgroups.

import type { DType, Shape } from '@alphadrop/core';
import { stridesOf } from '@alphadrop/core/backend';

/** Storage element type: bool lives in a u32 (WGSL storage has no 8-bit type). */
export function wgslType(dtype: DType): 'f32' | 'i32' | 'u32' {
  return dtype === 'f32' ? 'f32' : dtype === 'i32' ? 'i32' : 'u32';
}

/** An exact literal of `type` for `v`; infinities and NaN through bitcasts. */
export function lit(v: number, type: 'f32' | 'i32' | 'u32'): string {
  if (type === 'u32') return `${v >>> 0}u`;
  if (type === 'i32') return v === -2147483648 ? 'i32(-2147483647 - 1)' : `${v | 0}i`;
  // Non-finite values cannot be constant expressions in WGSL: go through a function.
  if (Number.isNaN(v)) return 'f32_bits(0x7fc00000u)';
  const f = Math.fround(v);
  if (!Number.isFinite(f)) return f > 0 ? 'f32_bits(0x7f800000u)' : 'f32_bits(0xff800000u)';
  // The bit pattern is exact regardless of decimal formatting.
  const bits = new Uint32Array(new Float32Array([f]).buffer)[0]!;
  return `bitcast<f32>(0x${bits.toString(16)}u)`;
}

// one scratch word: uniform blocks are rebuilt for every replayed step (core's trace)
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The bits of `v` rounded to f32, for f32 fields of a uniform block. */
export function f32Bits(v: number): number {
  scratchF32[0] = v;
  return scratchU32[0]!;
}

/** Appends the shared helper functions a generated shader calls (once, on first use). */
export function withPrelude(code: string): string {
  if (code.includes('f32_bits(') && !code.includes('fn f32_bits('))
    code += '\nfn f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }\n';
  // WGSL lets implementations assume floats are never NaN (lavapipe folds x != x to false),
  // so NaN semantics must be tested on the bits.
  if (code.includes('is_nan(') && !code.includes('fn is_nan('))
    code += '\nfn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }\n';
  return code;
}

export const WORKGROUP = 256;
export const MAX_GROUPS = 65535;

/** Workgroup counts for `threads` invocations in groups of `size`, folded into 2-D past 65535. */
export function grid1d(threads: number, size = WORKGROUP): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / size));
  if (groups <= MAX_GROUPS) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_GROUPS);
  return [Math.ceil(groups / y), y, 1];
}

/** The flat invocation index matching grid1d (declare `wid`, `lid` and `nwg` builtins). */
export function flatIndex(size = WORKGROUP): string {
  return `(wid.y * nwg.x + wid.x) * ${size}u + lid.x`;
}

export const BUILTINS = '@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>';

/**
 * Statements that split flat index `idx` over `shape` into coordinates `${prefix}0..`.
 * Dimensions of size 1 get the constant 0.
 */
export function unravel(idx: string, shape: Shape, prefix: string): string {
  if (shape.length === 0) return '';
  const lines = [`var ${prefix}_r = ${idx};`];
  for (let d = shape.length - 1; d > 0; d--) {
    lines.push(`let ${prefix}${d} = ${prefix}_r % ${shape[d]}u; ${prefix}_r = ${prefix}_r / ${shape[d]}u;`);
  }
  lines.push(`let ${prefix}0 = ${prefix}_r;`);
  return lines.join('\n  ');
}

/**
 * Offset expression into an operand of `inShape` broadcast to `outShape`, given the
 * output coordinates `${prefix}0..` (NumPy alignment: trailing dims).
 */
export function broadcastOffset(inShape: Shape, outShape: Shape, prefix: string): string {
  const lead = outShape.length - inShape.length;
  const strides = stridesOf(inShape);
  const terms: string[] = [];
  inShape.forEach((d, i) => {
    if (d !== 1) terms.push(strides[i] === 1 ? `${prefix}${i + lead}` : `${prefix}${i + lead} * ${strides[i]}u`);
  });
  return terms.length ? terms.join(' + ') : '0u';
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Storage declarations: inputs read-only at bindings 0..n-1, then the output. */
export function storageDecls(inputs: readonly ('f32' | 'i32' | 'u32')[], out: 'f32' | 'i32' | 'u32'): string {
  const decls = inputs.map((t, i) => `@group(0) @binding(${i}) var<storage, read> in${i}: array<${t}>;`);
  decls.push(`@group(0) @binding(${inputs.length}) var<storage, read_write> out: array<${out}>;`);
  return decls.join('\n');
}
