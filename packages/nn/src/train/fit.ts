// The training loop. One optimizer step per minibatch, each encoded and submitted as one
// unit (a flush per step, no read-back inside it); the loss is read asynchronously every
// `lossEvery` steps and awaited only at the end of the epoch, so the device never waits
// for the host. Progress: a bar on a TTY, JSON lines otherwise; callbacks, an evaluation
// hook per epoch, and early stopping on any logged metric.

import { gather, getBackend, keep, tensor, tidy, valueAndGradsOf, ValueError, type Tensor } from '@alphadrop/core';
import type { ForwardContext, Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { createLogger, type LogMode } from './progress.js';

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
  loss: (model: Module, x: Tensor, y: Tensor, ctx: ForwardContext) => Tensor;
  optimizer: Optimizer;
  data: DeviceData;
  /** Runs after each epoch; its numbers join the epoch's logs (e.g. validation accuracy). */
  evaluate?: (epoch: number) => EpochLogs | Promise<EpochLogs>;
  callbacks?: Callback[];
  earlyStopping?: { monitor: string; mode: 'min' | 'max'; patience: number };
  log?: LogMode;
  /** Read the loss every this many steps (default 10). */
  lossEvery?: number;
}

export interface FitResult {
  history: EpochLogs[];
  stoppedEarly: boolean;
  steps: number;
}

/** Seeded Fisher-Yates permutation of 0..n-1 for one epoch (xorshift32 from seed and epoch). */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  let s = (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const j = s % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
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
  const backend = getBackend();
  model.train();
  for (let epoch = 0; epoch < o.epochs && !stoppedEarly; epoch++) {
    const order = epochPermutation(n, seed, epoch);
    const pending: Promise<number>[] = [];
    const t0 = performance.now();
    let lastYield = t0;
    for (let b = 0; b < stepsPerEpoch; b++) {
      const idx = order.subarray(b * o.batchSize, Math.min(n, (b + 1) * o.batchSize));
      const ctx: ForwardContext = { seed, step: o.optimizer.step, purpose: 'train' };
      const read = b % lossEvery === lossEvery - 1 || b === stepsPerEpoch - 1;
      const lossValue = tidy(() => {
        const i = tensor(idx, [idx.length]);
        const xb = gather(o.data.x, i, 0);
        const yb = gather(o.data.y, i, 0);
        const { value, grads } = valueAndGradsOf(() => o.loss(model, xb, yb, ctx), model.parameters());
        o.optimizer.apply(grads);
        return read ? keep(value) : null;
      });
      backend.flush();
      if (lossValue) {
        pending.push(
          lossValue.data().then((d) => {
            lossValue.dispose();
            return d[0]!;
          }),
        );
      }
      for (const c of o.callbacks ?? []) c.onStepEnd?.(o.optimizer.step);
      logger.step(epoch, b + 1);
      // a CPU step computes synchronously: give timers, I/O and a page's UI a turn
      if (performance.now() - lastYield > 200) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        lastYield = performance.now();
      }
    }
    const losses = await Promise.all(pending);
    const logs: EpochLogs = { epoch: epoch + 1, loss: losses.reduce((a, v) => a + v, 0) / Math.max(1, losses.length), seconds: (performance.now() - t0) / 1000 };
    if (!losses.every(Number.isFinite)) throw new ValueError('fit', 'a finite training loss', 'NaN or infinity', `epoch ${epoch + 1}; lower the learning rate`);
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
  logger.done();
  return { history, stoppedEarly, steps: o.optimizer.step };
}
