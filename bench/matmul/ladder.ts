// Entry: the WebGPU matmul ladder (llm.c's dev/cuda protocol). For every version in
// rungs.ts and every config of its block-size sweep, on each shape: compile, VALIDATE against
// a float64 reference (every entry for small problems; the last row, the last column and
// random entries for big ones), and only then time it (bench/harness/ladder.ts). Prints
// GFLOP/s per (version, config) and shape, the best config per shape and its ratio to the
// shipped small-product kernel (v3 64×64/4×4/k16), and writes $OUT/matmul-ladder.json when
// OUT is set. Before the sweep, every promotable config runs fused (dropout on A, bias,
// ReLU) against the same reference.
//
// Shapes are (M, K, N): C[M, N] = op(A)·op(B), A stored [M, K] (or [K, M] with transA),
// B stored [K, N] (or [N, K] with transB).
//   default: square 256..4096 (NN) and the MLP's skinny shapes on 1280 rows;
//   --quick: tiny odd shapes with every transpose and a batch, for lavapipe;
//   --sizes 256,1024: the square sizes (and `--mlp 0` to drop the skinny shapes).
// Other flags: --versions v3,v4  --min-ms 200  --max-reps 65536  --naive-max 2048
//   --budget-s 240 (time spent before remaining cases are skipped)  --tol 1e-5  --no-fusion

import { keyFor } from '@alphadrop/core';
import { applyDropout, keepThreshold, splitU64, type DropoutParams } from '@alphadrop/core/backend';
import type { GpuPlan } from '@alphadrop/kernels/modules';
import { numberFlag, parseFlags } from '../harness/cli.js';
import { unfit, validateAndTime, type Expected, type LadderData } from '../harness/ladder.js';
import { benchDevice, describeAdapter, finish, fmtG, lpad, pad, printAdapter, randomF32, writeOut } from '../harness/node.js';
import { LADDER, type LadderConfig, type LadderProgram, type LadderRung, type MatmulFusion, type MatmulGeometry } from './rungs.js';

const flags = parseFlags(process.argv.slice(2));
const quick = flags.quick === true;
// --quick validates everything and times each case once (software WebGPU times mean nothing).
const minMs = numberFlag(flags, 'min-ms', quick ? 0 : 200);
const maxReps = numberFlag(flags, 'max-reps', quick ? 1 : 65536);
const naiveMax = numberFlag(flags, 'naive-max', 2048);
const budgetMs = numberFlag(flags, 'budget-s', quick ? Infinity : 240) * 1000;
const tol = numberFlag(flags, 'tol', 1e-5);
const versions = typeof flags.versions === 'string' ? flags.versions.split(',') : null;
const withFusion = flags['no-fusion'] !== true;

interface Case {
  label: string;
  kind: 'square' | 'mlp' | 'odd';
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  /** Batch of C; A's batch is `batch` or 1 (broadcast), B's is 1. */
  batch: number;
  aBatched: boolean;
}

const mk = (kind: Case['kind'], M: number, K: number, N: number, transA = false, transB = false, batch = 1, aBatched = true, label?: string): Case => ({
  label: label ?? `${batch > 1 ? `${batch}x` : ''}${M}x${K}x${N}${transA || transB ? ` ${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}` : ''}`,
  kind, M, K, N, transA, transB, batch, aBatched,
});

function cases(): Case[] {
  if (quick) {
    // Each shape exercises other paths: multi-tile edges, vec4 and scalar loads (the contiguous
    // dimension a multiple of 4 or not), every transpose, batches with either operand broadcast,
    // and one shape with no partial tile at all.
    return [
      mk('odd', 130, 78, 10, false, false, 1, true, '130x78x10 (fwd, N=10)'),
      mk('odd', 78, 130, 12, true, false, 1, true, '78x130x12 TN (dW)'),
      mk('odd', 130, 12, 68, false, true, 1, true, '130x12x68 NT (dX)'),
      mk('odd', 41, 67, 23, true, true),
      mk('odd', 9, 5, 4, false, false, 3, true),
      mk('odd', 20, 16, 36, false, true, 2, false),
      mk('square', 128, 32, 128, false, false, 1, true, '128x32x128 (no edges)'),
    ];
  }
  const sizes = typeof flags.sizes === 'string' ? flags.sizes.split(',').map(Number) : [256, 512, 1024, 2048, 4096];
  const mlp = flags.mlp === '0' ? [] : [
    mk('mlp', 1280, 784, 100, false, false, 1, true, '1280x784x100 fwd'),
    mk('mlp', 784, 1280, 100, true, false, 1, true, '784x1280x100 TN dW'),
    mk('mlp', 1280, 100, 784, false, true, 1, true, '1280x100x784 NT dX'),
    mk('mlp', 1280, 100, 100, false, false, 1, true, '1280x100x100 fwd'),
    mk('mlp', 1280, 100, 10, false, false, 1, true, '1280x100x10 fwd'),
  ];
  // The skinny shapes first: they are the real workload, and the budget cuts from the end.
  return [...mlp, ...sizes.map((n) => mk('square', n, n, n, false, false, 1, true, `${n}^3`))];
}

function geometry(c: Case): MatmulGeometry {
  const batchShape = c.batch > 1 ? [c.batch] : [];
  return { M: c.M, N: c.N, K: c.K, transA: c.transA, transB: c.transB, batchShape, aBatch: c.aBatched ? batchShape : [], bBatch: [] };
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Operands {
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
function checkIndices(c: Case): Uint32Array {
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


function reference(c: Case, ops: Operands, fusion: MatmulFusion, drop: DropoutParams | null): Expected {
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
const DROP: DropoutParams = { keepProb: 0.7, key: keyFor(12345, 'trainDropout'), counter: [2, ...splitU64('matmul-ladder', 'step', 2 ** 32 + 5)] };

function dropUniform(d: DropoutParams): Uint32Array {
  // the generator's Drop layout: [k0, k1, c1, c2, c3, threshold, scale (f32 bits), pad]
  const scale = new Uint32Array(new Float32Array([1 / d.keepProb]).buffer)[0]!;
  return Uint32Array.from([d.key[0], d.key[1], d.counter[0], d.counter[1], d.counter[2], keepThreshold(d.keepProb), scale, 0]);
}

/** A rung's program as a one-program plan, bound in the fused linear's order. */
function planOf(p: LadderProgram, name: string, fusion: MatmulFusion): GpuPlan {
  return {
    programs: [
      { name, code: p.code, workgroups: p.workgroups, bindings: ['in0', 'in1', ...(fusion.bias ? (['in2'] as const) : []), 'out', ...(fusion.dropout ? (['uniform'] as const) : [])] },
    ],
  };
}

function dataOf(c: Case, ops: Operands, fusion: MatmulFusion): LadderData {
  return { inputs: [ops.a, ops.b, ...(fusion.bias ? [ops.bias] : [])], outWords: c.M * c.N * c.batch, ...(fusion.dropout ? { uniforms: [dropUniform(DROP)] } : {}) };
}

const asF32 = (raw: ArrayBuffer) => new Float32Array(raw);

interface Result {
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
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const nd = await benchDevice();
  const { device } = nd;
  const wait = <T>(p: Promise<T>) => nd.wait(p);
  const desc = describeAdapter(nd);
  printAdapter(desc);
  const hasSubgroups = nd.features.includes('subgroups');
  // v5 is specialised for one subgroup size: only where the adapter reports a single one.
  const sg = hasSubgroups && desc.subgroupMinSize === desc.subgroupMaxSize ? desc.subgroupMinSize : 0;
  console.log(`mode: ${quick ? 'quick (validation sizes)' : 'full'}; min ${minMs} ms per timing, R ≤ ${maxReps}; naive up to ${naiveMax}; budget ${budgetMs / 1000} s; tol ${tol}`);
  if (hasSubgroups && sg === 0) console.log(`v5 skipped: subgroup size varies (${desc.subgroupMinSize}..${desc.subgroupMaxSize})`);
  if (!hasSubgroups) console.log('v5 skipped: no subgroups feature');

  const rungs = LADDER.filter((r) => !versions || versions.includes(r.version));
  const results: Result[] = [];
  const fusionResults: { version: string; config: string; shape: string; ok: boolean; maxErr: number; note?: string }[] = [];
  let failures = 0;
  const out = () => ({ date: new Date().toISOString(), adapter: desc, quick, minMs, maxReps, tol, results, fusion: fusionResults, best: bestPerShape(results) });
  const opts = { wait, minMs, maxReps, tol };
  const configsOf = (r: LadderRung): LadderConfig[] => (r.needs === 'subgroups' && !sg ? [] : r.configs(sg));
  const build = (rung: LadderRung, g: MatmulGeometry, cfg: LadderConfig, fusion?: MatmulFusion): LadderProgram | null => {
    try {
      return rung.build(g, cfg, fusion);
    } catch {
      return null; // a config that does not split over this shape
    }
  };

  // ---- fusion check: every promotable config with dropout on A, bias and ReLU, validated only.
  if (withFusion) {
    const fusion: MatmulFusion = { bias: true, relu: true, dropout: true };
    const fcases = [mk('odd', 130, 77, 65), mk('odd', 33, 20, 17, true, false), mk('odd', 9, 5, 4, false, true, 3, true), ...(quick ? [] : [mk('odd', 256, 64, 128)])];
    // Every config of the rungs matmul.ts may promote (v3, v4); in --quick also the first config of the others.
    const promotable = (r: LadderRung) => r.version === 'v3' || r.version === 'v4';
    const fr = quick ? rungs : rungs.filter(promotable);
    console.log(`\nfused epilogue check (dropout on A, bias, ReLU) for ${fr.map((r) => r.version).join(', ')}:`);
    for (const c of fcases) {
      const ops: Operands = { a: randomF32(c.M * c.K * c.batch, 1), b: randomF32(c.K * c.N, 2), bias: randomF32(c.N, 3) };
      const ref = reference(c, ops, fusion, DROP);
      for (const rung of fr)
        for (const cfg of promotable(rung) ? configsOf(rung) : configsOf(rung).slice(0, 1)) {
          const name = rung.label(cfg);
          const prog = build(rung, geometry(c), cfg, fusion);
          if (!prog || unfit(device, prog.threads, prog.workgroupBytes, prog.workgroups)) continue;
          const r = await validateAndTime(device, planOf(prog, `${rung.version}/${name}/fused`, fusion), dataOf(c, ops, fusion), ref, asF32, { ...opts, minMs: 0, maxReps: 1 });
          const ok = r.status === 'ok';
          fusionResults.push({ version: rung.version, config: name, shape: c.label, ok, maxErr: r.maxErr ?? NaN, ...(r.note ? { note: r.note } : {}) });
          if (!ok) {
            failures++;
            console.log(`  FAIL ${rung.version} ${name} ${c.label}: ${r.status} ${r.note ?? ''}`);
          }
        }
    }
    const ok = fusionResults.filter((r) => r.ok).length;
    console.log(`  ${ok}/${fusionResults.length} fused cases match (max err ${Math.max(0, ...fusionResults.filter((r) => r.ok).map((r) => r.maxErr)).toExponential(2)})`);
  }

  // ---- the sweep
  const plain: MatmulFusion = { bias: false, relu: false, dropout: false };
  console.log('\nversion config                 shape                          valid      max err    GFLOP/s   ms/call     R  compile ms');
  const line = (r: Result) =>
    console.log(
      `${pad(r.version, 7)} ${pad(r.config, 24)} ${pad(r.shape, 30)} ${pad(r.status, 8)} ${lpad(r.maxErr !== undefined ? r.maxErr.toExponential(2) : '', 10)} ${lpad(r.gflops !== undefined ? fmtG(r.gflops) : '', 10)} ${lpad(r.msPerCall !== undefined ? r.msPerCall.toPrecision(4) : '', 9)} ${lpad(r.reps !== undefined ? String(r.reps) : '', 5)} ${lpad(r.compileMs !== undefined ? r.compileMs.toFixed(0) : '', 8)}${r.note ? `  ${r.note}` : ''}`,
    );
  for (const c of cases()) {
    const g = geometry(c);
    const ops: Operands = { a: randomF32(c.M * c.K * (c.aBatched ? c.batch : 1), 11), b: randomF32(c.K * c.N, 12), bias: randomF32(c.N, 13) };
    const ref = reference(c, ops, plain, null);
    const flop = 2 * c.M * c.N * c.K * c.batch;
    for (const rung of rungs) {
      for (const cfg of configsOf(rung)) {
        const name = rung.label(cfg);
        const prog = build(rung, g, cfg);
        if (!prog) continue;
        const base: Result = {
          version: rung.version, config: name, shape: c.label, kind: c.kind, M: c.M, K: c.K, N: c.N, transA: c.transA, transB: c.transB, batch: c.batch,
          workgroups: prog.workgroups, threads: prog.threads, status: 'skipped',
        };
        const skip =
          unfit(device, prog.threads, prog.workgroupBytes, prog.workgroups) ??
          (rung.version === 'v1' && Math.max(c.M, c.N, c.K) > naiveMax ? `naive above ${naiveMax}` : null) ??
          (performance.now() - t0 > budgetMs ? 'time budget spent' : null);
        if (skip) {
          const r = { ...base, note: skip };
          results.push(r);
          if (skip !== 'time budget spent') line(r);
          continue;
        }
        const res = await validateAndTime(device, planOf(prog, `${rung.version}/${name}`, plain), dataOf(c, ops, plain), ref, asF32, opts);
        if (res.status !== 'ok') failures++;
        const r: Result = { ...base, ...res, ...(res.msPerCall !== undefined ? { gflops: flop / (res.msPerCall * 1e6) } : {}) };
        results.push(r);
        line(r);
      }
    }
    writeOut('matmul-ladder.json', JSON.stringify(out(), null, 1));
  }

  printTables(results);
  const skippedBudget = results.filter((r) => r.note === 'time budget spent').length;
  if (skippedBudget) console.log(`\n${skippedBudget} cases skipped: the time budget (--budget-s ${budgetMs / 1000}) was spent`);
  const path = writeOut('matmul-ladder.json', JSON.stringify(out(), null, 1));
  if (path) console.log(`wrote ${path}`);
  const valid = results.filter((r) => r.status === 'ok').length;
  console.log(`\n${valid} cases validated and timed, ${failures} failures; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await finish(nd, failures ? 1 : 0);
}

/** The shipped small-product kernel: the baseline of the speedups. */
const BASELINE = { version: 'v3', config: '64x64/4x4/k16' };

function bestPerShape(results: readonly Result[]): Record<string, { version: string; config: string; gflops: number; vsBaseline: number | null; perVersion: Record<string, { config: string; gflops: number }> }> {
  const best: ReturnType<typeof bestPerShape> = {};
  const shapes = [...new Set(results.map((r) => r.shape))];
  for (const s of shapes) {
    const ok = results.filter((r) => r.shape === s && r.status === 'ok' && r.gflops !== undefined);
    if (!ok.length) continue;
    const top = ok.reduce((a, b) => (b.gflops! > a.gflops! ? b : a));
    const base = ok.find((r) => r.version === BASELINE.version && r.config === BASELINE.config);
    const perVersion: Record<string, { config: string; gflops: number }> = {};
    for (const r of ok) if (!perVersion[r.version] || r.gflops! > perVersion[r.version]!.gflops) perVersion[r.version] = { config: r.config, gflops: r.gflops! };
    best[s] = { version: top.version, config: top.config, gflops: top.gflops!, vsBaseline: base ? top.gflops! / base.gflops! : null, perVersion };
  }
  return best;
}

function printTables(results: readonly Result[]): void {
  const shapes = [...new Set(results.map((r) => r.shape))];
  const rows = [...new Set(results.map((r) => `${r.version} ${r.config}`))];
  const w = Math.max(12, ...shapes.map((s) => s.length + 1));
  console.log(`\nGFLOP/s (M×K×N; NN unless marked; '—' skipped, 'FAIL' invalid or not compiled)`);
  console.log(pad('version config', 31) + shapes.map((s) => lpad(s, w)).join(''));
  for (const row of rows) {
    const cells = shapes.map((s) => {
      const r = results.find((x) => `${x.version} ${x.config}` === row && x.shape === s);
      if (!r) return '';
      if (r.status === 'ok') return fmtG(r.gflops!);
      if (r.status === 'skipped') return '—';
      return 'FAIL';
    });
    console.log(pad(row, 31) + cells.map((c) => lpad(c, w)).join(''));
  }
  const best = bestPerShape(results);
  console.log(`\nbest per shape (speedup vs ${BASELINE.version} ${BASELINE.config}, the shipped small-product kernel):`);
  for (const [s, b] of Object.entries(best)) {
    const perV = Object.entries(b.perVersion).map(([v, x]) => `${v} ${fmtG(x.gflops)} (${x.config})`).join(', ');
    console.log(`  ${pad(s, 26)} ${pad(`${b.version} ${b.config}`, 30)} ${lpad(fmtG(b.gflops), 9)} GFLOP/s  ${b.vsBaseline !== null ? `×${b.vsBaseline.toFixed(2)}` : ''}`);
    console.log(`  ${' '.repeat(26)} per version: ${perV}`);
  }
}

await main();
