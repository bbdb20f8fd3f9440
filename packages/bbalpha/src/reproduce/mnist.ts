// `reproduce mnist-mlp | mnist-cnn | runtime` (spec §b.2, §b.3, §b.5): the paper's MNIST
// classifiers, α × repeated runs, test accuracy and log-likelihood every few epochs
// (figures 4–5), and the run-time study (test metrics against training seconds for K ∈
// {1, 10, 100}). Finished runs go to runs.jsonl; a re-run trains only the missing ones.

import { join } from 'node:path';
import { mlpArchitecture, paperCnnArchitecture, type Architecture, type MnistSplit } from '@alphadrop/nn';
import { meanStdErr } from '../experiments/uci.js';
import { trainClassifierRuns, type ClassifierProtocol, type CurvePoint } from '../experiments/classify-batch.js';
import { createOutputDirs } from '../cli/paths.js';
import { lineFigure, panels, type LineSeries } from '../report/figures.js';
import { RunJournal, type JsonValue } from '../runs/journal.js';
import { ofRun, provenance, provenanceLines, type RunProvenance } from './provenance.js';
import { writeFigure, writeReport, type ReportIo } from './report.js';

export type MnistExperiment = 'mnist-mlp' | 'mnist-cnn' | 'runtime';

export interface MnistPlan {
  experiment: MnistExperiment;
  alphas: number[];
  /** Repeats per α (runtime: one run per K). */
  runs: number;
  /** runtime: the K values compared. */
  samplesList: number[];
  dropout: number;
  protocol: ClassifierProtocol;
  seed: number;
  train: MnistSplit;
  test: MnistSplit;
  /** How the data were chosen ("MNIST, 60000 training and 10000 test images"). */
  dataNote: string;
  out: string;
}

export function mnistArchitecture(p: Pick<MnistPlan, 'experiment' | 'dropout'>): Architecture {
  if (p.experiment === 'mnist-cnn') return paperCnnArchitecture({ dropout: p.dropout });
  if (p.experiment === 'runtime') return mlpArchitecture([784, 1024, 1024, 1024, 1024, 10], { dropout: p.dropout });
  return mlpArchitecture([784, 100, 100, 10], { dropout: p.dropout });
}

export function mnistJournalOptions(p: MnistPlan): Record<string, JsonValue> {
  return {
    experiment: p.experiment, ...p.protocol, dropout: p.dropout, seed: p.seed, data: p.dataNote,
    ...(p.experiment === 'runtime' ? { alpha: p.alphas[0]!, samplesList: p.samplesList } : {}),
  };
}

export function openMnistJournal(p: MnistPlan): RunJournal<JsonValue> {
  return RunJournal.open<JsonValue>(join(p.out, 'runs.jsonl'), mnistJournalOptions(p));
}

interface Unit {
  alpha: number;
  run: number;
  samples: number;
  [k: string]: number;
}

interface RunRecord {
  curve: CurvePoint[];
  run: RunProvenance;
}

function units(p: MnistPlan): Unit[] {
  if (p.experiment === 'runtime') return p.samplesList.map((K) => ({ alpha: p.alphas[0]!, run: 0, samples: K }));
  return p.alphas.flatMap((alpha) => Array.from({ length: p.runs }, (_, run) => ({ alpha, run, samples: p.protocol.samples })));
}

/** Run r of every α trains under seed + r (the α values of one run share initial weights, masks and order). */
const runSeed = (p: MnistPlan, u: Unit) => p.seed + u.run;

const asImages = (s: MnistSplit) => ({ x: s.images, y: s.labels, n: s.labels.length, d: s.images.length / s.labels.length });

export async function reproduceMnist(p: MnistPlan, journal: RunJournal<JsonValue>, io: ReportIo): Promise<void> {
  const arch = mnistArchitecture(p);
  const missing = units(p).filter((u) => journal.get(u) === undefined);
  // runtime runs one K at a time (its clock is the point); the others as one set (a batch where the architecture allows)
  const groups = p.experiment === 'runtime' ? missing.map((u) => [u]) : missing.length ? [missing] : [];
  for (const group of groups) {
    io.log(`${p.experiment}: training ${group.length} run${group.length === 1 ? '' : 's'} (${units(p).length - missing.length} done earlier), ${p.protocol.epochs} epochs`);
    const t0 = performance.now();
    const { curves, models } = await trainClassifierRuns(
      arch, group.map((u) => ({ alpha: u.alpha, seed: runSeed(p, u) })), asImages(p.train), asImages(p.test),
      { ...p.protocol, samples: group[0]!.samples }, io.log,
    );
    models.forEach((m) => m.dispose());
    const run = provenance(io.device, (performance.now() - t0) / 1000);
    createOutputDirs(p.out);
    group.forEach((u, g) => journal.append(u, { curve: curves[g]!, run: ofRun(run, runSeed(p, u)) } as unknown as JsonValue));
  }
  if (missing.length === 0) io.log(`${p.experiment}: all ${units(p).length} runs done earlier`);
  await writeMnistReport(p, journal, io);
}

type Metric = 'accuracy' | 'logLikelihood';

async function writeMnistReport(p: MnistPlan, journal: RunJournal<JsonValue>, io: ReportIo): Promise<void> {
  const all = units(p).map((u) => ({ u, r: journal.get(u) as unknown as RunRecord }));
  const groups = p.experiment === 'runtime' ? p.samplesList.map((K) => ({ name: `K = ${K}`, runs: all.filter((a) => a.u.samples === K) })) : p.alphas.map((a) => ({ name: `α = ${a}`, runs: all.filter((x) => x.u.alpha === a) }));
  // the curves' epochs are those of every run (one protocol)
  const epochs = all[0]!.r.curve.map((c) => c.epoch);
  const stat = (runs: typeof all, i: number, m: Metric | 'logLikelihoodSum' | 'trainSeconds') => meanStdErr(runs.map((x) => x.r.curve[i]![m]));
  const series = (m: Metric, x: 'epoch' | 'trainSeconds'): LineSeries[] =>
    groups.map((g) => ({
      name: g.name,
      points: epochs.map((e, i) => {
        const s = stat(g.runs, i, m);
        return { x: x === 'epoch' ? e : stat(g.runs, i, 'trainSeconds').mean, mean: s.mean, ...(g.runs.length > 1 ? { se: s.stdErr } : {}) };
      }),
    }));
  const xAxis = p.experiment === 'runtime' ? ({ key: 'trainSeconds', title: 'training time (s)' } as const) : ({ key: 'epoch', title: 'epoch' } as const);
  const figure = panels(
    p.experiment === 'runtime' ? 'Run time: MLP 4×1024, α = 1, test metrics against training time' : `${p.experiment === 'mnist-cnn' ? 'CNN' : 'MLP'} on MNIST: test metrics (mean ± s.e. over ${p.runs} runs)`,
    (['accuracy', 'logLikelihood'] as const).map((m) => lineFigure({ title: m === 'accuracy' ? 'test accuracy' : 'test log-likelihood (per point)', x: { title: xAxis.title }, y: { title: m === 'accuracy' ? 'accuracy' : 'LL' }, series: series(m, xAxis.key), width: 300, height: 220 })),
  );
  await writeFigure(p.out, `${p.experiment}.svg`, figure);
  const last = epochs.length - 1;
  const f = (v: { mean: number; stdErr: number }, d: number) => `${v.mean.toFixed(d)} ± ${v.stdErr.toFixed(d)}`;
  const rows = groups.map((g) => ({
    name: g.name, runs: g.runs.length, epoch: epochs[last]!, accuracy: stat(g.runs, last, 'accuracy'), logLikelihood: stat(g.runs, last, 'logLikelihood'),
    logLikelihoodSum: stat(g.runs, last, 'logLikelihoodSum'), trainSeconds: stat(g.runs, last, 'trainSeconds').mean,
    best: meanStdErr(g.runs.map((x) => Math.max(...x.r.curve.map((c) => c.accuracy)))),
  }));
  const table = [
    `| ${p.experiment === 'runtime' ? 'K' : 'α'} | runs | epochs | test accuracy | test LL (per point) | test LL (sum, the paper's scale) | best accuracy on the way |${p.experiment === 'runtime' ? ' training s |' : ''}`,
    `|---|---:|---:|---:|---:|---:|---:|${p.experiment === 'runtime' ? '---:|' : ''}`,
    ...rows.map((r) => `| ${r.name} | ${r.runs} | ${r.epoch} | ${f(r.accuracy, 4)} | ${f(r.logLikelihood, 4)} | ${f(r.logLikelihoodSum, 1)} | ${f(r.best, 4)} |${p.experiment === 'runtime' ? ` ${r.trainSeconds.toFixed(1)} |` : ''}`),
  ];
  const pr = p.protocol;
  writeReport(p.out, {
    summary: { experiment: p.experiment, options: mnistJournalOptions(p), final: rows.map(({ trainSeconds, ...r }) => (p.experiment === 'runtime' ? { ...r, trainSeconds } : r)), curves: groups.map((g) => ({ name: g.name, epochs, accuracy: epochs.map((_, i) => stat(g.runs, i, 'accuracy')), logLikelihood: epochs.map((_, i) => stat(g.runs, i, 'logLikelihood')) })) },
    readme: [
      `# ${p.experiment === 'runtime' ? 'Run time against K (spec §b.5)' : `MNIST ${p.experiment === 'mnist-cnn' ? 'CNN (spec §b.3, figure 5)' : 'MLP (spec §b.2, figure 4)'}`}`,
      '',
      `Regenerated by \`alphadrop reproduce ${p.experiment}\` from \`runs.jsonl\`.`,
      '',
      '## Protocol',
      '',
      `- Data: ${p.dataNote}; pixels / 255.`,
      `- Model: ${p.experiment === 'mnist-cnn' ? 'conv 32@3×3 → ReLU → conv 32@3×3 → ReLU → max-pool 2×2 → dropout → dense 100 → ReLU → dropout → dense 10' : p.experiment === 'runtime' ? '784-1024-1024-1024-1024-10 MLP, dropout before every dense layer (the input too)' : '784-100-100-10 MLP, dropout before every dense layer (the input too)'}, dropout ${p.dropout}, Glorot-uniform kernels, zero biases.`,
      `- Training: BB-α, ${p.experiment === 'runtime' ? `α = ${p.alphas[0]}, K ∈ {${p.samplesList.join(', ')}}, one run each, trained one at a time (the clock is the point)` : `α ∈ {${p.alphas.join(', ')}}, K = ${pr.samples}, ${p.runs} runs per α (run r: seed ${p.seed} + r, shared by the α values)`}; SGD lr ${pr.lr}, batch ${pr.batchSize}, weight decay ${pr.weightDecay} on kernels (Keras l2 on the batch-mean loss), ${pr.epochs} epochs${pr.epochs < 500 ? ` (the paper: 500; fewer here for the device time, the same for every ${p.experiment === 'runtime' ? 'K' : 'α'})` : ''}.`,
      `- Test: every ${pr.evalEvery} epochs, K_test = ${pr.testSamples} MC samples; accuracy of the MC mean p̄; test LL = log p̄[y] per point (mean) and summed over the test set (the authors' code).${p.experiment === 'runtime' ? ' Training time excludes the evaluations.' : ''}`,
      '',
      '## Results (last evaluation)',
      '',
      ...table,
      '',
      `![test metrics](figures/${p.experiment}.svg)`,
      '',
      '## What ran where',
      '',
      ...provenanceLines(all.map((a) => a.r.run)),
      '',
    ],
  }, io);
}
