// Element types. f64 exists only on the CPU backend (gradient checks in double precision);
// WGSL has no f64, so the WebGPU backend accepts f32, i32, u32 and bool.

import { DTypeError } from './errors.js';

export type DType = 'f32' | 'f64' | 'i32' | 'u32' | 'bool';
export const DTYPES: readonly DType[] = ['f32', 'f64', 'i32', 'u32', 'bool'];

/** Host storage for each dtype. bool is one byte per element, 0 or 1. */
export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'f64'
    ? Float64Array
    : D extends 'i32'
      ? Int32Array
      : D extends 'u32'
        ? Uint32Array
        : Uint8Array;

export type HostArray = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array;

export function isFloat(dtype: DType): boolean {
  return dtype === 'f32' || dtype === 'f64';
}

export function allocHost(dtype: DType, size: number): HostArray {
  switch (dtype) {
    case 'f32':
      return new Float32Array(size);
    case 'f64':
      return new Float64Array(size);
    case 'i32':
      return new Int32Array(size);
    case 'u32':
      return new Uint32Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

/** Copies `values` into a fresh host array of `dtype`, with the usual JS conversions. */
export function toHost(dtype: DType, values: ArrayLike<number | boolean>): HostArray {
  const out = allocHost(dtype, values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    out[i] = dtype === 'bool' ? (v ? 1 : 0) : Number(v);
  }
  return out;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'f64' ? 8 : dtype === 'bool' ? 1 : 4;
}

export function assertDType(where: string, got: DType, allowed: readonly DType[]): void {
  if (!allowed.includes(got)) throw new DTypeError(where, `one of ${allowed.join(', ')}`, got);
}

/** The dtype of a float result: f64 stays f64, everything else computes in f32. */
export function floatResult(dtype: DType): DType {
  return dtype === 'f64' ? 'f64' : 'f32';
}
