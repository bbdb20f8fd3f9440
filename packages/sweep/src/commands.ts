// The `alphadrop sweep` and `alphadrop worker` commands: flag tables for bbalpha's strict
// parser (the UCI flags are reproduce's own entries; the grid flags take lists) and their
// checks, made before anything connects to Redis.
//   alphadrop sweep uci --queue redis://HOST:PORT [--alpha A,..] [--dropout P,..] [--samples K,..] [--lr LR,..] ...
//   alphadrop sweep status --queue ...      alphadrop sweep collect --queue ... [--out DIR]
//   alphadrop worker --queue ... [--concurrency N] [--backend auto|cpu|webgpu]

import { join } from 'node:path';
import { ValueError } from '@alphadrop/core';
import { backendOf, checkOutputDir, flag, reproduceCommand, uciPlanOptions, uciSources, UCI_DEFAULTS, type Command, type Flag, type ParsedArgs } from './bbalpha-cli.js';
import { collectSweep } from './collect.js';
import { enqueueSweep } from './enqueue.js';
import { gridPoints, type GridPoint } from './grid.js';
import { openQueues, redisConnection } from './queue.js';
import { sweepStatus } from './status.js';
import { runWorker } from './worker.js';

const DEFAULT_NAME = 'alphadrop-sweep';

const reproduceFlag = (name: string): Flag => {
  const f = reproduceCommand.flags.find((x) => x.name === name);
  if (!f) throw new Error(`reproduce has no flag --${name}`);
  return f;
};

const queueFlags: Flag[] = [
  { kind: 'string', name: 'queue', meta: 'redis://HOST:PORT[/DB]', help: 'the Redis that holds the sweep (required)' },
  { kind: 'string', name: 'name', meta: 'NAME', default: DEFAULT_NAME, help: 'the sweep\'s BullMQ queue (several sweeps can share a Redis)' },
];

/** Flags that define the grid (`sweep uci` only). */
const GRID_FLAGS = ['datasets', 'splits', 'embedded', 'hidden', 'epochs', 'alpha', 'dropout', 'samples', 'lr', 'test-samples', 'batch-size', 'seed', 'data-dir', 'attempts', 'backoff'];

function queueOf(args: ParsedArgs): string {
  const q = args.string('queue');
  if (q === undefined) throw new ValueError('--queue', 'the Redis of the sweep (--queue redis://HOST:PORT)', 'nothing');
  redisConnection(q); // a malformed URL is refused before any work
  return q;
}

function distinct(name: string, v: number[]): number[] {
  if (new Set(v).size !== v.length) throw new ValueError(`--${name}`, 'distinct values', v.join(','));
  return v;
}

/** The grid points of a `sweep uci` command line; the data is checked as `reproduce uci` checks it. */
function pointsOf(args: ParsedArgs): GridPoint[] {
  const sources = uciSources(args).map((s) => ({ name: s.name, splits: s.splits, origin: s.origin, generated: s.generated }));
  const alphas = distinct('alpha', args.numbers('alpha'));
  const epochs = args.optionalNumber('epochs');
  const hidden = args.optionalNumber('hidden');
  const lists = { dropout: distinct('dropout', args.numbers('dropout')), samples: distinct('samples', args.numbers('samples')), lr: distinct('lr', args.numbers('lr')) };
  return gridPoints(lists, (v) => ({
    experiment: 'uci', alphas, sources,
    plan: {
      options: uciPlanOptions({ ...v, testSamples: args.number('test-samples'), batchSize: args.number('batch-size') }),
      epochs: epochs ?? null, hidden: hidden ?? null, seed: args.number('seed'), embedded: args.boolean('embedded'),
    },
  }));
}

export const sweepCommand: Command = {
  name: 'sweep',
  summary: 'a grid of reproduce uci over BullMQ on Redis: enqueue its units (uci), show progress (status), write results/<experiment>/ (collect)',
  positionals: [{ name: 'action', values: ['uci', 'status', 'collect'] }],
  flags: [
    ...queueFlags,
    ...['datasets', 'splits', 'embedded', 'hidden', 'epochs'].map(reproduceFlag),
    { kind: 'numbers', name: 'alpha', meta: 'A[,A...]', min: 0, default: [0, 0.5, 1], help: 'α values: the rows of each table' },
    { kind: 'numbers', name: 'dropout', meta: 'P[,P...]', min: 0, max: 1, maxOpen: true, default: [UCI_DEFAULTS.dropout], help: 'dropout rates: one grid point each' },
    { kind: 'numbers', name: 'samples', meta: 'K[,K...]', integer: true, min: 1, default: [UCI_DEFAULTS.samples], help: 'MC samples in training (K): one grid point each' },
    { kind: 'numbers', name: 'lr', meta: 'LR[,LR...]', min: 0, minOpen: true, default: [UCI_DEFAULTS.lr], help: 'Adam learning rates: one grid point each' },
    flag.testSamples(UCI_DEFAULTS.testSamples), flag.batchSize(UCI_DEFAULTS.batchSize), flag.seed(1), flag.dataDir(),
    { kind: 'number', name: 'attempts', meta: 'N', integer: true, min: 1, default: 3, help: 'tries per unit before it is marked failed (its error is kept)' },
    { kind: 'number', name: 'backoff', meta: 'MS', integer: true, min: 0, default: 10_000, help: 'ms before the first retry, doubled for each further one' },
    flag.out('collect: output directory (default results/uci; one directory per grid point inside)'),
  ],
  check(args) {
    const action = args.positionals[0]!;
    const url = queueOf(args);
    const name = args.string('name')!;
    if (action !== 'uci') {
      const grid = GRID_FLAGS.find((f) => args.given(f));
      if (grid) throw new ValueError(`--${grid}`, 'a flag of sweep uci (status and collect read the grid from the queue)', `sweep ${action}`);
    } else if (args.given('out')) throw new ValueError('--out', 'a flag of sweep collect', 'sweep uci');
    const points = action === 'uci' ? pointsOf(args) : [];
    const out = action === 'collect' ? checkOutputDir('--out', args.string('out') ?? join('results', 'uci')) : '';
    return {
      backend: null,
      async run(io) {
        const q = await openQueues(url, name);
        try {
          if (action === 'uci') await enqueueSweep(q, points, { attempts: args.number('attempts'), backoff: args.number('backoff') }, io);
          else if (action === 'status') await sweepStatus(q, io);
          else return (await collectSweep(q, out, io)) > 0 ? 1 : 0;
        } finally {
          await q.close();
        }
      },
    };
  },
};

export const workerCommand: Command = {
  name: 'worker',
  summary: 'takes the units of a sweep from its Redis and trains them, until SIGINT/SIGTERM (run one per machine, or one per GPU)',
  flags: [
    ...queueFlags,
    { kind: 'number', name: 'concurrency', meta: 'N', integer: true, min: 1, default: 1, help: 'jobs this process runs at a time (CPU: run more processes instead)' },
    flag.backend(), flag.dataDir(),
    { kind: 'string', name: 'id', meta: 'NAME', help: 'this worker\'s name in logs and results (default host:pid)' },
    { kind: 'number', name: 'lock-duration', meta: 'MS', integer: true, min: 100, default: 60_000, help: 'a job\'s lock: a dead worker\'s job is taken over this long after it stopped renewing it' },
    { kind: 'number', name: 'stalled-interval', meta: 'MS', integer: true, min: 100, default: 30_000, help: 'ms between checks for jobs of dead workers' },
  ],
  check(args) {
    const queue = queueOf(args);
    const o = {
      queue, name: args.string('name')!, concurrency: args.number('concurrency'), id: args.string('id'), dataDir: args.string('data-dir'),
      lockDuration: args.number('lock-duration'), stalledInterval: args.number('stalled-interval'),
    };
    return { backend: backendOf(args), run: (io, device) => runWorker(o, io, device ?? 'unknown device') };
  },
};
