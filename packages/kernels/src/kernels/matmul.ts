// Matmul as the engine runs it: C[b] = op(A[b]) · op(B[b]) with op = identity or transpose,
// broadcast batch dims, shapes specialised, batch as the z dimension. The kernels are rungs
// of the ladder in matmul-ladder.ts, promoted by the benchmark (bench/src/gpu/matmul-ladder.ts):
// v4 (128×128 tiles, 8×8 vec4 register blocks, double-buffered) where the output has enough
// tiles to fill a large GPU, v3 (64×64 tiles, 4×4 per invocation, BK 16) elsewhere. Both take
// the fused options: dropout on A while it is loaded, bias and ReLU in the epilogue.
// Reference: @alphadrop/core referenceKernels[Prim.Matmul].

import { sizeOf, type OutSpec, type Shape } from '@alphadrop/core';
import type { GpuPlan, KernelCaps, OperandSpec } from '../runtime/plan.js';
import { V3_CONFIGS, v3Register, v4Vec4, type LadderProgram, type V3Config, type V4Config } from './matmul-ladder.js';

export interface MatmulGeometry {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  batchShape: Shape;
  aBatch: Shape;
  bBatch: Shape;
}

export function matmulGeometry(a: OperandSpec, b: OperandSpec, transA: boolean, transB: boolean, out: OutSpec): MatmulGeometry {
  const r = out.shape.length;
  return {
    M: out.shape[r - 2]!,
    N: out.shape[r - 1]!,
    K: transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!,
    transA,
    transB,
    batchShape: out.shape.slice(0, -2),
    aBatch: a.shape.slice(0, -2),
    bBatch: b.shape.slice(0, -2),
  };
}

/** The 64×64 output tile of v3, the kernel for every product below the v4 threshold. */
export const TILE = 64;

/** The fused variants: dropout on A while it is loaded, bias and ReLU in the epilogue. */
export interface MatmulFusion {
  bias: boolean;
  relu: boolean;
  dropout: boolean;
}
const PLAIN: MatmulFusion = { bias: false, relu: false, dropout: false };

/** Which rung of the matmul ladder (matmul-ladder.ts) serves a shape, and with which config. */
export type MatmulChoice = { version: 'v3'; config: V3Config } | { version: 'v4'; config: V4Config };

/** v3 64×64 / 4×4 / BK 16: the first kernel, still the choice for small and skinny products. */
const SMALL: MatmulChoice = { version: 'v3', config: V3_CONFIGS[0]! };
/** v4 64×128 / BK 16, double-buffered: the fastest rung on large products (24 KiB of workgroup memory). */
const LARGE: MatmulChoice = { version: 'v4', config: { bm: 64, bn: 128, bk: 16, double: true } };
/** v4 64×64 / BK 16, double-buffered: for wide outputs with a short K (16 KiB: fits WebGPU's default limits). */
const WIDE: MatmulChoice = { version: 'v4', config: { bm: 64, bn: 64, bk: 16, double: true } };
const LARGE_WORKGROUP_BYTES = 2 * (64 + 128) * 16 * 4;

/**
 * Enough output tiles to fill a large GPU (an H100 has 132 SMs) before the bigger tiles
 * pay. Measured on an H200 with the ladder (bench/src/gpu/matmul-ladder.ts): 4096³ 43.8
 * TFLOP/s for v4 64×128 vs 29.4 for v3; 1024³ 34.9 vs 24.9; the MLP's dX (1280×100·100×784)
 * 15.8 for v4 64×64 vs 12.0; the skinny forward shapes stay on v3, within 5% of the best.
 */
export const LARGE_MIN_TILES = 128;

export function chooseMatmul(g: MatmulGeometry, maxWorkgroupStorage = 16384): MatmulChoice {
  const batch = Math.max(1, sizeOf(g.batchShape));
  const tiles64x128 = Math.ceil(g.M / 64) * Math.ceil(g.N / 128) * batch;
  const tiles64 = Math.ceil(g.M / 64) * Math.ceil(g.N / 64) * batch;
  if (tiles64x128 >= LARGE_MIN_TILES && g.K >= 256 && maxWorkgroupStorage >= LARGE_WORKGROUP_BYTES) return LARGE;
  if (tiles64 >= LARGE_MIN_TILES && g.K >= 64) return WIDE;
  return SMALL;
}

function build(g: MatmulGeometry, fusion: MatmulFusion, storage?: number): LadderProgram {
  const c = chooseMatmul(g, storage);
  return c.version === 'v4' ? v4Vec4(g, c.config, fusion) : v3Register(g, c.config, fusion);
}

export function wgsl(g: MatmulGeometry, fusion: MatmulFusion = PLAIN, maxWorkgroupStorage?: number): string {
  return build(g, fusion, maxWorkgroupStorage).code;
}

export function dispatchSize(g: MatmulGeometry, maxWorkgroupStorage?: number): [number, number, number] {
  const c = chooseMatmul(g, maxWorkgroupStorage);
  return [Math.ceil(g.N / c.config.bn), Math.ceil(g.M / c.config.bm), Math.max(1, sizeOf(g.batchShape))];
}

/** Kernel name for profiles and counters, e.g. 'v4-128x128'. */
export function variantName(g: MatmulGeometry, maxWorkgroupStorage?: number): string {
  const c = chooseMatmul(g, maxWorkgroupStorage);
  return c.version === 'v3' && c.config.bm === TILE ? 'tile64' : `${c.version}-${c.config.bm}x${c.config.bn}`;
}

export function matmulPlan(inputs: readonly OperandSpec[], p: { transA: boolean; transB: boolean }, out: OutSpec, caps?: KernelCaps): GpuPlan {
  const g = matmulGeometry(inputs[0]!, inputs[1]!, p.transA, p.transB, out);
  const s = caps?.maxWorkgroupStorage;
  return {
    programs: [{ name: `matmul/${variantName(g, s)}${p.transA ? '/tA' : ''}${p.transB ? '/tB' : ''}`, code: wgsl(g, PLAIN, s), workgroups: dispatchSize(g, s), bindings: ['in0', 'in1', 'out'] }],
  };
}
