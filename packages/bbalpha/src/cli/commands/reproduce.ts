// `reproduce <experiment>`: the paper's experiments at their protocol (spec §b), resumable.
// Each writes results/<experiment>/ (or --out): runs.jsonl (a line per finished run; a
// re-run skips them), summary.json, README.md (tables, what ran where) and figures/*.svg,
// regenerated from the runs. Defaults are each experiment's protocol; flags that do not
// apply to the chosen experiment are refused. `all` runs every experiment in the order of
// their priority (uci, mnist-mlp, adversarial, mnist-cnn, runtime, ood, calibration) with
// their defaults.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ValueError } from '@alphadrop/core';
import { loadFashionMnist, loadMnist } from '@alphadrop/nn/node';
import { UCI_DEFAULTS } from '../../experiments/uci.js';
import { openModelJournal, reproduceModelExperiment, type ModelExperiment, type ModelExperimentPlan } from '../../reproduce/adversarial.js';
import { openMnistJournal, reproduceMnist, type MnistExperiment, type MnistPlan } from '../../reproduce/mnist.js';
import { embeddedYachtSource, fileSource, openUciJournal, reproduceUci, type UciPlan, type UciSource } from '../../reproduce/uci.js';
import { backendOf, flag, requireDataDir, type Command, type Plan } from '../common.js';
import { suggestion, type Flag } from '../flags.js';
import type { ParsedArgs } from '../parse.js';
import { checkOutputDir } from '../paths.js';
import { fashionDir } from './ood.js';

export const EXPERIMENTS = ['uci', 'mnist-mlp', 'mnist-cnn', 'adversarial', 'runtime', 'ood', 'calibration', 'all'] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];
type One = Exclude<ExperimentName, 'all'>;
const PRIORITY: readonly One[] = ['uci', 'mnist-mlp', 'adversarial', 'mnist-cnn', 'runtime', 'ood', 'calibration'];

const UCI_SETS = ['bostonHousing', 'concrete', 'energy', 'kin8nm', 'naval-propulsion-plant', 'power-plant', 'protein-tertiary-structure', 'wine-quality-red', 'yacht'];
const MNIST: readonly One[] = ['mnist-mlp', 'mnist-cnn', 'runtime', 'adversarial', 'ood', 'calibration'];
const SHARED_MODELS: readonly One[] = ['adversarial', 'ood', 'calibration'];

/** Which experiments each experiment-specific flag applies to (the others, and `all`, refuse it). */
const APPLIES: Record<string, readonly One[]> = {
  datasets: ['uci'], splits: ['uci'], embedded: ['uci'], hidden: ['uci'],
  runs: ['mnist-mlp', 'mnist-cnn'], 'eval-every': ['mnist-mlp', 'mnist-cnn', 'runtime'], 'samples-list': ['runtime'],
  limit: MNIST, 'test-limit': MNIST, models: SHARED_MODELS, 'fashion-dir': ['ood'], bins: ['calibration'], 'targeted-steps': ['adversarial'],
};
// --epochs, --alpha, --samples, --test-samples, --dropout, --batch-size, --lr, --seed apply to every experiment (all of them with `all`)

/** Each experiment's protocol values where a flag is not given. */
const DEFAULTS: Record<One, { alpha: number[]; samples: number; testSamples: number; dropout: number; batchSize: number; lr: number; epochs: number | undefined }> = {
  uci: { alpha: [0, 0.5, 1], samples: UCI_DEFAULTS.samples, testSamples: UCI_DEFAULTS.testSamples, dropout: UCI_DEFAULTS.dropout, batchSize: UCI_DEFAULTS.batchSize, lr: UCI_DEFAULTS.lr, epochs: undefined },
  'mnist-mlp': { alpha: [0, 0.5, 1], samples: 10, testSamples: 100, dropout: 0.5, batchSize: 128, lr: 0.01, epochs: 500 },
  'mnist-cnn': { alpha: [0, 0.5, 1], samples: 10, testSamples: 100, dropout: 0.5, batchSize: 128, lr: 0.01, epochs: 500 },
  runtime: { alpha: [1], samples: 10, testSamples: 100, dropout: 0.5, batchSize: 128, lr: 0.01, epochs: 500 },
  adversarial: { alpha: [0, 0.5, 1], samples: 10, testSamples: 10, dropout: 0.5, batchSize: 128, lr: 0.01, epochs: 500 },
  ood: { alpha: [0, 0.5, 1], samples: 10, testSamples: 10, dropout: 0.5, batchSize: 128, lr: 0.01, epochs: 500 },
  calibration: { alpha: [0, 0.5, 1], samples: 10, testSamples: 10, dropout: 0.5, batchSize: 128, lr: 0.01, epochs: 500 },
};
const WEIGHT_DECAY_MNIST = 1e-6;

function refuseInapplicable(args: ParsedArgs, exp: ExperimentName): void {
  for (const [name, where] of Object.entries(APPLIES))
    if (args.given(name) && !(where as readonly string[]).includes(exp))
      throw new ValueError(`--${name}`, exp === 'all' ? 'no experiment-specific flags with reproduce all (it runs each experiment at its protocol)' : `a flag of reproduce ${where.join(' / ')}`, `reproduce ${exp}`);
}

const pick = <T>(args: ParsedArgs, name: string, read: () => T, fallback: T): T => (args.given(name) ? read() : fallback);

function common(args: ParsedArgs, exp: One) {
  const d = DEFAULTS[exp];
  const alphas = pick(args, 'alpha', () => args.numbers('alpha'), d.alpha);
  if (new Set(alphas).size !== alphas.length) throw new ValueError('--alpha', 'distinct values', alphas.join(','));
  return {
    alphas, samples: pick(args, 'samples', () => args.number('samples'), d.samples), testSamples: pick(args, 'test-samples', () => args.number('test-samples'), d.testSamples),
    dropout: pick(args, 'dropout', () => args.number('dropout'), d.dropout), batchSize: pick(args, 'batch-size', () => args.number('batch-size'), d.batchSize),
    lr: pick(args, 'lr', () => args.number('lr'), d.lr), epochs: args.given('epochs') ? args.number('epochs') : d.epochs, seed: args.number('seed'),
    out: checkOutputDir('--out', args.string('out') ?? join('results', exp)),
  };
}

/** What one experiment does once every check passed. */
type Step = (io: { log(line: string): void }, device: string) => Promise<void>;

/**
 * The data sets a UCI command line names (--datasets, --splits, --embedded, --data-dir), each
 * checked; `reproduce uci` and `alphadrop sweep uci` read them alike.
 */
export function uciSources(args: ParsedArgs): UciSource[] {
  const embedded = args.boolean('embedded');
  const names = args.strings('datasets');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new ValueError('--datasets', 'distinct names', names.join(','), `${dup} twice`);
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
  return sources;
}

/** A UCI plan's options from the flags' values (their keys and order are what summary.json records). */
export function uciPlanOptions(c: { samples: number; testSamples: number; dropout: number; batchSize: number; lr: number }): UciPlan['options'] {
  return { ...UCI_DEFAULTS, samples: c.samples, testSamples: c.testSamples, dropout: c.dropout, batchSize: c.batchSize, lr: c.lr };
}

function uciStep(args: ParsedArgs): Step {
  const c = common(args, 'uci');
  const sources = uciSources(args);
  const plan = {
    sources, alphas: c.alphas, out: c.out, seed: c.seed, epochs: c.epochs, hidden: args.optionalNumber('hidden'),
    options: uciPlanOptions(c),
  };
  const journal = openUciJournal(plan);
  return (io, device) => reproduceUci(plan, journal, { log: io.log, device });
}

function mnistData(args: ParsedArgs) {
  const dir = requireDataDir(args);
  const limit = args.optionalNumber('limit');
  const testLimit = args.optionalNumber('test-limit');
  const train = loadMnist(dir, { split: 'train', ...(limit !== undefined ? { limit } : {}) });
  const test = loadMnist(dir, { split: 'test', ...(testLimit !== undefined ? { limit: testLimit } : {}) });
  const note = `MNIST, ${limit !== undefined ? `the first ${train.labels.length}` : `all ${train.labels.length}`} training images and ${testLimit !== undefined ? `the first ${test.labels.length}` : `all ${test.labels.length}`} test images`;
  return { dir, train, test, note };
}

function mnistStep(args: ParsedArgs, exp: MnistExperiment): Step {
  const c = common(args, exp);
  const data = mnistData(args);
  const samplesList = pick(args, 'samples-list', () => args.numbers('samples-list'), [1, 10, 100]);
  if (samplesList.some((k) => !Number.isInteger(k) || k < 1)) throw new ValueError('--samples-list', 'positive integers', samplesList.join(','));
  const plan: MnistPlan = {
    experiment: exp, alphas: c.alphas, runs: pick(args, 'runs', () => args.number('runs'), exp === 'runtime' ? 1 : 3), samplesList, dropout: c.dropout, seed: c.seed,
    protocol: { samples: c.samples, testSamples: c.testSamples, epochs: c.epochs!, evalEvery: pick(args, 'eval-every', () => args.number('eval-every'), exp === 'runtime' ? 1 : 5), batchSize: c.batchSize, lr: c.lr, weightDecay: WEIGHT_DECAY_MNIST },
    train: data.train, test: data.test, dataNote: data.note, out: c.out,
  };
  const journal = openMnistJournal(plan);
  return (io, device) => reproduceMnist(plan, journal, { log: io.log, device });
}

function modelStep(args: ParsedArgs, exp: ModelExperiment): Step {
  const c = common(args, exp);
  const data = mnistData(args);
  const fashion = exp === 'ood' ? loadFashionMnist(fashionDir(args, data.dir), { split: 'test', ...(args.given('test-limit') ? { limit: args.number('test-limit') } : {}) }) : null;
  const plan: ModelExperimentPlan = {
    experiment: exp, alphas: c.alphas, dropout: c.dropout, seed: c.seed,
    protocol: { samples: c.samples, testSamples: c.testSamples, epochs: c.epochs!, evalEvery: c.epochs!, batchSize: c.batchSize, lr: c.lr, weightDecay: WEIGHT_DECAY_MNIST },
    train: data.train, test: data.test, models: checkOutputDir('--models', args.string('models')!), testSamples: c.testSamples,
    etas: Array.from({ length: 26 }, (_, i) => Math.round(i * 2) / 100), targetedSteps: args.number('targeted-steps'),
    testLimitNote: data.note, fashion, bins: args.number('bins'), out: c.out,
  };
  const journal = openModelJournal(plan);
  return (io, device) => reproduceModelExperiment(plan, journal, { log: io.log, device });
}

function stepFor(args: ParsedArgs, exp: One): Step {
  if (exp === 'uci') return uciStep(args);
  if (exp === 'mnist-mlp' || exp === 'mnist-cnn' || exp === 'runtime') return mnistStep(args, exp);
  return modelStep(args, exp);
}

const optional = (kind: 'number', name: string, meta: string, help: string, o: { integer?: boolean; min?: number } = {}): Flag => ({ kind, name, meta, help, integer: o.integer ?? false, ...(o.min !== undefined ? { min: o.min } : {}) });

export const reproduceCommand: Command = {
  name: 'reproduce',
  summary: 'the paper\'s experiments at their protocol, resumable: results/<experiment>/ (runs.jsonl, summary.json, README.md, figures)',
  positionals: [{ name: 'experiment', values: EXPERIMENTS }],
  flags: [
    { kind: 'strings', name: 'datasets', meta: 'a,b', default: UCI_SETS, help: 'uci: data sets under <data-dir>/uci/' },
    { kind: 'number', name: 'splits', meta: 'N', integer: true, min: 1, help: 'uci: the first N splits (default all; with --embedded 20)' },
    { kind: 'boolean', name: 'embedded', help: 'uci: the yacht table shipped with the package, with generated splits' },
    { kind: 'number', name: 'hidden', meta: 'H', integer: true, min: 1, help: 'uci: hidden units (default 50; protein 100)' },
    { kind: 'number', name: 'runs', meta: 'N', integer: true, min: 1, help: 'mnist-mlp, mnist-cnn: runs per α (default 3)' },
    { kind: 'number', name: 'eval-every', meta: 'E', integer: true, min: 1, help: 'mnist-mlp, mnist-cnn, runtime: test evaluation every E epochs (default 5; runtime 1)' },
    { kind: 'numbers', name: 'samples-list', meta: 'K[,K...]', min: 1, help: 'runtime: the K values compared (default 1,10,100)' },
    { kind: 'number', name: 'limit', meta: 'N', integer: true, min: 1, help: 'MNIST experiments: the first N training images (default all)' },
    { kind: 'number', name: 'test-limit', meta: 'N', integer: true, min: 1, help: 'MNIST experiments: the first N test images (default all)' },
    { kind: 'string', name: 'models', meta: 'DIR', default: join('.alphadrop', 'models'), help: 'adversarial, ood, calibration: where their shared models are kept (trained when absent)' },
    { kind: 'string', name: 'fashion-dir', meta: 'DIR', help: "ood: Fashion-MNIST folder (default: <data dir>/fashion-mnist, else Debian's dataset-fashion-mnist)" },
    { kind: 'number', name: 'bins', meta: 'B', integer: true, min: 1, max: 1000, default: 15, help: 'calibration: equal-width confidence bins' },
    { kind: 'number', name: 'targeted-steps', meta: 'N', integer: true, min: 1, default: 100, help: 'adversarial: steps of the targeted attack' },
    optional('number', 'epochs', 'N', "epochs of every run (default: the experiment's protocol)", { integer: true, min: 1 }),
    { kind: 'numbers', name: 'alpha', meta: 'A[,A...]', min: 0, help: 'BB-α α values (default 0,0.5,1; runtime 1)' },
    optional('number', 'samples', 'K', 'MC samples per input in training (default 10)', { integer: true, min: 1 }),
    optional('number', 'test-samples', 'K', 'MC samples per test input (default 100; adversarial, ood, calibration 10)', { integer: true, min: 1 }),
    { kind: 'number', name: 'dropout', meta: 'RATE', min: 0, max: 1, maxOpen: true, help: 'dropout rate (default 0.05 uci, else 0.5)' },
    optional('number', 'batch-size', 'M', 'minibatch size (default 32 uci, else 128)', { integer: true, min: 1 }),
    { kind: 'number', name: 'lr', meta: 'LR', min: 0, minOpen: true, help: 'learning rate (default: Adam 1e-3 uci, SGD 0.01 MNIST)' },
    flag.seed(1), flag.dataDir(), flag.out('output directory (default results/<experiment>)'), flag.backend(),
  ],
  check(args) {
    const exp = args.positionals[0] as ExperimentName;
    refuseInapplicable(args, exp);
    if (exp === 'all' && args.given('out')) throw new ValueError('--out', 'no --out with reproduce all (each experiment writes results/<experiment>/)', args.string('out')!);
    // every experiment's checks (data, journals, paths) before the first one computes
    const steps = (exp === 'all' ? PRIORITY : [exp]).map((e) => ({ name: e, run: stepFor(args, e) }));
    const plan: Plan = {
      backend: backendOf(args),
      async run(io, device) {
        for (const s of steps) {
          if (steps.length > 1) io.log(`== reproduce ${s.name}`);
          await s.run(io, device ?? 'unknown device');
        }
      },
    };
    return plan;
  },
};
