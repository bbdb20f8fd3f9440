// Matmul as the engine runs it: C[b] = op(A[b]) · op(B[b]) with op = identity or transpose,
// broadcast batch dims, shapes specialised, batch as the z dimension. The programs come from
// the GEMM generator (gemm.ts); the chooser below ships the configs the bench ladder
// (bench/matmul) promoted, per geometry and fusion: which tile (the vec4 8×8 tile at 64×128 or
// 64×64, or the scalar 64×64 tile), how many parts the reduction is split into when the
// output has too few tiles to fill the GPU (the parts' sums go to scratch and a second
// program adds them in a fixed order with the bias and ReLU), and whether dropout on A is
// applied while A is loaded (a ladder rung; the engine no longer picks it) or by a mask pass
// that writes A⊙mask/keep once.
// The fused linear (fused.ts) takes the same plans.
// Reference: @alphadrop/core referenceKernels[Prim.Matmul].

import { Prim, sizeOf, type OutSpec } from '@alphadrop/core/backend';
import type { BufferRole, GpuPlan, GpuProgram, KernelCaps, OperandSpec } from '../runtime/plan.js';
import { kernelModule, type KernelModule } from '../runtime/kernel-module.js';
import {
  ceilDiv, maskPass, NO_FUSION, scalarGemm, splitK, splitReduce, stridedSpec, vec4Gemm, vecPaths,
  type GemmFusion, type GemmProgram, type MatmulGeometry, type ScalarTiling, type V4Config,
} from './gemm.js';

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

/**
 * How a product runs: the generator's tile (named by its ladder rung: v3 scalar, v4 vec4)
 * and config, the number of parts the reduction is split into (1: none; the chunk follows
 * from K and the tile's K slice, see gemm.ts splitK), and, with dropout, whether a mask pass
 * writes A⊙mask/keep first (else the mask is applied while A is loaded).
 */
export type MatmulTile = { version: 'v3'; config: ScalarTiling } | { version: 'v4'; config: V4Config };
export type MatmulChoice = MatmulTile & { parts: number; maskPass: boolean };

/** Scalar 64×64: 16×16 invocations, 4×4 accumulators each (blocked), K slices of 16. */
export const SCALAR_64: ScalarTiling = { TR: 16, TC: 16, RM: 4, RN: 4, TK: 16, layout: 'blocked', fastOut: 'cols', split: 1, chunk: 0 };
/** vec4 64×128 / BK 16, double-buffered: the fastest config on large products (24 KiB of workgroup memory). */
export const V4_64x128: V4Config = { bm: 64, bn: 128, bk: 16, double: true };
/** vec4 64×64 / BK 16, double-buffered: for wide outputs with a short K (16 KiB: fits WebGPU's default limits). */
export const V4_64x64: V4Config = { bm: 64, bn: 64, bk: 16, double: true };
const LARGE_WORKGROUP_BYTES = 2 * (64 + 128) * 16 * 4;

// The chooser's measurements: NVIDIA H200 through Dawn, bench/results/h200-gemm-{1,2}
// (ladder, cuBLAS on the same shapes, the BB-α step of the build without and with this
// chooser in one call) and h200-trace-call6 (the step on this file's first chooser). The GEMM
// times quoted are the ladder's GPU-timestamped medians (h200-gemm-2) unless marked.

/**
 * Enough output tiles to fill a large GPU (an H100 or H200 has 132 SMs) before the bigger
 * tiles pay: 4096³ 43.8 TFLOP/s for vec4 64×128 vs 29.4 for the scalar 64×64; 1024³ 34.9 vs
 * 24.9; the MLP's dX (1280×100·100×784) 11.9 µs for vec4 64×64 vs 15.7 µs scalar.
 */
export const LARGE_MIN_TILES = 128;

/**
 * Split-K: below SPLIT_TILES output tiles most of the GPU idles while each workgroup walks
 * all of K (1280×784·784×100 is 20 tiles of 64×128 for 132 SMs), so K is cut into about
 * SPLIT_TARGET / tiles parts (about 4 workgroups per SM), each at least SPLIT_MIN_CHUNK long.
 * 1280×784·784×100 on vec4 64×128: 54.1 µs unsplit, 15.3 µs in 10 parts (this rule; 14.5 in
 * 13); its dW 784×1280·1280×100: 84.2 µs unsplit, 14.5 µs in 20 parts (this rule, the best).
 * cuBLAS: 13.6 and 12.2 µs. At 160 tiles (the large MLP's 1280×1000·1000×1000 products), 3
 * parts against 1 took the step's dX (no dropout) from 131 to 100 µs (step profiles of one
 * call, h200-gemm-2), and 3 parts against 2 its forward GEMM from 122 to 87 µs (against
 * h200-trace-call6). With 256 tiles or more a split lost: dX 1280×100·100×784 (260 tiles of
 * 64×64, K = 100) 11.9 µs unsplit, 17.2 in 2 parts.
 */
export const SPLIT_TILES = 256;
export const SPLIT_TARGET = 512;
export const SPLIT_MIN_CHUNK = 64;

/** Parts for a product of `tiles` output tiles (batch included) over K. */
export function splitParts(tiles: number, K: number): number {
  if (tiles >= SPLIT_TILES) return 1;
  return Math.max(1, Math.min(Math.round(SPLIT_TARGET / tiles), Math.floor(K / SPLIT_MIN_CHUNK)));
}

/** Output rows × columns of one workgroup's tile, and its K slice. */
export function tileShape(t: MatmulTile): { bm: number; bn: number; bk: number } {
  return t.version === 'v4' ? t.config : { bm: t.config.TR * t.config.RM, bn: t.config.TC * t.config.RN, bk: t.config.TK };
}

/** Output tiles of a product (batch included): the workgroups of an unsplit GEMM. */
export function tileCount(g: MatmulGeometry, t: MatmulTile): number {
  const { bm, bn } = tileShape(t);
  return ceilDiv(g.M, bm) * ceilDiv(g.N, bn) * Math.max(1, sizeOf(g.batchShape));
}

/**
 * Per geometry (and, for dropout, fusion):
 * - the tile: vec4 64×128 for large outputs, vec4 64×64 for wide ones with a short K; for
 *   skinny outputs that split-K will cut (K ≥ 2·SPLIT_MIN_CHUNK) and that the vec4 tile can
 *   read as vec4s, vec4 again (64×128 up to N = 128: one column tile), which beat the scalar
 *   tile split the same way by 25-30% (1280×784·784×100: 14.5 against 20.5 µs at their best
 *   splits; its dW: 14.5 against 20.5); else the scalar 64×64 (K = 100: 9.3 µs against 10.1
 *   for vec4 64×128, both bound by the dispatch);
 * - the split: splitParts;
 * - dropout on A: always the mask pass (A⊙mask/keep written once by one invocation per Philox
 *   block, then the plain GEMM reads it). Applied while loading, the mask costs the GEMM's
 *   workgroups a serial Philox block per vec4 of each slice (per element on the scalar tile,
 *   again for every column tile): in the small MLP's step that path (vec4 64×128, split)
 *   took 40-47 µs per product where the plain GEMM takes 10-15 (1280×100·100×100 unsplit: 45
 *   µs against 10), and the step's replayed GPU time was 0.374 ms against 0.206 with this
 *   file's first chooser (scalar tile, split, mask passes; h200-gemm-2 against
 *   h200-trace-call6). A mask pass cost 6-16 µs in those steps (25-29 on the CNN head's
 *   1280×4608 and 4608×1280 inputs).
 */
export function chooseMatmul(g: MatmulGeometry, maxWorkgroupStorage = 16384, fusion: GemmFusion = NO_FUSION): MatmulChoice {
  const large: MatmulTile = { version: 'v4', config: V4_64x128 };
  const wide: MatmulTile = { version: 'v4', config: V4_64x64 };
  const roomy = maxWorkgroupStorage >= LARGE_WORKGROUP_BYTES;
  const vecA = vecPaths(g).a;
  const splits = g.K >= 2 * SPLIT_MIN_CHUNK;
  let tile: MatmulTile;
  if (tileCount(g, large) >= LARGE_MIN_TILES && g.K >= 256 && roomy) tile = large;
  else if (tileCount(g, wide) >= LARGE_MIN_TILES && g.K >= 64) tile = wide;
  else if (splits && vecA && g.N > 64 && roomy) tile = large;
  else if (splits && vecA && g.N > 32) tile = wide;
  else tile = { version: 'v3', config: SCALAR_64 };
  const parts = splitParts(tileCount(g, tile), g.K);
  return { ...tile, parts, maskPass: fusion.dropout && g.M * g.K > 0 } as MatmulChoice;
}

/** Kernel name for profiles and counters, e.g. 'v4-64x128/s4'. */
export function variantName(c: MatmulChoice, K: number): string {
  const { bm, bn, bk } = tileShape(c);
  const base = c.version === 'v3' ? (bm === 64 && bn === 64 ? 'tile64' : `v3-${bm}x${bn}`) : `v4-${bm}x${bn}`;
  const { split } = splitK(K, c.parts, bk);
  return split > 1 ? `${base}/s${split}` : base;
}

/** A product's plan and its main (GEMM) program, whose size the device limits are checked against. */
export interface MatmulBuild {
  plan: GpuPlan;
  gemm: GemmProgram;
}

/**
 * The programs of one choice, in dispatch order: [mask pass], GEMM, [split reduction].
 * Buffers: the mask pass reads in0 (A) and writes tmp0, which the GEMM then reads as A; a
 * split GEMM writes its parts to the next temp, which the reduction reads with the bias (in2).
 * The dropout uniform always belongs to program 0 (the mask pass, or the GEMM that masks
 * while loading): fused.ts hands the block to program 0.
 */
export function matmulBuild(g: MatmulGeometry, fusion: GemmFusion, c: MatmulChoice): MatmulBuild {
  const sk = splitK(g.K, c.parts, tileShape(c).bk);
  const split = sk.split > 1;
  const masked = fusion.dropout && c.maskPass;
  // the parts leave the epilogue to the reduction; the mask pass leaves the GEMM plain
  // (the key slices and the bias's batch dims go along: the parts read them only where dropout or bias stays in the GEMM)
  const inGemm: GemmFusion = { ...fusion, dropout: fusion.dropout && !masked, bias: fusion.bias && !split, relu: fusion.relu && !split };
  const gemm = c.version === 'v4' ? vec4Gemm(g, c.config, inGemm, sk) : scalarGemm(stridedSpec(g, inGemm), { ...c.config, ...sk });
  const tags = [
    fusion.dropout && (fusion.keySlices ? `dropout${fusion.keySlices.count}` : 'dropout'), fusion.bias && (fusion.biasBatch ? 'bias-batched' : 'bias'),
    fusion.relu && 'relu', g.transA && 'tA', g.transB && 'tB',
  ].filter(Boolean);
  const name = `${fusion.dropout || fusion.bias || fusion.relu ? 'linear' : 'matmul'}/${variantName(c, g.K)}${tags.map((t) => `/${t}`).join('')}`;
  const temps: number[] = [];
  const programs: GpuProgram[] = [];
  let a: BufferRole = 'in0';
  if (masked) {
    const n = Math.max(1, sizeOf(g.aBatch)) * g.M * g.K;
    const p = maskPass(n, fusion.keySlices);
    a = `tmp${temps.push(n * 4) - 1}`;
    programs.push({ name: `${name}/mask`, code: p.code, workgroups: p.workgroups, bindings: ['in0', a, 'uniform'] });
  }
  const size = Math.max(1, sizeOf(g.batchShape)) * g.M * g.N;
  const cRole: BufferRole = split ? `tmp${temps.push(sk.split * size * 4) - 1}` : 'out';
  programs.push({
    name,
    code: gemm.code,
    workgroups: gemm.workgroups,
    bindings: [a, 'in1', ...(inGemm.bias ? (['in2'] as const) : []), cRole, ...(inGemm.dropout ? (['uniform'] as const) : [])],
  });
  if (split) {
    const r = splitReduce(size, sk.split, g.N, { ...fusion, dropout: false }, g);
    programs.push({ name: `${name}/split-sum`, code: r.code, workgroups: r.workgroups, bindings: [cRole, ...(fusion.bias ? (['in2'] as const) : []), 'out'] });
  }
  return { plan: temps.length ? { temps, programs } : { programs }, gemm };
}

/** The GEMM program of a geometry and fusion on the chooser's config (without its mask pass or split reduction). */
export function matmulProgram(g: MatmulGeometry, fusion: GemmFusion = NO_FUSION, maxWorkgroupStorage?: number): GemmProgram {
  return matmulBuild(g, fusion, chooseMatmul(g, maxWorkgroupStorage, fusion)).gemm;
}

/** What specialises a (fused) matmul: the geometry, the fusion and the workgroup memory the device offers. */
export interface MatmulProblem {
  geometry: MatmulGeometry;
  fusion: GemmFusion;
  maxWorkgroupStorage: number;
}

export function matmulPlan({ geometry: g, fusion, maxWorkgroupStorage: s }: MatmulProblem): GpuPlan {
  return matmulBuild(g, fusion, chooseMatmul(g, s, fusion)).plan;
}

export function matmulProblem(inputs: readonly OperandSpec[], transA: boolean, transB: boolean, fusion: GemmFusion, out: OutSpec, caps: KernelCaps): MatmulProblem {
  return { geometry: matmulGeometry(inputs[0]!, inputs[1]!, transA, transB, out), fusion, maxWorkgroupStorage: caps.maxWorkgroupStorage };
}

export const matmulModule: KernelModule<Prim.Matmul, MatmulProblem> = kernelModule({
  prim: Prim.Matmul,
  problem: ({ inputs, params, out, caps }) => matmulProblem(inputs, params.transA, params.transB, NO_FUSION, out, caps),
  plan: matmulPlan,
});
