// The UCI regression protocol (spec §b.1, §b.6), trained as model batches: one hidden ReLU
// layer of 50 units (protein 100), dropout on the input and before the output layer,
// K = 10, α ∈ {0, 0.5, 1}, the Gaussian BB-α energy R1 with a learned noise precision,
// Adam (lr 1e-3, batch 32). Every (split, α) of a data set is one model of one batch:
// 60 models per step for 20 splits × 3 α. Model (split s, α) has seed `seed + s`: the three
// α of a split start from the same weights and draw the same masks and data order (common
// random numbers), so their differences are α's.
//
// Choices where the paper is silent (each said in results/uci/README.md):
// - τ is learned as log τ = s·θ, θ an Adam parameter initialised at 0 (τ = 1 in normalised
//   units, as Li & Turner initialise the noise variance). Adam moves θ by about its learning
//   rate per step whatever the gradient's scale, so log τ can travel about s·lr·T in T steps:
//   with s = 1 that is 4.5 on yacht's 4,500 steps, short of the precision its α > 0 runs
//   settle at (log τ ≈ 8), while on kin8nm's 115,000 steps a larger s only adds noise (a
//   random walk of s·lr-sized steps around the optimum). So s = max(1, LOG_TAU_REACH/(lr·T)):
//   every run can move log τ by at least LOG_TAU_REACH = 20 over its training, and runs with
//   many steps keep Adam's own step. s depends only on the step count, never on the data's
//   values. Convergence is checked for every run: the change of log τ over the last tenth of
//   the epochs.
// - the weights' prior: Li & Turner's unit Gaussian, whose KL term per training point is
//   the L2 penalty Σ_i p_i‖W_i‖²/(2N) on kernels (p_i the keep probability of the dropout
//   feeding layer i, spec §a.4); it follows from N, nothing is tuned per data set.
// - dropout rate 0.05 (within Gal's grid), K_test = 100 (Li & Turner's test samples), no
//   early stopping.

import { full, keep, mul, sum, tensor, type Tensor } from '@alphadrop/core';
import {
  buildModel, buildModelBatch, copyMember, fitBatch, mlpArchitecture, Module, Optimizer, type Architecture, type ForwardContext,
  type Sequential, type UciSplit,
} from '@alphadrop/nn';
import { bbAlphaRegressionLossBatch } from '../loss-batch.js';
import { mcForwardBatch, mcPredictSamples } from '../mc.js';
import { regressionMetrics } from '../metrics.js';

/** How far log τ must be able to travel over a run's training (see the header). */
export const LOG_TAU_REACH = 20;

/** s of log τ = s·θ for a run of `steps` Adam steps at learning rate `lr`. */
export function logTauScale(lr: number, steps: number): number {
  return Math.max(1, LOG_TAU_REACH / (lr * steps));
}

/**
 * An MLP regressor with a learned Gaussian log-precision (normalised units); with `seeds`,
 * a batch of G such models (net [G, ...], θ [G]).
 */
export class GaussianRegressor extends Module {
  readonly net: Sequential;
  /** s in log τ = s·θ. */
  readonly logTauScale: number;
  constructor(arch: Architecture, o: ({ seed: number } | { seeds: readonly number[] }) & { logTauScale?: number }) {
    super();
    const batch = 'seeds' in o;
    this.net = this.addChild('net', batch ? buildModelBatch(arch, o.seeds) : buildModel(arch, { seed: o.seed }));
    this.addParameter('logTauRaw', full(batch ? [o.seeds.length] : [], 0), 'bias');
    this.logTauScale = o.logTauScale ?? 1;
  }
  /** log τ (scalar, or [G] in a batch). */
  get logTau(): Tensor {
    return mul(this.param('logTauRaw'), this.logTauScale);
  }
  forward(x: Tensor, ctx: ForwardContext): Tensor {
    return this.net.forward(x, ctx);
  }
}

export interface UciOptions {
  samples: number;
  testSamples: number;
  hidden: number;
  dropout: number;
  epochs: number;
  batchSize: number;
  lr: number;
  /**
   * L2 on kernels: 'prior', the unit Gaussian prior's KL term per training point,
   * Σ_i p_i‖W_i‖²/(2N) (p_i the keep probability of the dropout feeding layer i); or a fixed λ.
   */
  weightDecay: number | 'prior';
  /** The network (inputs → 1); default uciArchitecture's one hidden layer (own-data training passes its own). */
  architecture?: Architecture;
}

export const UCI_DEFAULTS: Omit<UciOptions, 'hidden'> = { samples: 10, testSamples: 100, dropout: 0.05, epochs: 500, batchSize: 32, lr: 1e-3, weightDecay: 'prior' };

/** One model of a batch: its split, α and seed. */
export interface UciMember {
  split: UciSplit;
  alpha: number;
  seed: number;
}

export interface UciResult {
  rmse: number;
  logLikelihood: number;
  /** Learned τ in normalised units, and log τ at the end and 10% of the epochs before it. */
  tau: number;
  logTau: number;
  logTauDrift: number;
  /** s in log τ = s·θ (logTauScale). */
  logTauScale: number;
  /** log τ after every `logTauEvery` epochs (its convergence, shown in the report). */
  logTauCurve: number[];
  logTauEvery: number;
}

export const uciArchitecture = (inputs: number, o: Pick<UciOptions, 'hidden' | 'dropout'>): Architecture => mlpArchitecture([inputs, o.hidden, 1], { dropout: o.dropout });

/**
 * Trains the members (all splits of one data set: equal training-set sizes) as one batch and
 * scores each on its test set. `onEpoch` sees each epoch's mean summed loss; `onMember` each
 * trained member as a lone model (e.g. to save it) before it is disposed.
 */
export async function runUciBatch(
  members: readonly UciMember[], o: UciOptions, onEpoch?: (epoch: number, loss: number, seconds: number) => void | Promise<void>,
  onMember?: (g: number, model: GaussianRegressor, result: UciResult) => Promise<void>,
): Promise<UciResult[]> {
  const G = members.length;
  const { inputs, nTrain } = members[0]!.split;
  const arch = o.architecture ?? uciArchitecture(inputs, o);
  const seeds = members.map((m) => m.seed);
  const alphas = members.map((m) => m.alpha);
  const scale = logTauScale(o.lr, o.epochs * Math.ceil(nTrain / o.batchSize));
  const model = new GaussianRegressor(arch, { seeds, logTauScale: scale });
  const prior = o.weightDecay === 'prior';
  const optimizer = new Optimizer(model, { rule: 'adam', lr: o.lr, weightDecay: prior ? 1 / (2 * nTrain) : (o.weightDecay as number), decayForm: prior ? 'dropoutScaled' : 'uniform' });
  const xs = new Float32Array(G * nTrain * inputs);
  const ys = new Float32Array(G * nTrain);
  members.forEach((m, g) => {
    xs.set(m.split.xTrain, g * nTrain * inputs);
    ys.set(m.split.yTrain, g * nTrain);
  });
  const x = tensor(xs, [G * nTrain, inputs]);
  const y = tensor(ys, [G * nTrain, 1]);
  const checkAt = o.epochs - Math.max(1, Math.round(o.epochs / 10));
  let logTauBefore: Float32Array | Float64Array | null = null;
  const every = Math.max(1, Math.round(o.epochs / 50));
  const curves: number[][] = members.map(() => []);
  try {
    await fitBatch(model, {
      epochs: o.epochs, batchSize: o.batchSize, seeds, optimizer, data: { x, y }, lossEvery: 50,
      loss: (m, xb, yb, ctx) => sum(bbAlphaRegressionLossBatch(mcForwardBatch(m, xb, o.samples, ctx), yb, alphas, (m as GaussianRegressor).logTau)),
      onEpochEnd: async (epoch, logs) => {
        if (epoch === checkAt) logTauBefore = await readLogTau(model);
        if (epoch % every === 0) {
          const v = await readLogTau(model);
          curves.forEach((c, g) => c.push(v[g]!));
        }
        await onEpoch?.(epoch, logs.loss, logs.seconds);
      },
    });
    const logTau = await readLogTau(model);
    const before = logTauBefore ?? logTau;
    const results: UciResult[] = [];
    for (let g = 0; g < G; g++) {
      const m = members[g]!;
      const lone = new GaussianRegressor(arch, { seed: 0, logTauScale: scale });
      try {
        copyMember(model, g, lone);
        const xt = keep(tensor(m.split.xTest, [m.split.nTest, inputs]));
        const f = mcPredictSamples(lone, xt, o.testSamples, { seed: m.seed, pass: 0 });
        const samples = await f.data();
        f.dispose();
        xt.dispose();
        const tau = Math.exp(logTau[g]!);
        const r = regressionMetrics(samples, o.testSamples, m.split.yTestRaw, m.split.yMean, m.split.yStd, tau);
        const result: UciResult = { rmse: r.rmse, logLikelihood: r.logLikelihood, tau, logTau: logTau[g]!, logTauDrift: logTau[g]! - before[g]!, logTauCurve: curves[g]!, logTauEvery: every, logTauScale: scale };
        await onMember?.(g, lone, result);
        results.push(result);
      } finally {
        lone.dispose();
      }
    }
    return results;
  } finally {
    x.dispose();
    y.dispose();
    optimizer.dispose();
    model.dispose();
  }
}

async function readLogTau(model: GaussianRegressor): Promise<Float32Array | Float64Array> {
  const t = model.logTau;
  const v = (await t.data()) as Float32Array | Float64Array;
  t.dispose();
  return v;
}

/** Mean and standard error std(ddof=0)/√n, as in the protocol's reports. */
export function meanStdErr(v: readonly number[]): { mean: number; stdErr: number } {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const s = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
  return { mean: m, stdErr: s / Math.sqrt(v.length) };
}
