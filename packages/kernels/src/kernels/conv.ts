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
// Reference: @alphadrop/core referenceKernels[Prim.Conv2d | Prim.Conv2dInputGrad | Prim.Conv2dFilterGrad].

import { DeviceError, Prim, referenceKernels, type OutSpec, type PrimParams, type Shape } from '@alphadrop/core';
import type { GpuPlan, GpuProgram, OperandSpec } from '../runtime/plan.js';
import { BUILTINS, flatIndex, grid1d } from '../runtime/wgsl.js';

export const reference = {
  [Prim.Conv2d]: referenceKernels[Prim.Conv2d],
  [Prim.Conv2dInputGrad]: referenceKernels[Prim.Conv2dInputGrad],
  [Prim.Conv2dFilterGrad]: referenceKernels[Prim.Conv2dFilterGrad],
};

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

// ---------------------------------------------------------------- the tiled GEMM

const TK = 16;
/** Invocations per workgroup, laid out SX (rows) × SY (columns). */
const THREADS = 256;
/** Split the reduction until about this many workgroups run, ... */
const TARGET_WORKGROUPS = 256;
/** ... but give each part at least this many reduction steps. */
const MIN_CHUNK = 256;

/**
 * How one GEMM operand is gathered. Its tile is (outer index) × (reduction index k); the
 * outer index is a row of A or a column of B. Statements that depend only on the outer
 * index are hoisted out of the k loop.
 */
interface Gather {
  /** Which index consecutive invocations walk while loading: pick the one contiguous in memory. */
  fast: 'outer' | 'k';
  /** Statements for outer index `r` (u32); names they define end in `_${s}`. */
  outer(r: string, s: string): string;
  /** Statements for reduction index `k` (u32); names they define end in `_${s}`. */
  inner(k: string, s: string): string;
  /** Extra statements, the in-bounds condition and the i32 offset of element (outer `ro`, k `ks`). */
  at(ro: string, ks: string): { pre?: string; ok?: string; off: string };
}

export interface Gemm {
  name: string;
  /** C[M, N] = A[M, K] · B[K, N]; A gathers from in0, B from in1. */
  M: number;
  N: number;
  K: number;
  A: Gather;
  B: Gather;
  /** Statements for output row `r` (names end in `_${s}`) and the u32 offset of (row, column `c`). */
  storeRow(r: string, s: string): string;
  storeAt(s: string, c: string): string;
}

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
 * Statements loading one operand's TK-slice into `tile` (tile[k][outer], outer extent T, a
 * power of two that divides 256), and those hoisted before the loop.
 */
function loader(op: Gather, name: string, tile: string, buf: string, T: number, bound: number): { hoisted: string; body: string } {
  const hoisted: string[] = [];
  const body: string[] = [];
  const loads = Math.max(1, (T * TK) / THREADS);
  // a tile smaller than the workgroup leaves some invocations idle
  const guard = (code: string) => (T * TK < THREADS ? `if (tid < ${T * TK}u) {
      ${code}
    }` : code);
  const load = (ro: string, ks: string, kl: string, ol: string) => {
    const a = op.at(ro, ks);
    const ok = [`ok_${ro}`, `${ks} < kEnd`, ...(a.ok ? [a.ok] : [])].join(' && ');
    return `{
      ${a.pre ?? ''}
      var v = 0.0;
      if (${ok}) { v = ${buf}[u32(${a.off})]; }
      ${tile}[${kl}][${ol}] = v;
    }`;
  };
  if (op.fast === 'outer') {
    // Invocation tid loads outer index tid % T (the same for every load) at k = tid / T + i·(256 / T).
    const s = `${name}o`;
    hoisted.push(`let ${s} = ${name}0 + tid % ${T}u;`, op.outer(s, s), `let ok_${s} = ${s} < ${bound}u;`);
    for (let i = 0; i < loads; i++) {
      const kl = `tid / ${T}u + ${(i * THREADS) / T}u`;
      const ks = `${name}k${i}`;
      body.push(guard(`let ${ks} = k0 + ${kl};
    ${op.inner(ks, ks)}
    ${load(s, ks, kl, `tid % ${T}u`)}`));
    }
  } else {
    // Invocation tid loads k = tid % TK (the same for every load) at outer index tid / TK + i·16.
    const ks = `${name}k`;
    body.push(`let ${ks} = k0 + tid % ${TK}u;`, op.inner(ks, ks));
    for (let i = 0; i < loads; i++) {
      const ol = `tid / ${TK}u + ${(i * THREADS) / TK}u`;
      const s = `${name}o${i}`;
      hoisted.push(`let ${s} = ${name}0 + ${ol};`, op.outer(s, s), `let ok_${s} = ${s} < ${bound}u;`);
      body.push(guard(load(s, ks, `tid % ${TK}u`, ol)));
    }
  }
  return { hoisted: hoisted.join('\n  '), body: body.join('\n    ') };
}

/** The GEMM program; with a split reduction it writes partial products [split, M·N] to its output. */
function gemmWgsl(g: Gemm, t: GemmTiling): string {
  const { SX, SY, RM, RN } = t;
  const TM = SX * RM;
  const TN = SY * RN;
  const a = loader(g.A, 'row', 'As', 'in0', TM, g.M);
  const b = loader(g.B, 'col', 'Bs', 'in1', TN, g.N);
  const partOffset = t.split > 1 ? ` + part * ${g.M * g.N}u` : '';
  const stores: string[] = [];
  for (let i = 0; i < RM; i++) {
    const cols: string[] = [];
    for (let j = 0; j < RN; j++)
      cols.push(`if (col0 + lid.y + ${j * SY}u < ${g.N}u) { dst[${g.storeAt(`r${i}`, `col0 + lid.y + ${j * SY}u`)}${partOffset}] = acc[${i}][${j}]; }`);
    stores.push(`{
    let r${i} = row0 + lid.x + ${i * SX}u;
    if (r${i} < ${g.M}u) {
      ${g.storeRow(`r${i}`, `r${i}`)}
      ${cols.join('\n      ')}
    }
  }`);
  }
  return `@group(0) @binding(0) var<storage, read> in0: array<f32>;
@group(0) @binding(1) var<storage, read> in1: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
var<workgroup> As: array<array<f32, ${TM}>, ${TK}>;
var<workgroup> Bs: array<array<f32, ${TN}>, ${TK}>;
@compute @workgroup_size(${SX}, ${SY})
fn main(${BUILTINS}) {
  // Row tiles fold over x and y past 65535; z enumerates column tiles, then reduction parts.
  let rowTile = wid.y * nwg.x + wid.x;
  if (rowTile >= ${t.rowTiles}u) { return; }
  let colTile = wid.z % ${t.colTiles}u;
  let part = wid.z / ${t.colTiles}u;
  let row0 = rowTile * ${TM}u;
  let col0 = colTile * ${TN}u;
  let tid = lid.y * ${SX}u + lid.x;
  let kBegin = part * ${t.chunk}u;
  let kEnd = min(${g.K}u, kBegin + ${t.chunk}u);
  ${a.hoisted}
  ${b.hoisted}
  var acc: array<array<f32, ${RN}>, ${RM}>;
  for (var k0 = kBegin; k0 < kEnd; k0 += ${TK}u) {
    ${a.body}
    ${b.body}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var a: array<f32, ${RM}>;
      var b: array<f32, ${RN}>;
      for (var i = 0u; i < ${RM}u; i++) { a[i] = As[kk][lid.x + i * ${SX}u]; }
      for (var j = 0u; j < ${RN}u; j++) { b[j] = Bs[kk][lid.y + j * ${SY}u]; }
      for (var i = 0u; i < ${RM}u; i++) {
        for (var j = 0u; j < ${RN}u; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  ${stores.join('\n  ')}
}`;
}

/** Sums the split parts: out[i] = Σ_part tmp[part, i], in a fixed order (deterministic). */
function splitSumWgsl(size: number, split: number): string {
  return `@group(0) @binding(0) var<storage, read> parts: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${size}u) { return; }
  var acc = 0.0;
  for (var p = 0u; p < ${split}u; p++) { acc += parts[p * ${size}u + i]; }
  out[i] = acc;
}`;
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
export function gemmOf(c: ConvProblem): Gemm {
  const [N, C, H, W] = c.x;
  const [O, , KH, KW] = c.w;
  const [, , Ho, Wo] = c.y;
  const taps = C * KH * KW;
  switch (c.prim) {
    case Prim.Conv2d:
      // rows: output pixels (n, oh, ow); columns: o; reduction: taps (c, kh, kw).
      return {
        name: 'conv2d/igemm',
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

/** WGSL of the GEMM program (the first program of the plan). */
export function wgsl(c: ConvProblem): string {
  const g = gemmOf(c);
  return gemmWgsl(g, tiling(g.M, g.N, g.K));
}

/** Workgroups of the GEMM program: row tiles folded over (x, y), column tiles × reduction parts in z. */
export function dispatchSize(c: ConvProblem): [number, number, number] {
  const g = gemmOf(c);
  const t = tiling(g.M, g.N, g.K);
  const [x, y] = grid1d(t.rowTiles, 1);
  const z = t.colTiles * t.split;
  if (z > 65535) throw new DeviceError(g.name, 'at most 65535 column tiles × reduction parts', String(z));
  return [x, y, z];
}

export function convPlan(c: ConvProblem): GpuPlan {
  const g = gemmOf(c);
  const t = tiling(g.M, g.N, g.K);
  const tag = `${g.name}/${t.SX * t.RM}x${t.SY * t.RN}`;
  const gemm = (bindings: GpuProgram['bindings']): GpuProgram => ({ name: tag, code: gemmWgsl(g, t), workgroups: dispatchSize(c), bindings });
  if (t.split === 1) return { programs: [gemm(['in0', 'in1', 'out'])] };
  const size = g.M * g.N;
  return {
    temps: [t.split * size * 4],
    programs: [
      gemm(['in0', 'in1', 'tmp0']),
      { name: `${g.name}/split-sum`, code: splitSumWgsl(size, t.split), workgroups: grid1d(size), bindings: ['tmp0', 'out'] },
    ],
  };
}

export const conv2dPlan = (inputs: readonly OperandSpec[], p: PrimParams[Prim.Conv2d], out: OutSpec): GpuPlan =>
  convPlan(convProblem(Prim.Conv2d, inputs, p, out));
export const conv2dInputGradPlan = (inputs: readonly OperandSpec[], p: PrimParams[Prim.Conv2dInputGrad], out: OutSpec): GpuPlan =>
  convPlan(convProblem(Prim.Conv2dInputGrad, inputs, p, out));
export const conv2dFilterGradPlan = (inputs: readonly OperandSpec[], p: PrimParams[Prim.Conv2dFilterGrad], out: OutSpec): GpuPlan =>
  convPlan(convProblem(Prim.Conv2dFilterGrad, inputs, p, out));
