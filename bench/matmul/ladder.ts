// Entry: the WebGPU matmul ladder (llm.c's dev/cuda protocol). For every version in
// rungs.ts and every config of its block-size sweep (with split-K variants on shapes with
// few output tiles), on each shape: compile, VALIDATE against a float64 reference (every
// entry for small problems; the last row, the last column and random entries for big ones),
// and only then time it (bench/harness/ladder.ts). Prints GFLOP/s per (version, config) and
// shape, the best config per shape and its ratio to the old shipped small-product kernel
// (v3 64×64/4×4/k16), and, given cuBLAS's times on the same shapes (--cublas, from
// bench/peers/torch_matmul.py), ours/cuBLAS per shape for the chooser and the best rung.
// Writes $OUT/matmul-ladder.json when OUT is set. Before the sweep, every promotable config
// runs fused (dropout on A, bias, ReLU) against the same reference.
//
// Shapes are (M, K, N): C[M, N] = op(A)·op(B), A stored [M, K] (or [K, M] with transA),
// B stored [K, N] (or [N, K] with transB).
//   default: the MLPs' and the CNN head's products (shapes.json, shared with torch_matmul.py),
//     the same products as the BB-α step runs them with dropout fused (fwd: dropout, bias,
//     ReLU; dW: dropout), then squares 256..4096 (NN);
//   --quick: tiny odd shapes with every transpose and a batch, for lavapipe;
//   --sizes 256,1024: the square sizes (and `--mlp 0` to drop the model shapes, `--fused 0`
//     their dropout-fused sweep).
// Other flags: --versions v3,v4,auto  --configs 64x64/4x4/k16,64x128/k16/db (base configs kept,
//   split and mask variants included)  --splits 2,4,8,16 (split-K requests swept)  --min-ms 200
//   --windows 3 (measured windows per case: median and best)  --host-clock (not the GPU's
//   timestamps)  --max-reps 65536  --naive-max 2048  --budget-s 240 (time spent before remaining
//   cases are skipped)  --tol 1e-5  --no-fusion  --cublas torch-matmul.json (ours/cuBLAS per
//   shape)  --report matmul-ladder.json (print the tables of a saved run, with --cublas; no device)

import { readFileSync } from 'node:fs';
import { gemm, matmulKernel } from '@alphadrop/kernels/modules';
import { numberFlag, parseFlags } from '../harness/cli.js';
import { bindPlan, time, unfit, validateAndTime } from '../harness/ladder.js';
import { benchDevice, describeAdapter, finish, fmtG, lpad, pad, printAdapter, randomF32, writeOut } from '../harness/node.js';
import {
  DROP, PLAIN, RUNG_HEADER, STEP_FUSION, asF32, dataOf, formatRung, fusionTag, geometry, mk, planOf, reference,
  type Case, type Operands, type Result, type ShapeEntry,
} from './cases.js';
import {
  LADDER, type ConfigContext, type LadderConfig, type LadderProgram, type LadderRung, type MatmulFusion, type MatmulGeometry,
  type V3Config, type V4LadderConfig,
} from './rungs.js';
import SHAPES from './shapes.json';

const MODEL_SHAPES: readonly ShapeEntry[] = SHAPES.mlp as ShapeEntry[];

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
const windows = numberFlag(flags, 'windows', quick ? 1 : 3);
const hostClock = flags['host-clock'] === true;
/** Base configs kept (labels without their /sN and /mask), or all. */
const baseConfigs = typeof flags.configs === 'string' ? new Set(flags.configs.split(',')) : null;
const baseLabel = (label: string) => label.replace(/\/s\d+/, '').replace(/\/mask$/, '');
// --quick: one odd request (3 parts of K = 78: a partial last part); else a sweep per shape
const splits = typeof flags.splits === 'string' ? flags.splits.split(',').map(Number) : quick ? [3] : [2, 4, 8, 16];

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
  const sizes = typeof flags.sizes === 'string' ? flags.sizes.split(',').map(Number) : SHAPES.squares;
  const model = flags.mlp === '0' ? [] : MODEL_SHAPES;
  const mlp = model.map((s) => mk('mlp', s.M, s.K, s.N, s.transA, s.transB, 1, true, s.label));
  const fused = flags.fused === '0' ? [] : model.filter((s) => s.fused).map((s) => {
    const fusion = STEP_FUSION[s.fused!];
    return { ...mk('fused', s.M, s.K, s.N, s.transA, s.transB, 1, true, `${s.label} +${fusionTag(fusion)}`), fusion };
  });
  // The model shapes first: they are the real workload, and the budget cuts from the end.
  return [...mlp, ...fused, ...sizes.map((n) => mk('square', n, n, n, false, false, 1, true, `${n}^3`))];
}

/** The step's fused products: the chooser, then the tiles it picks among, unsplit and split as the chooser would, with the mask in the load and in a pass. */
function fusedConfigs(g: MatmulGeometry): { rung: LadderRung; cfg: LadderConfig }[] {
  const rung = (v: string) => LADDER.find((r) => r.version === v)!;
  const out: { rung: LadderRung; cfg: LadderConfig }[] = [];
  const tiles: { version: 'v3' | 'v4'; cfg: V3Config | V4LadderConfig; tile: matmulKernel.MatmulTile }[] = [
    { version: 'v3', cfg: { bm: 64, bn: 64, tm: 4, tn: 4, bk: 16 }, tile: { version: 'v3', config: matmulKernel.SCALAR_64 } },
    { version: 'v4', cfg: { ...matmulKernel.V4_64x64 }, tile: { version: 'v4', config: matmulKernel.V4_64x64 } },
    { version: 'v4', cfg: { ...matmulKernel.V4_64x128 }, tile: { version: 'v4', config: matmulKernel.V4_64x128 } },
  ];
  for (const t of tiles) {
    const { bk } = matmulKernel.tileShape(t.tile);
    const auto = gemm.splitK(g.K, matmulKernel.splitParts(matmulKernel.tileCount(g, t.tile), g.K), bk).split;
    for (const split of [...new Set([1, auto])]) for (const mask of [false, true]) out.push({ rung: rung(t.version), cfg: { ...t.cfg, split, mask } });
  }
  return out;
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
  const clock = !hostClock && device.features.has('timestamp-query') ? "the GPU's timestamps" : 'the host clock';
  console.log(`mode: ${quick ? 'quick (validation sizes)' : 'full'}; windows of ≥ ${minMs} ms (R ≤ ${maxReps}) on ${clock}, median of ${windows}; naive up to ${naiveMax}; budget ${budgetMs / 1000} s; tol ${tol}; split-K requests ${splits.join(',')}`);
  if (hasSubgroups && sg === 0) console.log(`v5 skipped: subgroup size varies (${desc.subgroupMinSize}..${desc.subgroupMaxSize})`);
  if (!hasSubgroups) console.log('v5 skipped: no subgroups feature');

  const rungs = LADDER.filter((r) => !versions || versions.includes(r.version));
  const results: Result[] = [];
  const fusionResults: { version: string; config: string; shape: string; ok: boolean; maxErr: number; note?: string }[] = [];
  let failures = 0;
  const cublas = typeof flags.cublas === 'string' ? readCublas(flags.cublas) : null;
  const out = () => ({ date: new Date().toISOString(), adapter: desc, quick, minMs, maxReps, tol, splits, results, fusion: fusionResults, best: bestPerShape(results) });
  const opts = { wait, minMs, maxReps, tol, windows, hostClock };
  const ctx = (geometry?: MatmulGeometry): ConfigContext => ({ subgroupSize: sg, maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize, splits, ...(geometry ? { geometry } : {}) });
  const configsOf = (r: LadderRung, g?: MatmulGeometry): LadderConfig[] =>
    (r.needs === 'subgroups' && !sg ? [] : r.configs(ctx(g))).filter((c) => r.version === 'auto' || !baseConfigs || baseConfigs.has(baseLabel(r.label(c))));
  const build = (rung: LadderRung, g: MatmulGeometry, cfg: LadderConfig, fusion?: MatmulFusion): LadderProgram | null => {
    try {
      return rung.build(g, cfg, fusion);
    } catch {
      return null; // a config that does not split over this shape
    }
  };
  // the programs a multi-program rung runs (the chooser's pick, say), for the log and the JSON
  const programsOf = (p: LadderProgram) => (p.plan ? p.plan.programs.map((x) => x.name).join(' + ') : undefined);

  // ---- fusion check: every promotable config with dropout on A, bias and ReLU, validated only.
  if (withFusion) {
    const fusion: MatmulFusion = { bias: true, relu: true, dropout: true };
    const fcases = [mk('odd', 130, 77, 65), mk('odd', 33, 20, 17, true, false), mk('odd', 9, 5, 4, false, true, 3, true), ...(quick ? [] : [mk('odd', 256, 64, 128)])];
    // Every config of the rungs matmul.ts may promote (v3, v4, with their split variants; the
    // first base config and first split variant also with the mask pass) and the chooser; in
    // --quick also the first config of the others.
    const promotable = (r: LadderRung) => r.version === 'v3' || r.version === 'v4' || r.version === 'auto';
    const withMask = (r: LadderRung, cs: LadderConfig[]): LadderConfig[] => {
      if (r.version !== 'v3' && r.version !== 'v4') return cs;
      const firstSplit = cs.find((c) => ((c as V3Config).split ?? 1) > 1);
      return [...cs, ...[cs[0], firstSplit].filter((c): c is LadderConfig => !!c).map((c) => ({ ...c, mask: true }))];
    };
    const fr = quick ? rungs : rungs.filter(promotable);
    console.log(`\nfused epilogue check (dropout on A, bias, ReLU) for ${fr.map((r) => r.version).join(', ')}:`);
    for (const c of fcases) {
      const g = geometry(c);
      const ops: Operands = { a: randomF32(c.M * c.K * c.batch, 1), b: randomF32(c.K * c.N, 2), bias: randomF32(c.N, 3) };
      const ref = reference(c, ops, fusion, DROP);
      for (const rung of fr)
        for (const cfg of promotable(rung) ? withMask(rung, configsOf(rung, g)) : configsOf(rung, g).slice(0, 1)) {
          const name = rung.label(cfg);
          const prog = build(rung, g, cfg, fusion);
          if (!prog || unfit(device, prog.threads, prog.workgroupBytes, prog.workgroups)) continue;
          const r = await validateAndTime(device, planOf(prog, `${rung.version}/${name}/fused`, fusion), dataOf(c, ops, fusion), ref, asF32, { ...opts, minMs: 0, maxReps: 1, windows: 1 });
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

  // ---- warm-up: an idle GPU runs at low clocks, and the first shape timed paid for it
  // (H200, arch-call1: 1280x784x100 on v3 64x64/k16 205 µs first, 57 µs for the next config)
  if (!quick) {
    const n = 2048;
    const g: MatmulGeometry = { M: n, N: n, K: n, transA: false, transB: false, batchShape: [], aBatch: [], bBatch: [] };
    const plan = matmulKernel.matmulBuild(g, PLAIN, matmulKernel.chooseMatmul(g, device.limits.maxComputeWorkgroupStorageSize)).plan;
    const bound = await bindPlan(device, plan, { inputs: [randomF32(n * n, 1), randomF32(n * n, 2)], outWords: n * n }, wait);
    const t = await time(device, bound, { wait, minMs: 1500, maxReps: 8192, windows: 1, hostClock });
    bound.destroy();
    console.log(`\nwarm-up: ${t.reps} × ${n}³ (${((2 * n ** 3) / (t.msPerCall * 1e9)).toFixed(1)} TFLOP/s)`);
  }

  // ---- the sweep
  console.log(`\n${RUNG_HEADER}`);
  const line = (r: Result) => console.log(formatRung(r));
  for (const c of cases()) {
    const g = geometry(c);
    const ops: Operands = { a: randomF32(c.M * c.K * (c.aBatched ? c.batch : 1), 11), b: randomF32(c.K * c.N, 12), bias: randomF32(c.N, 13) };
    const ref = reference(c, ops, c.fusion, DROP);
    const flop = 2 * c.M * c.N * c.K * c.batch;
    // plain cases: every rung's sweep; the step's fused products: the chooser against the tiles it picks among
    const todo = c.kind === 'fused'
      ? [...rungs.filter((r) => r.version === 'auto').map((rung) => ({ rung, cfg: configsOf(rung, g)[0]! })), ...fusedConfigs(g).filter((x) => rungs.includes(x.rung))]
      : rungs.flatMap((rung) => configsOf(rung, g).map((cfg) => ({ rung, cfg })));
    for (const { rung, cfg } of todo) {
      const name = rung.label(cfg);
      const prog = build(rung, g, cfg, c.fusion);
      if (!prog) continue;
      const programs = programsOf(prog);
      const base: Result = {
        version: rung.version, config: name, shape: c.label, kind: c.kind, M: c.M, K: c.K, N: c.N, transA: c.transA, transB: c.transB, batch: c.batch,
        workgroups: prog.workgroups, threads: prog.threads, status: 'skipped', ...(programs ? { programs } : {}),
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
      const res = await validateAndTime(device, planOf(prog, `${rung.version}/${name}`, c.fusion), dataOf(c, ops, c.fusion), ref, asF32, opts);
      if (res.status !== 'ok') failures++;
      const r: Result = { ...base, ...res, ...(res.msPerCall !== undefined ? { gflops: flop / (res.msPerCall * 1e6) } : {}) };
      results.push(r);
      line(rung.version === 'auto' && programs ? { ...r, note: `${r.note ? `${r.note}; ` : ''}${programs}` } : r);
    }
    writeOut('matmul-ladder.json', JSON.stringify(out(), null, 1));
  }

  printTables(results, cublas);
  const skippedBudget = results.filter((r) => r.note === 'time budget spent').length;
  if (skippedBudget) console.log(`\n${skippedBudget} cases skipped: the time budget (--budget-s ${budgetMs / 1000}) was spent`);
  const path = writeOut('matmul-ladder.json', JSON.stringify(out(), null, 1));
  if (path) console.log(`wrote ${path}`);
  const valid = results.filter((r) => r.status === 'ok').length;
  console.log(`\n${valid} cases validated and timed, ${failures} failures; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await finish(nd, failures ? 1 : 0);
}

/** The old shipped small-product kernel: the baseline of the speedups. */
const BASELINE = { version: 'v3', config: '64x64/4x4/k16' };

type Best = Record<string, { version: string; config: string; gflops: number; vsBaseline: number | null; perVersion: Record<string, { config: string; gflops: number }> }>;

function bestPerShape(results: readonly Result[]): Best {
  const best: Best = {};
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

/** cuBLAS on one shape, from bench/peers/torch_matmul.py's JSON. */
interface CublasEntry {
  shape: string;
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  ms: number;
  tflops: number;
}
interface Cublas {
  device?: string;
  results: CublasEntry[];
}

function readCublas(path: string): Cublas {
  const j = JSON.parse(readFileSync(path, 'utf8')) as Cublas;
  if (!Array.isArray(j.results)) throw new Error(`--cublas ${path}: expected {results: [...]} from torch_matmul.py, got keys ${Object.keys(j).join(', ')}`);
  return j;
}

/** cuBLAS's entry for a result's product (the plain product for the dropout-fused cases: cuBLAS fuses no dropout). */
const cublasFor = (c: Cublas | null, r: Pick<Result, 'M' | 'K' | 'N' | 'transA' | 'transB'>): CublasEntry | undefined =>
  c?.results.find((x) => x.M === r.M && x.K === r.K && x.N === r.N && x.transA === r.transA && x.transB === r.transB && x.tflops > 0);

/**
 * Per shape: the chooser (what the engine runs), the best rung, the old baseline and, given
 * cuBLAS's times, the ratios ours/cuBLAS (throughput: above 1 is faster than cuBLAS).
 * Then the best config per version. The full grid is in the JSON.
 */
function printTables(results: readonly Result[], cublas: Cublas | null): void {
  const shapes = [...new Set(results.map((r) => r.shape))];
  const best = bestPerShape(results);
  const w = Math.max(28, ...shapes.map((s) => s.length + 1));
  const g = (x: number | undefined) => (x === undefined ? '—' : fmtG(x));
  console.log(`\nper shape, GFLOP/s (M×K×N; NN unless marked; '+drop…': the dropout-fused product)${cublas ? `; cuBLAS${cublas.device ? ` on ${cublas.device}` : ''} (TF32 off) on the plain product` : ''}:`);
  console.log(`${pad('shape', w)} ${lpad('chooser', 9)} ${lpad('best', 9)} ${pad(' best rung', 32)} ${lpad('v3 64x64', 9)}${cublas ? `${lpad('cuBLAS', 9)} ${lpad('chooser/cuBLAS', 15)} ${lpad('best/cuBLAS', 12)}` : ''}  chooser's programs`);
  for (const s of shapes) {
    const ok = results.filter((r) => r.shape === s && r.status === 'ok');
    if (!ok.length) continue;
    const auto = ok.find((r) => r.version === 'auto');
    const base = ok.find((r) => r.version === BASELINE.version && r.config === BASELINE.config);
    const b = best[s]!;
    const cb = cublasFor(cublas, ok[0]!);
    const cg = cb ? cb.tflops * 1000 : undefined;
    const ratio = (x: number | undefined) => (x !== undefined && cg ? `×${(x / cg).toFixed(2)}` : '—');
    console.log(
      `${pad(s, w)} ${lpad(g(auto?.gflops), 9)} ${lpad(g(b.gflops), 9)} ${pad(` ${b.version} ${b.config}`, 32)} ${lpad(g(base?.gflops), 9)}${cublas ? `${lpad(g(cg), 9)} ${lpad(ratio(auto?.gflops), 15)} ${lpad(ratio(b.gflops), 12)}` : ''}  ${auto?.programs ?? ''}`,
    );
  }
  console.log(`\nbest per shape and version (speedup of the best vs ${BASELINE.version} ${BASELINE.config}, the old shipped small-product kernel):`);
  for (const [s, b] of Object.entries(best)) {
    const perV = Object.entries(b.perVersion).map(([v, x]) => `${v} ${fmtG(x.gflops)} (${x.config})`).join(', ');
    console.log(`  ${pad(s, w)} ${b.vsBaseline !== null ? `×${b.vsBaseline.toFixed(2)}` : '     '}  ${perV}`);
  }
}

if (typeof flags.report === 'string') {
  // a saved run's tables, without a device (e.g. once cuBLAS's numbers from the same call are in)
  const saved = JSON.parse(readFileSync(flags.report, 'utf8')) as { adapter?: { description?: string }; results: Result[] };
  console.log(`report of ${flags.report}${saved.adapter?.description ? ` (${saved.adapter.description})` : ''}`);
  printTables(saved.results, typeof flags.cublas === 'string' ? readCublas(flags.cublas) : null);
} else await main();
