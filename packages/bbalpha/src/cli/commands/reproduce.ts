// `reproduce <experiment>`: the paper's experiments at their protocol (spec §b), resumable.
// Each writes results/<experiment>/ (or --out): runs.jsonl (a line per finished run; a
// re-run skips them), summary.json, README.md (tables, what ran where) and figures/*.svg,
// regenerated from the runs. Flags that do not apply to the chosen experiment are refused.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ValueError } from '@alphadrop/core';
import { UCI_DEFAULTS } from '../../experiments/uci.js';
import { embeddedYachtSource, fileSource, openUciJournal, reproduceUci, type UciSource } from '../../reproduce/uci.js';
import { backendOf, flag, requireDataDir, type Command, type Plan } from '../common.js';
import { suggestion } from '../flags.js';
import type { ParsedArgs } from '../parse.js';
import { checkOutputDir } from '../paths.js';

export const EXPERIMENTS = ['uci', 'mnist-mlp', 'mnist-cnn', 'adversarial', 'runtime', 'ood', 'calibration', 'all'] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];

const UCI_SETS = ['bostonHousing', 'concrete', 'energy', 'kin8nm', 'naval-propulsion-plant', 'power-plant', 'protein-tertiary-structure', 'wine-quality-red', 'yacht'];

/** Which experiments each flag applies to (the rest refuse it). */
const APPLIES: Record<string, readonly ExperimentName[]> = {
  datasets: ['uci'], splits: ['uci'], embedded: ['uci'],
};

function refuseInapplicable(args: ParsedArgs, exp: ExperimentName): void {
  for (const [name, where] of Object.entries(APPLIES))
    if (args.given(name) && !where.includes(exp)) throw new ValueError(`--${name}`, `a flag of reproduce ${where.join(' / ')}`, `reproduce ${exp}`);
}

function uciPlan(args: ParsedArgs): Plan {
  const embedded = args.boolean('embedded');
  const names = args.strings('datasets');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ValueError('--datasets', 'distinct names', names.join(','), `${dup} twice`);
  const alphas = args.numbers('alpha');
  if (new Set(alphas).size !== alphas.length) throw new ValueError('--alpha', 'distinct values', alphas.join(','));
  const wanted = args.optionalNumber('splits');
  let sources: UciSource[];
  if (embedded) {
    if (names.length !== 1 || names[0] !== 'yacht') throw new ValueError('--datasets', 'yacht (the one data set shipped with the package) with --embedded', names.join(','));
    if (args.given('data-dir')) throw new ValueError('--data-dir', 'no data directory with --embedded (it uses the shipped yacht table)', args.string('data-dir')!);
    sources = [embeddedYachtSource(wanted ?? 20)];
  } else {
    const dir = requireDataDir(args);
    const available = existsSync(join(dir, 'uci')) ? readdirSync(join(dir, 'uci')).sort() : [];
    sources = names.map((name) => {
      if (!available.includes(name))
        throw new ValueError('--datasets', `data sets under ${join(dir, 'uci')} (${available.join(', ') || 'none there'})`, JSON.stringify(name), suggestion(name, available));
      const src = fileSource(dir, name);
      if (src.splits < 1) throw new ValueError(`--datasets ${name}`, 'a data set with splits (n_splits.txt ≥ 1)', String(src.splits));
      if (wanted !== undefined && wanted > src.splits) throw new ValueError('--splits', `at most ${src.splits} (the splits of ${name})`, String(wanted));
      return fileSource(dir, name, wanted);
    });
  }
  // every split this run needs, loaded now: a bad file fails before hours of training
  for (const s of sources) for (let i = 0; i < s.splits; i++) s.split(i);
  const out = checkOutputDir('--out', args.string('out') ?? join('results', 'uci'));
  const plan = {
    sources, alphas, out, seed: args.number('seed'),
    epochs: args.optionalNumber('epochs'), hidden: args.optionalNumber('hidden'),
    options: { ...UCI_DEFAULTS, samples: args.number('samples'), testSamples: args.number('test-samples'), dropout: args.number('dropout'), batchSize: args.number('batch-size'), lr: args.number('lr') },
  };
  const journal = openUciJournal(plan);
  return { backend: backendOf(args), run: (io, device) => reproduceUci(plan, journal, { log: io.log, device: device ?? 'unknown device' }) };
}

export const reproduceCommand: Command = {
  name: 'reproduce',
  summary: 'the paper\'s experiments at their protocol, resumable: results/<experiment>/ (runs.jsonl, summary.json, README.md, figures)',
  positionals: [{ name: 'experiment', values: EXPERIMENTS }],
  flags: [
    { kind: 'strings', name: 'datasets', meta: 'a,b', default: UCI_SETS, help: 'uci: data sets under <data-dir>/uci/' },
    { kind: 'number', name: 'splits', meta: 'N', integer: true, min: 1, help: 'uci: the first N splits (default all; with --embedded 20)' },
    { kind: 'boolean', name: 'embedded', help: 'uci: the yacht table shipped with the package, with generated splits' },
    { kind: 'number', name: 'hidden', meta: 'H', integer: true, min: 1, help: 'uci: hidden units (default 50; protein 100)' },
    { kind: 'number', name: 'epochs', meta: 'N', integer: true, min: 1, help: 'epochs for every run (default: the protocol\'s)' },
    flag.alphas([0, 0.5, 1]), flag.samples(UCI_DEFAULTS.samples), flag.testSamples(UCI_DEFAULTS.testSamples), flag.dropout(UCI_DEFAULTS.dropout),
    flag.batchSize(UCI_DEFAULTS.batchSize), flag.lr(UCI_DEFAULTS.lr), flag.seed(1), flag.dataDir(),
    flag.out('output directory (default results/<experiment>)'), flag.backend(),
  ],
  check(args) {
    const exp = args.positionals[0] as ExperimentName;
    refuseInapplicable(args, exp);
    switch (exp) {
      case 'uci':
        return uciPlan(args);
      default:
        throw new ValueError('reproduce', `one of the experiments built so far (uci)`, exp);
    }
  },
};
