// `alphadrop sweep status`: the sweep's progress from the queue: done, active, waiting,
// delayed (waiting for a retry), failed (attempts used up: the error is kept), and how many
// jobs were retried (started more than once: after an error or a stalled worker), per grid
// point too.

import type { Job } from 'bullmq';
import type { Io } from './bbalpha-cli.js';
import { pointLabel, unitJobId, unitsOf } from './grid.js';
import { gridPointsOf, type SweepQueues } from './queue.js';

export interface SweepStatus {
  units: number;
  done: number;
  active: number;
  waiting: number;
  delayed: number;
  failed: number;
  retried: number;
}

const STATES = ['completed', 'active', 'waiting', 'delayed', 'failed', 'prioritized', 'paused'] as const;

export async function sweepStatus(q: SweepQueues, io: Io): Promise<SweepStatus> {
  const points = await gridPointsOf(q);
  const jobs = new Map<string, { job: Job; state: string }>();
  for (const state of STATES) for (const job of await q.units.getJobs([state], 0, -1)) if (job?.id) jobs.set(job.id, { job, state });
  const total: SweepStatus = { units: 0, done: 0, active: 0, waiting: 0, delayed: 0, failed: 0, retried: 0 };
  const lines: string[] = [];
  const failures: string[] = [];
  for (const p of points) {
    const s: SweepStatus = { units: 0, done: 0, active: 0, waiting: 0, delayed: 0, failed: 0, retried: 0 };
    for (const u of unitsOf(p)) {
      const id = unitJobId(u);
      const e = jobs.get(id);
      s.units++;
      if (!e) continue;
      if (e.state === 'completed') s.done++;
      else if (e.state === 'active') s.active++;
      else if (e.state === 'delayed') s.delayed++;
      else if (e.state === 'failed') {
        s.failed++;
        failures.push(`  failed ${id} (${u.unit.dataset} split ${u.unit.split} α ${u.unit.alpha}) after ${e.job.attemptsMade} attempts: ${e.job.failedReason}`);
      } else s.waiting++;
      // started again after an error or a stall, or waiting for its retry
      if (e.job.attemptsStarted > 1 || e.job.stalledCounter > 0 || (e.state === 'delayed' && e.job.attemptsMade > 0)) s.retried++;
    }
    for (const k of Object.keys(total) as (keyof SweepStatus)[]) total[k] += s[k];
    lines.push(`  ${pointLabel(p)}: ${s.done} of ${s.units} done, ${s.active} active, ${s.failed} failed, ${s.retried} retried`);
  }
  io.log(`sweep ${q.units.name}: ${points.length} grid points, ${total.units} units: done ${total.done}, active ${total.active}, waiting ${total.waiting}, delayed ${total.delayed}, failed ${total.failed}, retried ${total.retried}`);
  for (const l of [...lines, ...failures]) io.log(l);
  return total;
}
