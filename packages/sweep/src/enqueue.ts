// `alphadrop sweep uci`: records the grid points and enqueues one job per unit. Jobs keep
// their results and errors (nothing is removed on completion or failure) and are retried with
// exponential back-off; a unit already in the queue (same id: same options) is left as it is.

import type { Io } from './bbalpha-cli.js';
import { pointId, pointLabel, unitJobId, unitsOf, type GridPoint } from './grid.js';
import type { SweepQueues } from './queue.js';

export interface RetryPolicy {
  attempts: number;
  /** ms before the first retry; doubled for each further one. */
  backoff: number;
}

/** Enqueues every unit of `points`; resolves to the number of jobs added (0 when all were there). */
export async function enqueueSweep(q: SweepQueues, points: readonly GridPoint[], retry: RetryPolicy, io: Io): Promise<number> {
  await q.grid.addBulk(points.map((p) => ({ name: 'point', data: p, opts: { jobId: pointId(p) } })));
  let added = 0;
  let total = 0;
  for (const p of points) {
    const jobs = unitsOf(p).map((data) => ({
      name: `${data.unit.dataset}/${data.unit.split}/${data.unit.alpha}`, data,
      opts: { jobId: unitJobId(data), attempts: retry.attempts, backoff: { type: 'exponential', delay: retry.backoff }, removeOnComplete: false, removeOnFail: false },
    }));
    const before = await Promise.all(jobs.map((j) => q.units.getJob(j.opts.jobId)));
    await q.units.addBulk(jobs);
    const fresh = before.filter((j) => j === undefined).length;
    io.log(`${pointLabel(p)}: ${jobs.length} units, ${fresh} enqueued${fresh < jobs.length ? `, ${jobs.length - fresh} already in the queue` : ''}`);
    added += fresh;
    total += jobs.length;
  }
  io.log(`sweep: ${points.length} grid point${points.length === 1 ? '' : 's'}, ${total} units, ${added} jobs added to queue ${q.units.name}`);
  return added;
}
