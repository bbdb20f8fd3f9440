// CPU matmul ladder: alphadrop's matmul on square sizes and on the skinny shapes of the
// benchmarked MLP step (forward, dW = uᵀ·dz, dX = dz·Wᵀ), f32, side by side with
// alphadrop's cpu-wasm backend (the WebAssembly SIMD128 GEMM) on one thread and with a worker
// thread per further core, TensorFlow.js's cpu backend and jax-js's Wasm backend in one process. Every library's
// result is validated against a float64 dot product on a sample of entries before it is
// timed.
//
//   node scripts/run-ts.mjs bench/peers/cpu-matmul.ts [--libs alphadrop,wasm,tfjs,jax]   (wasm: 1 thread and all cores)
//        [--shapes square,mlp] [--warmup 2] [--reps 5] [--min-ms 250] [--workers N]
//
// Shapes are (M, K, N): C [M, N] = op(A)·op(B), op(A) [M, K], op(B) [K, N]. "TN" stores
// A as [K, M] (transA), "NT" stores B as [N, K] (transB).

import { availableParallelism } from 'node:os';
import { configureWasmThreads, cpuBackend, getBackend, matmul, setBackend, tensor, wasmThreadsReady, type Tensor } from '@alphadrop/core';
import { jit, numpy as np, type Array as JaxArray } from '@jax-js/jax';
import { fmt, formatTable, listFlag, loadNote, machineName, median, numberFlag, parseFlags, ratio } from '../harness/cli.js';
import { seededUniform } from '../step/mlp-problem.js';
import { startCpuThreads } from '../step/step-alphadrop.js';
import { initJax } from './step-jax.js';
import { loadTfjsCpu, type Tfjs } from './tfjs-loader.js';

interface MatmulCase {
  group: 'square' | 'mlp';
  /** What the shape is in the MLP step. */
  role: string;
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
}

const SQUARE: MatmulCase[] = [128, 256, 512, 1024].map((n) => ({
  group: 'square',
  role: `square ${n}`,
  M: n,
  K: n,
  N: n,
  transA: false,
  transB: false,
}));

// The 784-100-100-10 MLP on 1280 rows. The first layer's dX is never formed in the step
// (no gradient for the input), but it is the widest NT shape, so it stays in the ladder.
const MLP: MatmulCase[] = [
  { group: 'mlp', role: 'fwd layer 1', M: 1280, K: 784, N: 100, transA: false, transB: false },
  { group: 'mlp', role: 'fwd layer 2', M: 1280, K: 100, N: 100, transA: false, transB: false },
  { group: 'mlp', role: 'fwd layer 3', M: 1280, K: 100, N: 10, transA: false, transB: false },
  { group: 'mlp', role: 'dW layer 1 (uᵀ·dz)', M: 784, K: 1280, N: 100, transA: true, transB: false },
  { group: 'mlp', role: 'dW layer 2 (uᵀ·dz)', M: 100, K: 1280, N: 100, transA: true, transB: false },
  { group: 'mlp', role: 'dW layer 3 (uᵀ·dz)', M: 100, K: 1280, N: 10, transA: true, transB: false },
  { group: 'mlp', role: 'dX layer 1 (dz·Wᵀ)', M: 1280, K: 100, N: 784, transA: false, transB: true },
  { group: 'mlp', role: 'dX layer 2 (dz·Wᵀ)', M: 1280, K: 100, N: 100, transA: false, transB: true },
  { group: 'mlp', role: 'dX layer 3 (dz·Wᵀ)', M: 1280, K: 10, N: 100, transA: false, transB: true },
];

const form = (c: MatmulCase) => (c.transA ? 'T' : 'N') + (c.transB ? 'T' : 'N');
const gflop = (c: MatmulCase) => (2 * c.M * c.K * c.N) / 1e9;

interface Operands {
  a: Float32Array; // transA ? [K, M] : [M, K]
  b: Float32Array; // transB ? [N, K] : [K, N]
  aShape: [number, number];
  bShape: [number, number];
}

function makeOperands(c: MatmulCase, seed: number): Operands {
  const rnd = seededUniform(seed);
  const a = Float32Array.from({ length: c.M * c.K }, () => 2 * rnd() - 1);
  const b = Float32Array.from({ length: c.K * c.N }, () => 2 * rnd() - 1);
  return { a, b, aShape: c.transA ? [c.K, c.M] : [c.M, c.K], bShape: c.transB ? [c.N, c.K] : [c.K, c.N] };
}

/**
 * Compares `got` [M, N] with float64 dot products on a sample of entries (the corners and
 * 200 seeded positions). The bound scales with Σ|a·b|, the size of the sum's terms.
 */
function validate(c: MatmulCase, ops: Operands, got: ArrayLike<number>): { ok: boolean; worst: number } {
  if (got.length !== c.M * c.N) return { ok: false, worst: Infinity };
  const aAt = (i: number, k: number) => ops.a[c.transA ? k * c.M + i : i * c.K + k]!;
  const bAt = (k: number, j: number) => ops.b[c.transB ? j * c.K + k : k * c.N + j]!;
  const rnd = seededUniform(c.M * 31 + c.K * 7 + c.N);
  const picks: [number, number][] = [
    [0, 0],
    [0, c.N - 1],
    [c.M - 1, 0],
    [c.M - 1, c.N - 1],
  ];
  for (let s = 0; s < 200; s++) picks.push([Math.floor(rnd() * c.M), Math.floor(rnd() * c.N)]);
  let worst = 0;
  let ok = true;
  for (const [i, j] of picks) {
    let ref = 0;
    let mag = 0;
    for (let k = 0; k < c.K; k++) {
      const t = aAt(i, k) * bAt(k, j);
      ref += t;
      mag += Math.abs(t);
    }
    const err = Math.abs(got[i * c.N + j]! - ref) / Math.max(mag, 1e-30);
    if (!(err <= 1e-5)) ok = false; // NaN fails too
    worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
  }
  return { ok, worst };
}

/** One library's matmul on one case: compute once (for validation), then time calls. */
interface Prepared {
  result(): Promise<ArrayLike<number>>;
  /** One call, waited for. */
  call(): Promise<void>;
  dispose(): void;
}

interface MatmulLibrary {
  name: string;
  detail: string;
  prepare(c: MatmulCase, ops: Operands): Prepared;
}

/** matmul through alphadrop's tensors, every call made inside `within` (which may install a backend). */
function tensorMatmul(name: string, detail: string, within: <T>(f: () => T) => T = (f) => f()): MatmulLibrary {
  return {
    name,
    detail,
    prepare: (c, ops) => {
      const [a, b] = within(() => [tensor(ops.a.slice(), ops.aShape), tensor(ops.b.slice(), ops.bShape)] as const);
      const run = (): Tensor => within(() => matmul(a, b, { transA: c.transA, transB: c.transB }));
      return {
        result: async () => {
          const out = run();
          const v = out.dataSync();
          out.dispose();
          return v;
        },
        call: async () => run().dispose(), // the cpu backend computes synchronously
        dispose: () => {
          a.dispose();
          b.dispose();
        },
      };
    },
  };
}

const alphadropMatmul = (threads: string): MatmulLibrary => tensorMatmul('alphadrop', `@alphadrop/core cpu backend, matmul(a, b, { transA, transB }); ${threads}`);

/** matmul on cpuBackend('wasm') with `workers` Wasm worker threads beside the caller (0: one thread). */
function wasmMatmul(workers: number): MatmulLibrary {
  const backend = cpuBackend('wasm');
  const within = <T>(f: () => T): T => {
    const previous = getBackend();
    setBackend(backend);
    configureWasmThreads({ workers });
    try {
      return f();
    } finally {
      setBackend(previous);
    }
  };
  const threads = workers === 0 ? 'the caller alone' : `the caller + ${workers} worker${workers === 1 ? '' : 's'}`;
  return tensorMatmul(`alphadrop wasm ${workers + 1}t`, `@alphadrop/core cpu-wasm backend, matmul(a, b, { transA, transB }) on the WebAssembly SIMD GEMM; threads: ${threads}`, within);
}

function tfjsMatmul(tf: Tfjs): MatmulLibrary {
  return {
    name: 'tfjs-cpu',
    detail: `@tensorflow/tfjs-core ${tf.version_core} backend 'cpu', tf.matMul(a, b, transposeA, transposeB)`,
    prepare: (c, ops) => {
      const a = tf.tensor2d(ops.a, ops.aShape);
      const b = tf.tensor2d(ops.b, ops.bShape);
      const run = () => tf.matMul(a, b, c.transA, c.transB);
      return {
        result: async () => {
          const out = run();
          const v = await out.data();
          out.dispose();
          return v as Float32Array;
        },
        call: async () => run().dispose(), // the cpu backend computes in the op call
        dispose: () => tf.dispose([a, b]),
      };
    },
  };
}

function jaxMatmul(detail: string): MatmulLibrary {
  return {
    name: 'jax-js wasm',
    detail: `${detail}, jit(np.matmul) with .transpose() for T`,
    prepare: (c, ops) => {
      const a = np.array(ops.a).reshape(ops.aShape);
      const b = np.array(ops.b).reshape(ops.bShape);
      const f = jit((x: JaxArray, y: JaxArray) => np.matmul(c.transA ? x.transpose() : x, c.transB ? y.transpose() : y));
      const run = () => f(a.ref, b.ref) as JaxArray;
      return {
        result: async () => (await run().data()) as Float32Array,
        call: async () => {
          const out = run();
          await out.blockUntilReady();
          out.dispose();
        },
        dispose: () => {
          a.dispose();
          b.dispose();
          f.dispose();
        },
      };
    },
  };
}

interface Timing {
  ms: number;
  ok: boolean;
  worst: number;
  calls: number;
}

/**
 * All libraries on one case: validate each result, warm up, then `reps` interleaved runs
 * (run r times every library once, starting with library r mod n), so that load from other
 * processes falls on all of them alike. Per library: the median over runs of ms per call.
 */
async function timeShape(libs: readonly MatmulLibrary[], c: MatmulCase, ops: Operands, o: { warmup: number; reps: number; minMs: number }): Promise<Timing[]> {
  const prepared = libs.map((lib) => lib.prepare(c, ops));
  try {
    const out: Timing[] = [];
    const calls: number[] = [];
    for (const p of prepared) {
      const v = validate(c, ops, await p.result());
      out.push({ ms: NaN, ok: v.ok, worst: v.worst, calls: 0 });
      let last = Infinity;
      for (let i = 0; i < o.warmup && v.ok; i++) {
        const t0 = performance.now();
        await p.call();
        last = performance.now() - t0;
      }
      calls.push(Math.max(1, Math.ceil(o.minMs / Math.max(last, 1e-3))));
    }
    const perCall: number[][] = libs.map(() => []);
    for (let r = 0; r < o.reps; r++)
      for (let q = 0; q < libs.length; q++) {
        const j = (r + q) % libs.length;
        if (!out[j]!.ok) continue;
        const t0 = performance.now();
        for (let i = 0; i < calls[j]!; i++) await prepared[j]!.call();
        perCall[j]!.push((performance.now() - t0) / calls[j]!);
      }
    return out.map((t, j) => (t.ok ? { ...t, ms: median(perCall[j]!), calls: calls[j]! } : t));
  } finally {
    for (const p of prepared) p.dispose();
  }
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.help || flags.h) {
    console.log('usage: node scripts/run-ts.mjs bench/peers/cpu-matmul.ts [--libs alphadrop,wasm,tfjs,jax] [--shapes square,mlp] [--warmup 2] [--reps 5] [--min-ms 250] [--workers N]');
    return 0;
  }
  const o = { warmup: numberFlag(flags, 'warmup', 2), reps: numberFlag(flags, 'reps', 5), minMs: numberFlag(flags, 'min-ms', 250) };
  const groups = listFlag(flags, 'shapes', ['square', 'mlp']);
  const cases = [...SQUARE, ...MLP].filter((c) => groups.includes(c.group));
  const libs: MatmulLibrary[] = [];
  // alphadrop first: the ratios are against it
  const keys = listFlag(flags, 'libs', ['alphadrop', 'wasm', 'tfjs', 'jax']).sort((a, b) => Number(b === 'alphadrop') - Number(a === 'alphadrop'));
  for (const k of keys) {
    if (k === 'alphadrop') libs.push(alphadropMatmul(await startCpuThreads(flags.workers === undefined ? undefined : numberFlag(flags, 'workers', 0))));
    else if (k === 'wasm') {
      // one thread, then (with a worker per further core) all of them; the workers start now, untimed
      const workers = availableParallelism() - 1;
      configureWasmThreads({ workers });
      if ((await wasmThreadsReady()) < workers) throw new Error('the Wasm worker threads did not start');
      libs.push(wasmMatmul(0));
      if (workers > 0) libs.push(wasmMatmul(workers));
    } else if (k === 'tfjs') {
      const tf = await loadTfjsCpu();
      tf.enableProdMode();
      if (!(await tf.setBackend('cpu'))) throw new Error("tf.setBackend('cpu') failed");
      libs.push(tfjsMatmul(tf));
    } else if (k === 'jax') libs.push(jaxMatmul(await initJax('wasm')));
    else throw new Error(`unknown library '${k}' (expected alphadrop, wasm, tfjs, jax)`);
  }
  const hasOurs = libs[0]?.name === 'alphadrop';
  console.log(`machine: ${machineName()}`);
  for (const lib of libs) console.log(`  ${lib.name.padEnd(15)} ${lib.detail}`);
  console.log(`f32; each result checked against float64 on 204 entries (|err| ≤ 1e-5·Σ|a·b|) before timing; median of ${o.reps} interleaved runs of ≥ ${o.minMs} ms; ${loadNote()} at start\n`);

  const rows: string[][] = [];
  let failed = false;
  for (const [ci, c] of cases.entries()) {
    const ops = makeOperands(c, 1000 + ci);
    const results = await timeShape(libs, c, ops, o);
    results.forEach((t, i) => {
      if (t.ok) return;
      failed = true;
      console.log(`  ${libs[i]!.name} FAILED validation on ${c.role} ${c.M}×${c.K}×${c.N} ${form(c)}: worst relative error ${t.worst.toExponential(2)}`);
    });
    const base = hasOurs ? results[0]!.ms : NaN;
    const row = [c.role, `${c.M}×${c.K}×${c.N}`, form(c)];
    results.forEach((t, i) => {
      row.push(fmt(t.ms, 3), fmt(gflop(c) / (t.ms / 1e3), 2));
      if (hasOurs && i > 0) row.push(ratio(t.ms, base));
    });
    rows.push(row);
    console.log(`  ${c.role} ${c.M}×${c.K}×${c.N} ${form(c)}: ${libs.map((l, i) => `${l.name} ${fmt(results[i]!.ms, 3)} ms`).join(', ')}`);
  }
  const header = ['shape', 'M×K×N', 'op'];
  libs.forEach((lib, i) => {
    header.push(`${lib.name} ms`, 'GFLOP/s');
    if (hasOurs && i > 0) header.push('vs ours');
  });
  console.log(`\nratio "vs ours" = library's time / alphadrop's (> 1: alphadrop is faster)\n${formatTable(header, rows, 3)}`);
  console.log(`machine: ${machineName()}; ${loadNote()} at end`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
