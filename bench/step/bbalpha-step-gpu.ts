// One BB-α training step end to end on WebGPU (issue protocol, ../shared/peers): x [128, 784]
// uniform, labels in [0, 10), M = 128 inputs, K = 10 samples; per-input BB-α with α = 0.5
// keeping −log K; + 1e-6·Σ‖W‖² on kernels (the optimizer's L2); SGD lr 0.01. Models:
//   small  784-100-100-10 and large 784-1000-1000-1000-10: inputs tiled K times, inverted
//          dropout 0.5 before every Linear (input included), ReLU;
//   cnn    the paper's CNN (spec §b.3, nn's paperCnn): conv 32@3×3 → conv 32@3×3 → max-pool 2
//          → flatten → dropout → dense 100 → dropout → dense 10. The convolutions have no
//          dropout, so the features are computed once per image and only the dense head runs
//          on M·K rows (cnn-step-model.ts; as ../shared/peers/torch_graph.py does).
// Protocol: warm-up (10 steps, then a 100-step window like the timed one), then ≥ 100 back-to-back steps, each one submit, the loss read
// asynchronously every 10 steps, synchronised at the end: host ms/step (and the host's encode
// time). Before timing, the first step's loss is checked against the CPU oracle on the same
// masks and weights. Then, where the device has 'timestamp-query', the same number of steps
// again with every dispatch timestamped (gpu-time.ts): GPU ms/step = Σ kernel time / steps,
// so whether the step is bound by the host or by the GPU shows; else 'gpu time: n/a'.
// With --finiteness the step is fit's: each step also leaves its finiteness flag on the device
// and every 10th step reads the loss and the ten flags in one asynchronous read.
// --traced runs the step as fit does on WebGPU: a TracedTrainStep (nn), recorded once and
// replayed (finiteness flag included); its GPU time is the replayed pass's timestamps.
// --mode eager|traced|both picks the runs (both: eager with the flag, then traced).
//   node step.mjs [--model small|large|cnn|all] [--mode both] [--steps 100] [--warmup 10] [--finiteness] [--traced] [--json out.json]
// (`--model both` is the old name of `all`, which is the default.)

import { ValueError, concat, cpuBackend, getBackend, reshape, setBackend, tensor, tidy, type Tensor } from '@alphadrop/core';
import { init, type WebGpuBackend } from '@alphadrop/kernels';
import { Optimizer, TracedTrainStep, mlp, trainStep, type LossFn, type Module } from '@alphadrop/nn';
import { bbAlphaLoss, mcForward } from '@alphadrop/bbalpha';
import { writeFileSync } from 'node:fs';
import { cnnLoss, splitPaperCnn } from './cnn-step-model.js';
import { describeGpuTime, gpuTimePerStep } from './gpu-time.js';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? process.argv[i + 1]! : d;
};
const SIZES = { small: [784, 100, 100, 10], large: [784, 1000, 1000, 1000, 10] } as const;
const MODELS = ['small', 'large', 'cnn'] as const;
type Model = (typeof MODELS)[number];
const M = 128, K = 10, ALPHA = 0.5;

function problem(seed: number) {
  let s = seed >>> 0;
  const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  const x = new Float32Array(M * 784).map(() => r());
  const y = Int32Array.from({ length: M }, () => Math.floor(r() * 10) % 10);
  return { x, y };
}

const mlpLoss: LossFn = (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, K, ctx), yb, ALPHA);

/** The model (weights a pure function of the seed, any backend) and its step's loss. */
function network(model: Model): { net: Module; loss: LossFn } {
  if (model === 'cnn') {
    const net = splitPaperCnn({ dropout: 0.5, seed: 1 });
    return { net, loss: cnnLoss(net, K, ALPHA) };
  }
  return { net: mlp(SIZES[model], { dropout: 0.5, seed: 1 }), loss: mlpLoss };
}

function setup(model: Model) {
  const { net, loss } = network(model);
  const optimizer = new Optimizer(net, { rule: 'sgd', lr: 0.01, weightDecay: 1e-6 });
  const p = problem(1234);
  return { net, loss, optimizer, x: tensor(p.x, [M, 784]), y: tensor(p.y, [M]) };
}

async function firstLoss(model: Model): Promise<number> {
  const s = setup(model);
  const l = trainStep(s.net, s.optimizer, s.loss, s.x, s.y, 7, { keepLoss: true }).loss!;
  const v = (await l.data())[0]!;
  l.dispose();
  s.net.dispose();
  s.optimizer.dispose();
  return v;
}

async function bench(model: Model, gpu: WebGpuBackend, steps: number, warmup: number, traced: boolean, withFlag: boolean) {
  // validation: same weights, masks and data on the CPU oracle and the GPU
  setBackend(cpuBackend('fast'));
  const want = await firstLoss(model);
  setBackend(gpu);
  const got = await firstLoss(model);
  const relErr = Math.abs(got - want) / Math.abs(want);
  if (!(relErr < 1e-3)) throw new Error(`${model}: GPU loss ${got} vs CPU ${want} (rel err ${relErr})`);

  const s = setup(model);
  const tracedStep = traced ? new TracedTrainStep(s.net, s.optimizer, s.loss, 7) : null;
  let flags: Tensor[] = [];
  /** One step as the benchmark times it; returns the pending read, if this step reads. */
  const step = (read: boolean): Promise<unknown> | null => {
    let r: { loss: Tensor | null; finite: Tensor | null };
    if (tracedStep) {
      r = tracedStep.run(s.x, s.y);
      if (!read) {
        r.loss!.dispose();
        r.loss = null;
      }
    } else r = trainStep(s.net, s.optimizer, s.loss, s.x, s.y, 7, { keepLoss: read, finiteness: withFlag });
    if (r.finite) flags.push(r.finite);
    if (!r.loss) return null;
    const l = r.loss;
    const all = tidy(() => concat([reshape(l, [1]), ...flags]));
    l.dispose();
    flags.forEach((f) => f.dispose());
    flags = [];
    gpu.flush();
    return all.data().then((d) => {
      all.dispose();
      if (!Number.isFinite(d[0]!) || d.subarray(1).some((f) => f !== 0)) throw new Error(`${model}: non-finite step`);
    });
  };
  /**
   * `n` back-to-back steps, a read every `readEvery` (0: none), optionally with a turn of the
   * event loop after each read; host ms per step of the issuing loop, and wall ms per step
   * once the device and the reads are done.
   */
  const window = async (n: number, readEvery: number, yieldAfterRead = false) => {
    const reads: Promise<unknown>[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const r = step(readEvery > 0 && i % readEvery === readEvery - 1);
      if (!r) continue;
      reads.push(r);
      if (yieldAfterRead) await new Promise((resolve) => setImmediate(resolve));
    }
    const encodeMs = (performance.now() - t0) / n;
    await gpu.synchronize();
    await Promise.all(reads);
    return { encodeMs, ms: (performance.now() - t0) / n };
  };
  for (let i = 0; i < warmup; i++) await step(i === warmup - 1);
  // then a window like the timed one (its reads' staging buffers, the clocks): on the H200
  // the first such window ran up to 1.8× slower than the later ones (calls 8 and 9)
  await window(Math.min(steps, 100), 10);
  if (tracedStep && !tracedStep.replaying) throw new Error(`${model}: the traced step does not replay (${tracedStep.eagerReason})`);
  const c0 = { ...gpu.counters };
  const bg0 = [gpu.pipelines.bindGroupHits, gpu.pipelines.bindGroupMisses];
  if (tracedStep) {
    const r = tracedStep.run(s.x, s.y);
    r.loss.dispose();
    r.finite.dispose();
  } else trainStep(s.net, s.optimizer, s.loss, s.x, s.y, 7, { finiteness: withFlag }).finite?.dispose();
  const bindGroups = { hits: gpu.pipelines.bindGroupHits - bg0[0]!, misses: gpu.pipelines.bindGroupMisses - bg0[1]! };
  const perStep = { bindGroups, dispatches: gpu.counters.dispatches - c0.dispatches, submits: gpu.counters.submits - c0.submits, compiles: gpu.counters.compiles - c0.compiles };
  // a replay submits what was encoded before it (nothing, here) and then itself
  if (perStep.submits !== 1) throw new Error(`${model}: expected one submit per step, got ${perStep.submits}`);
  await gpu.synchronize();
  const { encodeMs, ms } = await window(steps, 10);
  // Diagnostics of where a step's wall time goes: the same loop without any read; with a
  // turn of the event loop after each read (H200 call 9: slower for the small step); one
  // step at a time with a wait after each (latency: host + GPU + one round trip).
  const noReadMs = (await window(steps, 0)).ms;
  const yieldingMs = (await window(steps, 10, true)).ms;
  const latency: number[] = [];
  for (let i = 0; i < Math.min(steps, 50); i++) {
    const t = performance.now();
    step(false);
    await gpu.synchronize();
    latency.push(performance.now() - t);
  }
  latency.sort((a, b) => a - b);
  const syncedMs = latency[Math.floor(latency.length / 2)]!;
  // GPU time: the same steps again, every dispatch timestamped (after the host timing: the
  // profiler's pass per dispatch would perturb it)
  let profiledWallMs = 0;
  const gpuTime = await gpuTimePerStep(gpu, steps, async () => {
    profiledWallMs = (await window(steps, 10)).ms;
  });
  tracedStep?.dispose();
  s.net.dispose();
  s.optimizer.dispose();
  return {
    model, mode: traced ? 'traced' : 'eager', finiteness: traced || withFlag, msPerStep: ms, hostEncodeMsPerStep: encodeMs,
    gpuMsPerStep: gpuTime?.msPerStep ?? null, diagnostics: { noReadMsPerStep: noReadMs, yieldingMsPerStep: yieldingMs, syncedStepMedianMs: syncedMs, profiledWallMsPerStep: profiledWallMs },
    gpuTime, ...perStep, firstLoss: got, cpuFirstLoss: want,
  };
}

const chosen = arg('model', 'all');
if (chosen !== 'all' && chosen !== 'both' && !(MODELS as readonly string[]).includes(chosen))
  throw new ValueError('bbalpha-step-gpu: --model', `one of ${MODELS.join(', ')}, all (or its old name both)`, chosen);
const models: readonly Model[] = chosen === 'all' || chosen === 'both' ? MODELS : [chosen as Model];
const g = await init({ backend: 'webgpu' });
const gpu = g.backend as WebGpuBackend;
console.log(`device: ${g.description}`);
const mode = process.argv.includes('--traced') ? 'traced' : arg('mode', process.argv.includes('--finiteness') ? 'eager' : 'both');
if (!['eager', 'traced', 'both'].includes(mode)) throw new ValueError('bbalpha-step-gpu: --mode', 'eager, traced or both', mode);
const runs: { traced: boolean; flag: boolean }[] =
  mode === 'both' ? [{ traced: false, flag: true }, { traced: true, flag: true }] : [{ traced: mode === 'traced', flag: mode === 'traced' || process.argv.includes('--finiteness') }];
const results = [];
for (const m of models) for (const run of runs) {
  const r = await bench(m, gpu, Number(arg('steps', '100')), Number(arg('warmup', '10')), run.traced, run.flag);
  results.push(r);
  console.log(`alphadrop webgpu ${m} ${r.mode}${r.finiteness ? ' (with finiteness flag)' : ''}: ${r.msPerStep.toFixed(3)} ms/step (host encode ${r.hostEncodeMsPerStep.toFixed(3)} ms), ${r.dispatches} dispatches and ${r.submits} submit per step (bind groups ${r.bindGroups.hits} cached, ${r.bindGroups.misses} created); first loss ${r.firstLoss.toFixed(5)} (CPU ${r.cpuFirstLoss.toFixed(5)})`);
  console.log(`  ${describeGpuTime(r.gpuTime)}`);
  const d = r.diagnostics;
  console.log(`  without reads ${d.noReadMsPerStep.toFixed(3)} ms/step; reads with a turn of the event loop after each ${d.yieldingMsPerStep.toFixed(3)} ms/step; one step then wait (median) ${d.syncedStepMedianMs.toFixed(3)} ms; profiled run ${d.profiledWallMsPerStep.toFixed(3)} ms/step wall`);
}
const out = arg('json', '');
if (out) writeFileSync(out, JSON.stringify({ device: g.description, results }, null, 2));
void getBackend;
await g.shutdown();
process.exit(0);
