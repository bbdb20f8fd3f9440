// `reproduce uci`: the UCI regression table (spec §b.1, §b.6) with learned noise precision,
// each data set's (split, α) runs trained as one model batch (experiments/uci.ts). Finished
// runs go to <out>/runs.jsonl as they finish; a re-run trains only the missing ones (as a
// smaller batch: a batch trains each model exactly as alone, so the results are the same as
// an uninterrupted run's) and regenerates summary.json, README.md and the figures.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeUciSplit, parseUciTable, randomSplit, type UciSplit } from '@alphadrop/nn';
import { loadUci, uciSplit } from '@alphadrop/nn/node';
import { meanStdErr, runUciBatch, type UciMember, type UciOptions, type UciResult, UCI_DEFAULTS } from '../experiments/uci.js';
import { YACHT_SAMPLE_FILE } from '../fixtures.js';
import { lineFigure, panels } from '../report/figures.js';
import { RunJournal, type JsonValue } from '../runs/journal.js';
import { createOutputDirs } from '../cli/paths.js';
import { ofRun, provenance, provenanceLines, type RunProvenance } from './provenance.js';
import { writeFigure, writeReport, type ReportIo } from './report.js';

/** Where a data set's splits come from: the standard split files, or (the shipped yacht) generated 90/10 splits. */
export interface UciSource {
  name: string;
  splits: number;
  split(i: number): UciSplit;
  origin: string;
  /** Splits generated here, not the standard split files. */
  generated: boolean;
}

export function fileSource(dataDir: string, name: string, splits?: number): UciSource {
  const ds = loadUci(dataDir, name);
  return { name, splits: splits ?? ds.splits, split: (i) => uciSplit(ds, i), origin: `${name}: the standard split files (${ds.splits} splits)`, generated: false };
}

/** The yacht table shipped with the package, with split i = randomSplit(rows, i) (the standard split files may not be shipped). */
export function embeddedYachtSource(splits: number): UciSource {
  const table = parseUciTable(readFileSync(YACHT_SAMPLE_FILE, 'utf8'), YACHT_SAMPLE_FILE);
  const features = Int32Array.from({ length: table.cols - 1 }, (_, i) => i);
  return {
    name: 'yacht', splits,
    split: (i) => {
      const { train, test } = randomSplit(table.rows, i);
      return makeUciSplit(table, features, table.cols - 1, train, test);
    },
    generated: true,
    origin: 'yacht: the table shipped with the package, with generated 90/10 splits (split i: randomSplit(rows, i)), not the standard split files',
  };
}

export interface UciPlan {
  sources: UciSource[];
  alphas: number[];
  /** Epochs for every data set, or undefined for the protocol's (500; protein 100). */
  epochs: number | undefined;
  hidden: number | undefined;
  seed: number;
  options: Omit<UciOptions, 'hidden' | 'epochs'>;
  out: string;
}

const protocolEpochs = (name: string) => (name === 'protein-tertiary-structure' ? 100 : 500);
const protocolHidden = (name: string) => (name === 'protein-tertiary-structure' ? 100 : 50);

/** One run of the table: a data set's split trained with one α (a type, so it is a journal Unit). */
export type UciUnit = { dataset: string; alpha: number; split: number };

/** What the journal keeps of a finished run. */
export interface UciRunRecord extends UciResult {
  epochs: number;
  run: RunProvenance;
}

/** The lookup a report is written from (a RunJournal, or the results a sweep collected). */
export interface UciRecords {
  get(unit: UciUnit): JsonValue | undefined;
  entries(): readonly { result: JsonValue }[];
}

export function uciJournalOptions(p: UciPlan): Record<string, JsonValue> {
  return {
    experiment: 'uci', ...p.options, seed: p.seed, epochs: p.epochs ?? 'protocol (500; protein 100)', hidden: p.hidden ?? 'protocol (50; protein 100)',
    // the data sets are not part of it: runs of other data sets may join the journal later
    splitFiles: p.sources.every((s) => !s.generated),
  };
}

/** The plan's journal, checked against its options (a re-run with other options is refused before any work). */
export function openUciJournal(p: UciPlan): RunJournal<JsonValue> {
  return RunJournal.open<JsonValue>(join(p.out, 'runs.jsonl'), uciJournalOptions(p));
}

/**
 * Trains `units` (all of data set `src`) as one model batch and returns their records in
 * the order given. A batch trains each model exactly as alone, so a unit's record is the
 * same whichever units share its batch (timings and provenance aside): `reproduce` batches
 * a data set's missing runs, a sweep worker trains one unit per job. `onEpoch` may return a
 * promise (a worker gives its event loop a turn there).
 */
export async function runUciUnits(
  p: Pick<UciPlan, 'epochs' | 'hidden' | 'seed' | 'options'>, src: UciSource, units: readonly UciUnit[], device: string,
  onEpoch?: (epoch: number, epochs: number, loss: number, seconds: number) => void | Promise<void>,
): Promise<UciRunRecord[]> {
  const members: UciMember[] = units.map((u) => ({ split: src.split(u.split), alpha: u.alpha, seed: p.seed + u.split }));
  const epochs = p.epochs ?? protocolEpochs(src.name);
  const o: UciOptions = { ...p.options, epochs, hidden: p.hidden ?? protocolHidden(src.name) };
  const t0 = performance.now();
  const results = await runUciBatch(members, o, (e, loss, sec) => onEpoch?.(e, epochs, loss, sec));
  const run = provenance(device, (performance.now() - t0) / 1000);
  return members.map((m, g) => ({ ...results[g]!, epochs, run: ofRun(run, m.seed) }));
}

export async function reproduceUci(p: UciPlan, journal: RunJournal<JsonValue>, io: ReportIo): Promise<void> {
  for (const src of p.sources) {
    const missing: UciUnit[] = [];
    for (let s = 0; s < src.splits; s++)
      for (const alpha of p.alphas) {
        const unit = { dataset: src.name, alpha, split: s };
        if (journal.get(unit) === undefined) missing.push(unit);
      }
    const done = src.splits * p.alphas.length - missing.length;
    if (missing.length === 0) {
      io.log(`${src.name}: all ${done} runs done earlier`);
      continue;
    }
    const epochs = p.epochs ?? protocolEpochs(src.name);
    io.log(`${src.name}: training ${missing.length} models as one batch (${done} done earlier), ${epochs} epochs`);
    const every = Math.max(1, Math.round(epochs / 10));
    const records = await runUciUnits(p, src, missing, io.device, (e, _epochs, loss, sec) => {
      if (e % every === 0 || e === epochs) io.log(`  ${src.name} epoch ${e}/${epochs}: mean summed loss ${loss.toFixed(3)} (${sec.toFixed(2)} s)`);
    });
    createOutputDirs(p.out);
    missing.forEach((unit, g) => journal.append(unit, records[g] as unknown as JsonValue));
    io.log(`${src.name}: ${missing.length} runs recorded in ${journal.path}`);
  }
  await writeUciReport(p, journal, io);
}

interface Cell {
  dataset: string;
  alpha: number;
  runs: UciRunRecord[];
}

/**
 * summary.json, README.md and figures from every (data set, split, α) of the plan (results
 * only: no timings). `records` is the plan's journal, or the same records gathered elsewhere
 * (`alphadrop sweep collect`): equal records, equal summary.json and figures.
 */
export async function writeUciReport(p: UciPlan, records: UciRecords, io: ReportIo): Promise<void> {
  const cells: Cell[] = [];
  for (const src of p.sources)
    for (const alpha of p.alphas) {
      const runs: UciRunRecord[] = [];
      for (let s = 0; s < src.splits; s++) runs.push(records.get({ dataset: src.name, alpha, split: s }) as unknown as UciRunRecord);
      cells.push({ dataset: src.name, alpha, runs });
    }
  const DRIFT = 0.05;
  const summary = cells.map((c) => {
    const rmse = meanStdErr(c.runs.map((r) => r.rmse));
    const ll = meanStdErr(c.runs.map((r) => r.logLikelihood));
    const logTau = meanStdErr(c.runs.map((r) => r.logTau));
    const drift = Math.max(...c.runs.map((r) => Math.abs(r.logTauDrift)));
    const convergedRuns = c.runs.filter((r) => Math.abs(r.logTauDrift) < DRIFT).length;
    return { dataset: c.dataset, alpha: c.alpha, splits: c.runs.length, epochs: c.runs[0]!.epochs, rmse, logLikelihood: ll, logTau, maxAbsLogTauDrift: drift, convergedRuns, tauConverged: drift < DRIFT };
  });
  const allConverged = summary.every((s) => s.tauConverged);
  const f = (v: { mean: number; stdErr: number }, d = 3) => `${v.mean.toFixed(d)} ± ${v.stdErr.toFixed(d)}`;
  const table = [
    '| data set | α | splits | epochs | test RMSE | test LL | log τ (normalised) | max \\|Δ log τ\\| over the last tenth | runs with \\|Δ log τ\\| < 0.05 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...summary.map((s) => `| ${s.dataset} | ${s.alpha} | ${s.splits} | ${s.epochs} | ${f(s.rmse)} | ${f(s.logLikelihood)} | ${s.logTau.mean.toFixed(2)} | ${s.maxAbsLogTauDrift.toFixed(3)}${s.tauConverged ? '' : ' (not converged)'} | ${s.convergedRuns} of ${s.splits} |`),
  ];
  const datasets = [...new Set(cells.map((c) => c.dataset))];
  const byAlpha = (metric: 'rmse' | 'logLikelihood') =>
    panels(`UCI: test ${metric === 'rmse' ? 'RMSE' : 'log-likelihood'} against α (mean ± s.e. over splits)`, datasets.map((d) =>
      lineFigure({
        title: d, x: { title: 'α' }, y: { title: metric === 'rmse' ? 'test RMSE' : 'test LL' }, width: 180, height: 140,
        series: [{ name: d, points: summary.filter((s) => s.dataset === d).map((s) => ({ x: s.alpha, mean: s[metric].mean, se: s[metric].stdErr })) }],
      })), Math.min(3, datasets.length));
  // log τ during training, per data set and α (mean ± s.e. over splits): its convergence
  const tauCurves = panels('UCI: learned log τ (normalised units) during training, mean ± s.e. over splits', datasets.map((d) =>
    lineFigure({
      title: d, x: { title: 'epoch' }, y: { title: 'log τ' }, width: 180, height: 140,
      series: cells.filter((c) => c.dataset === d).map((c) => ({
        name: `α = ${c.alpha}`,
        points: c.runs[0]!.logTauCurve.map((_, i) => {
          const v = meanStdErr(c.runs.map((r) => r.logTauCurve[i]!));
          return { x: (i + 1) * c.runs[0]!.logTauEvery, mean: v.mean, se: v.stdErr };
        }),
      })),
    })), Math.min(3, datasets.length));
  await writeFigure(p.out, 'uci-log-tau.svg', tauCurves);
  await writeFigure(p.out, 'uci-ll.svg', byAlpha('logLikelihood'));
  await writeFigure(p.out, 'uci-rmse.svg', byAlpha('rmse'));
  const runs = records.entries().map((e) => (e.result as unknown as UciRunRecord).run);
  writeReport(p.out, {
    summary: { experiment: 'uci', options: uciJournalOptions(p), tauConvergedEverywhere: allConverged, cells: summary },
    readme: [
      '# UCI regression: BB-α dropout with learned noise precision',
      '',
      'Regenerated by `alphadrop reproduce uci` from `runs.jsonl` (one line per finished run).',
      '',
      '## Protocol',
      '',
      `- Data: ${p.sources.map((s) => s.origin).join('; ')}. Inputs and targets z-scored with training statistics; metrics in original units.`,
      `- Model: one hidden ReLU layer (${p.hidden ?? '50 units; protein 100'}), dropout ${p.options.dropout} on the input and before the output layer, Gaussian likelihood with a learned precision τ (the normalised R1 energy, spec §a.3).`,
      `- Training: BB-α with K = ${p.options.samples}, α ∈ {${p.alphas.join(', ')}}, Adam (lr ${p.options.lr}), batch ${p.options.batchSize}, ${p.options.weightDecay === 'prior' ? 'a unit Gaussian prior on the weights (Li & Turner), i.e. the L2 term Σ_i p_i‖W_i‖²/(2N) on kernels with p_i the keep probability' : `weight decay ${p.options.weightDecay} on kernels`}, ${p.epochs ?? '500 epochs (protein 100)'} epochs; every (split, α) of a data set trained as one model batch.`,
      `- Test: K_test = ${p.options.testSamples} MC samples; RMSE of the MC mean; per-point log-likelihood of the MC mixture; mean ± standard error (std with ddof 0 / √splits) over splits.`,
      '- τ: log τ = s·θ with θ trained by Adam from 0 (τ = 1 in normalised units, as Li & Turner initialise the noise). Adam moves a parameter by about its learning rate per step whatever the gradient, so log τ can travel about s·lr·T in T steps: with s = 1 that is 4.5 on yacht (4,500 steps), short of where its α > 0 runs settle (log τ ≈ 8), while on the large sets a larger s only makes log τ a random walk of larger steps. So s = max(1, 20/(lr·T)): every run can move log τ by 20 over its training (yacht s = 4.4, boston 2.7, energy 1.8, concrete 1.4, the rest 1); s depends on the step count only. Convergence is checked for every run: the change of log τ over the last tenth of the epochs (column below), and the curves of log τ are in runs.jsonl.',
      '- Seeds: the run (split s, α) uses seed `seed + s`, so the three α of a split share initial weights, masks and data order.',
      '',
      '## Results',
      '',
      ...table,
      '',
      allConverged
        ? `τ converged in every run: |Δ log τ| over the last tenth of the epochs is below ${DRIFT} everywhere.`
        : `τ did not converge everywhere: ${summary.reduce((a, s) => a + s.convergedRuns, 0)} of ${summary.reduce((a, s) => a + s.splits, 0)} runs have |Δ log τ| < ${DRIFT} over the last tenth of the epochs; the rows marked "not converged" hold runs with a larger change (see the log τ curves below).`,
      '',
      '![log τ during training](figures/uci-log-tau.svg)',
      '',
      '![test log-likelihood against α](figures/uci-ll.svg)',
      '',
      '![test RMSE against α](figures/uci-rmse.svg)',
      '',
      '## What ran where',
      '',
      ...provenanceLines(runs),
      '',
    ],
  }, io);
}
