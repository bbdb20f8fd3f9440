// The timed part of the step benchmarks: every library built on one problem, timed by the
// interleaved step protocol (harness/step-protocol.ts), its live-tensor count checked after one
// more step, and the table the results print as. Shared by the Node entry (cpu-step.ts) and
// the browser page (bench/browser), so both print the same table; no Node imports.

import { timeStepsInterleaved, type StepTiming, type StepTimingOptions } from '../harness/step-protocol.js';
import { fmt, formatTable, ratio } from '../harness/table.js';
import { makeProblem, type MlpConfig, type StepLibrary } from './mlp-problem.js';

export interface TimingRow {
  /** The library's row name. */
  name: string;
  /** The timing, or null when the library could not be timed (`note` says why). */
  timing: StepTiming | null;
  liveBefore: number;
  liveAfter: number;
  note?: string;
}

/** What the table's title says about its columns. */
export const STEP_TABLE_NOTE = "median ms/step (wall); ratio = library's time / alphadrop's (> 1: alphadrop is faster)";

/** All libraries built on one problem (seed 42, random masks), then timed with interleaved repetitions. */
export async function timeLibraries(libs: readonly StepLibrary[], cfg: MlpConfig, o: StepTimingOptions, onRep?: (lib: string, rep: number, msPerStep: number) => void): Promise<TimingRow[]> {
  const prob = makeProblem(cfg, 42, false);
  const runners = libs.map((lib) => lib.build(prob, false));
  try {
    const timings = await timeStepsInterleaved(runners, o, (j, r, ms) => onRep?.(libs[j]!.name, r, ms));
    const rows: TimingRow[] = [];
    for (const [j, runner] of runners.entries()) {
      // live tensors now vs after one more step: equal means the loop does not leak
      const liveBefore = runner.liveTensors();
      runner.step();
      await runner.readLoss();
      rows.push({ name: libs[j]!.name, timing: timings[j]!, liveBefore, liveAfter: runner.liveTensors() });
    }
    return rows;
  } finally {
    for (const r of runners) r.dispose();
  }
}

/** The step table; the ratio base is the 'alphadrop' row (or the first alphadrop row), untimed rows say why. */
export function formatStepTimings(rows: readonly TimingRow[]): string {
  const baseRow = rows.find((r) => r.name === 'alphadrop' && r.timing) ?? rows.find((r) => r.name.startsWith('alphadrop') && r.timing);
  const base = baseRow?.timing?.msPerStep ?? NaN;
  return formatTable(
    ['library', 'ms/step', 'vs alphadrop', 'CPU ms/step', 'steps×reps', 'rep ms/step', 'last loss', 'live tensors'],
    rows.map((r) => {
      const t = r.timing;
      if (!t) return [r.name, '—', '—', '—', '—', `not timed: ${r.note ?? 'unknown reason'}`, '—', '—'];
      return [
        r.name,
        fmt(t.msPerStep),
        ratio(t.msPerStep, base),
        fmt(t.cpuMsPerStep),
        `${t.stepsPerRep}×${t.repMs.length}`,
        t.repMs.map((ms) => fmt(ms / t.stepsPerRep, 1)).join(' / '),
        fmt(t.lastLoss, 4),
        Number.isNaN(r.liveBefore) ? 'n/a' : `${r.liveBefore} → ${r.liveAfter}`,
      ];
    }),
  );
}
