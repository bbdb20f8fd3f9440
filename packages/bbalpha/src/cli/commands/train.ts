// `mnist` (train, evaluate, report) and `train` (the same, then save a self-describing
// checkpoint). The architecture comes from --arch and --hidden; the checkpoint records it
// with α, K, the seed and the step, so eval/predict/attack need nothing but the file.

import { dirname, resolve } from 'node:path';
import { ValueError } from '@alphadrop/core';
import { buildModel, describeArchitecture, describeModel, mlpArchitecture, paperCnnArchitecture, type Architecture } from '@alphadrop/nn';
import { loadMnist, saveCheckpoint } from '@alphadrop/nn/node';
import { evaluateClassifier } from '../../experiments/evaluate.js';
import { trainClassifier } from '../../train.js';
import { assertFinite, backendOf, flag, requireDataDir, writeResult, type Command, type Plan } from '../common.js';
import type { Flag } from '../flags.js';
import type { ParsedArgs } from '../parse.js';
import { checkOutputFile, createOutputDirs } from '../paths.js';
import { checkDataMode, ownDataTrainFlags, ownDataTrainPlan } from './own-data.js';

const MNIST_PIXELS = 784;
const MNIST_CLASSES = 10;

function trainFlags(out: Flag): Flag[] {
  return [
    { kind: 'enum', name: 'arch', values: ['mlp', 'cnn'], default: 'mlp', help: 'mlp (sizes from --hidden) or cnn (the paper’s MNIST CNN)' },
    { kind: 'numbers', name: 'hidden', meta: 'H[,H...]', integer: true, min: 1, default: [100, 100], help: 'mlp hidden layer widths, e.g. 1000,1000,1000' },
    flag.alpha(0.5), flag.samples(10), flag.testSamples(10), flag.dropout(0.2), flag.epochs(10), flag.batchSize(32), flag.lr(1e-3), flag.seed(),
    flag.dataDir(),
    flag.limit('use the first N training images'),
    { kind: 'number', name: 'test-limit', meta: 'N', integer: true, min: 1, help: 'evaluate on the first N test images (default all)' },
    out, flag.force(), flag.backend(),
  ];
}

function architectureOf(args: ParsedArgs): Architecture {
  const dropout = args.number('dropout');
  if (args.string('arch') === 'cnn') {
    if (args.given('hidden')) throw new ValueError('--hidden', 'no --hidden with --arch cnn (the paper’s CNN has one dense layer of 100)', args.numbers('hidden').join(','));
    return paperCnnArchitecture({ dropout });
  }
  return mlpArchitecture([MNIST_PIXELS, ...args.numbers('hidden'), MNIST_CLASSES], { dropout });
}

function plan(args: ParsedArgs, save: boolean): Plan {
  const architecture = architectureOf(args);
  const dir = requireDataDir(args);
  const out = args.string('out');
  if (out !== undefined) checkOutputFile('--out', out, { force: args.boolean('force') });
  const alpha = args.number('alpha');
  const samples = args.number('samples');
  const seed = args.number('seed');
  const limit = args.optionalNumber('limit');
  const testLimit = args.optionalNumber('test-limit');
  return {
    backend: backendOf(args),
    async run(io) {
      const train = loadMnist(dir, { split: 'train', ...(limit !== undefined ? { limit } : {}) });
      const test = loadMnist(dir, { split: 'test', ...(testLimit !== undefined ? { limit: testLimit } : {}) });
      const model = buildModel(architecture, { seed });
      try {
        io.log(`BB-α α=${alpha}, K=${samples}, ${describeArchitecture(architecture)}, on ${train.n} MNIST digits`);
        const fitted = await trainClassifier(model, train.images, train.labels, {
          alpha, samples, epochs: args.number('epochs'), batchSize: args.number('batch-size'), seed,
          optimizer: { rule: 'adam', lr: args.number('lr'), weightDecay: 1e-6 },
        });
        const metrics = await evaluateClassifier(model, test.images, test.labels, { samples: args.number('test-samples'), seed });
        assertFinite(`${args.command.name}: test metrics`, metrics);
        io.log(JSON.stringify({ alpha, testImages: test.n, ...metrics }, null, 2));
        if (save) {
          createOutputDirs(dirname(resolve(out!)));
          await saveCheckpoint(out!, model, null, { seed, step: fitted.steps, architecture: describeModel(model), alpha, samples });
          io.log(`wrote ${out}`);
        } else if (out !== undefined) writeResult(out, args, { architecture, trainImages: train.n, testImages: test.n, metrics }, io);
      } finally {
        model.dispose();
      }
    },
  };
}

export const mnistCommand: Command = {
  name: 'mnist',
  summary: 'BB-α on MNIST: train, then MC-evaluate on the test set',
  flags: trainFlags(flag.out('result file (JSON)')),
  check: (args) => plan(args, false),
};

export const trainCommand: Command = {
  name: 'train',
  summary: 'train on MNIST, or on your own CSV/NPY/IDX data (--data), and save a self-describing checkpoint',
  flags: [...trainFlags(flag.out('checkpoint file (safetensors; with --data default alphadrop-model.safetensors, and a .json result beside it)', 'alphadrop-mnist.safetensors')), ...ownDataTrainFlags()],
  check: (args) => (checkDataMode(args) ? ownDataTrainPlan(args) : plan(args, true)),
};
