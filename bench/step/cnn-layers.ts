// The paper's two convolution layers (spec §b.3: conv 32@3×3 valid on 28×28×1, then conv
// 32@3×3 on 26×26×32), forward, input gradient and filter gradient, on the shapes the BB-α
// step runs them (cnn-step-model.ts: the convolutions carry no dropout, so they see the M
// images once, not the M·K tiled rows), side by side in one process, f32:
//   alphadrop wasm 1t   the 'wasm' kind's kernels (packages/core/src/cpu/wasm/conv.ts), called
//                       directly, on the calling thread alone
//   alphadrop wasm Nt   the same with a Wasm worker thread per further core
//   alphadrop fast      the default fast kernels (f64 sums in the JS micro-kernel)
//   jax-js wasm         jit(lax.convGeneralDilated) and jit(grad) of Σ conv·dy for the gradients
// Every result is compared with the others first (max |a − b| / max |b| against the fast
// kernels, whose f64 sums round once); then warm-up and interleaved runs, median ms per call.
//
//   node scripts/run-ts.mjs bench/step/cnn-layers.ts [--batch 128] [--libs wasm,fast,jax]
//        [--warmup 2] [--reps 5] [--min-ms 300]

import { availableParallelism } from 'node:os';
import { Prim, fastKernels, shapeRules, type CpuKernel, type CpuOperand, type PrimParams } from '@alphadrop/core/backend';
import { grad, jit, lax, numpy as np, type Array as JaxArray } from '@jax-js/jax';
import { fmt, formatTable, listFlag, loadNote, machineName, median, numberFlag, parseFlags, ratio } from '../harness/cli.js';
import { randomF32 } from '../harness/data.js';
import { initJax } from '../peers/step-jax.js';
import { configureWasmThreads, initWasm, wasmThreadsReady } from '@alphadrop/core';
// The 'wasm' kind's kernel table, called directly (no tensors): not behind a package entry.
import { wasmKernels } from '../../packages/core/src/cpu/fast-wasm.js';

type Dims4 = [number, number, number, number];
type Op = 'forward' | 'input grad' | 'filter grad';
const OPS: Op[] = ['forward', 'input grad', 'filter grad'];

interface Layer {
  name: string;
  x: Dims4;
  w: Dims4;
}

const VALID = { stride: [1, 1], padding: [0, 0], dilation: [1, 1] } as const;

const layers = (batch: number): Layer[] => [
  { name: 'conv1 1→32 @3×3, 28×28', x: [batch, 1, 28, 28], w: [32, 1, 3, 3] },
  { name: 'conv2 32→32 @3×3, 26×26', x: [batch, 32, 26, 26], w: [32, 32, 3, 3] },
];

interface Operands {
  x: Float32Array;
  w: Float32Array;
  dy: Float32Array;
  y: Dims4;
}

function operands(l: Layer, seed: number): Operands {
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  const y: Dims4 = [l.x[0], l.w[0], l.x[2] - l.w[2] + 1, l.x[3] - l.w[3] + 1];
  return { x: randomF32(size(l.x), seed), w: randomF32(size(l.w), seed + 1), dy: randomF32(size(y), seed + 2), y };
}

const gflop = (l: Layer, o: Operands) => (2 * o.y.reduce((a, b) => a * b, 1) * l.w[1] * l.w[2] * l.w[3]) / 1e9;

interface Prepared {
  result: () => Promise<Float32Array>;
  call: () => Promise<void>;
  dispose: () => void;
}

interface ConvLibrary {
  name: string;
  detail: string;
  prepare: (l: Layer, op: Op, o: Operands) => Prepared;
}

/** Kernels from `table`, called directly; with `workers`, that many Wasm worker threads help each call (0: the caller alone). */
function alphadropLibrary(name: string, detail: string, table: Partial<Record<Prim, unknown>>, workers?: number): ConvLibrary {
  return {
    name,
    detail,
    prepare: (l, op, o) => {
      const f32 = (storage: Float32Array, shape: Dims4): CpuOperand => ({ storage, shape, dtype: 'f32' });
      const run = <P extends Prim.Conv2d | Prim.Conv2dInputGrad | Prim.Conv2dFilterGrad>(prim: P, ops: CpuOperand[], params: PrimParams[P]) => {
        const kernel = table[prim] as CpuKernel<P>;
        const out = shapeRules[prim](ops, params);
        return () => {
          if (workers !== undefined) configureWasmThreads({ workers });
          return kernel(ops, params, out) as Float32Array;
        };
      };
      const go =
        op === 'forward'
          ? run(Prim.Conv2d, [f32(o.x, l.x), f32(o.w, l.w)], VALID)
          : op === 'input grad'
            ? run(Prim.Conv2dInputGrad, [f32(o.dy, o.y), f32(o.w, l.w)], { ...VALID, inputShape: l.x })
            : run(Prim.Conv2dFilterGrad, [f32(o.x, l.x), f32(o.dy, o.y)], { ...VALID, filterShape: l.w });
      return { result: async () => go(), call: async () => void go(), dispose: () => {} };
    },
  };
}

function jaxLibrary(detail: string): ConvLibrary {
  const conv = (x: JaxArray, w: JaxArray) => lax.convGeneralDilated(x, w, [1, 1], 'VALID');
  return {
    name: 'jax-js wasm',
    detail: `${detail}; jit(lax.convGeneralDilated), jit(grad(Σ conv(x, w)·dy)) for each gradient`,
    prepare: (l, op, o) => {
      const x = np.array(o.x).reshape(l.x);
      const w = np.array(o.w).reshape(l.w);
      const dy = np.array(o.dy).reshape(o.y);
      const f =
        op === 'forward'
          ? jit((xx: JaxArray, ww: JaxArray, _d: JaxArray) => {
              _d.dispose();
              return conv(xx, ww);
            })
          : op === 'input grad'
            ? jit((xx: JaxArray, ww: JaxArray, d: JaxArray) => grad((v: JaxArray) => conv(v, ww).mul(d).sum())(xx))
            : jit((xx: JaxArray, ww: JaxArray, d: JaxArray) => grad((v: JaxArray) => conv(xx, v).mul(d).sum())(ww));
      const run = () => f(x.ref, w.ref, dy.ref) as JaxArray;
      return {
        result: async () => Float32Array.from((await run().data()) as Float32Array),
        call: async () => {
          const out = run();
          await out.blockUntilReady();
          out.dispose();
        },
        dispose: () => {
          x.dispose();
          w.dispose();
          dy.dispose();
          f.dispose();
        },
      };
    },
  };
}

/** max |a − b| / max |b|: the norm-relative difference from a reference result. */
function relDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num !== num ? Infinity : num / (den || 1);
}

interface Timing {
  ms: number;
  diff: number;
}

const TOLERANCE = 1e-4;

/** Validate against the first library's result, warm up, then `reps` interleaved runs (median ms per call). */
async function timeCase(libs: readonly ConvLibrary[], l: Layer, op: Op, o: Operands, opt: { warmup: number; reps: number; minMs: number }): Promise<Timing[]> {
  const prepared = libs.map((lib) => lib.prepare(l, op, o));
  try {
    const results: Float32Array[] = [];
    for (const p of prepared) results.push(await p.result());
    const diffs = results.map((r) => relDiff(r, results[0]!));
    const calls: number[] = [];
    for (let j = 0; j < prepared.length; j++) {
      let last = Infinity;
      for (let i = 0; i < opt.warmup && diffs[j]! <= TOLERANCE; i++) {
        const t0 = performance.now();
        await prepared[j]!.call();
        last = performance.now() - t0;
      }
      calls.push(Math.max(1, Math.ceil(opt.minMs / Math.max(last, 1e-3))));
    }
    const perCall: number[][] = libs.map(() => []);
    for (let r = 0; r < opt.reps; r++)
      for (let q = 0; q < libs.length; q++) {
        const j = (r + q) % libs.length;
        if (!(diffs[j]! <= TOLERANCE)) continue;
        const t0 = performance.now();
        for (let i = 0; i < calls[j]!; i++) await prepared[j]!.call();
        perCall[j]!.push((performance.now() - t0) / calls[j]!);
      }
    return diffs.map((diff, j) => ({ diff, ms: diff <= TOLERANCE ? median(perCall[j]!) : NaN }));
  } finally {
    for (const p of prepared) p.dispose();
  }
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.help || flags.h) {
    console.log('usage: node scripts/run-ts.mjs bench/step/cnn-layers.ts [--batch 128] [--libs wasm,fast,jax] [--warmup 2] [--reps 5] [--min-ms 300]');
    return 0;
  }
  const batch = numberFlag(flags, 'batch', 128);
  const opt = { warmup: numberFlag(flags, 'warmup', 2), reps: numberFlag(flags, 'reps', 5), minMs: numberFlag(flags, 'min-ms', 300) };
  // The fast kernels first: they are the reference of the difference column.
  const keys = listFlag(flags, 'libs', ['wasm', 'fast', 'jax']).sort((a, b) => Number(b === 'fast') - Number(a === 'fast'));
  const libs: ConvLibrary[] = [];
  for (const k of keys) {
    if (k === 'fast') libs.push(alphadropLibrary('alphadrop fast', "fastKernels (cpuBackend('fast')): im2col into the f64 JS micro-kernel, one thread", fastKernels));
    else if (k === 'wasm') {
      if (!(await initWasm())) throw new Error('the WebAssembly SIMD GEMM could not be loaded here');
      // one thread, then a Wasm worker per further core (started now, untimed)
      const workers = availableParallelism() - 1;
      configureWasmThreads({ workers });
      if ((await wasmThreadsReady()) < workers) throw new Error('the Wasm worker threads did not start');
      libs.push(alphadropLibrary('alphadrop wasm 1t', "the 'wasm' kind's kernels (wasm/conv.ts): per-sample im2col + wasmGemm (f32 SIMD128), the caller alone", wasmKernels, 0));
      if (workers > 0) libs.push(alphadropLibrary(`alphadrop wasm ${workers + 1}t`, `the same, the caller + ${workers} Wasm worker thread${workers === 1 ? '' : 's'}`, wasmKernels, workers));
    } else if (k === 'jax') libs.push(jaxLibrary(await initJax('wasm')));
    else throw new Error(`unknown library '${k}' (expected wasm, fast, jax)`);
  }
  const ours = libs.findIndex((lib) => lib.name === 'alphadrop wasm 1t');
  const oursAll = libs.findIndex((lib) => /^alphadrop wasm [2-9]\d*t$/.test(lib.name));
  const jax = libs.findIndex((lib) => lib.name === 'jax-js wasm');

  console.log(`machine: ${machineName()}`);
  for (const lib of libs) console.log(`  ${lib.name.padEnd(18)} ${lib.detail}`);
  console.log(`f32, batch ${batch} (the BB-α step's M: the convolutions run once per image); results compared with '${libs[0]!.name}' (max |a − b| / max |b| ≤ ${TOLERANCE}) before timing;`);
  console.log(`median of ${opt.reps} interleaved runs of ≥ ${opt.minMs} ms; ${loadNote()} at start\n`);

  const header = ['layer', 'op', 'GFLOP'];
  for (const lib of libs) header.push(`${lib.name} ms`, 'diff');
  if (ours >= 0) for (const lib of libs) if (lib !== libs[ours]) header.push(`${lib.name} / 1t`);
  if (oursAll >= 0 && jax >= 0) header.push(`jax-js / ${libs[oursAll]!.name.split(' ').pop()}`);
  const rows: string[][] = [];
  for (const [i, l] of layers(batch).entries()) {
    const o = operands(l, 100 * (i + 1));
    for (const op of OPS) {
      const t = await timeCase(libs, l, op, o, opt);
      const row = [l.name, op, fmt(gflop(l, o), 3)];
      t.forEach((ti) => row.push(fmt(ti.ms, 2), ti.diff.toExponential(1)));
      if (ours >= 0) t.forEach((ti, j) => j !== ours && row.push(ratio(ti.ms, t[ours]!.ms)));
      if (oursAll >= 0 && jax >= 0) row.push(ratio(t[jax]!.ms, t[oursAll]!.ms));
      rows.push(row);
      console.log(`  ${l.name} ${op}: ${libs.map((lib, j) => `${lib.name} ${fmt(t[j]!.ms, 2)} ms`).join(', ')}`);
    }
  }
  console.log(`\nratio "/ 1t" = that library's time / alphadrop wasm 1t's (> 1: alphadrop on one thread is faster); "jax-js / Nt" = jax-js's time / alphadrop's on all cores; ${loadNote()} at end`);
  console.log(formatTable(header, rows, 2));
  return 0;
}

process.exitCode = await main();
