// `ood`: out-of-distribution detection by predictive uncertainty, the MNIST test set
// (in-distribution) against the Fashion-MNIST test set (out-of-distribution), for one or more
// checkpoints: AUROC of the predictive entropy and of the mutual information. Checkpoints,
// data and the output path are all checked, and the data loaded, before any model runs.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST_DEBIAN_DIR, loadFashionMnist, loadMnist } from '@alphadrop/nn/node';
import { oodScores, type OodScores } from '../../experiments/ood.js';
import { assertFinite, backendOf, flag, requireDataDir, writeResult, type Command } from '../common.js';
import type { ParsedArgs } from '../parse.js';
import { checkInputDir, checkOutputFile } from '../paths.js';
import { checkpointInputs, checkpointListFlags, markdownTable, modelSummary, openCheckpoints, predictionMode } from './checkpoints.js';

/** --fashion-dir, else <data dir>/fashion-mnist, else where Debian's dataset-fashion-mnist installs it. */
export function fashionDir(args: ParsedArgs, dataDir: string): string {
  const given = args.string('fashion-dir');
  if (given !== undefined) return checkInputDir('--fashion-dir', given);
  const nested = join(dataDir, 'fashion-mnist');
  return existsSync(nested) ? nested : checkInputDir('--fashion-dir (default)', FASHION_MNIST_DEBIAN_DIR);
}

const fixed = (v: number | null, digits = 3) => (v === null ? '–' : v.toFixed(digits));

export const oodCommand: Command = {
  name: 'ood',
  summary: 'MNIST vs Fashion-MNIST: AUROC of predictive entropy and mutual information per checkpoint',
  flags: [
    ...checkpointListFlags(), flag.testSamples(10), flag.limit('use the first N images of each test set (default all)'), flag.dataDir(),
    { kind: 'string', name: 'fashion-dir', meta: 'DIR', help: "Fashion-MNIST folder (default: <data dir>/fashion-mnist, else Debian's dataset-fashion-mnist)" },
    flag.out('result file (JSON)', 'alphadrop-ood.json'), flag.force(), flag.backend(),
  ],
  check(args) {
    const checkpoints = openCheckpoints(args);
    const out = checkOutputFile('--out', args.string('out')!, { force: args.boolean('force'), inputs: checkpointInputs(checkpoints) });
    const dir = requireDataDir(args);
    const fashion = fashionDir(args, dir);
    const limit = args.optionalNumber('limit');
    const select = { split: 'test' as const, ...(limit !== undefined ? { limit } : {}) };
    const inDist = loadMnist(dir, select);
    const outDist = loadFashionMnist(fashion, select);
    const K = args.number('test-samples');
    return {
      backend: backendOf(args),
      async run(io, device) {
        const results: ({ checkpoint: string; model: string; mc: boolean; testSamples: number; seed: number } & OodScores)[] = [];
        for (const c of checkpoints) {
          const model = c.build();
          try {
            const scores = await oodScores(model, inDist, outDist, { testSamples: K, seed: c.seed, mc: c.mc });
            assertFinite(`ood: ${c.path}`, scores);
            results.push({ checkpoint: c.path, model: modelSummary(c), mc: c.mc, testSamples: c.mc ? K : 1, seed: c.seed, ...scores });
            io.log(`${c.path}: entropy AUROC ${scores.entropyAuroc.toFixed(3)}${scores.miAuroc === null ? '' : `, MI AUROC ${scores.miAuroc.toFixed(3)}`}`);
          } finally {
            model.dispose();
          }
        }
        io.log(markdownTable(
          ['checkpoint', 'model', 'prediction', 'entropy AUROC', 'MI AUROC', 'H (MNIST)', 'H (Fashion)'],
          results.map((r, i) => [r.checkpoint, r.model, predictionMode(checkpoints[i]!, K), fixed(r.entropyAuroc), fixed(r.miAuroc), fixed(r.inEntropyMean), fixed(r.outEntropyMean)]),
          [3, 4, 5, 6],
        ));
        writeResult(out, args, {
          device: device ?? null,
          inDistribution: { set: 'MNIST test', n: inDist.n },
          outOfDistribution: { set: 'Fashion-MNIST test', n: outDist.n },
          results,
        }, io);
      },
    };
  },
};
