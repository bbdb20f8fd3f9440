// Philox bits and dropout for the 'wasm' CPU kind, on the module's SIMD kernels
// (packages/core/wasm/philox.ts, dropout.ts), shared with worker threads where there are any.
// The bits equal the reference generator's word for word; dropout divides in f64 and rounds
// once to f32, as the fast kernels and the oracle do, so both are bit-identical to them.
// Non-f32 results and the uniform draw's conversion stay on the fast kernels' path.

import { allocHost } from '../../dtype.js';
import type { Prim } from '../../prims.js';
import { keepThreshold } from '../../random/philox.js';
import { dropout as fastDropout } from '../fast/fused.js';
import { memoMaskBits, randomBits as fastRandomBits, type MaskBits } from '../fast/random.js';
import { sizeOfShape } from '../fast/strided.js';
import type { CpuKernel } from '../reference.js';
import { alignUp, loadedKernels, reserveMemory, workBase } from './module.js';
import { runChunks } from './threads.js';

/** out[0, n) = the Philox words at (key, counter), computed in the module's memory and copied out. */
export function wasmPhiloxWords(out: Uint32Array, n: number, key: readonly [number, number], counter: readonly [number, number, number]): void {
  if (n === 0) return;
  const l = loadedKernels('wasmPhiloxWords');
  const at = workBase(l.kernels);
  const groups = Math.ceil(n / 16); // four blocks of four words each
  const buffer = reserveMemory(l, at + 64 * groups, 'wasmPhiloxWords');
  runChunks(l, 'philoxChunk', groups, [at, groups, key[0], key[1], counter[0], counter[1], counter[2]]);
  out.set(new Uint32Array(buffer, at, n));
}

/** The 'wasm' kind's memoised mask bits (fast/random.ts memoMaskBits). */
export const wasmMaskBits: MaskBits = memoMaskBits(wasmPhiloxWords);

export const randomBits: CpuKernel<Prim.RandomBits> = (inputs, p, out) => {
  if (p.kind !== 'bits' || out.dtype !== 'u32') return fastRandomBits(inputs, p, out);
  const r = allocHost(out.dtype, sizeOfShape(out.shape)) as Uint32Array;
  wasmPhiloxWords(r, r.length, p.key, p.counter);
  return r;
};

/** y = dropout(x) in f32: x and the mask bits copied in, the mask applied in the module. */
export const dropout: CpuKernel<Prim.Dropout> = (inputs, d, out) => {
  const x = inputs[0]!.storage;
  if (out.dtype !== 'f32' || !(x instanceof Float32Array) || d.keepProb === 1) return fastDropout(inputs, d, out);
  const n = x.length;
  const bits = wasmMaskBits(n, d.key, d.counter, d.keys);
  const l = loadedKernels('wasm dropout');
  const xAt = workBase(l.kernels);
  const bitsAt = alignUp(xAt + 4 * n);
  const buffer = reserveMemory(l, bitsAt + 4 * n, 'wasm dropout');
  new Float32Array(buffer, xAt, n).set(x);
  new Uint32Array(buffer, bitsAt, n).set(bits);
  runChunks(l, 'dropoutChunk', n, [xAt, bitsAt, n, keepThreshold(d.keepProb), d.keepProb, 0, xAt]);
  return new Float32Array(buffer.slice(xAt, xAt + 4 * n));
};
