// `alphadrop sweep collect`: writes, for each complete grid point, what `reproduce uci` with
// that point's options writes (runs.jsonl, summary.json, README.md, figures/) into
// <out>/<point label>/, from the results the jobs stored, through the same journal and report
// code. Records are appended in reproduce's order (data set, split, α), so runs.jsonl differs
// from reproduce's only in each run's provenance (device, date, seconds, worker), and
// summary.json and the figures are the same bytes. Points with units not done are listed
// and skipped; the command then exits with status 1.

import { join } from 'node:path';
import { createOutputDirs, openUciJournal, writeTextFile, writeUciReport, type Io, type JsonValue } from './bbalpha-cli.js';
import { pointId, pointLabel, reportPlan, unitJobId, unitsOf, type UnitResult } from './grid.js';
import { gridPointsOf, type SweepQueues } from './queue.js';

/** Resolves to the number of grid points not collected (units missing or failed). */
export async function collectSweep(q: SweepQueues, out: string, io: Io): Promise<number> {
  const points = await gridPointsOf(q);
  let incomplete = 0;
  const index: string[] = [];
  for (const p of points) {
    const label = pointLabel(p);
    const results: UnitResult[] = [];
    let missing = 0;
    for (const u of unitsOf(p)) {
      const job = await q.units.getJob(unitJobId(u));
      if (job && (await job.getState()) === 'completed') results.push(job.returnvalue as UnitResult);
      else missing++;
    }
    if (missing > 0) {
      io.log(`${label}: ${missing} of ${results.length + missing} units not done: not collected`);
      incomplete++;
      continue;
    }
    const plan = reportPlan(p, join(out, label));
    const journal = openUciJournal(plan);
    createOutputDirs(plan.out);
    for (const r of results) if (journal.get(r.unit) === undefined) journal.append(r.unit, r.record as unknown as JsonValue);
    await writeUciReport(plan, journal, { log: io.log, device: 'sweep workers' });
    const o = p.plan.options;
    index.push(`| [${label}](${label}/README.md) | ${o.dropout} | ${o.samples} | ${o.lr} | ${p.alphas.join(', ')} | ${p.sources.map((s) => `${s.name} (${s.splits} splits)`).join(', ')} | \`${pointId(p)}\` |`);
  }
  if (index.length > 0) {
    createOutputDirs(out);
    writeTextFile(join(out, 'README.md'), [
      '# UCI sweep: one `reproduce uci` table per grid point',
      '',
      'Collected by `alphadrop sweep collect` from the results its workers stored; each directory holds what `alphadrop reproduce uci` with those options writes.',
      '',
      '| grid point | dropout | K (samples) | lr | α | data sets | id |',
      '|---|---:|---:|---:|---|---|---|',
      ...index,
      '',
    ].join('\n'));
  }
  io.log(`collect: ${index.length} grid point${index.length === 1 ? '' : 's'} written under ${out}${incomplete > 0 ? `, ${incomplete} incomplete` : ''}`);
  return incomplete;
}
