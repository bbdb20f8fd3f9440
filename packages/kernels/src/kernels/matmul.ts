// Matmul as the engine runs it: C[b] = op(A[b]) · op(B[b]) with op = identity or transpose,
// broadcast batch dims, shapes specialised, batch as the z dimension. The kernels are rungs
// of the ladder in matmul-ladder.ts, promoted by the benchmark (bench/src/gpu/matmul-ladder.ts):
// v4 (128×128 tiles, 8×8 vec4 register blocks, double-buffered) where the output has enough
// tiles to fill a large GPU, v3 (64×64 tiles, 4×4 per invocation, BK 16) elsewhere. Both take
// the fused options: dropout on A while it is loaded, bias and ReLU in the epilogue.
// Reference: @alphadrop/core referenceKernels[Prim.Matmul].

import { sizeOf, type OutSpec, type Shape } from '@alphadrop/core';
import type { GpuPlan, OperandSpec } from '../runtime/plan.js';
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
/**
 * v4 128×128 / 8×8 / BK 8, double-buffered: 256 invocations and 16 KiB of workgroup memory,
 * so it fits WebGPU's default limits (the builders here do not see the device's limits).
 */
const LARGE: MatmulChoice = { version: 'v4', config: { bm: 128, bn: 128, bk: 8, double: true } };
/**
 * v4 needs enough 128×128 tiles to fill a large GPU (an H100 has 132 SMs); below that the
 * 4× more numerous 64×64 tiles of v3 keep more of it busy. Provisional: the ladder's
 * best-per-shape table (bench/src/gpu/matmul-ladder.ts) is the evidence to move it by.
 */
export const LARGE_MIN_TILES = 128;

export function chooseMatmul(g: MatmulGeometry): MatmulChoice {
  const tiles = Math.ceil(g.M / 128) * Math.ceil(g.N / 128) * Math.max(1, sizeOf(g.batchShape));
  return tiles >= LARGE_MIN_TILES && g.K >= 32 ? LARGE : SMALL;
}

function build(g: MatmulGeometry, fusion: MatmulFusion): LadderProgram {
  const c = chooseMatmul(g);
  return c.version === 'v4' ? v4Vec4(g, c.config, fusion) : v3Register(g, c.config, fusion);
}

export function wgsl(g: MatmulGeometry, fusion: MatmulFusion = PLAIN): string {
  return build(g, fusion).code;
}

export function dispatchSize(g: MatmulGeometry): [number, number, number] {
  const c = chooseMatmul(g);
  return [Math.ceil(g.N / c.config.bn), Math.ceil(g.M / c.config.bm), Math.max(1, sizeOf(g.batchShape))];
}

/** Kernel name for profiles and counters, e.g. 'v4-128x128'. */
export function variantName(g: MatmulGeometry): string {
  const c = chooseMatmul(g);
  return c.version === 'v3' && c.config.bm === TILE ? 'tile64' : `${c.version}-${c.config.bm}x${c.config.bn}`;
}

export function matmulPlan(inputs: readonly OperandSpec[], p: { transA: boolean; transB: boolean }, out: OutSpec): GpuPlan {
  const g = matmulGeometry(inputs[0]!, inputs[1]!, p.transA, p.transB, out);
  return {
    programs: [{ name: `matmul/${variantName(g)}${p.transA ? '/tA' : ''}${p.transB ? '/tB' : ''}`, code: wgsl(g), workgroups: dispatchSize(g), bindings: ['in0', 'in1', 'out'] }],
  };
}
