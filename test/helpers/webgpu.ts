// The shared helper of the WebGPU suites, in the spirit of tinygrad's helper_test_op: one
// line per kernel case. getTestBackend() acquires one device per test worker (Dawn through
// the npm `webgpu` package; lavapipe by default), and expectSameOnGpu runs a tensor-building
// function on the CPU oracle and on the GPU and compares the results element by element.
// A machine without a WebGPU adapter fails the suites: CI must never skip them silently.

import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import {
  cpuBackend, getBackend, keyFor, setBackend, tensor, tidy, type Backend, type DType, type HostArray,
  type Shape, type Tensor,
} from '@alphadrop/core';
import { bitsToUniform, BINARY_PRIMS, philoxFill, sizeOf, UNARY_PRIMS, type Prim } from '@alphadrop/core/backend';
import { createWebGpuBackend, type WebGpuBackend } from '@alphadrop/kernels';
import { acquireNodeDevice } from '../../packages/kernels/src/device/node.js';
import { checkBindingsOnCompile } from './bindings-check.js';

const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.json';

let backendPromise: Promise<WebGpuBackend> | null = null;
let nodeDevice: { destroy(): Promise<void> } | null = null;

/** Primitives the GPU backend executed in this worker, for the per-file coverage checks. */
export const executedPrims = new Set<Prim>();

async function acquire(): Promise<WebGpuBackend> {
  if (existsSync(LAVAPIPE)) process.env.VK_ICD_FILENAMES ??= LAVAPIPE;
  // The Node device layer owns Dawn's hazards (the pinned instance, the tick policy) and
  // throws a DeviceError when there is no adapter: the suites fail rather than skip.
  const node = await acquireNodeDevice();
  nodeDevice = node;
  checkBindingsOnCompile(node.device);
  const backend = createWebGpuBackend(node.device, { adapterInfo: node.adapterInfo, guardWait: (p) => node.wait(p) });
  // Record the primitives each run executes (the coverage checks read them).
  const execute = backend.execute.bind(backend);
  backend.execute = ((prim, inputs, params, out) => {
    executedPrims.add(prim);
    return execute(prim, inputs, params, out);
  }) as WebGpuBackend['execute'];
  return backend;
}

/** The worker's WebGPU backend (one device per test worker). Throws if there is no adapter. */
export function getTestBackend(): Promise<WebGpuBackend> {
  backendPromise ??= acquire();
  return backendPromise;
}

/** Optional (e.g. in afterAll): waits for the queue, destroys the device and restores the tick patch. */
export async function destroyTestBackend(): Promise<void> {
  if (!backendPromise) return;
  (await backendPromise).flush();
  await nodeDevice?.destroy();
  backendPromise = null;
  nodeDevice = null;
}

export const reference: Backend = cpuBackend('reference');

export interface Tolerance {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
}

/** Runs `build` with `backend` as the default backend and reads its result; intermediates are disposed. */
export async function runOn(backend: Backend, build: () => Tensor): Promise<{ shape: number[]; dtype: string; values: HostArray }> {
  const prev = getBackend();
  setBackend(backend);
  let t: Tensor;
  try {
    t = tidy(build);
  } finally {
    setBackend(prev);
  }
  try {
    return { shape: [...t.shape], dtype: t.dtype, values: await t.data() };
  } finally {
    t.dispose();
  }
}

/** Index and description of the first element where `got` differs from `want` beyond the tolerance, or null. */
export function firstMismatch(got: ArrayLike<number>, want: ArrayLike<number>, exact: boolean, tol: Tolerance = {}): string | null {
  const rtol = tol.rtol ?? 1e-5;
  const atol = tol.atol ?? 1e-6;
  if (got.length !== want.length) return `length ${got.length}, expected ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    const ok = !exact && Number.isFinite(g) && Number.isFinite(w) && Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) return `element ${i}: got ${g}, expected ${w} (|diff| ${Math.abs(g - w)})`;
  }
  return null;
}

/**
 * Builds the same tensor on the CPU oracle and on the GPU and compares them: shape and dtype
 * equal; integer and bool results exactly; floats within the tolerance (NaN matches NaN,
 * infinities must match exactly). Build inputs with randomUniform/randomBits (bit-identical
 * on both backends) or from literal arrays.
 */
export async function expectSameOnGpu(name: string, build: () => Tensor, tol?: Tolerance): Promise<void> {
  const gpu = await getTestBackend();
  const want = await runOn(reference, build);
  const got = await runOn(gpu, build);
  expect(got.shape, `${name}: shape`).toEqual(want.shape);
  expect(got.dtype, `${name}: dtype`).toBe(want.dtype);
  const exact = want.dtype !== 'f32' && want.dtype !== 'f64';
  const bad = firstMismatch(got.values, want.values, exact, tol);
  expect(bad, `${name}: GPU ≠ CPU oracle`).toBeNull();
}

// Inputs: host-made Philox values uploaded to the current backend. Bit-identical on both
// backends like randomUniform, but without the random and scaling kernels, whose pipeline
// compiles (~0.3 s each on lavapipe) would dominate the suites' time.

function words(n: number, seed: number): Uint32Array {
  const w = new Uint32Array(n);
  philoxFill(w, keyFor(seed, 'user'), [0, 0, 0]);
  return w;
}

/** Uniform values in [lo, hi), rounded to `dtype` (f32 by default). */
export function rand(shape: Shape, seed: number, lo = -1, hi = 1, dtype: DType = 'f32'): Tensor {
  const w = words(sizeOf(shape), seed);
  const v = Array.from(w, (b) => lo + (hi - lo) * bitsToUniform(b));
  return tensor(v, shape, { dtype });
}

/** Integers in [lo, hi] (i32 unless `dtype` says otherwise). */
export function randInt(shape: Shape, seed: number, lo: number, hi: number, dtype: DType = 'i32'): Tensor {
  const w = words(sizeOf(shape), seed);
  return tensor(Array.from(w, (b) => lo + (b % (hi - lo + 1))), shape, { dtype });
}

/** Booleans, true with probability about p. */
export function randBool(shape: Shape, seed: number, p = 0.5): Tensor {
  const w = words(sizeOf(shape), seed);
  return tensor(Array.from(w, (b) => (b / 4294967296 < p ? 1 : 0)), shape, { dtype: 'bool' });
}

/** One test case: `it(name)` comparing `build` on the GPU with the oracle. */
export function gpuCase(name: string, build: () => Tensor, tol?: Tolerance): void {
  it(name, () => expectSameOnGpu(name, build, tol));
}

/**
 * Where each primitive's WebGPU kernel is tested (file under test/kernels/, without
 * `.test.ts`). runtime.test.ts checks that every member of the Prim enum has an entry, and
 * each suite checks that it really executed the primitives it claims.
 */
export const GPU_PRIM_COVERAGE: Readonly<Record<string, string>> = {
  // every elementwise record (core/src/elementwise) is tested by the elementwise suite
  ...Object.fromEntries([...UNARY_PRIMS, ...BINARY_PRIMS].map((p) => [p, 'elementwise'])),
  compare: 'elementwise', where: 'elementwise', cast: 'elementwise',
  sum: 'reduce-matmul', max: 'reduce-matmul', argmax: 'reduce-matmul', matmul: 'reduce-matmul',
  conv2d: 'conv-pool', conv2dInputGrad: 'conv-pool', conv2dFilterGrad: 'conv-pool',
  maxPool2d: 'conv-pool', maxPool2dGrad: 'conv-pool',
  reshape: 'movement', permute: 'movement', expand: 'movement', slice: 'movement', pad: 'movement',
  concat: 'movement', gather: 'movement', scatterAdd: 'movement', oneHot: 'movement',
  randomBits: 'random',
  bbAlphaLoss: 'fused', bbAlphaLossGrad: 'fused',
  fusedMatmul: 'fused', dropout: 'fused', logSumExp: 'fused', optimizerUpdate: 'fused',
};

/** The last case of a suite: the GPU executed every primitive the coverage table assigns to `suite`. */
export function coversItsPrimitives(suite: string, alsoExecuted: readonly Prim[] = []): void {
  it(`executed every primitive assigned to ${suite} on the GPU`, () => {
    const claimed = Object.entries(GPU_PRIM_COVERAGE)
      .filter(([, s]) => s === suite)
      .map(([p]) => p);
    expect(claimed.length).toBeGreaterThan(0);
    const missing = [...claimed, ...alsoExecuted].filter((p) => !executedPrims.has(p as Prim));
    expect(missing, `primitives assigned to ${suite} but never executed on the GPU`).toEqual([]);
  });
}
