// `alphadrop worker`: takes unit jobs from the sweep's queue and trains them, on any machine
// that reaches the Redis. A unit is trained exactly as `reproduce uci` trains it (the same
// runUciUnits), alone: a batch trains each model exactly as alone, so the result equals the
// one `reproduce` records. The result is the job's return value, which BullMQ stores in the
// same Redis script that marks the job completed (atomic per job: a job is either completed
// with its result or not at all). A worker that dies mid-job stops renewing the job's lock;
// another worker's stalled-job check moves the job back to the queue after the lock expires.

import { hostname } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Job } from 'bullmq';
import { DataError, ValueError } from '@alphadrop/core';
import { dataDir } from '@alphadrop/nn/node';
import { embeddedYachtSource, fileSource, runUciUnits, type Io, type UciSource } from './bbalpha-cli.js';
import type { UnitJob, UnitResult } from './grid.js';
import { redisConnection } from './queue.js';

export interface WorkerOptions {
  queue: string;
  name: string;
  concurrency: number;
  /** This worker's name in results and logs (default host:pid). */
  id: string | undefined;
  dataDir: string | undefined;
  /** ms a job's lock lasts without renewal: a dead worker's job is taken over after it. */
  lockDuration: number;
  /** ms between checks for jobs whose lock expired. */
  stalledInterval: number;
}

export const defaultWorkerId = (): string => `${hostname()}:${process.pid}`;

/** Data sets loaded by this worker, by name (a worker trains many units of one data set). */
function sourceLoader(dir: string | undefined) {
  const loaded = new Map<string, UciSource>();
  return (job: UnitJob): UciSource => {
    const { dataset, split } = job.unit;
    // the shipped yacht's split i depends on i only: a source with enough splits serves it
    if (job.plan.embedded) return embeddedYachtSource(split + 1);
    let src = loaded.get(dataset);
    if (!src) {
      const d = dataDir(dir);
      if (d === undefined) throw new DataError(`worker: unit ${dataset} split ${split}`, 'a data directory (--data-dir, ALPHADROP_DATA or the fetch cache) holding uci/' + dataset, 'none on this machine');
      src = fileSource(d, dataset);
      loaded.set(dataset, src);
    }
    if (split >= src.splits) throw new DataError(`worker: unit ${dataset} split ${split}`, `a split below ${src.splits} (the splits on this machine)`, String(split));
    return src;
  };
}

/** Runs until SIGINT or SIGTERM, then finishes its active jobs and resolves. */
export async function runWorker(o: WorkerOptions, io: Io, device: string): Promise<void> {
  const id = o.id ?? defaultWorkerId();
  const sourceOf = sourceLoader(o.dataDir);
  const process_ = async (job: Job<UnitJob, UnitResult>): Promise<UnitResult> => {
    const { unit } = job.data;
    if (job.data.experiment !== 'uci') throw new ValueError(`job ${job.id}`, 'an experiment this worker runs (uci)', JSON.stringify(job.data.experiment));
    io.log(`worker ${id}: job ${job.id} started: ${unit.dataset} split ${unit.split} α ${unit.alpha} (start ${job.attemptsStarted})`);
    const p = job.data.plan;
    const plan = { options: p.options, epochs: p.epochs ?? undefined, hidden: p.hidden ?? undefined, seed: p.seed };
    const [record] = await runUciUnits(plan, sourceOf(job.data), [unit], device, async (epoch, epochs) => {
      // a CPU epoch computes synchronously: give BullMQ's lock renewal a turn
      await nextTurn();
      if (epoch % Math.max(1, Math.round(epochs / 10)) === 0) await job.updateProgress(Math.round((100 * epoch) / epochs));
    });
    io.log(`worker ${id}: job ${job.id} done: rmse ${record!.rmse.toFixed(4)}`);
    return { unit, record: { ...record!, run: { ...record!.run, worker: id } }, worker: id };
  };
  const { Worker } = await import('bullmq'); // loaded only by this command (see queue.ts)
  const worker = new Worker<UnitJob, UnitResult>(o.name, process_, {
    connection: redisConnection(o.queue), concurrency: o.concurrency, name: id,
    lockDuration: o.lockDuration, stalledInterval: o.stalledInterval, maxStalledCount: 3,
  });
  worker.on('failed', (job, err) => io.log(`worker ${id}: job ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${err.name}: ${err.message}`));
  worker.on('error', (err) => io.log(`worker ${id}: ${err.name}: ${err.message}`));
  await worker.waitUntilReady();
  io.log(`worker ${id}: waiting for jobs of queue ${o.name} (concurrency ${o.concurrency}, ${device})`);
  await new Promise<void>((done) => {
    const stop = () => {
      io.log(`worker ${id}: stopping after the active jobs`);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      worker.close().then(done, done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
