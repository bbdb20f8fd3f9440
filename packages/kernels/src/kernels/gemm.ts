// The one GEMM generator in WGSL: C = A · B with A [M, K] and B [K, N] given as operand
// *sources* (strided matrices with optional transposes and broadcast batches for matmul,
// gathers from NCHW tensors for the implicit-GEMM convolutions), emitted with the shapes
// specialised into the source so bounds checks are dropped where tiles divide the extents.
// Parameters: the tiling (a scalar register tile of any TR×TC invocations with RM×RN
// accumulators each, blocked or strided, or the vec4 8×8 register tile with A staged
// transposed and an optional double buffer), the batch (z), split-K (the reduction cut into
// parts written to scratch and summed by a second program in a fixed order: deterministic,
// no atomics) and the epilogue (bias, ReLU that keeps NaN) with dropout applied to A while
// it is loaded (the Philox mask of A's stored element, never materialised).
// matmul.ts, the fused linear (fused.ts) and conv.ts build their programs here; the bench
// ladder (bench/matmul) times the configs and the chooser in matmul.ts ships the winners.
//
// Bindings, in every program: A (0), B (1), [bias (2)], C, [dropout uniform]: the order of
// the fused linear primitive's operands.

import { type Shape } from '@alphadrop/core';
import { sizeOf, stridesOf } from '@alphadrop/core/backend';
import { BUILTINS, flatIndex, grid1d, MAX_GROUPS } from '../runtime/wgsl.js';
import { IEEE_WGSL } from './elementwise.js';
import { dropoutWgsl, maskProgram, type KeySlices } from './mask.js';

/** C[b] = op(A[b]) · op(B[b]) over broadcast batch dims: the strided operands of matmul. */
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

/** The fused variants: dropout on A while it is loaded, bias and ReLU in the epilogue. */
export interface GemmFusion {
  bias: boolean;
  relu: boolean;
  dropout: boolean;
  /** Dropout with one key per slice of A's storage (mask.ts); absent: one key. */
  keySlices?: KeySlices;
  /**
   * The batch dims of a bias [...batch, 1, N]: each output batch adds its own row, the bias
   * broadcast over the output's batch like an operand. Absent: one row [N] for every batch.
   */
  biasBatch?: Shape;
}
export const NO_FUSION: GemmFusion = { bias: false, relu: false, dropout: false };

/** One generated program with what the device limits are checked against. */
export interface GemmProgram {
  code: string;
  workgroups: [number, number, number];
  /** Invocations per workgroup (the device limit is maxComputeInvocationsPerWorkgroup). */
  threads: number;
  /** Bytes of workgroup memory (the limit is maxComputeWorkgroupStorageSize). */
  workgroupBytes: number;
}

export const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);
export const batchCount = (g: MatmulGeometry): number => Math.max(1, sizeOf(g.batchShape));

/** WGSL expression: matrix offset (in matrices) of an operand's batch for output batch `z`. */
export function batchOffset(batch: Shape, inBatch: Shape): string {
  if (sizeOf(inBatch) <= 1) return '0u';
  const lead = batch.length - inBatch.length;
  const outStrides = stridesOf(batch);
  const inStrides = stridesOf(inBatch);
  const terms: string[] = [];
  inBatch.forEach((d, i) => {
    if (d === 1) return;
    const o = i + lead;
    terms.push(`((z / ${outStrides[o]}u) % ${batch[o]}u) * ${inStrides[i]}u`);
  });
  return terms.length ? terms.join(' + ') : '0u';
}

// ---------------------------------------------------------------- shared emitters

/** Which operands a version reads and writes as vec4 (decided per shape). */
export interface VecPaths {
  a: boolean;
  b: boolean;
  c: boolean;
}
export const SCALAR: VecPaths = { a: false, b: false, c: false };

/**
 * vec4 access is legal when the operand's contiguous dimension is a multiple of 4: then
 * every 4-aligned run along it stays inside one row, and the batch offsets stay aligned.
 */
export function vecPaths(g: MatmulGeometry): VecPaths {
  return { a: (g.transA ? g.M : g.K) % 4 === 0, b: (g.transB ? g.K : g.N) % 4 === 0, c: g.N % 4 === 0 };
}

/**
 * `epi(v, c)` / `epi4(v, c)`: add the bias at index c (`biasAt`: the column, plus the batch's
 * row offset for a batched bias) and apply ReLU (one that keeps NaN:
 * WGSL's max(NaN, 0) may be 0, so relu_f32 / relu_v4 test the bits); `bias` is declared by
 * the caller (`biasDecl`). Used by the GEMM's stores and by the split reduction.
 */
function epilogueWgsl(fusion: GemmFusion, vec4: boolean): string {
  const lines: string[] = [];
  const body = (relu: string, biasExpr: string) =>
    [fusion.bias ? `x += ${biasExpr};` : '', fusion.relu ? `x = ${relu}(x);` : ''].filter(Boolean).join(' ');
  if (fusion.relu) lines.push(IEEE_WGSL.relu, ...(vec4 ? [IEEE_WGSL.relu4] : []));
  lines.push(`fn epi(v: f32, c: u32) -> f32 { var x = v; ${body('relu_f32', 'bias[c]')} return x; }`);
  if (vec4)
    lines.push(
      `fn epi4(v: vec4<f32>, c: u32) -> vec4<f32> { var x = v; ${body('relu_v4', 'vec4<f32>(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u])')} return x; }`,
    );
  return lines.join('\n');
}

const biasDecl = (fusion: GemmFusion, binding: number): string =>
  fusion.bias ? `@group(0) @binding(${binding}) var<storage, read> bias: array<f32>;` : '';

/** The bias index of column `c`: with a batched bias, offset by the batch's row `biasOff` (biasRow). */
const biasAt = (fusion: GemmFusion, c: string): string => (fusion.bias && fusion.biasBatch ? `biasOff + ${c}` : c);

/** A statement binding biasOff, the first bias element of output batch `z`, where the bias is batched. */
function biasRow(g: MatmulGeometry, fusion: GemmFusion): string {
  return fusion.bias && fusion.biasBatch ? `\n  let biasOff = (${batchOffset(g.batchShape, fusion.biasBatch)}) * ${g.N}u;` : '';
}

/**
 * Bindings, the dropout helper and the epilogue helpers. `load_a(i)` reads A's element i
 * (or vec4 i), applying the dropout mask of that element when fused (mask.ts): with one key
 * (or slices of a multiple of 4) a vec4 at index v is exactly one Philox block (one
 * generator call per four elements; the scalar form spends a whole block on one element).
 * `epi(v, c)` / `epi4(v, c)` add the bias at index c and apply ReLU.
 */
export function gemmHeader(fusion: GemmFusion, vec: VecPaths, enables = ''): string {
  const cBinding = fusion.bias ? 3 : 2;
  const t = (v: boolean) => (v ? 'vec4<f32>' : 'f32');
  const lines = [
    enables,
    `@group(0) @binding(0) var<storage, read> A: array<${t(vec.a)}>;`,
    `@group(0) @binding(1) var<storage, read> B: array<${t(vec.b)}>;`,
    biasDecl(fusion, 2),
    `@group(0) @binding(${cBinding}) var<storage, read_write> C: array<${t(vec.c)}>;`,
  ];
  if (fusion.dropout) {
    lines.push(dropoutWgsl(cBinding + 1, fusion.keySlices));
    if (vec.a) lines.push('fn load_a(v: u32) -> vec4<f32> { return dropped4(A[v], mask_words(v)); }');
    else lines.push('fn load_a(i: u32) -> f32 { return dropped(A[i], mask_word(i)); }');
  } else lines.push(`fn load_a(i: u32) -> ${t(vec.a)} { return A[i]; }`);
  lines.push(epilogueWgsl(fusion, vec.c));
  return lines.filter(Boolean).join('\n');
}

/** Statements binding z, aOff, bOff, cOff (element offsets of this batch's matrices) [and biasOff]. */
export function prologue(g: MatmulGeometry, wg = 'wg', fusion: GemmFusion = NO_FUSION): string {
  return `let z = ${wg}.z;
  ${batchOffsets(g, fusion)}`;
}

/** `a && b`, dropping conditions known true at generation time. */
export function all(...conds: (string | false)[]): string {
  const c = conds.filter((x): x is string => !!x);
  return c.length ? c.join(' && ') : 'true';
}

export function guarded(cond: string, value: string, zero: string): string {
  return cond === 'true' ? value : `select(${zero}, ${value}, ${cond})`;
}

// ---------------------------------------------------------------- operand sources

/**
 * How one operand is read. Its tile is (outer index) × (reduction index k); the outer index
 * is a row of A or a column of B. A gathered operand (a conv's implicit im2col) gives
 * statements that depend only on the outer index, hoisted out of the k loop (a window
 * corner, say), or only on k; a strided operand (matmul's) gives neither, and its slice is
 * loaded by a loop (scalarGemm's two loaders).
 */
export interface GemmOperand {
  /** Which index consecutive invocations walk while loading: pick the one contiguous in memory. */
  fast: 'outer' | 'k';
  /** Statements for outer index `r` (u32); names they define end in `_${s}`. */
  outer?(r: string, s: string): string;
  /** Statements for reduction index `k` (u32); names they define end in `_${s}`. */
  inner?(k: string, s: string): string;
  /** Extra statements, an extra in-bounds condition and the offset of element (outer `ro`, k `ks`). */
  at(ro: string, ks: string): { pre?: string; ok?: string; off: string };
}

/** A GEMM problem for the scalar path: C[M, N] = A[M, K] · B[K, N], `batch` times (z). */
export interface GemmSpec {
  name: string;
  M: number;
  N: number;
  K: number;
  batch: number;
  A: GemmOperand;
  B: GemmOperand;
  /** Statements with batch index `z` bound: per-batch operand offsets. */
  prologue: string;
  /**
   * Statements for output row `r` (names end in `_${s}`), computed once per row, and the u32
   * offset of (row, column `c`) in C. Without storeRow the stores are a loop over the
   * accumulators (matmul's).
   */
  storeRow?(r: string, s: string): string;
  storeAt(s: string, c: string): string;
  fusion: GemmFusion;
}

/** Flat storage index of op(A)[r][k] and op(B)[k][c] (scalar view). */
export const aAt = (g: MatmulGeometry, r: string, k: string): string => (g.transA ? `aOff + (${k}) * ${g.M}u + (${r})` : `aOff + (${r}) * ${g.K}u + (${k})`);
export const bAt = (g: MatmulGeometry, k: string, c: string): string => (g.transB ? `bOff + (${c}) * ${g.K}u + (${k})` : `bOff + (${k}) * ${g.N}u + (${c})`);

/** Statements binding aOff, bOff, cOff (element offsets of batch `z`'s matrices) [and biasOff, a batched bias's row]. */
export function batchOffsets(g: MatmulGeometry, fusion: GemmFusion = NO_FUSION): string {
  const { M, N, K } = g;
  return `let aOff = (${batchOffset(g.batchShape, g.aBatch)}) * ${M * K}u;
  let bOff = (${batchOffset(g.batchShape, g.bBatch)}) * ${K * N}u;
  let cOff = z * ${M * N}u;${biasRow(g, fusion)}`;
}

/** Matmul as a GemmSpec: strided operands, each loaded along its contiguous dimension. */
export function stridedSpec(g: MatmulGeometry, fusion: GemmFusion, name = 'matmul'): GemmSpec {
  return {
    name,
    M: g.M,
    N: g.N,
    K: g.K,
    batch: batchCount(g),
    A: { fast: g.transA ? 'outer' : 'k', at: (r, k) => ({ off: aAt(g, r, k) }) },
    B: { fast: g.transB ? 'k' : 'outer', at: (c, k) => ({ off: bAt(g, k, c) }) },
    prologue: batchOffsets(g, fusion),
    storeAt: (r, c) => `cOff + ${r} * ${g.N}u + ${c}`,
    fusion,
  };
}

// ---------------------------------------------------------------- the scalar register tile

export interface ScalarTiling {
  /** Invocations along rows and along columns (TR·TC per workgroup). */
  TR: number;
  TC: number;
  /** Accumulators per invocation: RM rows × RN columns. */
  RM: number;
  RN: number;
  /** K slice staged in workgroup memory per step. */
  TK: number;
  /** Rows of an invocation: 'blocked' tr·RM + i, or 'strided' tr + i·TR (and likewise columns). */
  layout: 'blocked' | 'strided';
  /**
   * The output index consecutive invocations (lid.x) and consecutive workgroups (x) walk:
   * 'cols' for row-major C, 'rows' for NCHW outputs.
   */
  fastOut: 'rows' | 'cols';
  /** Parts the reduction is split into, each `chunk` long (a multiple of TK); 1 = no split. */
  split: number;
  chunk: number;
}

/**
 * Tiles of C and the workgroup grid. 'xy' (fastOut 'cols', when every count fits a
 * dimension): column tiles on x, row tiles on y, batch × parts on z, so consecutive
 * workgroups share a row tile of A: the mapping of the hand-written v3 kernel. 'folded'
 * (fastOut 'rows', or too many tiles): row tiles on x, folded over y past 65535, and column
 * tiles × parts × batch on z: the mapping of the convolutions' GEMM.
 */
export function scalarGrid(s: GemmSpec, t: ScalarTiling): { rowTiles: number; colTiles: number; mapping: 'xy' | 'folded'; workgroups: [number, number, number] } {
  const rowTiles = ceilDiv(s.M, t.TR * t.RM);
  const colTiles = ceilDiv(s.N, t.TC * t.RN);
  if (t.fastOut === 'cols' && rowTiles <= MAX_GROUPS && colTiles <= MAX_GROUPS && s.batch * t.split <= MAX_GROUPS)
    return { rowTiles, colTiles, mapping: 'xy', workgroups: [colTiles, rowTiles, s.batch * t.split] };
  const [x, y] = grid1d(rowTiles, 1);
  return { rowTiles, colTiles, mapping: 'folded', workgroups: [x, y, colTiles * s.batch * t.split] };
}

/** What both slice loaders need: the operand, its tile (`tile[k][outer]`, outer extent TO) and the bounds. */
interface SliceLoad {
  op: GemmOperand;
  tile: string;
  load: (off: string) => string;
  TO: number;
  T: number;
  TK: number;
  /** Extent of the outer index; checked only where the tiles don't divide it. */
  bound: number;
  /** The reduction's end (a literal, or `kEnd` with a split reduction); checked only where K % TK ≠ 0. */
  kEnd: string;
  checkK: boolean;
}

/**
 * A strided operand's slice, loaded by a loop: invocation tid loads elements idx = tid + i·T
 * of the slice, idx walking the operand's contiguous dimension; out-of-bounds elements read
 * as 0 through `select`. Loop, names and condition order are those of the hand-written v3
 * kernel (A: gr, gk; B: gk2, gc) that the generator replaced: with its grid, stores and
 * 2-D workgroup, matmul's programs are that kernel's text, which ran 6–12% faster on an
 * H200's MLP shapes than the generator's first form (rows on x, unrolled hoisted loads).
 */
function loopLoader(l: SliceLoad, names: { outer: string; k: string; base: string; kFirst: boolean }): string {
  const { op, TO, T, TK } = l;
  const size = TO * TK;
  const loads = ceilDiv(size, T);
  const [o, k] = op.fast === 'outer' ? [`idx % ${TO}u`, `idx / ${TO}u`] : [`idx / ${TK}u`, `idx % ${TK}u`];
  const oCond = l.bound % TO !== 0 && `${names.outer} < ${l.bound}u`;
  const kCond = l.checkK && `${names.k} < ${l.kEnd}`;
  const cond = names.kFirst ? all(kCond, oCond) : all(oCond, kCond);
  const idx = [`let ${names.outer} = ${names.base} + ${o};`, `let ${names.k} = k0 + ${k};`];
  const store = `${l.tile}[${k}][${o}] = ${guarded(cond, l.load(op.at(names.outer, names.k).off), '0.0')};`;
  const body = [`let idx = tid + i * ${T}u;`, ...(names.kFirst ? idx.reverse() : idx), store];
  // a slice that does not fill the last round of loads leaves some invocations idle
  const inner = size % T === 0 ? body.join('\n      ') : `${body[0]}\n      if (idx < ${size}u) {\n        ${body.slice(1).join('\n        ')}\n      }`;
  return `for (var i = 0u; i < ${loads}u; i++) {
      ${inner}
    }`;
}

/**
 * A gathered operand's slice (a conv's implicit im2col, say), unrolled so that the
 * statements depending only on the outer index (a window corner) are hoisted out of the k
 * loop and those depending only on k are computed once per slice.
 */
function hoistedLoader(l: SliceLoad, name: string): { hoisted: string; body: string } {
  const { op, tile, TO, T, TK } = l;
  const outer = op.outer ?? (() => '');
  const inner = op.inner ?? (() => '');
  const hoisted: string[] = [];
  const body: string[] = [];
  const loads = Math.max(1, (TO * TK) / T);
  const checkOuter = l.bound % TO !== 0;
  // a tile smaller than the workgroup leaves some invocations idle
  const guard = (code: string) => (TO * TK < T ? `if (tid < ${TO * TK}u) {\n      ${code}\n    }` : code);
  const read = (ro: string, ks: string, kl: string, ol: string) => {
    const a = op.at(ro, ks);
    const ok = [...(checkOuter ? [`ok_${ro}`] : []), ...(l.checkK ? [`${ks} < ${l.kEnd}`] : []), ...(a.ok ? [a.ok] : [])].join(' && ');
    const v = l.load(`u32(${a.off})`);
    return `{
      ${a.pre ?? ''}
      ${ok ? `var v = 0.0;\n      if (${ok}) { v = ${v}; }` : `let v = ${v};`}
      ${tile}[${kl}][${ol}] = v;
    }`;
  };
  const okLine = (s: string) => (checkOuter ? `let ok_${s} = ${s} < ${l.bound}u;` : '');
  if (op.fast === 'outer') {
    if (T % TO !== 0 && TO * TK > T) throw new Error(`gemm ${name}: a tile of ${TO} does not divide ${T} invocations`);
    // Invocation tid loads outer index tid % TO (the same for every load) at k = tid / TO + i·(T / TO).
    const s = `${name}o`;
    hoisted.push(`let ${s} = ${name}0 + tid % ${TO}u;`, outer(s, s), okLine(s));
    for (let i = 0; i < loads; i++) {
      const kl = `tid / ${TO}u + ${(i * T) / TO}u`;
      const ks = `${name}k${i}`;
      body.push(guard(`let ${ks} = k0 + ${kl};\n    ${inner(ks, ks)}\n    ${read(s, ks, kl, `tid % ${TO}u`)}`));
    }
  } else {
    if (T % TK !== 0) throw new Error(`gemm ${name}: ${T} invocations do not split over a K slice of ${TK}`);
    // Invocation tid loads k = tid % TK (the same for every load) at outer index tid / TK + i·(T / TK).
    const ks = `${name}k`;
    body.push(`let ${ks} = k0 + tid % ${TK}u;`, inner(ks, ks));
    for (let i = 0; i < loads; i++) {
      const ol = `tid / ${TK}u + ${(i * T) / TK}u`;
      const s = `${name}o${i}`;
      hoisted.push(`let ${s} = ${name}0 + ${ol};`, outer(s, s), okLine(s));
      body.push(guard(read(s, ks, `tid % ${TK}u`, ol)));
    }
  }
  return { hoisted: hoisted.filter(Boolean).join('\n  '), body: body.filter(Boolean).join('\n    ') };
}

/** Hoisted statements and the k-loop body loading one operand's slice, in the form its source calls for. */
function sliceLoader(l: SliceLoad, name: 'row' | 'col'): { hoisted: string; body: string } {
  if (l.op.outer || l.op.inner) return hoistedLoader(l, name);
  const names = name === 'row' ? { outer: 'gr', k: 'gk', base: 'row0', kFirst: false } : { outer: 'gc', k: 'gk2', base: 'col0', kFirst: true };
  return { hoisted: '', body: loopLoader(l, names) };
}

/**
 * The scalar-tile GEMM program. With a split reduction it writes partial products
 * [split][batch·M·N] to C with dropout on A but no epilogue: `splitReduce` sums them and
 * applies bias and ReLU.
 */
export function scalarGemm(s: GemmSpec, t: ScalarTiling): GemmProgram {
  const { TR, TC, RM, RN, TK } = t;
  const T = TR * TC;
  const TM = TR * RM;
  const TN = TC * RN;
  if (t.split > 1 && (s.fusion.bias || s.fusion.relu))
    throw new Error(`gemm ${s.name}: a split reduction's epilogue belongs to splitReduce, not to the parts`);
  const grid = scalarGrid(s, t);
  const kEnd = t.split > 1 ? 'kEnd' : `${s.K}u`;
  const checkK = s.K % TK !== 0;
  const a = sliceLoader({ op: s.A, tile: 'As', load: (i) => `load_a(${i})`, TO: TM, T, TK, bound: s.M, kEnd, checkK }, 'row');
  const b = sliceLoader({ op: s.B, tile: 'Bs', load: (i) => `B[${i}]`, TO: TN, T, TK, bound: s.N, kEnd, checkK }, 'col');
  // lid.x walks the fast output index: the workgroup is (TC, TR) for row-major C, (TR, TC) for NCHW.
  const [tr, tc] = t.fastOut === 'rows' ? ['lid.x', 'lid.y'] : ['lid.y', 'lid.x'];
  const TX = t.fastOut === 'rows' ? TR : TC;
  const TY = T / TX;
  // Row i of an invocation (column j likewise); a literal index folds into one constant.
  const rowOf = (i: number | string) =>
    t.layout === 'blocked' ? `${tr} * ${RM}u + ${i}${typeof i === 'number' ? 'u' : ''}` : typeof i === 'number' ? `${tr} + ${i * TR}u` : `${tr} + ${i} * ${TR}u`;
  const colOf = (j: number | string) =>
    t.layout === 'blocked' ? `${tc} * ${RN}u + ${j}${typeof j === 'number' ? 'u' : ''}` : typeof j === 'number' ? `${tc} + ${j * TC}u` : `${tc} + ${j} * ${TC}u`;
  const partOffset = t.split > 1 ? ` + part * ${s.batch * s.M * s.N}u` : '';
  const value = (acc: string, c: string) => (t.split > 1 ? acc : `epi(${acc}, ${biasAt(s.fusion, c)})`);

  let stores: string;
  if (!s.storeRow) {
    // No per-row statements: the store loop of the hand-written v3 kernel (both bounds checked).
    stores = `for (var i = 0u; i < ${RM}u; i++) {
    for (var j = 0u; j < ${RN}u; j++) {
      let r = row0 + ${rowOf('i')};
      let c = col0 + ${colOf('j')};
      if (r < ${s.M}u && c < ${s.N}u) { C[${s.storeAt('r', 'c')}${partOffset}] = ${value('acc[i][j]', 'c')}; }
    }
  }`;
  } else {
    // Unrolled by row, so each row's statements (an NCHW offset, say) are computed once.
    const rows: string[] = [];
    for (let i = 0; i < RM; i++) {
      const cols: string[] = [];
      for (let j = 0; j < RN; j++) {
        const c = `c${i}_${j}`;
        const st = `C[${s.storeAt(`r${i}`, c)}${partOffset}] = ${value(`acc[${i}][${j}]`, c)};`;
        cols.push(`{ let ${c} = col0 + ${colOf(j)}; ${s.N % TN !== 0 ? `if (${c} < ${s.N}u) { ${st} }` : st} }`);
      }
      const rowBody = `${s.storeRow(`r${i}`, `r${i}`)}\n      ${cols.join('\n      ')}`;
      rows.push(`{
    let r${i} = row0 + ${rowOf(i)};
    ${s.M % TM !== 0 ? `if (r${i} < ${s.M}u) {\n      ${rowBody}\n    }` : rowBody}
  }`);
    }
    stores = rows.join('\n  ');
  }

  const builtins = '@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>';
  const tiles =
    grid.mapping === 'xy'
      ? `${t.split > 1 ? `let part = wg.z % ${t.split}u;\n  let z = wg.z / ${t.split}u;` : 'let z = wg.z;'}
  ${s.prologue}
  let row0 = wg.y * ${TM}u;
  let col0 = wg.x * ${TN}u;`
      : `// Row tiles fold over x and y past 65535; z enumerates column tiles, then reduction parts, then batches.
  let rowTile = wg.y * nwg.x + wg.x;
  if (rowTile >= ${grid.rowTiles}u) { return; }
  let colTile = wg.z % ${grid.colTiles}u;
  ${t.split > 1 ? `let part = (wg.z / ${grid.colTiles}u) % ${t.split}u; let z = wg.z / ${grid.colTiles * t.split}u;` : `let z = wg.z / ${grid.colTiles}u;`}
  ${s.prologue}
  let row0 = rowTile * ${TM}u;
  let col0 = colTile * ${TN}u;`;
  const kRange = t.split > 1 ? `let kBegin = part * ${t.chunk}u;\n  let kEnd = min(${s.K}u, kBegin + ${t.chunk}u);` : '';
  const code = `${gemmHeader(s.fusion, SCALAR)}
var<workgroup> As: array<array<f32, ${TM}>, ${TK}>;
var<workgroup> Bs: array<array<f32, ${TN}>, ${TK}>;
@compute @workgroup_size(${TX}, ${TY})
fn main(${builtins}${grid.mapping === 'folded' ? ', @builtin(num_workgroups) nwg: vec3<u32>' : ''}) {
  ${tiles}
  let tid = lid.y * ${TX}u + lid.x;${[kRange, a.hoisted, b.hoisted].filter(Boolean).map((x) => `\n  ${x}`).join('')}
  var acc: array<array<f32, ${RN}>, ${RM}>;
  for (var k0 = ${t.split > 1 ? 'kBegin' : '0u'}; k0 < ${kEnd}; k0 += ${TK}u) {
    ${a.body}
    ${b.body}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var a: array<f32, ${RM}>;
      var b: array<f32, ${RN}>;
      for (var i = 0u; i < ${RM}u; i++) { a[i] = As[kk][${rowOf('i')}]; }
      for (var j = 0u; j < ${RN}u; j++) { b[j] = Bs[kk][${colOf('j')}]; }
      for (var i = 0u; i < ${RM}u; i++) {
        for (var j = 0u; j < ${RN}u; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  ${stores}
}`;
  return { code, workgroups: grid.workgroups, threads: T, workgroupBytes: (TM + TN) * TK * 4 };
}

/**
 * Parts of a split reduction: K cut into `split` runs of `chunk` (a multiple of the K slice
 * `tk`), at most `parts` of them and none empty. `parts` = 1 (or a K too short) is no split.
 */
export function splitK(K: number, parts: number, tk: number): { split: number; chunk: number } {
  if (parts <= 1 || K <= tk) return { split: 1, chunk: 0 };
  const chunk = ceilDiv(ceilDiv(K, parts), tk) * tk;
  const split = ceilDiv(K, chunk);
  return split > 1 ? { split, chunk } : { split: 1, chunk: 0 };
}

/**
 * The second program of a split reduction: C[i] = epi(0 + parts[0][i] + parts[1][i] + …),
 * summed in part order whatever order the parts were written in (deterministic; WGSL has no
 * float atomics), then the epilogue of the fused linear (bias of column i % N, ReLU), which
 * the parts leave out. `size` = batch·M·N. vec4 when every vec4 stays in one row (N % 4 = 0)
 * or no column is needed (no bias). A batched bias (fusion.biasBatch) needs the product's
 * geometry `g` for the batch of element i. Bindings: parts (0), [bias (1)], C.
 */
export function splitReduce(size: number, split: number, N: number, fusion: GemmFusion = NO_FUSION, g?: MatmulGeometry): GemmProgram {
  if (fusion.dropout) throw new Error('splitReduce: dropout belongs to the parts, which load A');
  const batched = fusion.bias && fusion.biasBatch !== undefined;
  if (batched && (!g || g.N !== N || batchCount(g) * g.M * N !== size)) throw new Error('splitReduce: a batched bias needs the geometry of the product it reduces');
  const vec = size % 4 === 0 && (!fusion.bias || N % 4 === 0);
  const units = vec ? size / 4 : size;
  const T = vec ? 'vec4<f32>' : 'f32';
  const terms = Array.from({ length: split }, (_, p) => `parts[${p ? `${p * units}u + ` : ''}i]`);
  const code = `@group(0) @binding(0) var<storage, read> parts: array<${T}>;
${biasDecl(fusion, 1)}
@group(0) @binding(${fusion.bias ? 2 : 1}) var<storage, read_write> C: array<${T}>;
${epilogueWgsl(fusion, vec)}
@compute @workgroup_size(256)
fn main(${BUILTINS}) {
  let i = ${flatIndex()};
  if (i >= ${units}u) { return; }
  // -0 sums like the unsplit accumulator, which starts at +0
  let acc = ${vec ? 'vec4<f32>(0.0)' : '0.0'} + ${terms.join(' + ')};${batched ? `\n  let z = ${vec ? 'i * 4u' : 'i'} / ${g!.M * N}u;${biasRow(g!, fusion)}` : ''}
  C[i] = ${vec ? `epi4(acc, ${biasAt(fusion, `(i * 4u) % ${N}u`)})` : `epi(acc, ${biasAt(fusion, `i % ${N}u`)})`};
}`;
  return { code, workgroups: grid1d(units), threads: 256, workgroupBytes: 0 };
}

/** Sums the split parts, unfused: out[i] = Σ_part parts[part, i], in a fixed order (the convolutions' reduction). */
export function splitSum(size: number, split: number): GemmProgram {
  return splitReduce(size, split, 1, NO_FUSION);
}

/**
 * The mask pass: A⊙mask / keep written once to a scratch buffer (one Philox block per four
 * elements, one invocation per block), for a plain GEMM to read: the engine's dropout path
 * (matmul.ts's chooser says why). The in-load mask (`load_a`) regenerates a block in the
 * GEMM's workgroups for every column tile of C, and for every element on the scalar path.
 * The program is mask.ts's, the dropout primitive's too. Bindings: A (0), masked (1), the
 * dropout uniform (2).
 */
export function maskPass(n: number, slices?: KeySlices): GemmProgram {
  return { ...maskProgram(n, slices), threads: 256, workgroupBytes: 0 };
}

// ---------------------------------------------------------------- the vec4 register tile

export interface V4Config {
  /** Workgroup tile BM×BN (each 64 or 128); every invocation computes 8×8. */
  bm: number;
  bn: number;
  /** K slice staged per step (8 or 16). */
  bk: number;
  /** Two stages of workgroup memory: the next slice is loaded while this one is used (one barrier per slice). */
  double: boolean;
}
/** The configs the bench ladder sweeps (bench/matmul); matmul.ts ships 64×128 and 64×64, both double-buffered. */
export const V4_CONFIGS: readonly V4Config[] = [
  { bm: 128, bn: 128, bk: 8, double: false },
  { bm: 128, bn: 128, bk: 16, double: false },
  { bm: 128, bn: 128, bk: 8, double: true },
  { bm: 128, bn: 128, bk: 16, double: true },
  { bm: 64, bn: 128, bk: 16, double: true },
  { bm: 64, bn: 64, bk: 16, double: true },
  // candidates for the large squares, where 64×128/k16 stays ~15% under cuBLAS: a deeper
  // slice (48 KiB: the H200's workgroup memory, over WebGPU's default), a shallower one, and
  // the transposed tile shape. On the H200 (bench/results/h200-gemm-1) none beat 64×128/k16
  // at 2048³ or 4096³ (4096³: 25.0, 36.2 and 38.6 TFLOP/s against 42.9); 128×64 led the
  // small MLP's dX (1280×100·100×784, 11.2 µs against 11.9 for 64×64, h200-gemm-2)
  { bm: 64, bn: 128, bk: 32, double: true },
  { bm: 64, bn: 128, bk: 8, double: true },
  { bm: 128, bn: 64, bk: 16, double: true },
];

/**
 * Emits the statements that load one operand's slice into registers `${reg}0..` as vec4s.
 * `contigAlongTile`: the operand's contiguous dimension is the tile dimension (m of A^T
 * storage, n of B), so a vec4 lands whole in the [k][tile] layout; otherwise it runs along
 * k and is scattered into four rows of the layout when stored.
 */
export interface SliceSpec {
  reg: string;
  /** Units (vec4s) per invocation. */
  loads: number;
  threads: number;
  tile: number;
  bk: number;
  /** Extent of the tile dimension and of K (for bounds). */
  extent: number;
  K: number;
  contigAlongTile: boolean;
  /** vec4 loads from global memory (else four scalar loads). */
  vec: boolean;
  /** Index expression of the element (tileCoord, kCoord) in storage (scalar view). */
  at: (t: string, k: string) => string;
  /** The load call for a storage index (scalar or vec4 index). */
  load: (i: string) => string;
  /** Bounds checks needed at all (partial tiles along the tile dimension / K). */
  checkTile: boolean;
  checkK: boolean;
}

export function sliceLoad(s: SliceSpec): string {
  const out: string[] = [];
  for (let l = 0; l < s.loads; l++) {
    const u = l === 0 ? 'tid' : `tid + ${l * s.threads}u`;
    // (t, k): the unit's first element in tile coordinates; the unit spans 4 along the contiguous dim.
    const [t, k] = s.contigAlongTile
      ? [`((${u}) % ${s.tile / 4}u) * 4u`, `(${u}) / ${s.tile / 4}u`]
      : [`(${u}) / ${s.bk / 4}u`, `((${u}) % ${s.bk / 4}u) * 4u`];
    out.push(`{ let t = ${t}; let k = ${k}; let gt = tile0 + t; let gk = k0 + k;`);
    if (s.vec) {
      // The contiguous extent is a multiple of 4: the first element in bounds means all four are.
      const cond = all(s.checkTile && `gt < ${s.extent}u`, s.checkK && `gk < ${s.K}u`);
      out.push(`  ${s.reg}${l} = ${guarded(cond, `${s.load(`(${s.at('gt', 'gk')}) / 4u`)}`, 'vec4<f32>(0.0)')}; }`);
    } else {
      const comps = [0, 1, 2, 3].map((q) => {
        const [tq, kq] = s.contigAlongTile ? [`gt + ${q}u`, 'gk'] : ['gt', `gk + ${q}u`];
        const cond = all(s.checkTile && `${tq} < ${s.extent}u`, s.checkK && `${kq} < ${s.K}u`);
        return guarded(cond, s.load(s.at(tq, kq)), '0.0');
      });
      out.push(`  ${s.reg}${l} = vec4<f32>(${comps.join(', ')}); }`);
    }
  }
  return out.join('\n      ');
}

/** Stores registers `${reg}0..` into workgroup array `arr` laid out [k][tile] as vec4s, at stage `stage`. */
export function sliceStore(s: SliceSpec, arr: string, stage: string): string {
  const row = s.tile / 4; // vec4s per k row
  const out: string[] = [];
  for (let l = 0; l < s.loads; l++) {
    const u = l === 0 ? 'tid' : `tid + ${l * s.threads}u`;
    if (s.contigAlongTile) {
      // Unit u is (k = u / row, vec4 u % row) of the [k][tile] layout: it lands at u itself.
      out.push(`${arr}[${stage} + ${u}] = ${s.reg}${l};`);
    } else {
      // The unit runs along k: its component q goes to row k+q, tile column t (vec4 t/4, lane t%4).
      out.push(`{ let t = (${u}) / ${s.bk / 4}u; let k = ((${u}) % ${s.bk / 4}u) * 4u; let o = ${stage} + k * ${row}u + t / 4u; let tl = t % 4u;`);
      for (let q = 0; q < 4; q++) out.push(`  ${arr}[o + ${q * row}u][tl] = ${s.reg}${l}[${q}];`);
      out.push('}');
    }
  }
  return out.join('\n      ');
}

/** No split reduction: one part covering K. */
export const NO_SPLIT = { split: 1, chunk: 0 } as const;

/**
 * The vec4-tile GEMM program. With a split reduction (`sk` from splitK with the config's bk)
 * it writes partial products [split][batch·M·N] to C with dropout on A but no epilogue, like
 * scalarGemm: workgroup z enumerates (batch, part), part fastest.
 */
export function vec4Gemm(g: MatmulGeometry, cfg: V4Config, fusion: GemmFusion = NO_FUSION, sk: { split: number; chunk: number } = NO_SPLIT): GemmProgram {
  const { M, N, K } = g;
  const { bm, bn, bk } = cfg;
  const S = sk.split;
  if (S > 1 && (fusion.bias || fusion.relu)) throw new Error("vec4Gemm: a split reduction's epilogue belongs to splitReduce, not to the parts");
  if (S > 1 && (sk.chunk % bk !== 0 || ceilDiv(K, sk.chunk) !== S)) throw new Error(`vec4Gemm: ${S} parts of ${sk.chunk} do not cut K = ${K} into slices of ${bk}`);
  const tx = bn / 8;
  const ty = bm / 8;
  const T = tx * ty;
  const la = (bm * bk) / 4 / T;
  const lb = (bn * bk) / 4 / T;
  if (![64, 128].includes(bm) || ![64, 128].includes(bn) || bk % 4 !== 0 || !Number.isInteger(la) || !Number.isInteger(lb) || la < 1 || lb < 1)
    throw new Error(`vec4Gemm: config ${JSON.stringify(cfg)} does not split evenly over ${T} invocations`);
  const vec = vecPaths(g);
  const stages = cfg.double ? 2 : 1;
  const aSize = (bk * bm) / 4; // vec4s per stage
  const bSize = (bk * bn) / 4;
  const aSpec: SliceSpec = {
    reg: 'ra', loads: la, threads: T, tile: bm, bk, extent: M, K, contigAlongTile: g.transA, vec: vec.a,
    at: (t, k) => aAt(g, t, k), load: (i) => `load_a(${i})`, checkTile: M % bm !== 0, checkK: K % bk !== 0,
  };
  const bSpec: SliceSpec = {
    reg: 'rb', loads: lb, threads: T, tile: bn, bk, extent: N, K, contigAlongTile: !g.transB, vec: vec.b,
    at: (t, k) => bAt(g, k, t), load: (i) => `B[${i}]`, checkTile: N % bn !== 0, checkK: K % bk !== 0,
  };
  // with a split, part p covers k in [p·chunk, min(K, (p + 1)·chunk)): a whole number of slices but the last
  const kAt = (kt: string) => (S > 1 ? `kBegin + ${kt} * ${bk}u` : `${kt} * ${bk}u`);
  const loadBoth = (k0: string) =>
    `{ let k0 = ${k0}; { let tile0 = row0; ${sliceLoad(aSpec)} } { let tile0 = col0; ${sliceLoad(bSpec)} } }`;
  const storeBoth = (stage: string) => `${sliceStore(aSpec, 'As', `${stage} * ${aSize}u`)}\n      ${sliceStore(bSpec, 'Bs', `${stage} * ${bSize}u`)}`;

  // Inner product over one staged slice, fully unrolled: per k two vec4s of A (rows ty*4.. and
  // bm/2+ty*4..) and two of B (cols tx*4.. and bn/2+tx*4..), 16 vec4 FMAs.
  const inner: string[] = [];
  for (let kk = 0; kk < bk; kk++) {
    inner.push(
      `{ let a0 = As[sa + ${kk * (bm / 4)}u + lid.y]; let a1 = As[sa + ${kk * (bm / 4) + ty}u + lid.y];`,
      `  let b0 = Bs[sb + ${kk * (bn / 4)}u + lid.x]; let b1 = Bs[sb + ${kk * (bn / 4) + tx}u + lid.x];`,
    );
    for (let i = 0; i < 8; i++) {
      const a = `a${i >> 2}[${i & 3}]`;
      inner.push(`  acc${i}_0 = fma(vec4<f32>(${a}), b0, acc${i}_0); acc${i}_1 = fma(vec4<f32>(${a}), b1, acc${i}_1);`);
    }
    inner.push('}');
  }
  const accDecl = Array.from({ length: 8 }, (_, i) => `var acc${i}_0 = vec4<f32>(0.0); var acc${i}_1 = vec4<f32>(0.0);`).join('\n  ');

  // Epilogue: row i of the invocation is (i < 4 ? ty*4+i : bm/2+ty*4+i-4); columns in two vec4 halves.
  // A part of a split reduction stores its raw sums at its own offset; splitReduce adds the epilogue.
  const partOffset = S > 1 ? ` + part * ${batchCount(g) * M * N}u` : '';
  const value = (acc: string, c: string, w: 1 | 4) => (S > 1 ? acc : `${w === 4 ? 'epi4' : 'epi'}(${acc}, ${biasAt(fusion, c)})`);
  const stores: string[] = [];
  for (let i = 0; i < 8; i++) {
    const r = `row0 + ${i < 4 ? `lid.y * 4u + ${i}u` : `${bm / 2}u + lid.y * 4u + ${i - 4}u`}`;
    stores.push(`{ let r = ${r};`);
    const rowCheck = M % bm !== 0 ? `r < ${M}u` : '';
    if (rowCheck) stores.push(`if (${rowCheck}) {`);
    for (let h = 0; h < 2; h++) {
      const c = `col0 + ${h ? `${bn / 2}u + ` : ''}lid.x * 4u`;
      if (vec.c) {
        const cond = N % bn !== 0 ? `if (c < ${N}u) ` : '';
        stores.push(`  { let c = ${c}; ${cond}{ C[(cOff${partOffset} + r * ${N}u + c) / 4u] = ${value(`acc${i}_${h}`, 'c', 4)}; } }`);
      } else {
        stores.push(`  { let c = ${c};`);
        for (let q = 0; q < 4; q++)
          stores.push(`    if (c + ${q}u < ${N}u) { C[cOff${partOffset} + r * ${N}u + c + ${q}u] = ${value(`acc${i}_${h}[${q}]`, `c + ${q}u`, 1)}; }`);
        stores.push('  }');
      }
    }
    if (rowCheck) stores.push('}');
    stores.push('}');
  }

  const regs = [...Array.from({ length: la }, (_, l) => `var ra${l}: vec4<f32>;`), ...Array.from({ length: lb }, (_, l) => `var rb${l}: vec4<f32>;`)].join(' ');
  const nT = S > 1 ? 'nT' : `${ceilDiv(K, bk)}u`;
  const mainLoop = cfg.double
    ? `${loadBoth(S > 1 ? 'kBegin' : '0u')}
  ${storeBoth('0u')}
  workgroupBarrier();
  for (var kt = 0u; kt < ${nT}; kt++) {
    let cur = kt % 2u;
    let sa = cur * ${aSize}u;
    let sb = cur * ${bSize}u;
    if (kt + 1u < ${nT}) {
      ${loadBoth(kAt('(kt + 1u)'))}
    }
    ${inner.join('\n    ')}
    if (kt + 1u < ${nT}) {
      ${storeBoth('(1u - cur)')}
    }
    workgroupBarrier();
  }`
    : `for (var kt = 0u; kt < ${nT}; kt++) {
    ${loadBoth(kAt('kt'))}
    ${storeBoth('0u')}
    workgroupBarrier();
    let sa = 0u;
    let sb = 0u;
    ${inner.join('\n    ')}
    workgroupBarrier();
  }`;

  const code = `${gemmHeader(fusion, vec)}
var<workgroup> As: array<vec4<f32>, ${stages * aSize}>;
var<workgroup> Bs: array<vec4<f32>, ${stages * bSize}>;
@compute @workgroup_size(${tx}, ${ty})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${S > 1 ? `let part = wg.z % ${S}u;
  let z = wg.z / ${S}u;
  ${batchOffsets(g, fusion)}
  let kBegin = part * ${sk.chunk}u;
  let nT = (min(${K}u, kBegin + ${sk.chunk}u) - kBegin + ${bk - 1}u) / ${bk}u;` : prologue(g, 'wg', fusion)}
  let row0 = wg.y * ${bm}u;
  let col0 = wg.x * ${bn}u;
  let tid = lid.y * ${tx}u + lid.x;
  ${accDecl}
  ${regs}
  ${mainLoop}
  ${stores.join('\n  ')}
}`;
  return { code, workgroups: [ceilDiv(N, bn), ceilDiv(M, bm), batchCount(g) * S], threads: T, workgroupBytes: stages * (aSize + bSize) * 16 };
}
