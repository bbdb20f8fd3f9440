// `calibration`: accuracy, test log-likelihood, Brier score, expected calibration error and
// the reliability bins of one or more checkpoints on the MNIST test set. Checkpoints, data
// and the output path are all checked, and the data loaded, before any model runs.

import { loadMnist } from '@alphadrop/nn/node';
import { calibration, type CalibrationResult } from '../../experiments/calibration.js';
import { assertFinite, backendOf, flag, requireDataDir, writeResult, type Command } from '../common.js';
import { checkOutputFile } from '../paths.js';
import { checkpointInputs, checkpointListFlags, markdownTable, modelSummary, openCheckpoints, predictionMode } from './checkpoints.js';

export const calibrationCommand: Command = {
  name: 'calibration',
  summary: 'accuracy, log-likelihood, ECE, Brier score and reliability bins per checkpoint (MNIST test set)',
  flags: [
    ...checkpointListFlags(), flag.testSamples(10),
    { kind: 'number', name: 'bins', meta: 'B', integer: true, min: 1, max: 1000, default: 15, help: 'equal-width confidence bins' },
    flag.limit('use the first N test images (default all)'), flag.dataDir(),
    flag.out('result file (JSON)', 'alphadrop-calibration.json'), flag.force(), flag.backend(),
  ],
  check(args) {
    const checkpoints = openCheckpoints(args);
    const out = checkOutputFile('--out', args.string('out')!, { force: args.boolean('force'), inputs: checkpointInputs(checkpoints) });
    const dir = requireDataDir(args);
    const limit = args.optionalNumber('limit');
    const test = loadMnist(dir, { split: 'test', ...(limit !== undefined ? { limit } : {}) });
    const K = args.number('test-samples');
    const bins = args.number('bins');
    return {
      backend: backendOf(args),
      async run(io, device) {
        const results: ({ checkpoint: string; model: string; mc: boolean; testSamples: number; seed: number } & CalibrationResult)[] = [];
        for (const c of checkpoints) {
          const model = c.build();
          try {
            const r = await calibration(model, test, test.labels, { testSamples: K, seed: c.seed, mc: c.mc, bins });
            assertFinite(`calibration: ${c.path}`, r);
            results.push({ checkpoint: c.path, model: modelSummary(c), mc: c.mc, testSamples: c.mc ? K : 1, seed: c.seed, ...r });
          } finally {
            model.dispose();
          }
        }
        for (const r of results) {
          io.log(`${r.checkpoint}: reliability over ${bins} bins`);
          io.log(markdownTable(
            ['confidence', 'count', 'mean confidence', 'accuracy'],
            r.bins.filter((b) => b.count > 0).map((b) => [`[${b.lower.toFixed(3)}, ${b.upper.toFixed(3)})`, String(b.count), b.confidence!.toFixed(3), b.accuracy!.toFixed(3)]),
            [1, 2, 3],
          ));
        }
        io.log(markdownTable(
          ['checkpoint', 'model', 'prediction', 'accuracy', 'test LL', 'ECE', 'Brier'],
          results.map((r, i) => [r.checkpoint, r.model, predictionMode(checkpoints[i]!, K), r.accuracy.toFixed(4), r.logLikelihood.toFixed(4), r.ece.toFixed(4), r.brier.toFixed(4)]),
          [3, 4, 5, 6],
        ));
        writeResult(out, args, { device: device ?? null, testImages: test.n, results }, io);
      },
    };
  },
};
