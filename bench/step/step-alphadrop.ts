// The BB-α training step (mlp-problem.ts) written with @alphadrop/core ops, in two forms:
//   composed  tiling by expand, dropout masks from the core's counter-based Bernoulli applied
//             by mul (or where), matmul + bias + ReLU, log-softmax, the per-input BB-α
//             reduction, SGD as w − lr·g under noGrad;
//   fused     the same step through the fused primitives: linear() (dropout on its input,
//             matmul, bias, ReLU in one primitive, the mask regenerated from its Philox
//             coordinates in the backward pass) and optimizerUpdate('sgd').
// Both draw the same masks, nn's Dropout mapping: element e = r·fanIn + c of layer l's
// [rows, fanIn] input at step s is word e mod 4 of Philox at counter (floor(e / 4), l,
// s lo32, s hi32) under key derive(rootKey(seed), 'trainDropout').
// Gradients come from valueAndGradsOf with respect to the parameters only, so the input
// layer's dX is never formed. Each step runs in a tidy() scope and the previous parameters
// are disposed, so the live tensor count stays flat.

import {
  add, bernoulli, keyFor, linear, expand, logSoftmax, logsumexp, matmul, mean, memory, mul, noGrad, oneHot,
  relu, reshape, sub, sum, tensor, tidy, valueAndGradsOf, where, type Tensor,
} from '@alphadrop/core';
import { keepThreshold, optimizerUpdate, philoxFill, splitU64, type PhiloxCoords } from '@alphadrop/core/backend';
import * as core from '@alphadrop/core/backend'; // the CPU thread-pool controls, looked up below
import {
  ALPHA,
  KEEP,
  LEARNING_RATE,
  WEIGHT_DECAY,
  type MlpConfig,
  type MlpProblem,
  type StepLibrary,
  type StepRunner,
} from './mlp-problem.js';

/** How the keep mask is applied: h ⊙ where(mask, 1/keep, 0), or where(mask, h/keep, 0). */
export type DropoutForm = 'mul' | 'where';

const SEED = 2024;

/** Philox coordinates of layer `layer`'s mask at step `step` (as nn's Dropout layers). */
function maskCoords(seed: number, step: number, layer: number): PhiloxCoords {
  return { key: keyFor(seed, 'trainDropout'), counter: [layer, ...splitU64('step-alphadrop', 'step', step)] };
}

/** The dropout keep mask of (seed, step, layer) as a bool tensor [rows, cols]. */
export function dropoutMask(rows: number, cols: number, seed: number, step: number, layer: number): Tensor {
  return bernoulli([rows, cols], KEEP, maskCoords(seed, step, layer));
}

/**
 * The 0/1 masks the first step draws, computed on the host straight from Philox (not
 * through any tensor op), so a float64 reference can check the random path end to end.
 */
export function firstStepMasks(cfg: MlpConfig, seed = SEED): Float32Array[] {
  const rows = cfg.M * cfg.K;
  const threshold = keepThreshold(KEEP);
  return cfg.sizes.slice(0, -1).map((cols, layer) => {
    const bits = new Uint32Array(rows * cols);
    const { key, counter } = maskCoords(seed, 0, layer);
    philoxFill(bits, key, counter);
    return Float32Array.from(bits, (b) => (b < threshold ? 1 : 0));
  });
}

// The fast CPU backend may run large matmuls on worker threads (a pool that starts lazily).
// Looked up at run time so the bench works with builds that have no pool.
interface CpuThreadApi {
  configureFastCpuThreads(opts: { workers?: number }): void;
  fastCpuThreadsReady(timeoutMs?: number): Promise<number>;
  fastCpuThreadStats(): { readyWorkers: number; parallelJobs: number; workerChunks: number; disabled: boolean };
}
const threadApi = core as unknown as Partial<CpuThreadApi>;

/**
 * Starts the CPU backend's worker pool (with `workers` workers if given) and waits until it
 * is ready, so that no timed step pays for its start. Returns a description for the output.
 */
export async function startCpuThreads(workers?: number): Promise<string> {
  if (typeof threadApi.fastCpuThreadsReady !== 'function') return 'threads: the calling thread only (no worker pool in this build)';
  if (workers !== undefined) threadApi.configureFastCpuThreads?.({ workers });
  const ready = await threadApi.fastCpuThreadsReady();
  if (ready === 0) return 'threads: one (matmul worker pool off; --workers N or ALPHADROP_CPU_WORKERS=N turns it on)';
  return `threads: the caller + ${ready} worker${ready === 1 ? '' : 's'} for large matmuls`;
}

/** Worker-pool counters, or null where the build has no pool. */
export function cpuThreadStats(): { readyWorkers: number; parallelJobs: number; workerChunks: number; disabled: boolean } | null {
  return typeof threadApi.fastCpuThreadStats === 'function' ? threadApi.fastCpuThreadStats() : null;
}

export type AlphadropVariant = 'composed' | 'fused';

export interface AlphadropStepOptions {
  variant?: AlphadropVariant;
  /** Composed variant only. */
  dropout?: DropoutForm;
  seed?: number;
}

export function alphadropLibrary(opts: AlphadropStepOptions = {}): StepLibrary {
  const variant = opts.variant ?? 'composed';
  const form = opts.dropout ?? 'mul';
  const seed = opts.seed ?? SEED;
  const how =
    variant === 'fused'
      ? 'fused linear(dropout, matmul, bias, relu) + optimizerUpdate'
      : `composed ops, dropout ${form === 'mul' ? 'h·where(mask, 2, 0)' : 'where(mask, 2h, 0)'}`;
  return {
    name: variant === 'fused' ? 'alphadrop fused' : form === 'where' ? 'alphadrop where' : 'alphadrop',
    detail: `@alphadrop/core cpu backend, ${how}`,
    build: (p, fixedMasks, lr = LEARNING_RATE) => buildStep(p, fixedMasks, lr, variant, form, seed),
    firstStepMasks: (cfg) => firstStepMasks(cfg, seed),
  };
}

function buildStep(p: MlpProblem, fixedMasks: boolean, lr: number, variant: AlphadropVariant, form: DropoutForm, seed: number): StepRunner {
  const { M, K, sizes } = p.cfg;
  const L = sizes.length - 1;
  const N = M * K;
  const D = sizes[0]!;
  const C = sizes[L]!;

  let Ws: Tensor[] = p.Ws.map((w, l) => tensor(w.slice(), [sizes[l]!, sizes[l + 1]!]));
  let bs: Tensor[] = p.bs.map((b) => tensor(b.slice(), [b.length]));
  const x = tensor(p.x.slice(), [M, D]);
  const y = tensor(p.y.slice(), [M]);
  // The check's masks, already in the form the step applies them.
  const fixed: Tensor[] | null =
    fixedMasks && p.masks
      ? p.masks.map((m, l) =>
          form === 'mul' || variant === 'fused'
            ? tensor(Float32Array.from(m, (v) => v / KEEP), [N, sizes[l]!])
            : tensor(Uint8Array.from(m, (v) => (v !== 0 ? 1 : 0)), [N, sizes[l]!], { dtype: 'bool' }),
        )
      : null;
  let stepIndex = 0;
  let lastLoss: Tensor | null = null;

  const dropout = (h: Tensor, layer: number, step: number): Tensor => {
    const keepMask = fixed ? fixed[layer]! : dropoutMask(N, sizes[layer]!, seed, step, layer);
    if (form === 'where') return where(keepMask, mul(h, 1 / KEEP), 0);
    const scale = fixed ? keepMask : where(keepMask, 1 / KEEP, 0);
    return mul(h, scale);
  };

  /** One layer: act(dropout(h) · W + b). */
  const layer = (h: Tensor, l: number, step: number): Tensor => {
    const activation = l < L - 1 ? 'relu' : 'none';
    if (variant === 'fused') {
      if (fixed) return linear(mul(h, fixed[l]!), Ws[l]!, bs[l]!, { activation });
      const mask = { keepProb: KEEP, ...maskCoords(seed, step, l) };
      return linear(h, Ws[l]!, bs[l]!, { activation, dropout: mask });
    }
    const z = add(matmul(dropout(h, l, step), Ws[l]!), bs[l]!);
    return activation === 'relu' ? relu(z) : z;
  };

  const lossOf = (step: number): Tensor => {
    // [M, D] → [M, K, D] → [N, D]: input n fills rows n·K .. n·K + K − 1
    let h = reshape(expand(reshape(x, [M, 1, D]), [M, K, D]), [N, D]);
    for (let l = 0; l < L; l++) h = layer(h, l, step);
    const logp = reshape(logSoftmax(h, -1), [M, K, C]);
    const ll = sum(mul(logp, reshape(oneHot(y, C), [M, 1, C])), 2); // [M, K]
    const perInput = mul(sub(logsumexp(mul(ll, ALPHA), 1), Math.log(K)), -1 / ALPHA); // [M]
    const sq = Ws.map((W) => sum(mul(W, W))).reduce((a, b) => add(a, b));
    return add(mean(perInput), mul(sq, WEIGHT_DECAY));
  };

  const step = (): void => {
    const s = stepIndex++;
    const params = [...Ws, ...bs];
    const out = tidy(() => {
      const { value, grads } = valueAndGradsOf(() => lossOf(s), params);
      const updated = noGrad(() =>
        variant === 'fused'
          ? params.map((w, i) => optimizerUpdate(w, grads[i]!, [], { rule: 'sgd', lr })[0]!)
          : params.map((w, i) => sub(w, mul(grads[i]!, lr))),
      );
      return { value, updated };
    });
    for (const t of params) t.dispose();
    Ws = out.updated.slice(0, L);
    bs = out.updated.slice(L);
    lastLoss?.dispose();
    lastLoss = out.value;
  };

  return {
    step,
    readLoss: async () => {
      if (lastLoss === null) throw new Error('readLoss before the first step');
      return (await lastLoss.data())[0]!;
    },
    params: async () => ({
      Ws: await Promise.all(Ws.map(async (W) => Float32Array.from(await W.data()))),
      bs: await Promise.all(bs.map(async (b) => Float32Array.from(await b.data()))),
    }),
    liveTensors: () => memory().tensors,
    dispose: () => {
      for (const t of [...Ws, ...bs, x, y, ...(fixed ?? [])]) t.dispose();
      lastLoss?.dispose();
      lastLoss = null;
    },
  };
}
