// Matmul as the engine runs it: C[b] = op(A[b]) · op(B[b]) with op = identity or transpose,
// broadcast batch dims, shapes specialised, batch as the z dimension. The programs come from
// the GEMM generator (gemm.ts); the chooser below ships the configs the bench ladder
// (bench/matmul) promoted: the vec4 8×8 tile at 64×128 (double-buffered) where the output
// has enough tiles to fill a large GPU, the vec4 tile at 64×64 for wide outputs with a
// short K, and the scalar 64×64 tile (16×16 invocations, 4×4 blocked, K slices of 16)
// everywhere else. The fused linear (fused.ts) takes the same programs with dropout on A
// while it is loaded and bias and ReLU in the epilogue.
// Reference: @alphadrop/core referenceKernels[Prim.Matmul].

import { Prim, sizeOf, type OutSpec } from '@alphadrop/core/backend';
import type { GpuPlan, KernelCaps, OperandSpec } from '../runtime/plan.js';
import { kernelModule, type KernelModule } from '../runtime/kernel-module.js';
import { NO_FUSION, scalarGemm, stridedSpec, vec4Gemm, type GemmFusion, type GemmProgram, type MatmulGeometry, type ScalarTiling, type V4Config } from './gemm.js';

export type { MatmulGeometry } from './gemm.js';
/** The fused variants of the generator: dropout on A while it is loaded, bias and ReLU in the epilogue. */
export type MatmulFusion = GemmFusion;

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

/** The 64×64 output tile of the scalar kernel, the choice for every product below the vec4 thresholds. */
export const TILE = 64;

/** Which tile of the generator serves a shape (named by its ladder rung: v3 scalar, v4 vec4), and with which config. */
export type MatmulChoice = { version: 'v3'; config: ScalarTiling } | { version: 'v4'; config: V4Config };

/** Scalar 64×64: 16×16 invocations, 4×4 accumulators each (blocked), K slices of 16. */
export const SCALAR_64: ScalarTiling = { TR: 16, TC: 16, RM: 4, RN: 4, TK: 16, layout: 'blocked', fastOut: 'cols', split: 1, chunk: 0 };
const SMALL: MatmulChoice = { version: 'v3', config: SCALAR_64 };
/** vec4 64×128 / BK 16, double-buffered: the fastest config on large products (24 KiB of workgroup memory). */
const LARGE: MatmulChoice = { version: 'v4', config: { bm: 64, bn: 128, bk: 16, double: true } };
/** vec4 64×64 / BK 16, double-buffered: for wide outputs with a short K (16 KiB: fits WebGPU's default limits). */
const WIDE: MatmulChoice = { version: 'v4', config: { bm: 64, bn: 64, bk: 16, double: true } };
const LARGE_WORKGROUP_BYTES = 2 * (64 + 128) * 16 * 4;

/**
 * Enough output tiles to fill a large GPU (an H100 has 132 SMs) before the bigger tiles
 * pay. Measured on an H200 with the ladder (bench/matmul): 4096³ 43.8 TFLOP/s for vec4
 * 64×128 vs 29.4 for the scalar 64×64; 1024³ 34.9 vs 24.9; the MLP's dX (1280×100·100×784)
 * 15.8 for vec4 64×64 vs 12.0; the skinny forward shapes stay scalar, within 5% of the best.
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

/** The program for a geometry and fusion, on the chooser's config. */
export function matmulProgram(g: MatmulGeometry, fusion: GemmFusion = NO_FUSION, maxWorkgroupStorage?: number): GemmProgram {
  const c = chooseMatmul(g, maxWorkgroupStorage);
  return c.version === 'v4' ? vec4Gemm(g, c.config, fusion) : scalarGemm(stridedSpec(g, fusion), c.config);
}

/** Kernel name for profiles and counters, e.g. 'v4-64x128'. */
export function variantName(g: MatmulGeometry, maxWorkgroupStorage?: number): string {
  const c = chooseMatmul(g, maxWorkgroupStorage);
  return c.version === 'v3' ? 'tile64' : `v4-${c.config.bm}x${c.config.bn}`;
}

/** What specialises a (fused) matmul: the geometry, the fusion and the workgroup memory the device offers. */
export interface MatmulProblem {
  geometry: MatmulGeometry;
  fusion: GemmFusion;
  maxWorkgroupStorage: number;
}

export function matmulPlan({ geometry: g, fusion, maxWorkgroupStorage: s }: MatmulProblem): GpuPlan {
  const p = matmulProgram(g, fusion, s);
  const tags = [fusion.dropout && 'dropout', fusion.bias && 'bias', fusion.relu && 'relu', g.transA && 'tA', g.transB && 'tB'].filter(Boolean);
  const fused = fusion.dropout || fusion.bias || fusion.relu;
  return {
    programs: [
      {
        name: `${fused ? 'linear' : 'matmul'}/${variantName(g, s)}${tags.map((t) => `/${t}`).join('')}`,
        code: p.code,
        workgroups: p.workgroups,
        bindings: ['in0', 'in1', ...(fusion.bias ? (['in2'] as const) : []), 'out', ...(fusion.dropout ? (['uniform'] as const) : [])],
      },
    ],
  };
}

export function matmulProblem(inputs: readonly OperandSpec[], transA: boolean, transB: boolean, fusion: GemmFusion, out: OutSpec, caps: KernelCaps): MatmulProblem {
  return { geometry: matmulGeometry(inputs[0]!, inputs[1]!, transA, transB, out), fusion, maxWorkgroupStorage: caps.maxWorkgroupStorage };
}

export const matmulModule: KernelModule<Prim.Matmul, MatmulProblem> = kernelModule({
  prim: Prim.Matmul,
  problem: ({ inputs, params, out, caps }) => matmulProblem(inputs, params.transA, params.transB, NO_FUSION, out, caps),
  plan: matmulPlan,
});
