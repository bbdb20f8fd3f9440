// `alphadrop train --data FILE` and `alphadrop predict --data FILE`: a user's own table
// (CSV, NPY, IDX) instead of MNIST. Flags and paths are checked before anything is read;
// the file's cells are checked as it is read, before training starts.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ValueError } from '@alphadrop/core';
import { randomSplit, selectRows, targetKindOf, VERSION, type DataTable, type Task } from '@alphadrop/nn';
import { loadTable, saveCheckpoint, tableFormatOf } from '@alphadrop/nn/node';
import { loadPredictor } from '../../infer.js';
import { predictionsCsv, predictOwnData, trainOwnData, type OwnDataOptions } from '../../own-data.js';
import { assertFinite, backendOf, writeResult, type Plan } from '../common.js';
import type { Flag } from '../flags.js';
import type { ParsedArgs } from '../parse.js';
import { checkInputFile, checkOutputFile, createOutputDirs, writeTextFile } from '../paths.js';
import type { OpenedCheckpoint } from './from-checkpoint.js';

export const OWN_DATA_OUT = 'alphadrop-model.safetensors';

export const ownDataTrainFlags = (): Flag[] => [
  { kind: 'string', name: 'data', meta: 'FILE', help: 'train on your own data: a .csv with a header, a .npy feature matrix or IDX images (instead of MNIST)' },
  { kind: 'string', name: 'target', meta: 'COLUMN|FILE', help: 'with --data: the target column of the CSV, or the .npy/IDX file of targets' },
  { kind: 'enum', name: 'task', values: ['regression', 'classification'], help: 'with --data: a numeric target (regression) or class labels (classification)' },
  { kind: 'string', name: 'test', meta: 'FILE', help: 'with --data: held-out rows from this file (same columns) instead of --holdout' },
  { kind: 'string', name: 'test-target', meta: 'FILE', help: 'with --test of .npy/IDX data: its target file' },
  { kind: 'number', name: 'holdout', meta: 'F', min: 0, max: 1, minOpen: true, maxOpen: true, default: 0.1, help: 'with --data: the seeded fraction of rows held out for testing' },
  { kind: 'enum', name: 'conv', values: ['none', 'paper-cnn'], default: 'none', help: 'with --data: paper-cnn, the paper’s CNN over rows that are images (--image-shape)' },
  { kind: 'string', name: 'image-shape', meta: 'HxW|CxHxW', help: 'with --conv paper-cnn: the image shape of a row, e.g. 28x28 or 1x28x28' },
];

const ONLY_WITH_DATA = ['target', 'task', 'test', 'test-target', 'holdout', 'conv', 'image-shape'];
const ONLY_WITHOUT_DATA = ['arch', 'data-dir', 'limit', 'test-limit'];

function imageShape(args: ParsedArgs): [number, number, number] | undefined {
  if (args.string('conv') !== 'paper-cnn') {
    if (args.given('image-shape')) throw new ValueError('--image-shape', 'it only with --conv paper-cnn', String(args.string('image-shape')));
    return undefined;
  }
  const raw = args.string('image-shape');
  if (raw === undefined) throw new ValueError('--image-shape', 'the image shape of a row with --conv paper-cnn (e.g. 28x28)', 'none');
  const dims = raw.split('x').map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if ((dims.length !== 2 && dims.length !== 3) || dims.some((v) => !(v >= 1))) throw new ValueError('--image-shape', 'HxW or CxHxW with positive integers', JSON.stringify(raw));
  return (dims.length === 2 ? [1, ...dims] : dims) as [number, number, number];
}

/** Refuses flags of the other mode: MNIST flags with --data, own-data flags without it. */
export function checkDataMode(args: ParsedArgs): boolean {
  const own = args.given('data');
  for (const name of own ? ONLY_WITHOUT_DATA : ONLY_WITH_DATA)
    if (args.given(name)) throw new ValueError(`--${name}`, own ? `no --${name} with --data (it is for MNIST)` : `--${name} only with --data FILE`, `--${name}`);
  return own;
}

export function ownDataTrainPlan(args: ParsedArgs): Plan {
  const data = checkInputFile('--data', args.string('data')!);
  const format = tableFormatOf(data);
  const task = args.string('task') as Task | undefined;
  if (task === undefined) throw new ValueError('--task', 'regression or classification with --data', 'none');
  const target = args.string('target');
  if (target === undefined) throw new ValueError('--target', format === 'csv' ? 'the name of the target column' : 'the file holding the targets', 'none');
  if (format !== 'csv') checkInputFile('--target', target);
  const test = args.string('test');
  if (test !== undefined) checkInputFile('--test', test);
  const testTarget = args.string('test-target');
  if (testTarget !== undefined) checkInputFile('--test-target', testTarget);
  if (test !== undefined && format !== 'csv' && testTarget === undefined) throw new ValueError('--test-target', `the target file of --test ${test}`, 'none');
  if (test !== undefined && args.given('holdout')) throw new ValueError('--holdout', 'either --test FILE or --holdout, not both', String(args.number('holdout')));
  const inputs = [{ flag: '--data', path: data }, ...(test !== undefined ? [{ flag: '--test', path: test }] : [])];
  const out = checkOutputFile('--out', args.given('out') ? args.string('out')! : OWN_DATA_OUT, { force: args.boolean('force'), inputs });
  const resultPath = checkOutputFile('--out', `${out.replace(/\.safetensors$/, '')}.json`, { force: args.boolean('force'), inputs });
  const image = imageShape(args);
  const hidden = args.numbers('hidden');
  const o: OwnDataOptions = {
    task, hidden, ...(image ? { image } : {}), alpha: args.number('alpha'), samples: args.number('samples'), testSamples: args.number('test-samples'),
    dropout: args.number('dropout'), epochs: args.number('epochs'), batchSize: args.number('batch-size'), lr: args.number('lr'), seed: args.number('seed'),
  };
  const targetKind = targetKindOf(task);
  const read = (file: string, targetFile: string | undefined): DataTable =>
    loadTable(file, format === 'csv' ? { target: target, targetKind, requireTarget: true, minRows: 2 } : { targetKind, minRows: 2, ...(targetFile !== undefined ? { targetFile } : {}) });
  return {
    backend: backendOf(args),
    async run(io) {
      const all = read(data, format === 'csv' ? undefined : target);
      let train = all, held: DataTable;
      if (test !== undefined) {
        held = loadTable(test, format === 'csv' ? { target, targetKind, requireTarget: true, features: all.featureNames } : { targetKind, ...(testTarget !== undefined ? { targetFile: testTarget } : {}) });
        if (held.featureNames.length !== all.featureNames.length) throw new ValueError('--test', `${all.featureNames.length} feature columns (as --data ${data})`, `${held.featureNames.length} in ${test}`);
      } else {
        const split = randomSplit(all.rows, o.seed, args.number('holdout'));
        if (split.train.length < 2 || split.test.length < 1) throw new ValueError('--holdout', `a fraction leaving ≥ 2 training rows and ≥ 1 test row of ${all.rows}`, String(args.number('holdout')));
        train = selectRows(all, split.train);
        held = selectRows(all, split.test);
      }
      io.log(`BB-α α=${o.alpha}, K=${o.samples}, ${task} on ${train.rows} rows of ${data} (${train.featureNames.length} features, target ${all.target?.name}), ${held.rows} held out`);
      createOutputDirs(dirname(resolve(out)));
      const result = await trainOwnData(train, held, o, async (model, state) => saveCheckpoint(out, model, null, state));
      assertFinite('train: held-out metrics', result.metrics);
      io.log(JSON.stringify(result.metrics, null, 2));
      io.log(`wrote ${out}`);
      writeResult(resultPath, args, { seed: o.seed, data, test: test ?? null, checkpoint: out, ...result }, io);
    },
  };
}

export function ownDataPredictPlan(args: ParsedArgs, ckpt: OpenedCheckpoint): Plan {
  const data = checkInputFile('--data', args.string('data')!);
  const columns = ckpt.metadata.data;
  if (!columns) throw new ValueError('--data', `a checkpoint trained on own data (alphadrop train --data); ${ckpt.path} is not`, data, 'for MNIST checkpoints leave out --data');
  const out = args.string('out');
  if (out !== undefined) checkOutputFile('--out', out, { force: args.boolean('force'), inputs: [{ flag: '--model', path: ckpt.path }, { flag: '--data', path: data }] });
  const format = args.string('format') ?? (out?.endsWith('.json') ? 'json' : 'csv');
  const samples = args.optionalNumber('samples') ?? args.number('test-samples');
  return {
    backend: backendOf(args),
    async run(io) {
      const table = loadTable(data, { target: columns.target, targetKind: targetKindOf(columns.task), requireTarget: false, features: columns.features });
      const p = { ...loadPredictor(readFileSync(ckpt.path), ckpt.path), inputSize: columns.features.length };
      p.model.dispose();
      p.model = ckpt.build();
      try {
        const { columns: names, rows } = await predictOwnData(p, table, { samples, seed: ckpt.seed });
        assertFinite('predict: predictions', rows);
        if (format === 'json') {
          if (out !== undefined) writeResult(out, args, { checkpoint: ckpt.path, data, seed: ckpt.seed, samples, columns: names, rows }, io);
          else io.log(JSON.stringify({ command: 'predict', version: VERSION, seed: ckpt.seed, samples, columns: names, rows }, null, 2));
        } else if (out !== undefined) {
          writeTextFile(out, predictionsCsv(names, rows));
          io.log(`wrote ${out}`);
        } else io.log(predictionsCsv(names, rows).trimEnd());
      } finally {
        p.model.dispose();
      }
    },
  };
}
