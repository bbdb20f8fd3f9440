// `eval`, `predict` and `attack`: a checkpoint (the model from the file alone) against the
// MNIST test set. All paths and the checkpoint are checked before the data are read.

import { join } from 'node:path';
import { tensor, ValueError } from '@alphadrop/core';
import { loadMnist } from '@alphadrop/nn/node';
import { fgsm } from '../../attacks.js';
import { evaluateClassifier, mcSampleProbs, meanOverSamples } from '../../experiments/evaluate.js';
import { entropyOf } from '../../metrics.js';
import { lineFigure, panels } from '../../report/figures.js';
import { renderSvg } from '../../report/render.js';
import { assertFinite, backendOf, flag, requireDataDir, writeResult, type Command } from '../common.js';
import type { ParsedArgs } from '../parse.js';
import { checkOutputDir, checkOutputFile, createOutputDirs, writeTextFile } from '../paths.js';
import { checkpointFlags, describeCheckpoint, openCheckpoint } from './from-checkpoint.js';
import { ownDataPredictPlan } from './own-data.js';

const DEFAULT_ETAS = Array.from({ length: 26 }, (_, i) => Number((0.02 * i).toFixed(2)));

function outputFile(args: ParsedArgs, modelPath: string): string | undefined {
  const out = args.string('out');
  return out === undefined ? undefined : checkOutputFile('--out', out, { force: args.boolean('force'), inputs: [{ flag: '--model', path: modelPath }] });
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'MC-evaluate a checkpoint on the MNIST test set',
  flags: [...checkpointFlags(), flag.testSamples(10), flag.limit('evaluate on the first N test images (default all)'), flag.dataDir(), flag.out('result file (JSON)'), flag.force(), flag.backend()],
  check(args) {
    const ckpt = openCheckpoint(args);
    const out = outputFile(args, ckpt.path);
    const dir = requireDataDir(args);
    const limit = args.optionalNumber('limit');
    return {
      backend: backendOf(args),
      async run(io) {
        const model = ckpt.build();
        try {
          io.log(describeCheckpoint(ckpt));
          const test = loadMnist(dir, { split: 'test', ...(limit !== undefined ? { limit } : {}) });
          const metrics = await evaluateClassifier(model, test.images, test.labels, { samples: args.number('test-samples'), seed: ckpt.seed });
          assertFinite('eval: test metrics', metrics);
          io.log(JSON.stringify(metrics, null, 2));
          if (out !== undefined) writeResult(out, args, { checkpoint: ckpt.metadata, testImages: test.n, seed: ckpt.seed, metrics }, io);
        } finally {
          model.dispose();
        }
      },
    };
  },
};

export const predictCommand: Command = {
  name: 'predict',
  summary: 'MC predictions with uncertainty: of test digits (JSON), or of your own rows (--data; CSV or JSON)',
  flags: [
    ...checkpointFlags(), flag.testSamples(10), flag.limit('the first N test images', 10), flag.dataDir(),
    { kind: 'string', name: 'data', meta: 'FILE', help: 'rows to predict (.csv with the model’s feature columns, the target optional) for a model trained with train --data' },
    { kind: 'number', name: 'samples', meta: 'K', integer: true, min: 1, help: 'with --data: MC samples per row (default --test-samples)' },
    { kind: 'enum', name: 'format', values: ['csv', 'json'], help: 'with --data: output format (default csv, json for an --out ending in .json)' },
    flag.out('result file (default: standard output)'), flag.force(), flag.backend(),
  ],
  check(args) {
    const ckpt = openCheckpoint(args);
    if (args.given('data')) {
      if (args.given('data-dir') || args.given('limit')) throw new ValueError(args.given('limit') ? '--limit' : '--data-dir', 'no MNIST flags with --data', 'both');
      return ownDataPredictPlan(args, ckpt);
    }
    for (const name of ['samples', 'format']) if (args.given(name)) throw new ValueError(`--${name}`, `--${name} only with --data FILE`, `--${name}`);
    const out = outputFile(args, ckpt.path);
    const dir = requireDataDir(args);
    return {
      backend: backendOf(args),
      async run(io) {
        const model = ckpt.build();
        try {
          const test = loadMnist(dir, { split: 'test', limit: args.number('limit') });
          const K = args.number('test-samples');
          const x = tensor(test.images, [test.n, test.images.length / test.n]);
          const { probs, C } = await mcSampleProbs(model, x, { samples: K, seed: ckpt.seed });
          x.dispose();
          const mean = meanOverSamples(probs, test.n, K, C);
          const predictions = Array.from({ length: test.n }, (_, i) => {
            const p = Array.from(mean.subarray(i * C, (i + 1) * C));
            let expected = 0;
            for (let k = 0; k < K; k++) expected += entropyOf(probs, (i * K + k) * C, C) / K;
            const h = entropyOf(p, 0, C);
            return { index: i, label: test.labels[i]!, predicted: p.indexOf(Math.max(...p)), probabilities: p, entropy: h, mutualInformation: h - expected };
          });
          assertFinite('predict: predictions', predictions);
          if (out !== undefined) writeResult(out, args, { checkpoint: ckpt.metadata, seed: ckpt.seed, predictions }, io);
          else io.log(JSON.stringify(predictions, null, 2));
        } finally {
          model.dispose();
        }
      },
    };
  },
};

export const attackCommand: Command = {
  name: 'attack',
  summary: 'untargeted FGS η sweep against a checkpoint: attack.json and attack.svg',
  flags: [
    ...checkpointFlags(),
    { kind: 'numbers', name: 'eta', meta: 'E[,E...]', min: 0, default: DEFAULT_ETAS, help: 'FGS step sizes' },
    { kind: 'enum', name: 'objective', values: ['paper', 'reference-code'], default: 'paper', help: 'the loss attacked (reference-code: the authors’ softmax of p̄)' },
    flag.testSamples(10), flag.limit('attack the first N test images', 1000), flag.dataDir(),
    flag.out('output directory', 'alphadrop-attack'), flag.force(), flag.backend(),
  ],
  check(args) {
    const ckpt = openCheckpoint(args);
    const outDir = checkOutputDir('--out', args.string('out')!, { force: args.boolean('force'), files: ['attack.json', 'attack.svg'], inputs: [{ flag: '--model', path: ckpt.path }] });
    const dir = requireDataDir(args);
    const etas = args.numbers('eta');
    if (new Set(etas).size !== etas.length) throw new ValueError('--eta', 'distinct step sizes', etas.join(','));
    return {
      backend: backendOf(args),
      async run(io) {
        const model = ckpt.build();
        try {
          io.log(describeCheckpoint(ckpt));
          const test = loadMnist(dir, { split: 'test', limit: args.number('limit') });
          const K = args.number('test-samples');
          const x = tensor(test.images, [test.n, test.images.length / test.n]);
          const objective = args.string('objective') === 'reference-code' ? 'reference-code' : 'paper';
          const advs = fgsm(model, x, etas, { samples: K, seed: ckpt.seed, objective });
          const rows = [];
          try {
            for (let i = 0; i < etas.length; i++) {
              const m = await evaluateClassifier(model, advs[i]!, test.labels, { samples: K, seed: ckpt.seed, pass: i + 1 });
              const row = { eta: etas[i]!, accuracy: m.accuracy, entropy: m.entropy, entropyStdErr: m.entropyStdErr, mutualInformation: m.mutualInformation ?? 0 };
              assertFinite(`attack: η=${etas[i]}`, row);
              rows.push(row);
              io.log(`η=${etas[i]}: accuracy ${(100 * m.accuracy).toFixed(1)}%, entropy ${m.entropy.toFixed(3)}`);
            }
          } finally {
            advs.forEach((a) => a.dispose());
            x.dispose();
          }
          createOutputDirs(outDir);
          writeResult(join(outDir, 'attack.json'), args, { checkpoint: ckpt.metadata, seed: ckpt.seed, testImages: test.n, rows }, io);
          // One series per checkpoint, named by its α, as in the paper's figure 7.
          const series = ckpt.metadata.alpha !== undefined ? `α = ${ckpt.metadata.alpha}` : 'model';
          const figure = panels('Untargeted FGS through MC dropout', [
            lineFigure({ title: 'Test accuracy', x: { title: 'η' }, y: { title: 'accuracy', domain: [0, 1] }, series: [{ name: series, points: rows.map((r) => ({ x: r.eta, mean: r.accuracy })) }] }),
            lineFigure({ title: 'Predictive entropy', x: { title: 'η' }, y: { title: 'entropy (nats)' }, series: [{ name: series, points: rows.map((r) => ({ x: r.eta, mean: r.entropy, se: r.entropyStdErr })) }] }),
          ]);
          writeTextFile(join(outDir, 'attack.svg'), await renderSvg(figure));
          io.log(`wrote ${join(outDir, 'attack.svg')}`);
        } finally {
          model.dispose();
        }
      },
    };
  },
};
