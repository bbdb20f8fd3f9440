// End-to-end CPU benchmark: one BB-α dropout training step of an MLP (mlp-problem.ts) in
// alphadrop, TensorFlow.js (cpu backend) and jax-js (Wasm backend, jit), side by side in
// one process on the same deterministic problem. The protocol follows ../shared/peers.
//
//   node scripts/run-ts.mjs bench/step/cpu-step.ts [--model small|large] [--libs alphadrop,where,fused,wasm,fused-wasm,tfjs,jax]
//        [--warmup 3] [--steps 20] [--reps 5] [--min-ms 2000] [--max-steps 200]
//        [--workers N] [--no-check] [--check-only] [--full-check] [--force]
//        [--profile]  (instead of timing: alphadrop's time per primitive over --steps 10 steps)
//
// First a check, the benchmark's own validation: the float64 reference's gradients against
// central differences; then every library's step, run once with fixed masks (alphadrop's
// also with its own random masks, recomputed on the host), against the float64 reference
// (loss to 1e-4 relative, the updated parameters of a step with lr = 1, i.e. W − g, to 1e-5
// of the gradient scale) on a tiny MLP and on the benchmarked model itself; and the
// statistics of alphadrop's random dropout masks. Only then the timing: warm-up steps, then
// `reps` interleaved runs of ≥ `steps` back-to-back steps per library (the loss read every
// 10 steps and at the end of a run), the median ms/step per library.

import { availableParallelism } from 'node:os';
import { configureWasmThreads, getBackend, memory, setBackend, tidy, wasmThreadStats, wasmThreadsReady } from '@alphadrop/core';
import { ProfilingBackend } from './profile-backend.js';
import { fmt, listFlag, loadNote, machineName, numberFlag, parseFlags, processCpuMs, type Flags } from '../harness/cli.js';
import {
  KEEP,
  MODELS,
  makeProblem,
  referenceGradientSelfCheck,
  type MlpConfig,
  type StepLibrary,
} from './mlp-problem.js';
import { alphadropLibrary, cpuThreadStats, dropoutMask, startCpuThreads } from './step-alphadrop.js';
import { onCpuKind } from './step-alphadrop-wasm.js';
import { checkOne, formatChecks, type CheckRow } from './check-step.js';
import { STEP_TABLE_NOTE, formatStepTimings, timeLibraries } from './step-table.js';
import { jaxWasmLibrary } from '../peers/step-jax.js';
import { tfjsCpuLibrary } from '../peers/step-tfjs.js';

/**
 * --libs keys: alphadrop (composed ops, dropout by mul: the ratio base), where (composed ops,
 * dropout by where), fused (alphadrop's fused primitives), wasm and fused-wasm (alphadrop and
 * fused on the opt-in cpuBackend('wasm'): f32 matmuls, Philox and dropout on the WebAssembly
 * SIMD kernels, on the calling thread alone), wasm-mt and fused-wasm-mt (the same with one
 * Wasm worker thread per further core), tfjs, jax.
 */
const LIB_KEYS = ['alphadrop', 'where', 'fused', 'wasm', 'fused-wasm', 'wasm-mt', 'fused-wasm-mt', 'tfjs', 'jax'] as const;
const DEFAULT_LIBS = ['alphadrop', 'fused', 'tfjs', 'jax'];
type LibKey = (typeof LIB_KEYS)[number];

const cores = availableParallelism();

async function loadLibraries(keys: readonly string[]): Promise<StepLibrary[]> {
  const libs: StepLibrary[] = [];
  for (const k of keys) {
    if (!(LIB_KEYS as readonly string[]).includes(k)) throw new Error(`unknown library '${k}' (expected ${LIB_KEYS.join(', ')})`);
    const key = k as LibKey;
    if (key === 'alphadrop') libs.push(alphadropLibrary({ variant: 'composed', dropout: 'mul' }));
    else if (key === 'where') libs.push(alphadropLibrary({ variant: 'composed', dropout: 'where' }));
    else if (key === 'fused') libs.push(alphadropLibrary({ variant: 'fused' }));
    else if (key === 'wasm') libs.push(onCpuKind(alphadropLibrary({ variant: 'composed', dropout: 'mul' }), 'wasm', 'alphadrop wasm', 0));
    else if (key === 'fused-wasm') libs.push(onCpuKind(alphadropLibrary({ variant: 'fused' }), 'wasm', 'alphadrop fused wasm', 0));
    else if (key === 'wasm-mt') libs.push(onCpuKind(alphadropLibrary({ variant: 'composed', dropout: 'mul' }), 'wasm', `alphadrop wasm ${cores}t`, cores - 1));
    else if (key === 'fused-wasm-mt') libs.push(onCpuKind(alphadropLibrary({ variant: 'fused' }), 'wasm', `alphadrop fused wasm ${cores}t`, cores - 1));
    else if (key === 'tfjs') libs.push(await tfjsCpuLibrary());
    else libs.push(await jaxWasmLibrary());
  }
  return libs;
}

// ---------------------------------------------------------------- validation

interface MaskStats {
  keepFraction: number;
  /** Fraction of rows equal to the previous row (tiled inputs must get their own masks). */
  repeatedRows: number;
  /** Fraction of positions where two masks (other layer, other step) agree: ≈ 0.5 if independent. */
  agreeOtherLayer: number;
  agreeOtherStep: number;
  ok: boolean;
}

/** The masks the timed alphadrop step draws, for (step, layer) = (0, 0), (0, 1), (1, 0). */
function alphadropMaskStats(rows: number, cols: number): MaskStats {
  const read = (step: number, layer: number): Uint8Array => {
    const m = tidy(() => dropoutMask(rows, cols, 2024, step, layer));
    const v = m.dataSync() as Uint8Array;
    m.dispose();
    return v;
  };
  const a = read(0, 0);
  const otherLayer = read(0, 1);
  const otherStep = read(1, 0);
  let kept = 0;
  for (const v of a) kept += v;
  let repeated = 0;
  for (let r = 1; r < rows; r++) {
    let same = true;
    for (let c = 0; c < cols && same; c++) same = a[(r - 1) * cols + c] === a[r * cols + c];
    if (same) repeated++;
  }
  const agree = (b: Uint8Array) => {
    let n = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) n++;
    return n / a.length;
  };
  const s = {
    keepFraction: kept / a.length,
    repeatedRows: repeated / (rows - 1),
    agreeOtherLayer: agree(otherLayer),
    agreeOtherStep: agree(otherStep),
  };
  const near = (v: number, target: number) => Math.abs(v - target) < 0.01;
  return { ...s, ok: near(s.keepFraction, KEEP) && s.repeatedRows < 0.01 && near(s.agreeOtherLayer, 0.5) && near(s.agreeOtherStep, 0.5) };
}

async function validate(libs: readonly StepLibrary[], model: 'small' | 'large', fullCheck: boolean): Promise<boolean> {
  const fd = referenceGradientSelfCheck();
  const fdOk = fd < 1e-6;
  console.log(`float64 reference vs central differences: max |Δgrad| = ${fd.toExponential(2)} ${fdOk ? 'ok' : 'FAIL'}`);
  const cfg = MODELS[model];
  const cases: [MlpConfig, string][] = [[MODELS.tiny, `tiny ${MODELS.tiny.sizes.join('-')}, M=${MODELS.tiny.M} K=${MODELS.tiny.K}`]];
  if (fullCheck) cases.push([cfg, `${model} ${cfg.sizes.join('-')}, M=${cfg.M} K=${cfg.K}`]);
  const rows: CheckRow[] = [];
  for (const [c, label] of cases)
    for (const lib of libs)
      for (const masks of lib.firstStepMasks ? (['fixed', 'random'] as const) : (['fixed'] as const)) {
        const t0 = performance.now();
        rows.push(await checkOne(lib, c, label, 99, masks));
        if (c !== MODELS.tiny) console.log(`  checked ${lib.name} on ${label} (${masks} masks) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      }
  console.log(`\n${formatChecks(rows)}`);
  let ok = fdOk && rows.every((r) => r.ok);
  if (libs.some((l) => l.name === 'alphadrop')) {
    const s = alphadropMaskStats(cfg.M * cfg.K, cfg.sizes[0]!);
    console.log(
      `alphadrop random dropout [${cfg.M * cfg.K}, ${cfg.sizes[0]}]: keep ${s.keepFraction.toFixed(4)}, ` +
        `rows equal to the previous ${s.repeatedRows.toFixed(4)}, agreement with the next layer's mask ${s.agreeOtherLayer.toFixed(4)}, ` +
        `with the next step's ${s.agreeOtherStep.toFixed(4)} ${s.ok ? 'ok' : 'FAIL'}`,
    );
    ok &&= s.ok;
  }
  return ok;
}

// ---------------------------------------------------------------- timing

// ---------------------------------------------------------------- profile

/** Where alphadrop's step spends its time: every primitive timed through a wrapping backend. */
async function profileAlphadrop(libs: readonly StepLibrary[], cfg: MlpConfig, flags: Flags): Promise<void> {
  const steps = numberFlag(flags, 'steps', 10);
  const original = getBackend();
  for (const alphadrop of libs.filter((l) => l.name.startsWith('alphadrop'))) {
    let profiler = new ProfilingBackend(original);
    const lib = alphadrop.rebase?.((inner) => (profiler = new ProfilingBackend(inner))) ?? alphadrop;
    setBackend(profiler);
    const runner = lib.build(makeProblem(cfg, 42, false), false);
    try {
      for (let i = 0; i < numberFlag(flags, 'warmup', 3); i++) runner.step();
      await runner.readLoss();
      profiler.reset();
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) runner.step();
      await runner.readLoss();
      const ms = (performance.now() - t0) / steps;
      console.log(`\n${lib.name}: ${fmt(ms)} ms/step wall over ${steps} steps (${loadNote()})\n${profiler.report(steps)}`);
    } finally {
      runner.dispose();
      setBackend(original);
    }
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.help || flags.h) {
    console.log(
      'usage: node scripts/run-ts.mjs bench/step/cpu-step.ts [--model small|large] [--libs alphadrop,where,fused,wasm,fused-wasm,tfjs,jax]\n' +
        '  [--warmup 3] [--steps 20] [--reps 5] [--min-ms 2000] [--max-steps 200]\n' +
        '  [--workers N (alphadrop CPU worker threads)] [--no-check] [--check-only] [--full-check] [--force]\n' +
        '  [--profile (instead of timing: alphadrop time per primitive over --steps 10 steps)]',
    );
    return 0;
  }
  const model = String(flags.model ?? 'small');
  if (model !== 'small' && model !== 'large') throw new Error(`--model small|large, got ${model}`);
  const cfg = MODELS[model];
  console.log(`machine: ${machineName()}`);
  console.log(
    `step: BB-α (α=0.5, −log K kept) dropout MLP ${cfg.sizes.join('-')}, M=${cfg.M} inputs × K=${cfg.K} samples = ${cfg.M * cfg.K} rows, ` +
      `keep ${KEEP} before every Linear, ReLU, wd 1e-6, SGD lr 0.01; f32`,
  );
  const libs = await loadLibraries(listFlag(flags, 'libs', DEFAULT_LIBS));
  const threads = libs.some((l) => l.name.startsWith('alphadrop'))
    ? await startCpuThreads(flags.workers === undefined ? undefined : numberFlag(flags, 'workers', 0))
    : '';
  if (libs.some((l) => l.name.includes('wasm') && l.name.startsWith('alphadrop'))) {
    // Start the Wasm worker threads now, so that no timed step pays for their start.
    configureWasmThreads({ workers: cores - 1 });
    console.log(`Wasm kernels: ${await wasmThreadsReady()} worker thread(s) ready beside the caller${wasmThreadStats().unavailable ? ` (${wasmThreadStats().unavailable})` : ''}`);
  }
  for (const lib of libs) console.log(`  ${lib.name.padEnd(15)} ${lib.detail}${lib.name.startsWith('alphadrop') && !lib.name.includes('wasm') ? `; ${threads}` : ''}`);

  if (!flags['no-check']) {
    // The check on the benchmarked model itself costs a float64 pass; default for small only.
    const full = flags['full-check'] === true || model === 'small';
    const ok = await validate(libs, model, full);
    if (!ok && !flags.force) {
      console.log('\nvalidation FAILED: not timing (pass --force to time anyway)');
      return 1;
    }
  }
  if (flags['check-only']) return 0;
  if (flags.profile) {
    await profileAlphadrop(libs, cfg, flags);
    return 0;
  }

  console.log(`\ntiming (${loadNote()} at start)`);
  const memBefore = memory().tensors;
  const rows = await timeLibraries(libs, cfg, {
    warmup: numberFlag(flags, 'warmup', 3),
    minSteps: numberFlag(flags, 'steps', 20),
    minMs: numberFlag(flags, 'min-ms', 2000),
    maxSteps: numberFlag(flags, 'max-steps', 200),
    repetitions: numberFlag(flags, 'reps', 5),
    lossEvery: 10,
    cpuClock: processCpuMs,
  }, (lib, r, ms) => console.log(`  rep ${r + 1}: ${lib} ${fmt(ms)} ms/step (${loadNote()})`));
  console.log(`\n${model} model ${cfg.sizes.join('-')}, ${cfg.M * cfg.K} rows: ${STEP_TABLE_NOTE}; CPU ms/step counts all threads\n${formatStepTimings(rows)}`);
  const pool = cpuThreadStats();
  if (pool)
    console.log(
      `alphadrop worker pool: ${pool.readyWorkers} ready, ${pool.parallelJobs} parallel matmuls, ${pool.workerChunks} chunks done by workers${pool.disabled ? ', DISABLED (fell back to one thread)' : ''}`,
    );
  const wasmPool = wasmThreadStats();
  if (libs.some((l) => l.name.includes('wasm') && l.name.startsWith('alphadrop')))
    console.log(`alphadrop Wasm threads: ${wasmPool.parallelJobs} kernels run across threads, ${wasmPool.workerPieces} pieces done by workers`);
  console.log(`machine: ${machineName()}; ${loadNote()} at end`);
  const memAfter = memory().tensors;
  if (memAfter !== memBefore) console.log(`warning: alphadrop live tensors ${memBefore} before timing, ${memAfter} after`);
  return 0;
}

process.exitCode = await main();
