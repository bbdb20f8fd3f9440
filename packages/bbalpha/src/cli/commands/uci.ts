// `uci`: the UCI regression protocol over the fixed splits. Every data set and every split
// to run is loaded before the first unit computes (a missing set fails at once, not after
// hours), and each finished (data set, α, split) goes to the run journal <out>/uci.jsonl as
// it completes: an interrupted run keeps its results, and the same command resumes it.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ValueError } from '@alphadrop/core';
import { loadUci, uciSplit, type UciDataset } from '@alphadrop/nn/node';
import { meanStdErr, runUciSplit, UCI_DEFAULTS } from '../../experiments/uci.js';
import { RunJournal, type JsonValue } from '../../runs/journal.js';
import { assertFinite, backendOf, flag, requireDataDir, writeResult, type Command } from '../common.js';
import { suggestion } from '../flags.js';
import { checkOutputDir, createOutputDirs, writeTextFile } from '../paths.js';

const DEFAULT_DATASETS = ['bostonHousing', 'concrete', 'yacht'];
/** Hidden units per data set where --hidden is not given (spec §b.6: protein 100, else 50). */
const defaultHidden = (name: string) => (name === 'protein-tertiary-structure' ? 100 : 50);

interface SplitResult {
  rmse: number;
  logLikelihood: number;
  tau: number;
  seconds: number;
  [k: string]: JsonValue;
}

export const uciCommand: Command = {
  name: 'uci',
  summary: 'the UCI regression protocol over the fixed splits (resumable: <out>/uci.jsonl)',
  flags: [
    { kind: 'strings', name: 'datasets', meta: 'a,b', default: DEFAULT_DATASETS, help: 'UCI data sets under <data-dir>/uci/' },
    flag.alphas([0, 0.5, 1]),
    { kind: 'number', name: 'splits', meta: 'N', integer: true, min: 1, help: 'run the first N splits (default all)' },
    { kind: 'number', name: 'hidden', meta: 'H', integer: true, min: 1, help: 'hidden units (default 50; protein 100)' },
    flag.epochs(UCI_DEFAULTS.epochs), flag.samples(UCI_DEFAULTS.samples), flag.testSamples(UCI_DEFAULTS.testSamples),
    flag.dropout(UCI_DEFAULTS.dropout), flag.batchSize(UCI_DEFAULTS.batchSize), flag.lr(UCI_DEFAULTS.lr), flag.seed(UCI_DEFAULTS.seed),
    flag.dataDir(), flag.out('output directory: uci.jsonl (journal), uci.json, uci.md', 'alphadrop-uci'), flag.backend(),
  ],
  check(args) {
    const dir = requireDataDir(args);
    const names = args.strings('datasets');
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new ValueError('--datasets', 'distinct names', names.join(','), `${dup} twice`);
    const alphas = args.numbers('alpha');
    if (new Set(alphas).size !== alphas.length) throw new ValueError('--alpha', 'distinct values', alphas.join(','));
    const wanted = args.optionalNumber('splits');
    // every data set and every split this run needs, loaded now
    const available = existsSync(join(dir, 'uci')) ? readdirSync(join(dir, 'uci')).sort() : [];
    const sets: { ds: UciDataset; splits: number }[] = names.map((name) => {
      if (!available.includes(name))
        throw new ValueError('--datasets', `data sets under ${join(dir, 'uci')} (${available.join(', ') || 'none there'})`, JSON.stringify(name), suggestion(name, available));
      const ds = loadUci(dir, name);
      if (ds.splits < 1) throw new ValueError(`--datasets ${name}`, 'a data set with splits (n_splits.txt ≥ 1)', String(ds.splits), ds.dir);
      if (wanted !== undefined && wanted > ds.splits) throw new ValueError('--splits', `at most ${ds.splits} (the splits of ${name})`, String(wanted));
      const splits = wanted ?? ds.splits;
      for (let s = 0; s < splits; s++) uciSplit(ds, s);
      return { ds, splits };
    });
    const out = checkOutputDir('--out', args.string('out')!);
    const hidden = args.optionalNumber('hidden');
    const identity: Record<string, JsonValue> = {
      epochs: args.number('epochs'), samples: args.number('samples'), testSamples: args.number('test-samples'), dropout: args.number('dropout'),
      batchSize: args.number('batch-size'), lr: args.number('lr'), seed: args.number('seed'), hidden: hidden ?? 'per data set',
    };
    const journal = RunJournal.open<SplitResult>(join(out, 'uci.jsonl'), identity);
    return {
      backend: backendOf(args),
      async run(io) {
        const results: { name: string; alpha: number; rmse: number[]; logLikelihood: number[] }[] = [];
        for (const { ds, splits } of sets) {
          for (const alpha of alphas) {
            const r = { rmse: [] as number[], logLikelihood: [] as number[] };
            for (let s = 0; s < splits; s++) {
              const unit = { dataset: ds.name, alpha, split: s };
              let res = journal.get(unit);
              if (res === undefined) {
                const computed = await runUciSplit(uciSplit(ds, s), {
                  alpha, hidden: hidden ?? defaultHidden(ds.name), epochs: args.number('epochs'), samples: args.number('samples'),
                  testSamples: args.number('test-samples'), dropout: args.number('dropout'), lr: args.number('lr'),
                  batchSize: args.number('batch-size'), seed: args.number('seed') + s,
                });
                assertFinite(`uci ${ds.name} α=${alpha} split ${s}`, computed);
                res = { ...computed };
                createOutputDirs(out);
                journal.append(unit, res);
                io.log(JSON.stringify({ ...unit, ...res }));
              } else io.log(`${JSON.stringify(unit)}: done earlier (${journal.path})`);
              r.rmse.push(res.rmse);
              r.logLikelihood.push(res.logLikelihood);
            }
            results.push({ name: ds.name, alpha, ...r });
          }
        }
        const table = ['| data set | α | splits | test RMSE | test LL |', '|---|---:|---:|---:|---:|'];
        const summary: Record<string, Record<string, unknown>> = {};
        for (const r of results) {
          const a = meanStdErr(r.rmse);
          const b = meanStdErr(r.logLikelihood);
          assertFinite(`uci ${r.name} α=${r.alpha} summary`, { rmse: a, logLikelihood: b });
          summary[r.name] ??= {};
          summary[r.name]![String(r.alpha)] = { rmse: r.rmse, logLikelihood: r.logLikelihood, rmseMean: a.mean, rmseStdErr: a.stdErr, logLikelihoodMean: b.mean, logLikelihoodStdErr: b.stdErr };
          table.push(`| ${r.name} | ${r.alpha} | ${r.rmse.length} | ${a.mean.toFixed(3)} ± ${a.stdErr.toFixed(3)} | ${b.mean.toFixed(3)} ± ${b.stdErr.toFixed(3)} |`);
        }
        io.log(table.join('\n'));
        createOutputDirs(out);
        writeResult(join(out, 'uci.json'), args, { results: summary }, io);
        writeTextFile(join(out, 'uci.md'), table.join('\n') + '\n');
        io.log(`wrote ${join(out, 'uci.md')}`);
      },
    };
  },
};
