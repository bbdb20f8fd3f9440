// Convolution as implicit GEMM (NCHW input, OIHW filter): the forward conv and both
// backward kernels are one register-tiled GEMM whose operand tiles are gathered straight
// from the tensors while workgroup memory is loaded, so the im2col matrix never exists in
// global memory. With p = padding, s = stride, d = dilation:
//   forward      y[(n,oh,ow), o]  = Σ_(c,kh,kw) x[n, c, oh·s-p+kh·d, ow·s-p+kw·d] · w[o, (c,kh,kw)]
//   input grad   dx[(n,ih,iw), c] = Σ_(o,kh,kw) dy[n, o, (ih+p-kh·d)/s, (iw+p-kw·d)/s] · w[o, c, kh, kw]
//                                   (the filter flipped; taps off the stride grid read as 0, so with
//                                   stride s only about 1/(s_h·s_w) of the reduction is real work:
//                                   fine for the stride-1 convs of the models here; splitting dx by
//                                   stride phase would remove the waste)
//   filter grad  dw[(c,kh,kw), o] = Σ_(n,oh,ow) x[n, c, oh·s-p+kh·d, ow·s-p+kw·d] · dy[n, o, oh, ow]
// Padding and stride holes are loaded as zeros and multiplied like any element, so a
// non-finite operand meeting them gives NaN (0·Inf): the oracle states the same rule.
// The filter gradient reduces over N·Ho·Wo with few output tiles, so its reduction is split
// over workgroups (z) into a scratch buffer and summed by a second program (no atomics).
// The programs come from the GEMM generator (gemm.ts): operand sources that gather from the
// tensors, the scalar register tile, split-K.
// Reference: @alphadrop/core referenceKernels[Prim.Conv2d | Prim.Conv2dInputGrad | Prim.Conv2dFilterGrad].

import { DeviceError, type Shape } from '@alphadrop/core';
import { Prim, type OutSpec, type PrimParams } from '@alphadrop/core/backend';
import type { GpuPlan, GpuProgram, OperandSpec } from '../runtime/plan.js';
import { kernelModule, type KernelModule } from '../runtime/kernel-module.js';
import { grid1d } from '../runtime/wgsl.js';
import { NO_FUSION, scalarGemm, splitSum, type GemmSpec, type ScalarTiling } from './gemm.js';

export type ConvPrim = Prim.Conv2d | Prim.Conv2dInputGrad | Prim.Conv2dFilterGrad;
type Quad = readonly [number, number, number, number];
type Pair = readonly [number, number];

/** One convolution problem, whichever of its three products is computed. */
export interface ConvProblem {
  prim: ConvPrim;
  /** Input [N, C, H, W]. */
  x: Quad;
  /** Filter [O, C, kh, kw]. */
  w: Quad;
  /** Output [N, O, Ho, Wo]. */
  y: Quad;
  stride: Pair;
  padding: Pair;
  dilation: Pair;
}

const quad = (s: Shape): Quad => [s[0]!, s[1]!, s[2]!, s[3]!];

/** The problem behind a plan call: each primitive knows two of x, w, y from its operands. */
export function convProblem<P extends ConvPrim>(prim: P, inputs: readonly OperandSpec[], params: PrimParams[P], out: OutSpec): ConvProblem {
  const g = { stride: params.stride, padding: params.padding, dilation: params.dilation };
  switch (prim) {
    case Prim.Conv2d:
      return { prim, x: quad(inputs[0]!.shape), w: quad(inputs[1]!.shape), y: quad(out.shape), ...g };
    case Prim.Conv2dInputGrad:
      return { prim, x: quad(out.shape), w: quad(inputs[1]!.shape), y: quad(inputs[0]!.shape), ...g };
    default:
      return { prim, x: quad(inputs[0]!.shape), w: quad(out.shape), y: quad(inputs[1]!.shape), ...g };
  }
}

// ---------------------------------------------------------------- tiling

const TK = 16;
/** Invocations per workgroup, laid out SX (rows) × SY (columns). */
const THREADS = 256;
/** Split the reduction until about this many workgroups run, ... */
const TARGET_WORKGROUPS = 256;
/** ... but give each part at least this many reduction steps. */
const MIN_CHUNK = 256;

export interface GemmTiling {
  /** Invocation grid: SX along rows, SY along columns (SX·SY = 256). */
  SX: number;
  SY: number;
  /** Accumulators per invocation: RM rows (strided by SX) × RN columns (strided by SY). */
  RM: number;
  RN: number;
  rowTiles: number;
  colTiles: number;
  /** Parts the reduction is split into (z), each `chunk` long (a multiple of TK). */
  split: number;
  chunk: number;
}

/**
 * Tile shape for C[M, N]. The usual tile is 16×16 invocations with up to 4×4 accumulators
 * each (at most 64×64). A narrow N (the input gradient of a first layer with C = 1 or 3, a
 * conv with few filters) gets an invocation grid with fewer columns and more rows instead,
 * so that most of the tile is real work: N = 1..2 → 128×2, 3..4 → 128×4, 5..8 → 128×8. Tiles stay at most 128 rows so the A tile
 * (TK × 128 f32 = 8 KiB) fits the 16 KiB of workgroup memory WebGPU guarantees.
 */
export function tiling(M: number, N: number, K: number): GemmTiling {
  const SY = N <= 2 ? 2 : N <= 4 ? 4 : N <= 8 ? 8 : 16;
  const SX = THREADS / SY;
  const RN = N <= 16 ? 1 : N <= 32 ? 2 : 4;
  const RM = SX === 16 ? (M <= 16 ? 1 : M <= 32 ? 2 : 4) : 128 / SX;
  const rowTiles = Math.ceil(M / (SX * RM));
  const colTiles = Math.ceil(N / (SY * RN));
  const tiles = rowTiles * colTiles;
  let split = Math.max(1, Math.min(Math.floor(K / MIN_CHUNK), Math.ceil(TARGET_WORKGROUPS / tiles)));
  const chunk = Math.ceil(Math.ceil(K / split) / TK) * TK;
  split = Math.ceil(K / chunk);
  return { SX, SY, RM, RN, rowTiles, colTiles, split, chunk };
}

/**
 * The generator's scalar tile for a conv tiling: accumulators strided by the invocation grid
 * and consecutive invocations along rows (output pixels), which are contiguous in NCHW.
 */
export function scalarTiling(t: GemmTiling): ScalarTiling {
  return { TR: t.SX, TC: t.SY, RM: t.RM, RN: t.RN, TK, layout: 'strided', fastOut: 'rows', split: t.split, chunk: t.chunk };
}

// ---------------------------------------------------------------- the three products

/** i32 literal. */
const I = (v: number): string => `${v}i`;
/** u32 literal. */
const U = (v: number): string => `${v}u`;

/** Output pixel (n, oh, ow) of flat `r` over [N, Ho, Wo], as the input window's corner and base offset. */
function windowCorner(c: ConvProblem, r: string, s: string): string {
  const [, C, H, W] = c.x;
  const [, , Ho, Wo] = c.y;
  return `let n_${s} = ${r} / ${U(Ho * Wo)}; let p_${s} = ${r} % ${U(Ho * Wo)};
  let ih_${s} = i32(p_${s} / ${U(Wo)}) * ${I(c.stride[0])} - ${I(c.padding[0])};
  let iw_${s} = i32(p_${s} % ${U(Wo)}) * ${I(c.stride[1])} - ${I(c.padding[1])};
  let base_${s} = i32(n_${s} * ${U(C * H * W)}) + ih_${s} * ${I(W)} + iw_${s};`;
}

/** Filter tap (c, kh, kw) of flat `k` over [C, kh, kw], as a dilated displacement and offset. */
function filterTap(c: ConvProblem, k: string, s: string): string {
  const [, , H, W] = c.x;
  const [, , KH, KW] = c.w;
  return `let c_${s} = ${k} / ${U(KH * KW)}; let t_${s} = ${k} % ${U(KH * KW)};
  let dh_${s} = i32(t_${s} / ${U(KW)}) * ${I(c.dilation[0])};
  let dw_${s} = i32(t_${s} % ${U(KW)}) * ${I(c.dilation[1])};
  let toff_${s} = i32(c_${s} * ${U(H * W)}) + dh_${s} * ${I(W)} + dw_${s};`;
}

/** Element (window `p`, tap `t`) of the implicit im2col matrix: zero outside the input. */
function im2colAt(c: ConvProblem, p: string, t: string): { ok: string; off: string } {
  const [, , H, W] = c.x;
  return {
    ok: `u32(ih_${p} + dh_${t}) < ${U(H)} && u32(iw_${p} + dw_${t}) < ${U(W)}`,
    off: `base_${p} + toff_${t}`,
  };
}

/** The GEMM for one of the three products. */
export function gemmOf(c: ConvProblem): GemmSpec {
  const [N, C, H, W] = c.x;
  const [O, , KH, KW] = c.w;
  const [, , Ho, Wo] = c.y;
  const taps = C * KH * KW;
  switch (c.prim) {
    case Prim.Conv2d:
      // rows: output pixels (n, oh, ow); columns: o; reduction: taps (c, kh, kw).
      return {
        name: 'conv2d/igemm',
        batch: 1,
        prologue: '',
        fusion: NO_FUSION,
        M: N * Ho * Wo,
        N: O,
        K: taps,
        A: { fast: 'outer', outer: (r, s) => windowCorner(c, r, s), inner: (k, s) => filterTap(c, k, s), at: (p, t) => im2colAt(c, p, t) },
        // w viewed as [taps, O]: element (k, o) at o·taps + k
        B: {
          fast: 'k',
          outer: (o, s) => `let wb_${s} = i32(${o} * ${U(taps)});`,
          inner: (k, s) => `let wk_${s} = i32(${k});`,
          at: (o, k) => ({ off: `wb_${o} + wk_${k}` }),
        },
        storeRow: (r, s) => `let yb_${s} = (${r} / ${U(Ho * Wo)}) * ${U(O * Ho * Wo)} + ${r} % ${U(Ho * Wo)};`,
        storeAt: (s, col) => `yb_${s} + (${col}) * ${U(Ho * Wo)}`,
      };
    case Prim.Conv2dInputGrad: {
      // rows: input pixels (n, ih, iw); columns: c; reduction: (o, kh, kw).
      const [sh, sw] = c.stride;
      // (ih + p - kh·d) must be a multiple of the stride and land inside dy
      const onGrid = (v: string, s: number, bound: number): string =>
        s === 1 ? `u32(${v}) < ${U(bound)}` : `${v} >= 0i && ${v} % ${I(s)} == 0i && ${v} / ${I(s)} < ${I(bound)}`;
      return {
        name: 'conv2dInputGrad/igemm',
        batch: 1,
        prologue: '',
        fusion: NO_FUSION,
        M: N * H * W,
        N: C,
        K: O * KH * KW,
        A: {
          fast: 'outer',
          outer: (r, s) => `let n_${s} = ${r} / ${U(H * W)}; let p_${s} = ${r} % ${U(H * W)};
  let hp_${s} = i32(p_${s} / ${U(W)}) + ${I(c.padding[0])};
  let wp_${s} = i32(p_${s} % ${U(W)}) + ${I(c.padding[1])};
  let base_${s} = i32(n_${s} * ${U(O * Ho * Wo)});`,
          inner: (k, s) => `let o_${s} = ${k} / ${U(KH * KW)}; let t_${s} = ${k} % ${U(KH * KW)};
  let dh_${s} = i32(t_${s} / ${U(KW)}) * ${I(c.dilation[0])};
  let dw_${s} = i32(t_${s} % ${U(KW)}) * ${I(c.dilation[1])};
  let ooff_${s} = i32(o_${s} * ${U(Ho * Wo)});`,
          at: (p, t) => ({
            pre: `let th = hp_${p} - dh_${t}; let tw = wp_${p} - dw_${t};`,
            ok: `${onGrid('th', sh, Ho)} && ${onGrid('tw', sw, Wo)}`,
            off: `base_${p} + ooff_${t} + ${sh === 1 ? 'th' : `(th / ${I(sh)})`} * ${I(Wo)} + ${sw === 1 ? 'tw' : `tw / ${I(sw)}`}`,
          }),
        },
        // w as [(o, kh, kw), C]: element (k, c) at o·C·kh·kw + c·kh·kw + (kh·KW + kw)
        B: {
          fast: 'k',
          outer: (ch, s) => `let wb_${s} = i32(${ch} * ${U(KH * KW)});`,
          inner: (k, s) => `let wk_${s} = i32((${k} / ${U(KH * KW)}) * ${U(C * KH * KW)} + ${k} % ${U(KH * KW)});`,
          at: (ch, k) => ({ off: `wb_${ch} + wk_${k}` }),
        },
        storeRow: (r, s) => `let xb_${s} = (${r} / ${U(H * W)}) * ${U(C * H * W)} + ${r} % ${U(H * W)};`,
        storeAt: (s, col) => `xb_${s} + (${col}) * ${U(H * W)}`,
      };
    }
    default:
      // rows: taps (c, kh, kw); columns: o; reduction: output pixels (n, oh, ow).
      // Rows are taps so that dw[o, tap] is written with consecutive invocations on consecutive taps.
      return {
        name: 'conv2dFilterGrad/igemm',
        batch: 1,
        prologue: '',
        fusion: NO_FUSION,
        M: taps,
        N: O,
        K: N * Ho * Wo,
        A: { fast: 'k', outer: (t, s) => filterTap(c, t, s), inner: (r, s) => windowCorner(c, r, s), at: (t, p) => im2colAt(c, p, t) },
        // dy as [(n, oh, ow), O]: element (r, o) at n·O·Ho·Wo + o·Ho·Wo + (oh·Wo + ow)
        B: {
          fast: 'k',
          outer: (o, s) => `let yo_${s} = i32(${o} * ${U(Ho * Wo)});`,
          inner: (r, s) => `let yr_${s} = i32((${r} / ${U(Ho * Wo)}) * ${U(O * Ho * Wo)} + ${r} % ${U(Ho * Wo)});`,
          at: (o, r) => ({ off: `yo_${o} + yr_${r}` }),
        },
        storeRow: () => '',
        storeAt: (s, col) => `${s} + (${col}) * ${U(taps)}`,
      };
  }
}

export function convPlan(c: ConvProblem): GpuPlan {
  const g = gemmOf(c);
  const t = tiling(g.M, g.N, g.K);
  const tag = `${g.name}/${t.SX * t.RM}x${t.SY * t.RN}`;
  const program = scalarGemm(g, scalarTiling(t));
  if (program.workgroups[2] > 65535) throw new DeviceError(g.name, 'at most 65535 column tiles × reduction parts', String(program.workgroups[2]));
  const gemm = (bindings: GpuProgram['bindings']): GpuProgram => ({ name: tag, code: program.code, workgroups: program.workgroups, bindings });
  if (t.split === 1) return { programs: [gemm(['in0', 'in1', 'out'])] };
  const size = g.M * g.N;
  const sum = splitSum(size, t.split);
  return {
    temps: [t.split * size * 4],
    programs: [gemm(['in0', 'in1', 'tmp0']), { name: `${g.name}/split-sum`, code: sum.code, workgroups: sum.workgroups, bindings: ['tmp0', 'out'] }],
  };
}

/** The three products share one module shape: the problem is the conv geometry, the plan the generator's. */
function convModule<P extends ConvPrim>(prim: P): KernelModule<P, ConvProblem> {
  return kernelModule<P, ConvProblem>({ prim, problem: ({ inputs, params, out }) => convProblem(prim, inputs, params, out), plan: convPlan });
}

export const conv2dModule = convModule(Prim.Conv2d);
export const conv2dInputGradModule = convModule(Prim.Conv2dInputGrad);
export const conv2dFilterGradModule = convModule(Prim.Conv2dFilterGrad);
