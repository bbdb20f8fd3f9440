// Philox bits and dropout for the 'wasm' CPU kind, on the module's SIMD kernels
// (packages/core/wasm/philox.ts, dropout.ts), shared with worker threads where there are any.
// The bits equal the reference generator's word for word; dropout divides in f64 and rounds
// once to f32, as the fast kernels and the oracle do, so both are bit-identical to them.
// Dropout (the primitive, and FusedMatmul's mask through wasm/gemm.ts) draws its mask inside
// the kernel, 32 words at a time: the words are never stored, and the backward pass draws
// them again rather than keeping them. Non-f32 results and the uniform draw's conversion stay
// on the fast kernels' path.

import { allocHost } from '../../dtype.js';
import type { DropoutParams, Prim } from '../../prims.js';
import { keepThreshold } from '../../random/philox.js';
import { dropout as fastDropout } from '../fast/fused.js';
import { randomBits as fastRandomBits } from '../fast/random.js';
import { sizeOfShape } from '../fast/strided.js';
import type { CpuKernel } from '../reference.js';
import { loadedKernels, paramsAt, reserveMemory, workBase, type LoadedKernels } from './module.js';
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

/**
 * Dropout in place in the module's memory: the n f32 values at byte `at` are the operand's
 * stored elements [t0, t0 + n), masked by the words of `d` (with per-slice keys, slice g
 * holds elements [g·S, (g + 1)·S) and takes its own key's words from 0). keepProb 1 leaves
 * them as they are (x / 1 = x).
 */
export function dropoutInMemory(l: LoadedKernels, at: number, t0: number, n: number, d: DropoutParams, total: number): void {
  if (d.keepProb === 1 || n === 0) return;
  const threshold = keepThreshold(d.keepProb);
  const coords = paramsAt(l.kernels);
  const words = new Uint32Array(l.memory.buffer, coords, 5);
  const run = (key: readonly [number, number], from: number, to: number, wordOf0: number) => {
    words.set([key[0], key[1], d.counter[0], d.counter[1], d.counter[2]]);
    const src = at + 4 * (from - t0);
    runChunks(l, 'dropoutDrawChunk', to - from, [src, from - wordOf0, to - wordOf0, coords, threshold, d.keepProb, src]);
  };
  if (!d.keys) return run(d.key, t0, t0 + n, 0);
  const S = total / d.keys.length;
  for (let g = Math.floor(t0 / S); g < d.keys.length && g * S < t0 + n; g++) run(d.keys[g]!, Math.max(t0, g * S), Math.min(t0 + n, (g + 1) * S), g * S);
}

export const randomBits: CpuKernel<Prim.RandomBits> = (inputs, p, out) => {
  if (p.kind !== 'bits' || out.dtype !== 'u32') return fastRandomBits(inputs, p, out);
  const r = allocHost(out.dtype, sizeOfShape(out.shape)) as Uint32Array;
  wasmPhiloxWords(r, r.length, p.key, p.counter);
  return r;
};

/** y = dropout(x) in f32: x copied in, masked in the module (mask drawn there), copied out. */
export const dropout: CpuKernel<Prim.Dropout> = (inputs, d, out) => {
  const x = inputs[0]!.storage;
  if (out.dtype !== 'f32' || !(x instanceof Float32Array) || d.keepProb === 1) return fastDropout(inputs, d, out);
  const n = x.length;
  const l = loadedKernels('wasm dropout');
  const xAt = workBase(l.kernels);
  const buffer = reserveMemory(l, xAt + 4 * n, 'wasm dropout');
  new Float32Array(buffer, xAt, n).set(x);
  dropoutInMemory(l, xAt, 0, n, d, n);
  return new Float32Array(buffer.slice(xAt, xAt + 4 * n));
};
