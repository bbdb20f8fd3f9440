// BB-α on a user's own table (`alphadrop train --data`, `alphadrop predict --data`):
// regression through the UCI protocol's trainer (experiments/uci.ts: the Gaussian BB-α
// energy with a learned noise precision τ, the prior's weight decay), classification
// through trainClassifier. Inputs, and regression targets, are standardised with the
// training rows' statistics only; the statistics, τ, the feature and target column names
// and the class labels go into the checkpoint, so predicting needs nothing but the file.

import { tensor, tidy, ValueError } from '@alphadrop/core';
import {
  applyStandardizer, buildModel, classesOf, classIndices, fitStandardizer, mlpArchitecture, paperCnnArchitecture,
  type Architecture, type DataColumns, type DataTable, type Normalisation, type Sequential, type Task, type TrainingState, type UciSplit,
} from '@alphadrop/nn';
import { evaluateClassifier } from './experiments/evaluate.js';
import { runUciBatch } from './experiments/uci.js';
import { predictClasses, predictRegression, type Predictor } from './infer.js';
import { mcPredictSamples } from './mc.js';
import { regressionMetrics } from './metrics.js';
import { trainClassifier } from './train.js';

export interface OwnDataOptions {
  task: Task;
  /** Hidden widths of the MLP (ignored with `image`). */
  hidden: readonly number[];
  /** [channels, height, width]: the paper's CNN over rows that are images. */
  image?: readonly [number, number, number];
  alpha: number;
  samples: number;
  testSamples: number;
  dropout: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
}

export interface OwnDataResult {
  task: Task;
  trainRows: number;
  testRows: number;
  architecture: Architecture;
  /** Held-out metrics, regression in the target's units. */
  metrics: { rmse: number; logLikelihood: number; tau: number } | { accuracy: number; logLikelihood: number; entropy: number; mutualInformation?: number };
}

/** Saves a trained model with its checkpoint state (the CLI writes a file). */
export type SaveModel = (model: Sequential, state: TrainingState) => Promise<void>;

function architectureFor(o: OwnDataOptions, inputs: number, outputs: number): Architecture {
  if (!o.image) return mlpArchitecture([inputs, ...o.hidden, outputs], { dropout: o.dropout });
  const size = o.image[0] * o.image[1] * o.image[2];
  if (size !== inputs) throw new ValueError('--image-shape', `${inputs} values per image (the table's feature columns)`, `${o.image.join('x')} = ${size}`);
  return paperCnnArchitecture({ dropout: o.dropout, image: o.image, classes: outputs });
}

function numericTarget(t: DataTable, role: string): Float64Array {
  if (!t.target || t.target.kind !== 'number') throw new ValueError(`own data (${t.file})`, `a numeric target for the ${role} rows`, t.target ? 'class labels' : 'no target column');
  return t.target.values;
}

const normalisationOf = (x: { mean: Float64Array; std: Float64Array }): Normalisation => ({ inputMean: Array.from(x.mean), inputStd: Array.from(x.std) });

/** Standardises raw rows with a checkpoint's input statistics (none: unchanged). */
export function standardiseInputs(table: DataTable, norm: Normalisation | undefined): Float32Array {
  if (!norm?.inputMean || !norm.inputStd) return Float32Array.from(table.x);
  return applyStandardizer(table.x, table.rows, table.featureNames.length, { mean: Float64Array.from(norm.inputMean), std: Float64Array.from(norm.inputStd) });
}

/** Trains on `train`, scores on `test` (same columns), and hands the model to `save`. */
export async function trainOwnData(train: DataTable, test: DataTable, o: OwnDataOptions, save: SaveModel): Promise<OwnDataResult> {
  const d = train.featureNames.length;
  const xScale = fitStandardizer(train.x, train.rows, d);
  const columns = { features: train.featureNames, target: train.target?.name ?? '' };
  const steps = o.epochs * Math.ceil(train.rows / o.batchSize);
  if (o.task === 'regression') {
    const yTrain = numericTarget(train, 'training'), yTest = numericTarget(test, 'test');
    const yScale = fitStandardizer(yTrain, train.rows, 1);
    const yMean = yScale.mean[0]!, yStd = yScale.std[0]!;
    const split: UciSplit = {
      xTrain: applyStandardizer(train.x, train.rows, d, xScale), yTrain: Float32Array.from(yTrain, (v) => (v - yMean) / yStd),
      xTest: applyStandardizer(test.x, test.rows, d, xScale), yTest: Float32Array.from(yTest, (v) => (v - yMean) / yStd),
      yTestRaw: yTest, nTrain: train.rows, nTest: test.rows, inputs: d, xScale, yMean, yStd,
    };
    const architecture = architectureFor(o, d, 1);
    const [r] = await runUciBatch([{ split, alpha: o.alpha, seed: o.seed }], {
      samples: o.samples, testSamples: o.testSamples, hidden: 0, dropout: o.dropout, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, weightDecay: 'prior', architecture,
    }, undefined, (_, lone, result) => save(lone.net, {
      seed: o.seed, step: steps, architecture, alpha: o.alpha, samples: o.samples, tau: result.tau,
      normalisation: { ...normalisationOf(xScale), targetMean: yMean, targetStd: yStd },
      data: { task: 'regression', ...columns },
    }));
    return { task: o.task, trainRows: train.rows, testRows: test.rows, architecture, metrics: { rmse: r!.rmse, logLikelihood: r!.logLikelihood, tau: r!.tau } };
  }
  if (!train.target || train.target.kind !== 'label') throw new ValueError(`own data (${train.file})`, 'class labels in the target column', 'none');
  const classes = classesOf(train.target.labels);
  if (classes.length < 2) throw new ValueError(`own data (${train.file})`, 'at least 2 classes in the training rows', `only ${JSON.stringify(classes[0])}`);
  const yTrain = classIndices(train, classes), yTest = classIndices(test, classes);
  const architecture = architectureFor(o, d, classes.length);
  const model = buildModel(architecture, { seed: o.seed });
  try {
    const fitted = await trainClassifier(model, applyStandardizer(train.x, train.rows, d, xScale), yTrain, {
      alpha: o.alpha, samples: o.samples, epochs: o.epochs, batchSize: o.batchSize, seed: o.seed, log: 'silent',
      optimizer: { rule: 'adam', lr: o.lr, weightDecay: 1e-6 },
    });
    const m = await evaluateClassifier(model, applyStandardizer(test.x, test.rows, d, xScale), yTest, { samples: o.testSamples, seed: o.seed });
    const data: DataColumns = { task: 'classification', ...columns, classes };
    await save(model, { seed: o.seed, step: fitted.steps, architecture, alpha: o.alpha, samples: o.samples, normalisation: normalisationOf(xScale), data });
    return {
      task: o.task, trainRows: train.rows, testRows: test.rows, architecture,
      metrics: { accuracy: m.accuracy, logLikelihood: m.logLikelihood, entropy: m.entropy, ...(m.mutualInformation !== undefined ? { mutualInformation: m.mutualInformation } : {}) },
    };
  } finally {
    model.dispose();
  }
}

/** One output row: regression mean, std (and ll); classification p_<label>…, predicted, entropy, mi. */
export type PredictionRow = Record<string, number | string>;

/**
 * MC predictions for the rows of `table` (the checkpoint's feature columns, raw units):
 * regression mean and predictive std in target units, and the per-point log-likelihood
 * when the table has the target; classification class probabilities, the predicted label,
 * entropy and mutual information.
 */
export async function predictOwnData(p: Predictor, table: DataTable, o: { samples: number; seed: number }): Promise<{ columns: string[]; rows: PredictionRow[] }> {
  const data = p.metadata.data;
  if (!data) throw new ValueError('predict --data', 'a checkpoint trained on own data (alphadrop train --data)', 'a checkpoint without data columns');
  const opts = { samples: o.samples, seed: o.seed };
  if (data.task === 'regression') {
    const r = await predictRegression(p, Float32Array.from(table.x), opts);
    const target = table.target?.kind === 'number' ? table.target.values : undefined;
    const rows: PredictionRow[] = Array.from({ length: r.n }, (_, i) => ({ mean: r.mean[i]!, std: r.std[i]! }));
    if (target) {
      // the same seed and pass as predictRegression's: the same masks, so ll scores those predictions
      const norm = p.metadata.normalisation ?? {};
      const x = tensor(standardiseInputs(table, norm), [table.rows, table.featureNames.length]);
      const sampled = tidy(() => mcPredictSamples(p.model, x, o.samples, opts));
      const samples = await sampled.data();
      sampled.dispose();
      x.dispose();
      rows.forEach((row, i) => {
        row.ll = regressionMetrics(samples.subarray(i * o.samples, (i + 1) * o.samples), o.samples, [target[i]!], norm.targetMean ?? 0, norm.targetStd ?? 1, p.metadata.tau!).logLikelihood;
      });
    }
    return { columns: target ? ['mean', 'std', 'll'] : ['mean', 'std'], rows };
  }
  const classes = data.classes!;
  const c = await predictClasses(p, standardiseInputs(table, p.metadata.normalisation), opts);
  const probColumns = classes.map((l) => `p_${l}`);
  const rows = Array.from({ length: c.n }, (_, i) => {
    const row: PredictionRow = {};
    probColumns.forEach((name, k) => (row[name] = c.probs[i * c.classes + k]!));
    row.predicted = classes[c.predicted[i]!]!;
    row.entropy = c.entropy[i]!;
    row.mi = c.mutualInformation[i]!;
    return row;
  });
  return { columns: [...probColumns, 'predicted', 'entropy', 'mi'], rows };
}

/** CSV text of prediction rows (labels quoted when they hold a comma, quote or line break). */
export function predictionsCsv(columns: readonly string[], rows: readonly PredictionRow[]): string {
  const cell = (v: number | string) => (typeof v === 'number' ? String(v) : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [columns.map(cell).join(','), ...rows.map((r) => columns.map((k) => cell(r[k]!)).join(','))].join('\n') + '\n';
}
