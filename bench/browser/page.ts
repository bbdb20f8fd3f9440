// The browser benchmark's page (run.ts drives it in headless Chromium): on navigator.gpu,
//   (a) the matmul ladder: every version of bench/matmul/rungs.ts (its first config, or all
//       with allConfigs) on a few shapes, each validated against the float64 reference
//       before it is timed, printed in the Node ladder's line format (matmul/cases.ts);
//   (b) the BB-α training step of bench/step on one problem: alphadrop on WebGPU (composed
//       ops and fused primitives), TensorFlow.js on tfjs-backend-webgpu and jax-js on its
//       WebGPU backend, each checked against the float64 step (check-step.ts) before the
//       interleaved timing protocol, printed in cpu-step.ts's tables.
// Everything the page prints goes to the console, which the driver copies to its stdout. A
// peer that cannot run here gets a row saying why; the run goes on.

import { cpuBackend, setBackend } from '@alphadrop/core';
import { createWebGpuBackend, type AcquiredDevice } from '@alphadrop/kernels';
import { validateAndTime, unfit, type HarnessOptions } from '../harness/ladder.js';
import { randomF32 } from '../harness/data.js';
import { pageDevice, pageOptions, runPage } from '../harness/page.js';
import { STEP_TABLE_NOTE, formatStepTimings, timeLibraries, type TimingRow } from '../step/step-table.js';
import { checkOne, formatChecks, type CheckRow } from '../step/check-step.js';
import { MODELS, KEEP, type MlpConfig, type StepLibrary } from '../step/mlp-problem.js';
import { alphadropLibrary } from '../step/step-alphadrop.js';
import { DROP, RUNG_HEADER, asF32, dataOf, formatRung, geometry, mk, planOf, reference, type Case, type Operands, type Result } from '../matmul/cases.js';
import { LADDER, type ConfigContext } from '../matmul/rungs.js';
import { loadPagePeers, type PeerVersions } from './peers.js';

export interface BrowserBenchOptions extends PeerVersions {
  parts: readonly ('matmul' | 'step')[];
  /** Matmul shapes as "MxKxN" with an optional " NT"/" TN"/" TT"; empty: the default few. */
  shapes: readonly string[];
  /** The ladder's versions to run (v1..v5, auto); empty: all. */
  ladderVersions: readonly string[];
  allConfigs: boolean;
  minMs: number;
  windows: number;
  maxReps: number;
  /** The step's problem and libraries (alphadrop, fused, tfjs, jax). */
  step: { M: number; K: number; sizes: readonly number[]; libs: readonly string[]; warmup: number; steps: number; reps: number; minMs: number; maxSteps: number };
}

export interface BrowserBenchResult {
  adapter: string;
  features: string[];
  failures: string[];
}

/** Small enough for SwiftShader: edges, a transpose each way, a batch. */
const DEFAULT_SHAPES: readonly Case[] = [
  mk('odd', 33, 20, 17),
  mk('odd', 130, 78, 10, false, false, 1, true, '130x78x10 (fwd, N=10)'),
  mk('odd', 78, 130, 12, true, false, 1, true, '78x130x12 TN (dW)'),
  mk('odd', 130, 12, 68, false, true, 1, true, '130x12x68 NT (dX)'),
  mk('odd', 9, 5, 4, false, false, 3, true),
  mk('square', 64, 64, 64),
];

/** "256x256x256", "784x1280x100 TN": a case. */
function parseShape(s: string): Case {
  const m = /^\s*(\d+)x(\d+)x(\d+)(?:\s*[: ]\s*([NT])([NT]))?\s*$/.exec(s);
  if (!m) throw new Error(`--shapes: expected MxKxN with an optional NN|NT|TN|TT, got '${s}'`);
  const [M, K, N] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return mk(M === K && K === N ? 'square' : 'mlp', M, K, N, m[4] === 'T', m[5] === 'T');
}

async function matmulLadder(acquired: AcquiredDevice, o: BrowserBenchOptions, failures: string[]): Promise<void> {
  const { device } = acquired;
  const info = acquired.adapterInfo as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  // v5 is specialised for one subgroup size: only where the adapter reports a single one (as in Node)
  const sg = acquired.features.includes('subgroups') && info.subgroupMinSize && info.subgroupMinSize === info.subgroupMaxSize ? info.subgroupMinSize : 0;
  const cases = o.shapes.length ? o.shapes.map(parseShape) : DEFAULT_SHAPES;
  const rungs = LADDER.filter((r) => !o.ladderVersions.length || o.ladderVersions.includes(r.version));
  const opts: HarnessOptions = { minMs: o.minMs, maxReps: o.maxReps, windows: o.windows, tol: 1e-5 };
  const clock = device.features.has('timestamp-query') ? "the GPU's timestamps" : 'the host clock';
  console.log(`\n(a) matmul ladder: ${o.allConfigs ? 'every config' : 'the first config that fits each shape'} of ${rungs.map((r) => r.version).join(', ')}${sg ? '' : ' (v5: no single subgroup size)'}; windows of ≥ ${o.minMs} ms on ${clock}, median of ${o.windows}; tol 1e-5`);
  console.log(RUNG_HEADER);
  let valid = 0;
  for (const c of cases) {
    const g = geometry(c);
    const ops: Operands = { a: randomF32(c.M * c.K * (c.aBatched ? c.batch : 1), 11), b: randomF32(c.K * c.N, 12), bias: randomF32(c.N, 13) };
    const ref = reference(c, ops, c.fusion, DROP);
    const flop = 2 * c.M * c.N * c.K * c.batch;
    const ctx: ConfigContext = { subgroupSize: sg, maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize, splits: [], geometry: g };
    for (const rung of rungs) {
      if (rung.needs === 'subgroups' && !sg) continue;
      const configs = rung.configs(ctx);
      let built = 0;
      for (const cfg of configs) {
        if (built > 0 && !o.allConfigs) break;
        const name = rung.label(cfg);
        let prog;
        try {
          prog = rung.build(g, cfg, c.fusion);
        } catch {
          continue; // a config that does not fit this shape (e.g. a subgroup tile that does not split it), as in the Node ladder
        }
        built++;
        const base: Result = {
          version: rung.version, config: name, shape: c.label, kind: c.kind, M: c.M, K: c.K, N: c.N, transA: c.transA, transB: c.transB, batch: c.batch,
          workgroups: prog.workgroups, threads: prog.threads, status: 'skipped',
        };
        const skip = unfit(device, prog.threads, prog.workgroupBytes, prog.workgroups);
        if (skip) {
          console.log(formatRung({ ...base, status: 'unfit', note: skip }));
          continue;
        }
        const res = await validateAndTime(device, planOf(prog, `${rung.version}/${name}`, c.fusion), dataOf(c, ops, c.fusion), ref, asF32, opts);
        if (res.status === 'ok') valid++;
        else failures.push(`matmul ${rung.version} ${name} ${c.label}: ${res.status} ${res.note ?? ''}`);
        console.log(formatRung({ ...base, ...res, ...(res.msPerCall !== undefined ? { gflops: flop / (res.msPerCall * 1e6) } : {}) }));
      }
    }
  }
  console.log(`${valid} cases validated and timed, ${failures.length} failures`);
}

/** The step's libraries; a peer that cannot load here becomes a row with the reason. */
async function stepLibraries(keys: readonly string[]): Promise<{ libs: StepLibrary[]; missing: TimingRow[] }> {
  const libs: StepLibrary[] = [];
  const missing: TimingRow[] = [];
  const peers = keys.some((k) => k === 'tfjs' || k === 'jax') ? await loadPagePeers(keys) : [];
  for (const k of keys) {
    // the step libraries of bench/step, on the page's WebGPU backend (set as the core's backend)
    if (k === 'alphadrop') libs.push({ ...alphadropLibrary({ variant: 'composed' }), detail: '@alphadrop/core on its WebGPU backend, composed ops, dropout h·where(mask, 2, 0)' });
    else if (k === 'fused') libs.push({ ...alphadropLibrary({ variant: 'fused' }), detail: '@alphadrop/core on its WebGPU backend, fused linear(dropout, matmul, bias, relu) + optimizerUpdate' });
    else if (k === 'tfjs' || k === 'jax') {
      const p = peers.find((x) => x.key === k)!;
      if ('lib' in p) libs.push(p.lib);
      else missing.push({ name: p.name, timing: null, liveBefore: NaN, liveAfter: NaN, note: p.error });
    } else throw new Error(`--libs: unknown library '${k}' (expected alphadrop, fused, tfjs, jax)`);
  }
  return { libs, missing };
}

async function stepBench(acquired: AcquiredDevice, o: BrowserBenchOptions, failures: string[]): Promise<void> {
  const s = o.step;
  const cfg: MlpConfig = { M: s.M, K: s.K, sizes: s.sizes };
  // alphadrop's rows run on the page's device; tfjs and jax-js take their own from navigator.gpu
  setBackend(createWebGpuBackend(acquired.device, { adapterInfo: acquired.adapterInfo, keepAlive: [acquired.adapter] }));
  console.log(
    `\n(b) step: BB-α (α=0.5, −log K kept) dropout MLP ${cfg.sizes.join('-')}, M=${cfg.M} inputs × K=${cfg.K} samples = ${cfg.M * cfg.K} rows, ` +
      `keep ${KEEP} before every Linear, ReLU, wd 1e-6, SGD lr 0.01; f32`,
  );
  const { libs, missing } = await stepLibraries(s.libs);
  for (const lib of libs) console.log(`  ${lib.name.padEnd(18)} ${lib.detail}`);
  for (const m of missing) console.log(`  ${m.name.padEnd(18)} cannot run here: ${m.note}`);

  // validation, as cpu-step.ts: one step with lr = 1 against float64, on the tiny MLP and the benchmarked one
  const tiny = `tiny ${MODELS.tiny.sizes.join('-')}, M=${MODELS.tiny.M} K=${MODELS.tiny.K}`;
  const own = `${cfg.sizes.join('-')}, M=${cfg.M} K=${cfg.K}`;
  const rows: CheckRow[] = [];
  const valid: StepLibrary[] = [];
  const untimed: TimingRow[] = [...missing];
  for (const lib of libs) {
    let ok = true;
    try {
      for (const [c, label] of [[MODELS.tiny, tiny], [cfg, own]] as const)
        for (const masks of lib.firstStepMasks ? (['fixed', 'random'] as const) : (['fixed'] as const)) {
          const r = await checkOne(lib, c, label, 99, masks);
          rows.push(r);
          ok &&= r.ok;
        }
    } catch (e) {
      ok = false;
      untimed.push({ name: lib.name, timing: null, liveBefore: NaN, liveAfter: NaN, note: `its step failed: ${e instanceof Error ? e.message : String(e)}` });
    }
    if (ok) valid.push(lib);
    else {
      failures.push(`step ${lib.name}: validation failed`);
      if (!untimed.some((u) => u.name === lib.name)) untimed.push({ name: lib.name, timing: null, liveBefore: NaN, liveAfter: NaN, note: 'validation failed' });
    }
  }
  console.log(`\n${formatChecks(rows)}`);

  console.log('\ntiming');
  const timed = valid.length
    ? await timeLibraries(valid, cfg, { warmup: s.warmup, minSteps: s.steps, minMs: s.minMs, maxSteps: s.maxSteps, repetitions: s.reps, lossEvery: 10 }, (lib, r, ms) =>
        console.log(`  rep ${r + 1}: ${lib} ${ms.toFixed(2)} ms/step`),
      )
    : [];
  console.log(`\n${cfg.sizes.join('-')} model, ${cfg.M * cfg.K} rows: ${STEP_TABLE_NOTE}; a page has no CPU clock\n${formatStepTimings([...timed, ...untimed])}`);
}

runPage(async (): Promise<BrowserBenchResult> => {
  const o = pageOptions<BrowserBenchOptions>() as BrowserBenchOptions;
  const { acquired, adapter } = await pageDevice();
  console.log(`adapter: ${adapter}; device features: ${acquired.features.join(', ') || 'none'}; ${navigator.userAgent}`);
  const failures: string[] = [];
  if (o.parts.includes('matmul')) await matmulLadder(acquired, o, failures);
  if (o.parts.includes('step')) await stepBench(acquired, o, failures);
  setBackend(cpuBackend());
  return { adapter, features: acquired.features, failures };
});
