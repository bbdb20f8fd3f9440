// `reproduce adversarial | ood | calibration` (spec §b.4 and beyond the paper) on the shared
// models (mnist-models.ts): the FGS sweep (accuracy, predictive entropy ± s.e. and the
// entropy AUROC of adversarial against clean images per η; figure 6), the targeted
// iterative attack towards class 0 (figure 7), out-of-distribution detection of
// Fashion-MNIST by predictive entropy and by mutual information, and calibration (ECE,
// Brier, reliability diagrams) on the MNIST test set. One journal line per model.

import { join } from 'node:path';
import type { MnistSplit } from '@alphadrop/nn';
import { fgsSweep, targetedSweep, type FgsRow, type TargetedRow } from '../experiments/adversarial.js';
import { calibration, type CalibrationResult } from '../experiments/calibration.js';
import { oodScores, type OodScores } from '../experiments/ood.js';
import { createOutputDirs } from '../cli/paths.js';
import { lineFigure, panels, reliabilityFigure, type FigureSpec } from '../report/figures.js';
import { RunJournal, type JsonValue } from '../runs/journal.js';
import { sharedModelSpecs, sharedModels, type NamedModel, type SharedModelsPlan } from './mnist-models.js';
import { ofRun, provenance, provenanceLines, type RunProvenance } from './provenance.js';
import { writeFigure, writeReport, type ReportIo } from './report.js';

export type ModelExperiment = 'adversarial' | 'ood' | 'calibration';

export interface ModelExperimentPlan extends SharedModelsPlan {
  experiment: ModelExperiment;
  /** K_test of every evaluation and attack gradient (the paper: 10). */
  testSamples: number;
  etas: number[];
  targetedSteps: number;
  /** Test images used (all 10,000 unless limited). */
  testLimitNote: string;
  fashion: MnistSplit | null;
  bins: number;
  out: string;
}

export function modelJournalOptions(p: ModelExperimentPlan): Record<string, JsonValue> {
  const pr = p.protocol;
  return {
    experiment: p.experiment, alphas: p.alphas, dropout: p.dropout, epochs: pr.epochs, samples: pr.samples, lr: pr.lr, batchSize: pr.batchSize, weightDecay: pr.weightDecay,
    seed: p.seed, testSamples: p.testSamples, data: p.testLimitNote,
    ...(p.experiment === 'adversarial' ? { etas: p.etas, targetedSteps: p.targetedSteps } : p.experiment === 'calibration' ? { bins: p.bins } : {}),
  };
}

export function openModelJournal(p: ModelExperimentPlan): RunJournal<JsonValue> {
  return RunJournal.open<JsonValue>(join(p.out, 'runs.jsonl'), modelJournalOptions(p));
}

interface AdversarialRecord {
  fgs: FgsRow[];
  targeted: TargetedRow[];
}

async function evaluate(p: ModelExperimentPlan, m: NamedModel): Promise<JsonValue> {
  const o = { testSamples: p.testSamples, seed: p.seed, mc: m.mc };
  const test = { images: p.test.images, n: p.test.labels.length };
  if (p.experiment === 'adversarial') {
    const fgs = await fgsSweep(m.model, test, p.test.labels, { ...o, etas: p.etas });
    const targeted = await targetedSweep(m.model, test, p.test.labels, { ...o, target: 0, steps: p.targetedSteps, stepSize: 0.01 });
    return { fgs, targeted } as unknown as JsonValue;
  }
  if (p.experiment === 'ood') return (await oodScores(m.model, test, { images: p.fashion!.images, n: p.fashion!.labels.length }, o)) as unknown as JsonValue;
  return (await calibration(m.model, test, p.test.labels, { ...o, bins: p.bins })) as unknown as JsonValue;
}

export async function reproduceModelExperiment(p: ModelExperimentPlan, journal: RunJournal<JsonValue>, io: ReportIo): Promise<void> {
  const names = sharedModelSpecs(p.alphas);
  // the models are loaded (or trained) only when a run is missing: a finished experiment just regenerates its report
  const todo = names.some((n) => journal.get({ model: n.id }) === undefined);
  const models = todo ? await sharedModels(p, io.log) : [];
  if (!todo) io.log(`${p.experiment}: all ${names.length} runs done earlier`);
  try {
    for (const m of models) {
      const unit = { model: m.id };
      if (journal.get(unit) !== undefined) {
        io.log(`${m.name}: done earlier`);
        continue;
      }
      const t0 = performance.now();
      const result = await evaluate(p, m);
      createOutputDirs(p.out);
      journal.append(unit, { ...(result as Record<string, JsonValue>), run: ofRun(provenance(io.device, (performance.now() - t0) / 1000), p.seed) as unknown as JsonValue });
      io.log(`${m.name}: recorded`);
    }
    const records = names.map((n) => ({ ...n, r: journal.get({ model: n.id }) as unknown as Record<string, unknown> & { run: RunProvenance } }));
    if (p.experiment === 'adversarial') await adversarialReport(p, records as unknown as { id: string; name: string; r: AdversarialRecord & { run: RunProvenance } }[], io);
    else if (p.experiment === 'ood') oodReport(p, records as unknown as { id: string; name: string; r: OodScores & { run: RunProvenance } }[], io);
    else await calibrationReport(p, records as unknown as { id: string; name: string; r: CalibrationResult & { run: RunProvenance } }[], io);
  } finally {
    models.forEach((m) => m.model.dispose());
  }
}

function protocolLines(p: ModelExperimentPlan): string[] {
  const pr = p.protocol;
  return [
    '## Models',
    '',
    `- 784-1000-1000-1000-10 MLP, dropout ${p.dropout} before every dense layer (the input too), BB-α with α ∈ {${p.alphas.join(', ')}}, K = ${pr.samples}; SGD lr ${pr.lr}, batch ${pr.batchSize}, weight decay ${pr.weightDecay}, ${pr.epochs} epochs${pr.epochs < 500 ? ' (the paper: 500; fewer here for the device time, the same for every model)' : ''}, seed ${p.seed}.`,
    `- The deterministic MLP: the same architecture without dropout, trained by maximum likelihood (softmax cross-entropy, i.e. BB-α with K = 1 and no masks) with the same optimiser, batch, weight decay and epochs.`,
    `- Test: ${p.testLimitNote}; predictions average ${p.testSamples} MC samples (the deterministic model: one pass).`,
    '',
  ];
}

/** One panel of a sweep figure: `key` of every model's rows against x; the entropy with its ± s.e. band. */
function sweepPanel<R extends { entropyStdErr: number }>(
  models: readonly { name: string; rows: readonly R[] }[],
  x: { title: string; of: (row: R) => number; scale?: 'log' },
  key: { [K in keyof R]: R[K] extends number ? K : never }[keyof R],
  title: string,
): FigureSpec {
  return lineFigure({
    title, x: { title: x.title, ...(x.scale ? { scale: x.scale } : {}) }, y: { title }, width: 260, height: 200,
    series: models.map((m) => ({ name: m.name, points: m.rows.map((row) => ({ x: x.of(row), mean: row[key] as number, ...(key === 'entropyMean' ? { se: row.entropyStdErr } : {}) })) })),
  });
}

async function adversarialReport(p: ModelExperimentPlan, rs: { id: string; name: string; r: AdversarialRecord & { run: RunProvenance } }[], io: ReportIo): Promise<void> {
  const fgs = rs.map((m) => ({ name: m.name, rows: m.r.fgs }));
  const eta = { title: 'η', of: (r: FgsRow) => r.eta };
  await writeFigure(p.out, 'fgs.svg', panels('Untargeted FGS (figure 6): accuracy, predictive entropy ± s.e., entropy AUROC adversarial vs clean',
    [sweepPanel(fgs, eta, 'accuracy', 'test accuracy'), sweepPanel(fgs, eta, 'entropyMean', 'predictive entropy'), sweepPanel(fgs, eta, 'entropyAuroc', 'entropy AUROC')]));
  const targeted = rs.map((m) => ({ name: m.name, rows: m.r.targeted }));
  const step = { title: 'attack step', of: (r: TargetedRow) => r.step, scale: 'log' as const };
  await writeFigure(p.out, 'targeted.svg', panels('Targeted iterative FGS towards class 0 (figure 7)',
    [sweepPanel(targeted, step, 'accuracyOriginal', 'accuracy on the true class'), sweepPanel(targeted, step, 'accuracyTarget', 'fraction classified as 0'), sweepPanel(targeted, step, 'entropyMean', 'predictive entropy')]));
  const at = (rows: FgsRow[], eta: number) => rows.reduce((b, r) => (Math.abs(r.eta - eta) < Math.abs(b.eta - eta) ? r : b));
  const shown = [0, 0.1, 0.2, 0.3, 0.5].filter((e) => e <= Math.max(...p.etas) + 1e-9);
  const afterStep = (rows: TargetedRow[], s: number) => rows[Math.min(rows.length, s) - 1]!;
  const steps = [1, 10, 40, 100].filter((s) => s <= p.targetedSteps);
  const summary = rs.map((m) => ({ model: m.name, fgs: shown.map((e) => at(m.r.fgs, e)), targeted: steps.map((s) => afterStep(m.r.targeted, s)) }));
  writeReport(p.out, {
    summary: { experiment: 'adversarial', options: modelJournalOptions(p), models: rs.map((m) => ({ model: m.name, fgs: m.r.fgs, targeted: m.r.targeted })) },
    readme: [
      '# Adversarial examples: accuracy and predictive entropy (spec §b.4, figures 6–7)',
      '',
      'Regenerated by `alphadrop reproduce adversarial` from `runs.jsonl`.',
      '',
      ...protocolLines(p),
      '## Attacks',
      '',
      `- Untargeted FGS: x_adv = clip(x + η·sign(∇ₓ −log p̄(ŷ | x)), 0, 1) with ŷ the MC prediction on the clean image, η ∈ {${p.etas[0]}, ${p.etas[1]}, …, ${p.etas[p.etas.length - 1]}}, each from the clean image. The gradient is of −log p̄ (the paper's formula; the authors' code differentiates a cross-entropy of the averaged probabilities, spec pitfall 13a). Gradients and evaluations draw fresh MC masks.`,
      `- Targeted: images of class 0 dropped; ${p.targetedSteps} steps x ← clip(x + 0.01·sign(∇ₓ mean log p̄(0 | x)), 0, 1).`,
      '- Entropy AUROC: how well predictive entropy separates the adversarial images (positive) from the clean ones; 0.5 is chance.',
      '',
      '## Untargeted FGS',
      '',
      '| model | η | accuracy | entropy ± s.e. | entropy AUROC |',
      '|---|---:|---:|---:|---:|',
      ...summary.flatMap((s) => s.fgs.map((r) => `| ${s.model} | ${r.eta} | ${r.accuracy.toFixed(4)} | ${r.entropyMean.toFixed(4)} ± ${r.entropyStdErr.toFixed(4)} | ${r.entropyAuroc.toFixed(4)} |`)),
      '',
      '![FGS](figures/fgs.svg)',
      '',
      '## Targeted iterative attack (towards 0)',
      '',
      '| model | step | accuracy (true class) | classified as 0 | entropy ± s.e. |',
      '|---|---:|---:|---:|---:|',
      ...summary.flatMap((s) => s.targeted.map((r) => `| ${s.model} | ${r.step} | ${r.accuracyOriginal.toFixed(4)} | ${r.accuracyTarget.toFixed(4)} | ${r.entropyMean.toFixed(4)} ± ${r.entropyStdErr.toFixed(4)} |`)),
      '',
      '![targeted](figures/targeted.svg)',
      '',
      '## What ran where',
      '',
      ...provenanceLines(rs.map((m) => m.r.run)),
      '',
    ],
  }, io);
}

function oodReport(p: ModelExperimentPlan, rs: { id: string; name: string; r: OodScores & { run: RunProvenance } }[], io: ReportIo): void {
  writeReport(p.out, {
    summary: { experiment: 'ood', options: modelJournalOptions(p), models: rs.map((m) => ({ model: m.name, ...m.r, run: undefined })) },
    readme: [
      '# Out-of-distribution detection: MNIST models on Fashion-MNIST',
      '',
      'Regenerated by `alphadrop reproduce ood` from `runs.jsonl` (the same scores as `alphadrop ood --checkpoint ...`).',
      '',
      ...protocolLines(p),
      `- Out-of-distribution: the Fashion-MNIST test set (${p.fashion ? p.fashion.labels.length : 0} images), scored as positives against the MNIST test images; AUROC of predictive entropy H[p̄] and of the mutual information H[p̄] − mean_k H[p_k] (none for the deterministic model).`,
      '',
      '| model | entropy AUROC | MI AUROC | mean entropy, MNIST | mean entropy, Fashion-MNIST |',
      '|---|---:|---:|---:|---:|',
      ...rs.map((m) => `| ${m.name} | ${m.r.entropyAuroc.toFixed(4)} | ${m.r.miAuroc === null ? '—' : m.r.miAuroc.toFixed(4)} | ${m.r.inEntropyMean.toFixed(4)} | ${m.r.outEntropyMean.toFixed(4)} |`),
      '',
      '## What ran where',
      '',
      ...provenanceLines(rs.map((m) => m.r.run)),
      '',
    ],
  }, io);
}

async function calibrationReport(p: ModelExperimentPlan, rs: { id: string; name: string; r: CalibrationResult & { run: RunProvenance } }[], io: ReportIo): Promise<void> {
  await writeFigure(p.out, 'reliability.svg', panels('Reliability diagrams on the MNIST test set', rs.map((m) =>
    reliabilityFigure({ title: m.name, series: [{ name: m.name, bins: m.r.bins.filter((b) => b.count > 0).map((b) => ({ confidence: b.confidence!, accuracy: b.accuracy!, count: b.count })) }] })), Math.min(4, rs.length)));
  writeReport(p.out, {
    summary: { experiment: 'calibration', options: modelJournalOptions(p), models: rs.map((m) => ({ model: m.name, ...m.r, run: undefined })) },
    readme: [
      '# Calibration on the MNIST test set',
      '',
      'Regenerated by `alphadrop reproduce calibration` from `runs.jsonl` (the same numbers as `alphadrop calibration --checkpoint ...`).',
      '',
      ...protocolLines(p),
      `- ECE over ${p.bins} equal-width confidence bins (Σ_b n_b/n·|accuracy_b − confidence_b|), Brier score Σ_c (p̄_c − 1[c = y])² per image, mean log-likelihood.`,
      '',
      '| model | accuracy | test LL | ECE | Brier |',
      '|---|---:|---:|---:|---:|',
      ...rs.map((m) => `| ${m.name} | ${m.r.accuracy.toFixed(4)} | ${m.r.logLikelihood.toFixed(4)} | ${m.r.ece.toFixed(4)} | ${m.r.brier.toFixed(4)} |`),
      '',
      '![reliability diagrams](figures/reliability.svg)',
      '',
      '## What ran where',
      '',
      ...provenanceLines(rs.map((m) => m.r.run)),
      '',
    ],
  }, io);
}
