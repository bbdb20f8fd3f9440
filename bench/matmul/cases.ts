// The matmul ladder's problems, shared by the Node entry (ladder.ts) and the browser page
// (bench/browser): a case (M, K, N, transposes, batch, fusion), its operands, the float64
// reference of the checked entries, a rung's plan and data, and the line a result prints as.
// No Node imports.

import { keyFor } from '@alphadrop/core';
import { applyDropout, keepThreshold, splitU64, type DropoutParams } from '@alphadrop/core/backend';
import type { GpuPlan } from '@alphadrop/kernels/modules';
import type { Expected, LadderData } from '../harness/ladder.js';
import { fmtG, lpad, pad } from '../harness/table.js';
import { prng } from '../harness/data.js';
import type { LadderProgram, MatmulFusion, MatmulGeometry } from './rungs.js';

export interface Case {
  label: string;
  kind: 'square' | 'mlp' | 'odd' | 'fused';
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  /** Batch of C; A's batch is `batch` or 1 (broadcast), B's is 1. */
  batch: number;
  aBatched: boolean;
  /** The fusion the case runs with ('fused' cases: the BB-α step's dropout-fused products). */
  fusion: MatmulFusion;
}

export const PLAIN: MatmulFusion = { bias: false, relu: false, dropout: false };
/** The step's fused products: a layer's forward (dropout on its input, bias, ReLU) and its weight gradient (dropout on x). */
export const STEP_FUSION: Record<'fwd' | 'dW', MatmulFusion> = { fwd: { dropout: true, bias: true, relu: true }, dW: { dropout: true, bias: false, relu: false } };
export const fusionTag = (f: MatmulFusion) => ['drop', f.bias && 'bias', f.relu && 'relu'].filter(Boolean).join('/');

export const mk = (kind: Case['kind'], M: number, K: number, N: number, transA = false, transB = false, batch = 1, aBatched = true, label?: string): Case => ({
  label: label ?? `${batch > 1 ? `${batch}x` : ''}${M}x${K}x${N}${transA || transB ? ` ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}` : ''}`,
  kind, M, K, N, transA, transB, batch, aBatched, fusion: PLAIN,
});

export interface ShapeEntry {
  label: string;
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  fused?: 'fwd' | 'dW';
}
export function geometry(c: Case): MatmulGeometry {
  const batchShape = c.batch > 1 ? [c.batch] : [];
  return { M: c.M, N: c.N, K: c.K, transA: c.transA, transB: c.transB, batchShape, aBatch: c.aBatched ? batchShape : [], bBatch: [] };
}


export interface Operands {
  a: Float32Array;
  b: Float32Array;
  bias: Float32Array;
}

/** op(A) of batch z as rows [M][K] and op(B) as columns [N][K], in float64 (from `a` as given, e.g. dropout-masked). */
function opRows(c: Case, a: ArrayLike<number>, b: ArrayLike<number>, z: number): { ar: Float64Array; bc: Float64Array } {
  const { M, K, N } = c;
  const aOff = c.aBatched ? z * M * K : 0;
  const ar = new Float64Array(M * K);
  const bc = new Float64Array(N * K);
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) ar[i * K + k] = a[aOff + (c.transA ? k * M + i : i * K + k)]!;
  for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) bc[j * K + k] = b[c.transB ? j * K + k : k * N + j]!;
  return { ar, bc };
}

/** Flat output indices to check: all of them for small problems; else the last row, last column and random entries per batch. */
export function checkIndices(c: Case): Uint32Array {
  const { M, N, K, batch } = c;
  if (M * N * K * batch <= 1 << 27) return Uint32Array.from({ length: M * N * batch }, (_, i) => i);
  const idx = new Set<number>();
  const r = prng(99);
  for (let z = 0; z < batch; z++) {
    const base = z * M * N;
    for (let j = 0; j < N; j++) idx.add(base + (M - 1) * N + j);
    for (let i = 0; i < M; i++) idx.add(base + i * N + N - 1);
    for (let s = 0; s < 1024; s++) idx.add(base + Math.floor(r() * M) * N + Math.floor(r() * N));
  }
  return Uint32Array.from([...idx].sort((x, y) => x - y));
}


export function reference(c: Case, ops: Operands, fusion: MatmulFusion, drop: DropoutParams | null): Expected {
  const idx = checkIndices(c);
  const want = new Float64Array(idx.length);
  const scale = new Float64Array(idx.length);
  const a = fusion.dropout && drop ? applyDropout(ops.a, drop) : ops.a;
  const { M, N, K } = c;
  let z = -1;
  let rows: { ar: Float64Array; bc: Float64Array } | null = null;
  idx.forEach((flat, t) => {
    const zz = Math.floor(flat / (M * N));
    if (zz !== z) {
      z = zz;
      rows = opRows(c, a, ops.b, z);
    }
    const { ar, bc } = rows!;
    const i = Math.floor((flat % (M * N)) / N);
    const j = flat % N;
    let s = 0;
    let abs = 0;
    for (let k = 0; k < K; k++) {
      const p = ar[i * K + k]! * bc[j * K + k]!;
      s += p;
      abs += Math.abs(p);
    }
    if (fusion.bias) {
      s += ops.bias[j]!;
      abs += Math.abs(ops.bias[j]!);
    }
    if (fusion.relu) s = Math.max(s, 0);
    want[t] = s;
    scale[t] = abs;
  });
  return { idx, want, scale };
}

// dropout layer 2 at a step past 2^32, so the mask's high step word (c3) is exercised
export const DROP: DropoutParams = { keepProb: 0.7, key: keyFor(12345, 'trainDropout'), counter: [2, ...splitU64('matmul-ladder', 'step', 2 ** 32 + 5)] };

function dropUniform(d: DropoutParams): Uint32Array {
  // the generator's Drop layout: [k0, k1, c1, c2, c3, threshold, scale (f32 bits), pad]
  const scale = new Uint32Array(new Float32Array([1 / d.keepProb]).buffer)[0]!;
  return Uint32Array.from([d.key[0], d.key[1], d.counter[0], d.counter[1], d.counter[2], keepThreshold(d.keepProb), scale, 0]);
}

/** A rung's plan: its own when it has several programs, else its program bound in the fused linear's order. */
export function planOf(p: LadderProgram, name: string, fusion: MatmulFusion): GpuPlan {
  if (p.plan) return p.plan;
  return {
    programs: [
      { name, code: p.code, workgroups: p.workgroups, bindings: ['in0', 'in1', ...(fusion.bias ? (['in2'] as const) : []), 'out', ...(fusion.dropout ? (['uniform'] as const) : [])] },
    ],
  };
}

export function dataOf(c: Case, ops: Operands, fusion: MatmulFusion): LadderData {
  return { inputs: [ops.a, ops.b, ...(fusion.bias ? [ops.bias] : [])], outWords: c.M * c.N * c.batch, ...(fusion.dropout ? { uniforms: [dropUniform(DROP)] } : {}) };
}

export const asF32 = (raw: ArrayBuffer) => new Float32Array(raw);

export interface Result {
  version: string;
  config: string;
  shape: string;
  kind: Case['kind'];
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  batch: number;
  workgroups: readonly [number, number, number];
  threads: number;
  status: 'ok' | 'invalid' | 'compile-error' | 'skipped' | 'unfit';
  note?: string;
  maxErr?: number;
  compileMs?: number;
  reps?: number;
  msPerCall?: number;
  gflops?: number;
  /** The best measured window (msPerCall and gflops are the median's). */
  msBest?: number;
  clock?: 'gpu' | 'host';
  /** The programs of a multi-program rung (mask pass, GEMM, split reduction), by name. */
  programs?: string;
}

/** The header of the ladder's per-rung lines (formatRung). */
export const RUNG_HEADER = 'version config                       shape                                    valid      max err    GFLOP/s   ms/call   (best)     R  compile ms';

/** One rung on one case as a line under RUNG_HEADER: the same in Node and in the browser page. */
export function formatRung(r: Result): string {
  return `${pad(r.version, 7)} ${pad(r.config, 30)} ${pad(r.shape, 40)} ${pad(r.status, 8)} ${lpad(r.maxErr !== undefined ? r.maxErr.toExponential(2) : '', 10)} ${lpad(r.gflops !== undefined ? fmtG(r.gflops) : '', 10)} ${lpad(r.msPerCall !== undefined ? r.msPerCall.toPrecision(4) : '', 9)} ${lpad(r.msBest !== undefined ? r.msBest.toPrecision(4) : '', 9)} ${lpad(r.reps !== undefined ? String(r.reps) : '', 5)} ${lpad(r.compileMs !== undefined ? r.compileMs.toFixed(0) : '', 8)}${r.note ? `  ${r.note}` : ''}`;
}
