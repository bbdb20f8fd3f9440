// The versions of the matmul ladder (llm.c's dev/cuda), C[b] = op(A[b]) · op(B[b]) (op =
// identity or transpose, f32, batch as z), from the plainest to the fastest. Each version is
// a builder (geometry, config) → program with the shapes specialised into the WGSL;
// ladder.ts validates every version and config against a float64 reference before timing.
// v3 and v4 are the GEMM generator's two tiles (packages/kernels gemm.ts), which ships the
// configs the chooser in matmul.ts promoted; v1, v2 and v5 live here only.
//
//   v1  naive: one invocation per output, K-loop over global memory
//   v2  shared-memory tiles: TS×TS invocations, one output each, TS×TS slices of A and B
//   v3  the generator's scalar register tile: BM×BN per workgroup, TM×TN per invocation
//       (64×64 / 4×4 / BK 16 blocked is the shipped small-product kernel), optionally with
//       the reduction split into parts (/sN) and, with dropout, a mask pass (/mask)
//   v4  the generator's vec4 tile: 8×8 per invocation as two 4-wide halves per dimension, A
//       staged transposed, optional double buffer (64×128 and 64×64 double-buffered ship),
//       split and mask pass like v3
//   v5  subgroups: B staged in workgroup memory, A never: each lane holds one k of the
//       subgroup's A rows and subgroupBroadcast hands it to the other lanes
//   auto  what the engine runs: matmul.ts's chooser (tile, split, mask pass per geometry and fusion)
//
// Every version takes the fusion options (dropout on A, bias and ReLU in the epilogue) and
// binds A (0), B (1), [bias (2)], C, [dropout uniform]. v3, v4 and auto are built by
// matmul.ts (matmulBuild), so a rung is exactly the plan the engine would run: with a split or
// a mask pass that is several programs (mask pass, GEMM, split reduction) sharing scratch.

import { gemm, matmulKernel, type GpuPlan } from '@alphadrop/kernels/modules';

export type MatmulGeometry = gemm.MatmulGeometry;
export type MatmulFusion = gemm.GemmFusion;
/** A rung's main program (its size is checked against the device limits) and, for multi-program rungs, the whole plan. */
export type LadderProgram = gemm.GemmProgram & { plan?: GpuPlan };
const { NO_FUSION: PLAIN, SCALAR, aAt, bAt, all, guarded, ceilDiv, batchCount, gemmHeader: header, prologue, vecPaths, sliceLoad, sliceStore, V4_CONFIGS } = gemm;
type V4Config = gemm.V4Config;
type SliceSpec = gemm.SliceSpec;

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

// ---------------------------------------------------------------- v3: the generator's scalar tile

/** What v3 and v4 add to a tile: split-K parts (requested; gemm.splitK makes them whole slices) and the mask pass. */
export interface SplitMask {
  split?: number;
  mask?: boolean;
}

export interface V3Config extends SplitMask {
  /** Workgroup tile BM×BN, invocation tile TM×TN, K slice BK. */
  bm: number;
  bn: number;
  tm: number;
  tn: number;
  bk: number;
}
/** The first config is the one matmul.ts ships for small and skinny products. */
export const V3_CONFIGS: readonly V3Config[] = [
  { bm: 64, bn: 64, tm: 4, tn: 4, bk: 16 },
  { bm: 64, bn: 64, tm: 4, tn: 4, bk: 8 },
  { bm: 32, bn: 32, tm: 4, tn: 4, bk: 16 },
  { bm: 128, bn: 128, tm: 8, tn: 8, bk: 8 },
];

/** The engine's plan for a choice: its GEMM program, with the plan attached when it has several programs. */
function engineBuild(g: MatmulGeometry, fusion: MatmulFusion, choice: matmulKernel.MatmulChoice): LadderProgram {
  const b = matmulKernel.matmulBuild(g, fusion, choice);
  return b.plan.programs.length > 1 ? { ...b.gemm, plan: b.plan } : b.gemm;
}

export function v3Register(g: MatmulGeometry, cfg: V3Config, fusion: MatmulFusion = PLAIN): LadderProgram {
  const config = { TR: cfg.bm / cfg.tm, TC: cfg.bn / cfg.tn, RM: cfg.tm, RN: cfg.tn, TK: cfg.bk, layout: 'blocked', fastOut: 'cols', split: 1, chunk: 0 } as const;
  return engineBuild(g, fusion, { version: 'v3', config, parts: cfg.split ?? 1, maskPass: !!cfg.mask });
}

// ---------------------------------------------------------------- v4: the generator's vec4 tile

export type V4LadderConfig = V4Config & SplitMask;

export function v4Vec4(g: MatmulGeometry, cfg: V4LadderConfig, fusion: MatmulFusion = PLAIN): LadderProgram {
  const { split, mask, ...config } = cfg;
  return engineBuild(g, fusion, { version: 'v4', config, parts: split ?? 1, maskPass: !!mask });
}

// ---------------------------------------------------------------- split-K sweep

/**
 * The tiles whose split variants are swept: the ones the chooser ships (the scalar 32×32
 * split lost to them on every shape of the H200's first sweep, bench/results/h200-gemm-1).
 */
export const SPLIT_BASES = { v3: ['64x64/4x4/k16'], v4: ['64x128/k16/db', '64x64/k16/db'] } as const;

/**
 * Split-K part counts worth timing for a BM×BN tile with K slice BK on a shape: only outputs
 * of fewer than 512 tiles (bigger ones fill the GPU unsplit), chunks of at least 32, at most
 * 2048 workgroups. Each request (the sweep, e.g. [2, 4, 8, 16]) becomes the part count
 * gemm.splitK really makes of it (whole K slices per part), each count once.
 */
export function splitSweep(g: MatmulGeometry, bm: number, bn: number, bk: number, requests: readonly number[]): number[] {
  const tiles = ceilDiv(g.M, bm) * ceilDiv(g.N, bn) * batchCount(g);
  if (tiles >= 512) return [];
  const out = new Set<number>();
  for (const r of requests) {
    const sk = gemm.splitK(g.K, r, bk);
    // a count that is its own fixed point, so the label names the parts that run
    if (sk.split > 1 && sk.chunk >= 32 && tiles * sk.split <= 2048 && gemm.splitK(g.K, sk.split, bk).split === sk.split) out.add(sk.split);
  }
  return [...out];
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

export type LadderVersion = 'v1' | 'v2' | 'v3' | 'v4' | 'v5' | 'auto';
/** The chooser's rung: it sees the device's workgroup memory, as the backend's caps give it. */
export interface AutoConfig {
  maxWorkgroupStorage: number;
}
export type LadderConfig = V1Config | V2Config | V3Config | V4LadderConfig | V5Config | AutoConfig;

/** What a rung's configs may depend on: the device, the shape (split sweeps), the split requests. */
export interface ConfigContext {
  subgroupSize: number;
  maxWorkgroupStorage: number;
  geometry?: MatmulGeometry;
  splits: readonly number[];
}

export interface LadderRung {
  version: LadderVersion;
  title: string;
  /** Device feature the version needs. */
  needs?: 'subgroups';
  configs: (ctx: ConfigContext) => LadderConfig[];
  build: (g: MatmulGeometry, cfg: LadderConfig, fusion?: MatmulFusion) => LadderProgram;
  label: (cfg: LadderConfig) => string;
}

const splitMaskLabel = (c: SplitMask) => `${(c.split ?? 1) > 1 ? `/s${c.split}` : ''}${c.mask ? '/mask' : ''}`;
export const v3Label = (v: V3Config): string => `${v.bm}x${v.bn}/${v.tm}x${v.tn}/k${v.bk}${splitMaskLabel(v)}`;
export const v4Label = (v: V4LadderConfig): string => `${v.bm}x${v.bn}/k${v.bk}${v.double ? '/db' : ''}${splitMaskLabel(v)}`;

/** The base configs and, on a shape with few tiles, the split variants of SPLIT_BASES. */
function withSplits<C extends V3Config | V4LadderConfig>(bases: readonly C[], label: (c: C) => string, splitBases: readonly string[], tile: (c: C) => [number, number], ctx: ConfigContext): C[] {
  const out: C[] = [...bases];
  if (!ctx.geometry) return out;
  for (const b of bases) {
    if (!splitBases.includes(label(b))) continue;
    const [bm, bn] = tile(b);
    for (const split of splitSweep(ctx.geometry, bm, bn, b.bk, ctx.splits)) out.push({ ...b, split });
  }
  return out;
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
    version: 'v3', title: 'register tiles (scalar), split-K variants',
    configs: (ctx) => withSplits(V3_CONFIGS, v3Label, SPLIT_BASES.v3, (c) => [c.bm, c.bn], ctx),
    build: (g, c, f) => v3Register(g, c as V3Config, f),
    label: (c) => v3Label(c as V3Config),
  },
  {
    version: 'v4', title: 'vec4 register tiles 8x8, A transposed in shared memory, split-K variants',
    configs: (ctx) => withSplits(V4_CONFIGS as readonly V4LadderConfig[], v4Label, SPLIT_BASES.v4, (c) => [c.bm, c.bn], ctx),
    build: (g, c, f) => v4Vec4(g, c as V4LadderConfig, f),
    label: (c) => v4Label(c as V4LadderConfig),
  },
  {
    version: 'v5', title: 'subgroup broadcast of A, B in shared memory', needs: 'subgroups',
    configs: (ctx) => (ctx.subgroupSize > 0 ? v5Configs(ctx.subgroupSize) : []), build: (g, c, f) => v5Subgroup(g, c as V5Config, f),
    label: (c) => { const v = c as V5Config; return `sg${v.sg}/${v.w * v.tm}x${v.sg * v.tn}/${v.tm}x${v.tn}`; },
  },
  {
    version: 'auto', title: "the engine's chooser (matmul.ts): tile, split-K and mask pass per geometry and fusion",
    configs: (ctx) => [{ maxWorkgroupStorage: ctx.maxWorkgroupStorage }],
    build: (g, c, f = PLAIN) => engineBuild(g, f, matmulKernel.chooseMatmul(g, (c as AutoConfig).maxWorkgroupStorage, f)),
    label: () => 'chooser',
  },
];
