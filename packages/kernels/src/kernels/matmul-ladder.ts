// The matmul ladder, after llm.c's dev/cuda: the versions of C[b] = op(A[b]) · op(B[b])
// (op = identity or transpose, f32, batch as the z dimension of the dispatch), from the
// plainest to the fastest. Each version is a builder (geometry, config) → { code, workgroups }
// with the shapes specialised into the WGSL, so bounds checks and vector paths are chosen
// per shape at generation time. bench/src/gpu/matmul-ladder.ts validates every version and
// config against a float64 reference before timing it; matmul.ts promotes the winners.
//
//   v1  naive: one invocation per output, K-loop over global memory
//   v2  shared-memory tiles: TS×TS invocations, one output each, TS×TS slices of A and B
//   v3  register tiles: BM×BN per workgroup, TM×TN per invocation, scalar workgroup reads
//       (64×64 / 4×4 / BK 16 is the kernel matmul.ts shipped first)
//   v4  vec4 register tiles: 8×8 per invocation as two 4-wide halves per dimension, A staged
//       transposed ([k][m]) so the unrolled inner loop reads vec4s of both A and B, vec4
//       global loads and stores where the contiguous dimension allows, optional double buffer
//   v5  subgroups: B staged in workgroup memory, A never: each lane holds one k of the
//       subgroup's A rows and subgroupBroadcast hands it to the other lanes
//
// Bindings, in every version: A (0), B (1), [bias (2)], C, [dropout uniform] — the order the
// fused linear primitive binds. Every version takes the MatmulFusion options (dropout on A
// while it is loaded, bias and ReLU in the epilogue), so any rung can be promoted.

import { sizeOf, stridesOf, type Shape } from '@alphadrop/core';
import type { MatmulFusion, MatmulGeometry } from './matmul.js';
import { IEEE_WGSL } from './elementwise.js';
import { PHILOX_WGSL } from './random.js';

export interface LadderProgram {
  code: string;
  workgroups: [number, number, number];
  /** Invocations per workgroup (the device limit is maxComputeInvocationsPerWorkgroup). */
  threads: number;
  /** Bytes of workgroup memory (the limit is maxComputeWorkgroupStorageSize). */
  workgroupBytes: number;
}

const PLAIN: MatmulFusion = { bias: false, relu: false, dropout: false };
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
const batchCount = (g: MatmulGeometry) => Math.max(1, sizeOf(g.batchShape));

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
interface VecPaths {
  a: boolean;
  b: boolean;
  c: boolean;
}
const SCALAR: VecPaths = { a: false, b: false, c: false };

/**
 * vec4 access is legal when the operand's contiguous dimension is a multiple of 4: then
 * every 4-aligned run along it stays inside one row, and the batch offsets stay aligned.
 */
export function vecPaths(g: MatmulGeometry): VecPaths {
  return { a: (g.transA ? g.M : g.K) % 4 === 0, b: (g.transB ? g.K : g.N) % 4 === 0, c: g.N % 4 === 0 };
}

/**
 * Bindings, the dropout helper and the epilogue helpers. `load_a(i)` reads A's element i
 * (or vec4 i), applying the dropout mask of that element when fused: word i of the Philox
 * stream, so a vec4 at index v is exactly Philox block v. `epi(v, c)` / `epi4(v, c)` add the
 * bias of column c and apply ReLU.
 */
function header(fusion: MatmulFusion, vec: VecPaths, enables = ''): string {
  const cBinding = fusion.bias ? 3 : 2;
  const t = (v: boolean) => (v ? 'vec4<f32>' : 'f32');
  const lines = [
    enables,
    `@group(0) @binding(0) var<storage, read> A: array<${t(vec.a)}>;`,
    `@group(0) @binding(1) var<storage, read> B: array<${t(vec.b)}>;`,
    fusion.bias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : '',
    `@group(0) @binding(${cBinding}) var<storage, read_write> C: array<${t(vec.c)}>;`,
  ];
  if (fusion.dropout) {
    lines.push(
      'struct Drop { k0: u32, k1: u32, c1: u32, c2: u32, c3: u32, threshold: u32, scale: f32, pad: u32 }',
      `@group(0) @binding(${cBinding + 1}) var<uniform> drop: Drop;`,
      PHILOX_WGSL,
      '// A element i is kept iff Philox word i of the dropout coordinates is below the threshold.',
    );
    if (vec.a)
      lines.push(`fn load_a(v: u32) -> vec4<f32> {
  let w = philox_block(vec2<u32>(drop.k0, drop.k1), drop.c1, drop.c2, drop.c3, v);
  return select(vec4<f32>(0.0), A[v] * drop.scale, w < vec4<u32>(drop.threshold));
}`);
    else
      lines.push(`fn load_a(i: u32) -> f32 {
  let w = philox_block(vec2<u32>(drop.k0, drop.k1), drop.c1, drop.c2, drop.c3, i / 4u)[i % 4u];
  return select(0.0, A[i] * drop.scale, w < drop.threshold);
}`);
  } else lines.push(`fn load_a(i: u32) -> ${t(vec.a)} { return A[i]; }`);
  // ReLU keeps NaN (WGSL's max(NaN, 0) may be 0): relu_f32 / relu_v4 test the bits.
  const body = (relu: string, biasExpr: string) =>
    [fusion.bias ? `x += ${biasExpr};` : '', fusion.relu ? `x = ${relu}(x);` : ''].filter(Boolean).join(' ');
  if (fusion.relu) lines.push(IEEE_WGSL.relu, ...(vec.c ? [IEEE_WGSL.relu4] : []));
  lines.push(`fn epi(v: f32, c: u32) -> f32 { var x = v; ${body('relu_f32', 'bias[c]')} return x; }`);
  if (vec.c)
    lines.push(
      `fn epi4(v: vec4<f32>, c: u32) -> vec4<f32> { var x = v; ${body('relu_v4', 'vec4<f32>(bias[c], bias[c + 1u], bias[c + 2u], bias[c + 3u])')} return x; }`,
    );
  return lines.filter(Boolean).join('\n');
}

/** Statements binding z, aOff, bOff, cOff (element offsets of this batch's matrices). */
function prologue(g: MatmulGeometry, wg = 'wg'): string {
  const { M, N, K } = g;
  return `let z = ${wg}.z;
  let aOff = (${batchOffset(g.batchShape, g.aBatch)}) * ${M * K}u;
  let bOff = (${batchOffset(g.batchShape, g.bBatch)}) * ${K * N}u;
  let cOff = z * ${M * N}u;`;
}

/** Flat storage index of op(A)[r][k] and op(B)[k][c] (scalar view). */
const aAt = (g: MatmulGeometry, r: string, k: string) => (g.transA ? `aOff + (${k}) * ${g.M}u + (${r})` : `aOff + (${r}) * ${g.K}u + (${k})`);
const bAt = (g: MatmulGeometry, k: string, c: string) => (g.transB ? `bOff + (${c}) * ${g.K}u + (${k})` : `bOff + (${k}) * ${g.N}u + (${c})`);

/** `a && b`, dropping conditions known true at generation time. */
function all(...conds: (string | false)[]): string {
  const c = conds.filter((x): x is string => !!x);
  return c.length ? c.join(' && ') : 'true';
}

function guarded(cond: string, value: string, zero: string): string {
  return cond === 'true' ? value : `select(${zero}, ${value}, ${cond})`;
}

// ---------------------------------------------------------------- v1: naive

export interface V1Config {
  /** Workgroup size: x along N, y along M. */
  wx: number;
  wy: number;
}
export const V1_CONFIGS: readonly V1Config[] = [
  { wx: 16, wy: 16 },
  { wx: 32, wy: 8 },
  { wx: 8, wy: 8 },
];

export function v1Naive(g: MatmulGeometry, cfg: V1Config, fusion: MatmulFusion = PLAIN): LadderProgram {
  const { M, N, K } = g;
  const code = `${header(fusion, SCALAR)}
@compute @workgroup_size(${cfg.wx}, ${cfg.wy})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${prologue(g)}
  let c = wg.x * ${cfg.wx}u + lid.x;
  let r = wg.y * ${cfg.wy}u + lid.y;
  if (r >= ${M}u || c >= ${N}u) { return; }
  var acc = 0.0;
  for (var k = 0u; k < ${K}u; k++) {
    acc = fma(load_a(${aAt(g, 'r', 'k')}), B[${bAt(g, 'k', 'c')}], acc);
  }
  C[cOff + r * ${N}u + c] = epi(acc, c);
}`;
  return { code, workgroups: [ceilDiv(N, cfg.wx), ceilDiv(M, cfg.wy), batchCount(g)], threads: cfg.wx * cfg.wy, workgroupBytes: 0 };
}

// ---------------------------------------------------------------- v2: shared-memory tiles

export interface V2Config {
  /** Tile side: TS×TS invocations, TS×TS outputs, slices of TS along K. */
  ts: number;
}
export const V2_CONFIGS: readonly V2Config[] = [{ ts: 8 }, { ts: 16 }, { ts: 32 }];

export function v2Shared(g: MatmulGeometry, cfg: V2Config, fusion: MatmulFusion = PLAIN): LadderProgram {
  const { M, N, K } = g;
  const T = cfg.ts;
  // Each operand's slice is loaded with lid.x running along its contiguous dimension
  // (coalesced), and stored as As[m][k], Bs[k][n] either way.
  const aLoad = g.transA
    ? `let am = row0 + lid.x; let ak = k0 + lid.y;
    As[lid.x][lid.y] = ${guarded(all(M % T !== 0 && `am < ${M}u`, K % T !== 0 && `ak < ${K}u`), `load_a(${aAt(g, 'am', 'ak')})`, '0.0')};`
    : `let am = row0 + lid.y; let ak = k0 + lid.x;
    As[lid.y][lid.x] = ${guarded(all(M % T !== 0 && `am < ${M}u`, K % T !== 0 && `ak < ${K}u`), `load_a(${aAt(g, 'am', 'ak')})`, '0.0')};`;
  const bLoad = g.transB
    ? `let bk = k0 + lid.x; let bn = col0 + lid.y;
    Bs[lid.x][lid.y] = ${guarded(all(K % T !== 0 && `bk < ${K}u`, N % T !== 0 && `bn < ${N}u`), `B[${bAt(g, 'bk', 'bn')}]`, '0.0')};`
    : `let bk = k0 + lid.y; let bn = col0 + lid.x;
    Bs[lid.y][lid.x] = ${guarded(all(K % T !== 0 && `bk < ${K}u`, N % T !== 0 && `bn < ${N}u`), `B[${bAt(g, 'bk', 'bn')}]`, '0.0')};`;
  const code = `${header(fusion, SCALAR)}
var<workgroup> As: array<array<f32, ${T}>, ${T}>;
var<workgroup> Bs: array<array<f32, ${T}>, ${T}>;
@compute @workgroup_size(${T}, ${T})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${prologue(g)}
  let row0 = wg.y * ${T}u;
  let col0 = wg.x * ${T}u;
  var acc = 0.0;
  for (var k0 = 0u; k0 < ${K}u; k0 += ${T}u) {
    ${aLoad}
    ${bLoad}
    workgroupBarrier();
    for (var kk = 0u; kk < ${T}u; kk++) {
      acc = fma(As[lid.y][kk], Bs[kk][lid.x], acc);
    }
    workgroupBarrier();
  }
  let r = row0 + lid.y;
  let c = col0 + lid.x;
  if (r < ${M}u && c < ${N}u) { C[cOff + r * ${N}u + c] = epi(acc, c); }
}`;
  return { code, workgroups: [ceilDiv(N, T), ceilDiv(M, T), batchCount(g)], threads: T * T, workgroupBytes: 2 * T * T * 4 };
}

// ---------------------------------------------------------------- v3: register tiles (scalar)

export interface V3Config {
  /** Workgroup tile BM×BN, invocation tile TM×TN, K slice BK. */
  bm: number;
  bn: number;
  tm: number;
  tn: number;
  bk: number;
}
/** The first config is the kernel matmul.ts shipped first (64×64, 16×16 invocations, 4×4, BK 16). */
export const V3_CONFIGS: readonly V3Config[] = [
  { bm: 64, bn: 64, tm: 4, tn: 4, bk: 16 },
  { bm: 64, bn: 64, tm: 4, tn: 4, bk: 8 },
  { bm: 32, bn: 32, tm: 4, tn: 4, bk: 16 },
  { bm: 128, bn: 128, tm: 8, tn: 8, bk: 8 },
];

export function v3Register(g: MatmulGeometry, cfg: V3Config, fusion: MatmulFusion = PLAIN): LadderProgram {
  const { M, N, K } = g;
  const { bm, bn, tm, tn, bk } = cfg;
  const tx = bn / tn;
  const ty = bm / tm;
  const T = tx * ty;
  const la = (bm * bk) / T;
  const lb = (bk * bn) / T;
  if (!Number.isInteger(la) || !Number.isInteger(lb) || !Number.isInteger(tx) || !Number.isInteger(ty))
    throw new Error(`v3Register: config ${JSON.stringify(cfg)} does not split evenly over ${T} invocations`);
  // A slice: bm rows × bk k, loaded with the index running along A's contiguous dimension.
  const ar = g.transA ? `idx % ${bm}u` : `idx / ${bk}u`;
  const ak = g.transA ? `idx / ${bm}u` : `idx % ${bk}u`;
  const bkk = g.transB ? `idx % ${bk}u` : `idx / ${bn}u`;
  const bc = g.transB ? `idx / ${bk}u` : `idx % ${bn}u`;
  const aCond = all(M % bm !== 0 && `gr < ${M}u`, K % bk !== 0 && `gk < ${K}u`);
  const bCond = all(K % bk !== 0 && `gk2 < ${K}u`, N % bn !== 0 && `gc < ${N}u`);
  const code = `${header(fusion, SCALAR)}
var<workgroup> As: array<array<f32, ${bm}>, ${bk}>;
var<workgroup> Bs: array<array<f32, ${bn}>, ${bk}>;
@compute @workgroup_size(${tx}, ${ty})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${prologue(g)}
  let row0 = wg.y * ${bm}u;
  let col0 = wg.x * ${bn}u;
  let tid = lid.y * ${tx}u + lid.x;
  var acc: array<array<f32, ${tn}>, ${tm}>;
  for (var k0 = 0u; k0 < ${K}u; k0 += ${bk}u) {
    for (var i = 0u; i < ${la}u; i++) {
      let idx = tid + i * ${T}u;
      let gr = row0 + ${ar};
      let gk = k0 + ${ak};
      As[${ak}][${ar}] = ${guarded(aCond, `load_a(${aAt(g, 'gr', 'gk')})`, '0.0')};
    }
    for (var i = 0u; i < ${lb}u; i++) {
      let idx = tid + i * ${T}u;
      let gk2 = k0 + ${bkk};
      let gc = col0 + ${bc};
      Bs[${bkk}][${bc}] = ${guarded(bCond, `B[${bAt(g, 'gk2', 'gc')}]`, '0.0')};
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${bk}u; kk++) {
      var a: array<f32, ${tm}>;
      var b: array<f32, ${tn}>;
      for (var i = 0u; i < ${tm}u; i++) { a[i] = As[kk][lid.y * ${tm}u + i]; }
      for (var j = 0u; j < ${tn}u; j++) { b[j] = Bs[kk][lid.x * ${tn}u + j]; }
      for (var i = 0u; i < ${tm}u; i++) {
        for (var j = 0u; j < ${tn}u; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${tm}u; i++) {
    for (var j = 0u; j < ${tn}u; j++) {
      let r = row0 + lid.y * ${tm}u + i;
      let c = col0 + lid.x * ${tn}u + j;
      if (r < ${M}u && c < ${N}u) { C[cOff + r * ${N}u + c] = epi(acc[i][j], c); }
    }
  }
}`;
  return { code, workgroups: [ceilDiv(N, bn), ceilDiv(M, bm), batchCount(g)], threads: T, workgroupBytes: (bm + bn) * bk * 4 };
}

// ---------------------------------------------------------------- v4: vec4 register tiles

export interface V4Config {
  /** Workgroup tile BM×BN (each 64 or 128); every invocation computes 8×8. */
  bm: number;
  bn: number;
  /** K slice staged per step (8 or 16). */
  bk: number;
  /** Two stages of workgroup memory: the next slice is loaded while this one is used (one barrier per slice). */
  double: boolean;
}
export const V4_CONFIGS: readonly V4Config[] = [
  { bm: 128, bn: 128, bk: 8, double: false },
  { bm: 128, bn: 128, bk: 16, double: false },
  { bm: 128, bn: 128, bk: 8, double: true },
  { bm: 128, bn: 128, bk: 16, double: true },
  { bm: 64, bn: 128, bk: 16, double: true },
  { bm: 64, bn: 64, bk: 16, double: true },
];

/**
 * Emits the statements that load one operand's slice into registers `${reg}0..` as vec4s.
 * `contigAlongTile`: the operand's contiguous dimension is the tile dimension (m of A^T
 * storage, n of B), so a vec4 lands whole in the [k][tile] layout; otherwise it runs along
 * k and is scattered into four rows of the layout when stored.
 */
interface SliceSpec {
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

function sliceLoad(s: SliceSpec): string {
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
function sliceStore(s: SliceSpec, arr: string, stage: string): string {
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

export function v4Vec4(g: MatmulGeometry, cfg: V4Config, fusion: MatmulFusion = PLAIN): LadderProgram {
  const { M, N, K } = g;
  const { bm, bn, bk } = cfg;
  const tx = bn / 8;
  const ty = bm / 8;
  const T = tx * ty;
  const la = (bm * bk) / 4 / T;
  const lb = (bn * bk) / 4 / T;
  if (![64, 128].includes(bm) || ![64, 128].includes(bn) || bk % 4 !== 0 || !Number.isInteger(la) || !Number.isInteger(lb) || la < 1 || lb < 1)
    throw new Error(`v4Vec4: config ${JSON.stringify(cfg)} does not split evenly over ${T} invocations`);
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
        stores.push(`  { let c = ${c}; ${cond}{ C[(cOff + r * ${N}u + c) / 4u] = epi4(acc${i}_${h}, c); } }`);
      } else {
        stores.push(`  { let c = ${c};`);
        for (let q = 0; q < 4; q++)
          stores.push(`    if (c + ${q}u < ${N}u) { C[cOff + r * ${N}u + c + ${q}u] = epi(acc${i}_${h}[${q}], c + ${q}u); }`);
        stores.push('  }');
      }
    }
    if (rowCheck) stores.push('}');
    stores.push('}');
  }

  const regs = [...Array.from({ length: la }, (_, l) => `var ra${l}: vec4<f32>;`), ...Array.from({ length: lb }, (_, l) => `var rb${l}: vec4<f32>;`)].join(' ');
  const nT = ceilDiv(K, bk);
  const mainLoop = cfg.double
    ? `${loadBoth('0u')}
  ${storeBoth('0u')}
  workgroupBarrier();
  for (var kt = 0u; kt < ${nT}u; kt++) {
    let cur = kt % 2u;
    let sa = cur * ${aSize}u;
    let sb = cur * ${bSize}u;
    if (kt + 1u < ${nT}u) {
      ${loadBoth(`(kt + 1u) * ${bk}u`)}
    }
    ${inner.join('\n    ')}
    if (kt + 1u < ${nT}u) {
      ${storeBoth('(1u - cur)')}
    }
    workgroupBarrier();
  }`
    : `for (var kt = 0u; kt < ${nT}u; kt++) {
    ${loadBoth(`kt * ${bk}u`)}
    ${storeBoth('0u')}
    workgroupBarrier();
    let sa = 0u;
    let sb = 0u;
    ${inner.join('\n    ')}
    workgroupBarrier();
  }`;

  const code = `${header(fusion, vec)}
var<workgroup> As: array<vec4<f32>, ${stages * aSize}>;
var<workgroup> Bs: array<vec4<f32>, ${stages * bSize}>;
@compute @workgroup_size(${tx}, ${ty})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${prologue(g)}
  let row0 = wg.y * ${bm}u;
  let col0 = wg.x * ${bn}u;
  let tid = lid.y * ${tx}u + lid.x;
  ${accDecl}
  ${regs}
  ${mainLoop}
  ${stores.join('\n  ')}
}`;
  return { code, workgroups: [ceilDiv(N, bn), ceilDiv(M, bm), batchCount(g)], threads: T, workgroupBytes: stages * (aSize + bSize) * 16 };
}

// ---------------------------------------------------------------- v5: subgroups

export interface V5Config {
  /** The subgroup size the kernel is specialised for (the adapter's, when min = max). */
  sg: number;
  /** Rows per subgroup (each lane holds them all), columns per lane (4 or 8), subgroups per workgroup. */
  tm: number;
  tn: number;
  w: number;
}
/** Configs for subgroup size `sg`. */
export function v5Configs(sg: number): V5Config[] {
  return [
    { sg, tm: 8, tn: 4, w: 8 },
    { sg, tm: 16, tn: 4, w: 8 },
    { sg, tm: 8, tn: 8, w: 8 },
  ];
}

/**
 * Subgroup s of the workgroup owns rows row0 + s·TM .. +TM, all BN = SG·TN columns; lane l
 * owns columns l·4.. (and SG·4 + l·4.. when TN = 8). The K loop advances by SG: lane l loads
 * op(A)[rows][k0 + l] into TM registers, and for each of the SG values of k the subgroup
 * broadcasts lane k's registers. B's slice (SG × BN) is staged in workgroup memory as vec4s.
 * The kernel assumes subgroups are the consecutive runs of SG invocations of its 1-D
 * workgroup; if the device forms them otherwise (or with another size), every output it
 * writes is 3e38, so validation catches it rather than a wrong answer passing.
 */
export function v5Subgroup(g: MatmulGeometry, cfg: V5Config, fusion: MatmulFusion = PLAIN): LadderProgram {
  const { M, N, K } = g;
  const { sg, tm, tn, w } = cfg;
  if (tn !== 4 && tn !== 8) throw new Error(`v5Subgroup: tn must be 4 or 8, got ${tn}`);
  const T = sg * w;
  const bm = w * tm;
  const bn = sg * tn;
  const bk = sg;
  const lb = (bk * bn) / 4 / T;
  if (!Number.isInteger(lb) || lb < 1 || bk % 4 !== 0) throw new Error(`v5Subgroup: config ${JSON.stringify(cfg)} does not split evenly`);
  const vec = { ...vecPaths(g), a: false };
  const bSize = (bk * bn) / 4;
  const bSpec: SliceSpec = {
    reg: 'rb', loads: lb, threads: T, tile: bn, bk, extent: N, K, contigAlongTile: !g.transB, vec: vec.b,
    at: (t, k) => bAt(g, k, t), load: (i) => `B[${i}]`, checkTile: N % bn !== 0, checkK: K % bk !== 0,
  };
  const halves = tn / 4;
  const aRegs = Array.from({ length: tm }, (_, i) => {
    const cond = all(M % bm !== 0 && `r0 + ${i}u < ${M}u`, K % bk !== 0 && `ka < ${K}u`);
    return `a${i} = ${guarded(cond, `load_a(${aAt(g, `r0 + ${i}u`, 'ka')})`, '0.0')};`;
  });
  const inner: string[] = [];
  for (let kk = 0; kk < bk; kk++) {
    inner.push(`{ let b0 = Bs[${kk * (bn / 4)}u + lane];${halves === 2 ? ` let b1 = Bs[${kk * (bn / 4) + sg}u + lane];` : ''}`);
    for (let i = 0; i < tm; i++) {
      inner.push(`  { let av = vec4<f32>(subgroupBroadcast(a${i}, ${kk}u)); acc${i}_0 = fma(av, b0, acc${i}_0);${halves === 2 ? ` acc${i}_1 = fma(av, b1, acc${i}_1);` : ''} }`);
    }
    inner.push('}');
  }
  const accDecl = Array.from({ length: tm }, (_, i) => Array.from({ length: halves }, (_, h) => `var acc${i}_${h} = vec4<f32>(0.0);`).join(' ')).join('\n  ');
  const stores: string[] = [];
  for (let i = 0; i < tm; i++) {
    stores.push(`{ let r = r0 + ${i}u;${M % bm !== 0 ? ` if (r < ${M}u)` : ''} {`);
    for (let h = 0; h < halves; h++) {
      const c = `col0 + ${h ? `${sg * 4}u + ` : ''}lane * 4u`;
      const v = `select(acc${i}_${h}, vec4<f32>(3.0e38), bad)`;
      if (vec.c) {
        const cond = N % bn !== 0 ? `if (c < ${N}u) ` : '';
        stores.push(`  { let c = ${c}; ${cond}{ C[(cOff + r * ${N}u + c) / 4u] = epi4(${v}, c); } }`);
      } else {
        stores.push(`  { let c = ${c}; let v = ${v};`);
        for (let q = 0; q < 4; q++) stores.push(`    if (c + ${q}u < ${N}u) { C[cOff + r * ${N}u + c + ${q}u] = epi(v[${q}], c + ${q}u); }`);
        stores.push('  }');
      }
    }
    stores.push('} }');
  }
  const code = `${header(fusion, vec, 'enable subgroups;')}
var<workgroup> Bs: array<vec4<f32>, ${bSize}>;
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgSize: u32) {
  ${prologue(g)}
  let s = tid / ${sg}u;
  // The layout assumption, checked: this lane's subgroup is the run of SG invocations of block s.
  let s0 = subgroupBroadcast(s, 0u);
  let bad = sgSize != ${sg}u || lane != tid % ${sg}u || s0 != s;
  let row0 = wg.y * ${bm}u;
  let col0 = wg.x * ${bn}u;
  let r0 = row0 + s * ${tm}u;
  ${accDecl}
  ${Array.from({ length: tm }, (_, i) => `var a${i} = 0.0;`).join(' ')}
  ${Array.from({ length: lb }, (_, l) => `var rb${l}: vec4<f32>;`).join(' ')}
  for (var k0 = 0u; k0 < ${K}u; k0 += ${bk}u) {
    { let tile0 = col0; ${sliceLoad(bSpec)} }
    ${sliceStore(bSpec, 'Bs', '0u')}
    let ka = k0 + lane;
    ${aRegs.join('\n    ')}
    workgroupBarrier();
    ${inner.join('\n    ')}
    workgroupBarrier();
  }
  ${stores.join('\n  ')}
}`;
  return { code, workgroups: [ceilDiv(N, bn), ceilDiv(M, bm), batchCount(g)], threads: T, workgroupBytes: bSize * 16 };
}

// ---------------------------------------------------------------- the ladder as data

export type LadderVersion = 'v1' | 'v2' | 'v3' | 'v4' | 'v5';
export type LadderConfig = V1Config | V2Config | V3Config | V4Config | V5Config;

export interface LadderRung {
  version: LadderVersion;
  title: string;
  /** Device feature the version needs. */
  needs?: 'subgroups';
  configs: (subgroupSize: number) => LadderConfig[];
  build: (g: MatmulGeometry, cfg: LadderConfig, fusion?: MatmulFusion) => LadderProgram;
  label: (cfg: LadderConfig) => string;
}

export const LADDER: readonly LadderRung[] = [
  {
    version: 'v1', title: 'naive, one invocation per output',
    configs: () => [...V1_CONFIGS], build: (g, c, f) => v1Naive(g, c as V1Config, f),
    label: (c) => `wg${(c as V1Config).wx}x${(c as V1Config).wy}`,
  },
  {
    version: 'v2', title: 'shared-memory tiles',
    configs: () => [...V2_CONFIGS], build: (g, c, f) => v2Shared(g, c as V2Config, f),
    label: (c) => `ts${(c as V2Config).ts}`,
  },
  {
    version: 'v3', title: 'register tiles (scalar)',
    configs: () => [...V3_CONFIGS], build: (g, c, f) => v3Register(g, c as V3Config, f),
    label: (c) => { const v = c as V3Config; return `${v.bm}x${v.bn}/${v.tm}x${v.tn}/k${v.bk}`; },
  },
  {
    version: 'v4', title: 'vec4 register tiles 8x8, A transposed in shared memory',
    configs: () => [...V4_CONFIGS], build: (g, c, f) => v4Vec4(g, c as V4Config, f),
    label: (c) => { const v = c as V4Config; return `${v.bm}x${v.bn}/k${v.bk}${v.double ? '/db' : ''}`; },
  },
  {
    version: 'v5', title: 'subgroup broadcast of A, B in shared memory', needs: 'subgroups',
    configs: (sg) => (sg > 0 ? v5Configs(sg) : []), build: (g, c, f) => v5Subgroup(g, c as V5Config, f),
    label: (c) => { const v = c as V5Config; return `sg${v.sg}/${v.w * v.tm}x${v.sg * v.tn}/${v.tm}x${v.tn}`; },
  },
];
