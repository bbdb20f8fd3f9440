// The training loop. One optimizer step per minibatch (trainStep, step.ts), each encoded and
// submitted as one unit (a flush per step, no read-back inside it); the loss is read asynchronously every
// `lossEvery` steps and awaited only at the end of the epoch, so the device never waits
// for the host. Progress: a bar on a TTY, JSON lines otherwise; callbacks, an evaluation
// hook per epoch, and early stopping on any logged metric.
//
// Every step also leaves a finiteness flag on the device (trainStep's `finiteness`: NaN as
// soon as the loss or an updated parameter is not finite). The flags are read in the same
// asynchronous read as the loss, so no step waits for them; the first non-finite one stops
// training with a NonFiniteError naming the step and the tensor, before any epoch-end
// callback (a checkpoint, say) runs.
//
// Randomness: dropout masks under derive(root, 'trainDropout') at counter (layer, step),
// the order of epoch e from derive(root, 'shuffle', e); root = rootKey(seed).
//
// Steps are traced (TracedTrainStep): the minibatch gather and the step are recorded once
// and replayed where the backend can (WebGPU), with the same results as eager steps; a
// last, smaller minibatch runs eagerly. `trace: false` runs every step eagerly.

import { gather, NonFiniteError, tensor, tidy, ValueError, type Tensor } from '@alphadrop/core';
import { StepReads } from './step-reads.js';
import { TracedTrainStep } from './traced-step.js';
import { permutation, shuffleKey } from '../data/batches.js';
import type { Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { createLogger, type LogMode } from './progress.js';
import { trainStep, type LossFn } from './step.js';

export interface DeviceData {
  /** Inputs [n, ...] on the training backend (uploaded once). */
  x: Tensor;
  /** Targets [n, ...] (labels i32 or values). */
  y: Tensor;
}

export type EpochLogs = Record<string, number>;

export interface Callback {
  onEpochEnd?(epoch: number, logs: EpochLogs): void | Promise<void>;
  onStepEnd?(step: number): void;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  /** Seed of the shuffling and of the dropout masks. */
  seed?: number;
  /** The minibatch loss (a scalar), given the model in train mode. */
  loss: LossFn;
  optimizer: Optimizer;
  data: DeviceData;
  /** Runs after each epoch; its numbers join the epoch's logs (e.g. validation accuracy). */
  evaluate?: (epoch: number) => EpochLogs | Promise<EpochLogs>;
  callbacks?: Callback[];
  earlyStopping?: { monitor: string; mode: 'min' | 'max'; patience: number };
  log?: LogMode;
  /** Read the loss every this many steps (default 10). */
  lossEvery?: number;
  /** Record the step once and replay it where the backend can (default true). */
  trace?: boolean;
}

export interface FitResult {
  history: EpochLogs[];
  stoppedEarly: boolean;
  steps: number;
}

/** The order of one epoch: a permutation of 0..n-1 under derive(rootKey(seed), 'shuffle', epoch). */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  return permutation(n, shuffleKey(seed, epoch));
}

/** Names what is not finite after a bad step: the loss, the parameters, the inputs. */
async function diagnose(model: Module, data: DeviceData, loss: number): Promise<{ tensor: string; detail: string }> {
  const bad: string[] = [];
  if (!Number.isFinite(loss)) bad.push(`loss = ${loss}`);
  for (const [name, t] of model.namedParameters()) {
    const v = await t.data();
    let count = 0;
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) count++;
    if (count > 0) bad.push(`parameter ${name} (${count} of ${v.length} values)`);
  }
  const x = await data.x.data();
  const rowSize = x.length / Math.max(1, data.x.shape[0]!);
  for (let i = 0; i < x.length; i++)
    if (!Number.isFinite(x[i]!)) {
      bad.push(`input data x[${Math.floor(i / rowSize)}] element ${i % rowSize} = ${x[i]}`);
      break;
    }
  const first = bad[0] ?? 'loss';
  return { tensor: first.startsWith('parameter ') ? first.slice(10).split(' ')[0]! : first.startsWith('input') ? 'input data x' : 'loss', detail: bad.join('; ') };
}

export async function fit(model: Module, o: FitOptions): Promise<FitResult> {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new ValueError('fit', 'epochs a positive integer', String(o.epochs));
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new ValueError('fit', 'batchSize a positive integer', String(o.batchSize));
  const n = o.data.x.shape[0]!;
  if (o.data.y.shape[0] !== n) throw new ValueError('fit', `targets for ${n} inputs`, `${o.data.y.shape[0]}`);
  const seed = o.seed ?? 0;
  const lossEvery = o.lossEvery ?? 10;
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const logger = createLogger(o.log ?? 'auto', o.epochs, stepsPerEpoch);
  const history: EpochLogs[] = [];
  let best = Infinity;
  let sinceBest = 0;
  let stoppedEarly = false;
  model.train();
  const traced =
    o.trace === false ? null : new TracedTrainStep(model, o.optimizer, o.loss, seed, ([i]) => ({ x: gather(o.data.x, i!, 0), y: gather(o.data.y, i!, 0) }));
  try {
    for (let epoch = 0; epoch < o.epochs && !stoppedEarly; epoch++) {
      const order = epochPermutation(n, seed, epoch);
      const reads = new StepReads(o.optimizer.step);
      const t0 = performance.now();
      let lastYield = t0;
      for (let b = 0; b < stepsPerEpoch; b++) {
        const idx = order.subarray(b * o.batchSize, Math.min(n, (b + 1) * o.batchSize));
        const read = b % lossEvery === lossEvery - 1 || b === stepsPerEpoch - 1;
        const out = traced ? tracedStep(traced, idx, read) : eagerStep(model, o, seed, idx, read);
        reads.flag(out.finite!);
        if (out.loss) reads.read(out.loss, o.optimizer.step);
        for (const c of o.callbacks ?? []) c.onStepEnd?.(o.optimizer.step);
        logger.step(epoch, b + 1);
        // a CPU step computes synchronously: give timers, I/O and a page's UI a turn
        if (performance.now() - lastYield > 200) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          lastYield = performance.now();
        }
      }
      const { meanLoss, bad } = await reads.settle();
      if (bad) {
        const { tensor: name, detail } = await diagnose(model, o.data, bad.loss);
        throw new NonFiniteError('fit', 'finite loss and parameters after every step', `a non-finite value at step ${bad.step} (epoch ${epoch + 1}) in ${name}`, name, bad.step, `${detail}; nothing was saved — check the data, or lower the learning rate`);
      }
      const logs: EpochLogs = { epoch: epoch + 1, loss: meanLoss, seconds: (performance.now() - t0) / 1000 };
      if (o.evaluate) {
        const mode = model.mode;
        Object.assign(logs, await o.evaluate(epoch + 1));
        model.setMode(mode);
      }
      history.push(logs);
      logger.epoch(logs);
      for (const c of o.callbacks ?? []) await c.onEpochEnd?.(epoch + 1, logs);
      if (o.earlyStopping) {
        const v = logs[o.earlyStopping.monitor];
        if (v === undefined) throw new ValueError('fit', `an epoch log named ${o.earlyStopping.monitor}`, Object.keys(logs).join(', '));
        const score = o.earlyStopping.mode === 'min' ? v : -v;
        if (score < best) {
          best = score;
          sinceBest = 0;
        } else if (++sinceBest >= o.earlyStopping.patience) stoppedEarly = true;
      }
    }
  } finally {
    traced?.dispose();
  }
  logger.done();
  return { history, stoppedEarly, steps: o.optimizer.step };
}

/** One traced step on minibatch `idx`; the loss kept only when it is read. */
function tracedStep(traced: TracedTrainStep, idx: Int32Array, read: boolean): { loss: Tensor | null; finite: Tensor } {
  const i = tensor(idx, [idx.length]);
  const { loss, finite } = traced.run(i);
  i.dispose();
  if (read) return { loss, finite };
  loss.dispose();
  return { loss: null, finite };
}

function eagerStep(model: Module, o: FitOptions, seed: number, idx: Int32Array, read: boolean) {
  const { xb, yb } = tidy(() => {
    const i = tensor(idx, [idx.length]);
    return { xb: gather(o.data.x, i, 0), yb: gather(o.data.y, i, 0) };
  });
  const out = trainStep(model, o.optimizer, o.loss, xb, yb, seed, { keepLoss: read, finiteness: true });
  xb.dispose();
  yb.dispose();
  return out;
}
