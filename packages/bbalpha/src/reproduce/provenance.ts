// What ran where: each reproduction README says on which device, when, at which commit and
// library version, and for how long its runs were computed; each journal line also records
// the seed its run used (docs/determinism.md: version and seed reproduce a result). The
// commit is read from git where the code runs from a checkout (else "unknown": an installed
// package has no history).

import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSION } from '@alphadrop/nn';

/**
 * The checkout's commit (short hash, "+changes" when the tree differs from it), or "unknown".
 * ALPHADROP_COMMIT names it where the code runs from a copy without git history (a bundle
 * shipped to a GPU machine, say).
 */
export function currentCommit(): string {
  if (process.env.ALPHADROP_COMMIT) return process.env.ALPHADROP_COMMIT;
  const cwd = dirname(fileURLToPath(import.meta.url));
  try {
    const head = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

/** Provenance of one finished run, stored with its results in the journal. */
export interface RunProvenance {
  device: string;
  commit: string;
  /** The library version that computed the run (a resumed journal may mix versions). */
  version: string;
  /** The seed of this run (the experiment's seed plus the split or run index). */
  seed: number;
  /** ISO date the run finished. */
  finished: string;
  seconds: number;
}

/** The provenance of runs computed together (one batch: one time); each run then adds its seed with `ofRun`. */
export function provenance(device: string, seconds: number): Omit<RunProvenance, 'seed'> {
  return { device, commit: currentCommit(), version: VERSION, finished: new Date().toISOString().slice(0, 19) + 'Z', seconds: Math.round(seconds * 100) / 100 };
}

/** One run's provenance: its batch's, with the run's seed. */
export function ofRun(batch: Omit<RunProvenance, 'seed'>, seed: number): RunProvenance {
  return { ...batch, seed };
}

/** Markdown lines: the devices, dates, commits and compute time of a set of runs. */
export function provenanceLines(runs: readonly RunProvenance[]): string[] {
  const by = new Map<string, { runs: number; seconds: number; commits: Set<string>; first: string; last: string }>();
  // runs trained as one batch share one provenance (the batch's time): count that time once
  const counted = new Set<string>();
  for (const r of runs) {
    const e = by.get(r.device) ?? { runs: 0, seconds: 0, commits: new Set<string>(), first: r.finished, last: r.finished };
    e.runs++;
    const batch = `${r.device}|${r.finished}|${r.seconds}|${r.commit}`;
    if (!counted.has(batch)) e.seconds += r.seconds;
    counted.add(batch);
    // journal lines written before provenance recorded the version have none
    e.commits.add(r.version ? `${r.commit} (version ${r.version})` : r.commit);
    if (r.finished < e.first) e.first = r.finished;
    if (r.finished > e.last) e.last = r.finished;
    by.set(r.device, e);
  }
  return [...by].map(([device, e]) =>
    `- ${e.runs} run${e.runs === 1 ? '' : 's'} on ${device}: ${e.seconds.toFixed(0)} s of training and evaluation (a batch's time counted once), finished ${e.first.slice(0, 10)}${e.last.slice(0, 10) !== e.first.slice(0, 10) ? ` to ${e.last.slice(0, 10)}` : ''}, commit ${[...e.commits].join(', ')}`);
}
