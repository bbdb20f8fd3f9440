// Entry: the WebGPU matmul ladder (llm.c's dev/cuda protocol). For every version of
// packages/kernels/src/kernels/matmul-ladder.ts and every config of its block-size sweep, on
// each shape: compile, VALIDATE against a float64 reference (every entry for small problems;
// the last row, the last column and random entries for big ones), and only then time it:
// R dispatches encoded in one compute pass, one submit, await onSubmittedWorkDone, with R
// doubled until the submit-to-done time is ≥ --min-ms. Prints GFLOP/s per (version, config)
// and shape, the best config per shape and its ratio to the kernel matmul.ts shipped first
// (v3 64×64/4×4/k16), and writes everything to $OUT/matmul-ladder.json when OUT is set.
//
// Shapes are (M, K, N): C[M, N] = op(A)·op(B), A stored [M, K] (or [K, M] with transA),
// B stored [K, N] (or [N, K] with transB).
//   default: square 256..4096 (NN) and the MLP's skinny shapes on 1280 rows;
//   --quick: tiny odd shapes with every transpose and a batch, for lavapipe;
//   --sizes 256,1024: the square sizes (and `--mlp 0` to drop the skinny shapes).
// Other flags: --versions v3,v4  --min-ms 200  --max-reps 65536  --naive-max 2048
//   --budget-s 240 (time spent before remaining cases are skipped)  --tol 1e-5  --no-fusion

import { applyDropout, keepThreshold, keyFor, splitU64, type DropoutParams } from '@alphadrop/core';
import type { MatmulFusion, MatmulGeometry } from '../../../packages/kernels/src/kernels/matmul.js';
import { LADDER, type LadderConfig, type LadderProgram, type LadderRung } from '../../../packages/kernels/src/kernels/matmul-ladder.js';
import { numberFlag, parseFlags } from '../harness.js';
import { acquireNodeGpu, computePipeline, describe, printAdapter, readF32, shutdown, Usage, writeOut, type NodeGpu } from './device.js';

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

// ---------------------------------------------------------------- host data and the float64 reference

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

function randomF32(n: number, seed: number): Float32Array {
  const r = prng(seed);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = r() * 2 - 1;
  return v;
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

interface Reference {
  idx: Uint32Array;
  /** Expected values and Σ|a·b| (the scale of the rounding error) per checked entry. */
  want: Float64Array;
  scale: Float64Array;
}

function reference(c: Case, ops: Operands, fusion: MatmulFusion, drop: DropoutParams | null): Reference {
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

/** Largest |got − want| / (Σ|a·b| + tiny) over the checked entries, and the first failure. */
function compare(got: Float32Array, ref: Reference): { maxErr: number; bad: string | null } {
  let maxErr = 0;
  let bad: string | null = null;
  for (let t = 0; t < ref.idx.length; t++) {
    const i = ref.idx[t]!;
    const g = got[i]!;
    const err = Math.abs(g - ref.want[t]!) / (ref.scale[t]! + 1e-30);
    if (!(err <= tol)) {
      if (bad === null) bad = `entry ${i}: got ${g}, want ${ref.want[t]} (scale ${ref.scale[t]!.toExponential(2)})`;
      if (!Number.isFinite(err)) {
        maxErr = Infinity;
        continue;
      }
    }
    maxErr = Math.max(maxErr, err);
  }
  return { maxErr, bad };
}

// ---------------------------------------------------------------- device side

interface DeviceCase {
  a: GPUBuffer;
  b: GPUBuffer;
  bias: GPUBuffer;
  c: GPUBuffer;
  drop: GPUBuffer;
  cBytes: number;
}

const pad16 = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);

function upload(device: GPUDevice, data: Float32Array | Uint32Array, usage: number): GPUBuffer {
  const buf = device.createBuffer({ size: pad16(data.byteLength), usage: usage | Usage.COPY_DST });
  device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  return buf;
}

// dropout layer 2 at a step past 2^32, so the mask's high step word (c3) is exercised
const DROP: DropoutParams = { keepProb: 0.7, key: keyFor(12345, 'trainDropout'), counter: [2, ...splitU64('matmul-ladder', 'step', 2 ** 32 + 5)] };

function dropUniform(d: DropoutParams): Uint32Array {
  // the kernels' Drop layout: [k0, k1, c1, c2, c3, threshold, scale (f32 bits), pad]
  const scale = new Uint32Array(new Float32Array([1 / d.keepProb]).buffer)[0]!;
  return Uint32Array.from([d.key[0], d.key[1], d.counter[0], d.counter[1], d.counter[2], keepThreshold(d.keepProb), scale, 0]);
}

function deviceCase(device: GPUDevice, ops: Operands, c: Case): DeviceCase {
  const S = Usage.STORAGE | Usage.COPY_SRC;
  const cBytes = c.M * c.N * c.batch * 4;
  return {
    a: upload(device, ops.a, S),
    b: upload(device, ops.b, S),
    bias: upload(device, ops.bias, S),
    c: device.createBuffer({ size: pad16(cBytes), usage: S | Usage.COPY_DST }),
    drop: upload(device, dropUniform(DROP), Usage.UNIFORM),
    cBytes,
  };
}

function bindGroup(device: GPUDevice, pipeline: GPUComputePipeline, d: DeviceCase, fusion: MatmulFusion): GPUBindGroup {
  const buffers = [d.a, d.b, ...(fusion.bias ? [d.bias] : []), d.c, ...(fusion.dropout ? [d.drop] : [])];
  return device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
}

async function runOnce(device: GPUDevice, pipeline: GPUComputePipeline, bg: GPUBindGroup, prog: LadderProgram, d: DeviceCase): Promise<Float32Array> {
  const enc = device.createCommandEncoder();
  enc.clearBuffer(d.c);
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bg);
  pass.dispatchWorkgroups(...prog.workgroups);
  pass.end();
  device.queue.submit([enc.finish()]);
  return readF32(device, d.c, d.cBytes);
}

interface Timing {
  reps: number;
  /** Submit → onSubmittedWorkDone for `reps` dispatches. */
  ms: number;
  msPerCall: number;
  /** CPU time to encode the `reps` dispatches (not in `ms`). */
  encodeMs: number;
}

const pow2ceil = (x: number) => 2 ** Math.max(0, Math.ceil(Math.log2(Math.max(1, x))));

async function time(device: GPUDevice, pipeline: GPUComputePipeline, bg: GPUBindGroup, prog: LadderProgram): Promise<Timing> {
  const run = async (reps: number) => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bg);
    for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(...prog.workgroups);
    pass.end();
    const cb = enc.finish();
    const t1 = performance.now();
    device.queue.submit([cb]);
    await device.queue.onSubmittedWorkDone();
    return { reps, ms: performance.now() - t1, encodeMs: t1 - t0 };
  };
  const warm = await run(1);
  // The single call includes one wait's overhead, so this first guess of R is low; then double.
  let reps = Math.min(maxReps, pow2ceil((minMs * 0.5) / Math.max(warm.ms, 1e-3)));
  let res = await run(reps);
  while (res.ms < minMs && reps < maxReps) {
    reps = Math.min(maxReps, reps * Math.max(2, pow2ceil((minMs * 1.1) / Math.max(res.ms, 1e-3))));
    res = await run(reps);
  }
  return { ...res, msPerCall: res.ms / res.reps };
}

// ---------------------------------------------------------------- the run

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
  workgroups: [number, number, number];
  threads: number;
  status: 'ok' | 'invalid' | 'compile-error' | 'skipped';
  note?: string;
  maxErr?: number;
  compileMs?: number;
  reps?: number;
  msPerCall?: number;
  gflops?: number;
}

const fmtG = (g: number) => (g >= 1000 ? g.toFixed(0) : g >= 10 ? g.toFixed(1) : g.toFixed(2));

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  let gpu: NodeGpu | null = null;
  try {
    gpu = await acquireNodeGpu();
  } catch (e) {
    console.error(String(e));
    shutdown(null, 1);
  }
  const { device } = gpu;
  const desc = describe(gpu);
  printAdapter(desc);
  const hasSubgroups = gpu.features.includes('subgroups');
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

  const limits = device.limits;
  const fits = (p: LadderProgram) =>
    p.threads > limits.maxComputeInvocationsPerWorkgroup ? `needs ${p.threads} invocations per workgroup`
      : p.workgroupBytes > limits.maxComputeWorkgroupStorageSize ? `needs ${p.workgroupBytes} B of workgroup memory`
        : p.workgroups.some((w) => w > limits.maxComputeWorkgroupsPerDimension) ? 'too many workgroups'
          : null;

  const configsOf = (r: LadderRung): LadderConfig[] => (r.needs === 'subgroups' && !sg ? [] : r.configs(sg));

  // ---- fusion check: every rung with dropout on A, bias and ReLU, against the float64 reference.
  if (withFusion) {
    const fusion: MatmulFusion = { bias: true, relu: true, dropout: true };
    const fcases = [mk('odd', 130, 77, 65), mk('odd', 33, 20, 17, true, false), mk('odd', 9, 5, 4, false, true, 3, true), ...(quick ? [] : [mk('odd', 256, 64, 128)])];
    // Every config of the rungs matmul.ts may promote (v3, v4); in --quick also the first config of the others.
    const promotable = (r: LadderRung) => r.version === 'v3' || r.version === 'v4';
    const fr = quick ? rungs : rungs.filter(promotable);
    console.log(`\nfused epilogue check (dropout on A, bias, ReLU) for ${fr.map((r) => r.version).join(', ')}:`);
    for (const c of fcases) {
      const ops: Operands = { a: randomF32(c.M * c.K * c.batch, 1), b: randomF32(c.K * c.N, 2), bias: randomF32(c.N, 3) };
      const d = deviceCase(device, ops, c);
      const ref = reference(c, ops, fusion, DROP);
      for (const rung of fr)
        for (const cfg of promotable(rung) ? configsOf(rung) : configsOf(rung).slice(0, 1)) {
          const name = rung.label(cfg);
          let prog: LadderProgram;
          try {
            prog = rung.build(geometry(c), cfg, fusion);
          } catch (e) {
            continue; // a config that does not apply to this device (reported in the main sweep)
          }
          if (fits(prog)) continue;
          try {
            const pipeline = await computePipeline(device, prog.code, `${rung.version}/${name}/fused`);
            const got = await runOnce(device, pipeline, bindGroup(device, pipeline, d, fusion), prog, d);
            const { maxErr, bad } = compare(got, ref);
            fusionResults.push({ version: rung.version, config: name, shape: c.label, ok: bad === null, maxErr, ...(bad ? { note: bad } : {}) });
            if (bad) {
              failures++;
              console.log(`  FAIL ${rung.version} ${name} ${c.label}: ${bad}`);
            }
          } catch (e) {
            failures++;
            fusionResults.push({ version: rung.version, config: name, shape: c.label, ok: false, maxErr: NaN, note: String(e).slice(0, 400) });
            console.log(`  FAIL ${rung.version} ${name} ${c.label}: ${String(e).slice(0, 2000)}`);
          }
        }
      for (const b of [d.a, d.b, d.bias, d.c, d.drop]) b.destroy();
    }
    const ok = fusionResults.filter((r) => r.ok).length;
    console.log(`  ${ok}/${fusionResults.length} fused cases match (max err ${Math.max(0, ...fusionResults.filter((r) => r.ok).map((r) => r.maxErr)).toExponential(2)})`);
  }

  // ---- the sweep
  console.log('\nversion config                 shape                          valid      max err    GFLOP/s   ms/call     R  compile ms');
  for (const c of cases()) {
    if (performance.now() - t0 > budgetMs) {
      for (const rung of rungs) for (const cfg of configsOf(rung)) results.push({
        version: rung.version, config: rung.label(cfg), shape: c.label, kind: c.kind, M: c.M, K: c.K, N: c.N, transA: c.transA, transB: c.transB,
        batch: c.batch, workgroups: [0, 0, 0], threads: 0, status: 'skipped', note: 'time budget spent',
      });
      continue;
    }
    const g = geometry(c);
    const ops: Operands = { a: randomF32(c.M * c.K * (c.aBatched ? c.batch : 1), 11), b: randomF32(c.K * c.N, 12), bias: randomF32(c.N, 13) };
    const d = deviceCase(device, ops, c);
    const ref = reference(c, ops, { bias: false, relu: false, dropout: false }, null);
    const flop = 2 * c.M * c.N * c.K * c.batch;
    for (const rung of rungs) {
      for (const cfg of configsOf(rung)) {
        const name = rung.label(cfg);
        let prog: LadderProgram;
        try {
          prog = rung.build(g, cfg);
        } catch (e) {
          continue;
        }
        const base: Result = {
          version: rung.version, config: name, shape: c.label, kind: c.kind, M: c.M, K: c.K, N: c.N, transA: c.transA, transB: c.transB, batch: c.batch,
          workgroups: prog.workgroups, threads: prog.threads, status: 'skipped',
        };
        const line = (r: Result) =>
          console.log(
            `${pad(r.version, 7)} ${pad(r.config, 24)} ${pad(r.shape, 30)} ${pad(r.status, 8)} ${lpad(r.maxErr !== undefined ? r.maxErr.toExponential(2) : '', 10)} ${lpad(r.gflops !== undefined ? fmtG(r.gflops) : '', 10)} ${lpad(r.msPerCall !== undefined ? r.msPerCall.toPrecision(4) : '', 9)} ${lpad(r.reps !== undefined ? String(r.reps) : '', 5)} ${lpad(r.compileMs !== undefined ? r.compileMs.toFixed(0) : '', 8)}${r.note ? `  ${r.note}` : ''}`,
          );
        const skip = fits(prog) ?? (rung.version === 'v1' && Math.max(c.M, c.N, c.K) > naiveMax ? `naive above ${naiveMax}` : null) ?? (performance.now() - t0 > budgetMs ? 'time budget spent' : null);
        if (skip) {
          const r = { ...base, note: skip };
          results.push(r);
          if (skip !== 'time budget spent') line(r);
          continue;
        }
        const tc = performance.now();
        let pipeline: GPUComputePipeline;
        try {
          pipeline = await computePipeline(device, prog.code, `${rung.version}/${name}`);
        } catch (e) {
          failures++;
          const r: Result = { ...base, status: 'compile-error', note: String(e).slice(0, 2000) };
          results.push(r);
          line(r);
          continue;
        }
        const bg = bindGroup(device, pipeline, d, { bias: false, relu: false, dropout: false });
        const got = await runOnce(device, pipeline, bg, prog, d);
        const compileMs = performance.now() - tc;
        const { maxErr, bad } = compare(got, ref);
        if (bad) {
          failures++;
          const r: Result = { ...base, status: 'invalid', maxErr, compileMs, note: bad };
          results.push(r);
          line(r);
          continue;
        }
        const t = await time(device, pipeline, bg, prog);
        const r: Result = { ...base, status: 'ok', maxErr, compileMs, reps: t.reps, msPerCall: t.msPerCall, gflops: flop / (t.msPerCall * 1e6) };
        results.push(r);
        line(r);
      }
    }
    for (const b of [d.a, d.b, d.bias, d.c, d.drop]) b.destroy();
    writeOut('matmul-ladder.json', JSON.stringify(out(), null, 1));
  }

  printTables(results);
  const skippedBudget = results.filter((r) => r.note === 'time budget spent').length;
  if (skippedBudget) console.log(`\n${skippedBudget} cases skipped: the time budget (--budget-s ${budgetMs / 1000}) was spent`);
  const path = writeOut('matmul-ladder.json', JSON.stringify(out(), null, 1));
  if (path) console.log(`wrote ${path}`);
  const valid = results.filter((r) => r.status === 'ok').length;
  console.log(`\n${valid} cases validated and timed, ${failures} failures; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  shutdown(gpu, failures ? 1 : 0);
}

/** The kernel matmul.ts shipped first: the baseline of the speedups. */
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
  console.log(`\nbest per shape (speedup vs ${BASELINE.version} ${BASELINE.config}, the kernel shipped first):`);
  for (const [s, b] of Object.entries(best)) {
    const perV = Object.entries(b.perVersion).map(([v, x]) => `${v} ${fmtG(x.gflops)} (${x.config})`).join(', ');
    console.log(`  ${pad(s, 26)} ${pad(`${b.version} ${b.config}`, 30)} ${lpad(fmtG(b.gflops), 9)} GFLOP/s  ${b.vsBaseline !== null ? `×${b.vsBaseline.toFixed(2)}` : ''}`);
    console.log(`  ${' '.repeat(26)} per version: ${perV}`);
  }
}

await main();
