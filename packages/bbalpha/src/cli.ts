#!/usr/bin/env node
// alphadrop: the command-line interface of @alphadrop/bbalpha.
//   alphadrop demo     the main job: BB-α on the embedded MNIST sample, uncertainty report
//   alphadrop mnist    BB-α on full MNIST (--data-dir), MC evaluation
//   alphadrop uci      the UCI regression protocol over the fixed splits
//   alphadrop train    train on MNIST and save a checkpoint (--out model.safetensors)
//   alphadrop eval     evaluate a checkpoint on the MNIST test set
//   alphadrop predict  MC predictive probabilities, entropy and MI for test digits (JSON)
//   alphadrop attack   FGS η sweep against a checkpoint: JSON and an SVG plot
// Options: --alpha --samples --test-samples --dropout --epochs --backend cpu|webgpu|auto
//          --data-dir --seed --out --batch-size --lr (see `alphadrop help`)

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValueError, tensor } from '@alphadrop/core';
import { mlp, resetInitStreams, type MnistSplit } from '@alphadrop/nn';
import { dataDir, loadCheckpoint, loadIdxDataset, loadMnist, loadUci, saveCheckpoint, uciSplit } from '@alphadrop/nn/node';
import { fgsm } from './attacks.js';
import { DEMO_DEFAULTS, demoChecks, formatDemoReport, runDemo } from './experiments/demo.js';
import { evaluateClassifier, mcSampleProbs, meanOverSamples } from './experiments/evaluate.js';
import { meanStdErr, runUciSplit, UCI_DEFAULTS } from './experiments/uci.js';
import { entropyOf } from './metrics.js';
import { lineChart } from './report/svg.js';
import { trainClassifier } from './train.js';
import { selectBackend, type BackendChoice } from './backend-select.js';

const HELP = `alphadrop <command> [options]
commands: demo (default), mnist, uci, train, eval, predict, attack, help
options:
  --alpha A[,A...]     BB-α α value(s) (default 0,0.5,1 for demo/uci, 0.5 otherwise)
  --samples K          MC samples per input in training (default 10)
  --test-samples K     MC samples at test time (default 10; uci 100)
  --dropout P          dropout rate (default 0.2 demo/mnist, 0.05 uci)
  --epochs N           training epochs
  --batch-size M       minibatch size (default 32)
  --lr LR              Adam learning rate (default 1e-3)
  --backend B          cpu | webgpu | auto (default auto: WebGPU when an adapter exists)
  --data-dir DIR       data directory (else ALPHADROP_DATA); demo uses the embedded sample
  --seed S             seed of initialisation, shuffling and masks (default 1)
  --out PATH           output file or directory (JSON, SVG, checkpoints)
  --datasets a,b       uci data sets (default bostonHousing,concrete,yacht)
  --splits N           uci: first N splits (default all)
  --eta E[,E...]       attack step sizes (default 0,0.02,...,0.5)
  --limit N            use the first N training images (mnist/train)`;

type Args = Record<string, string>;

function parseArgs(argv: string[]): { command: string; args: Args } {
  const args: Args = {};
  let command = 'demo';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const [k, v] = a.includes('=') ? a.slice(2).split('=', 2) : [a.slice(2), argv[++i]];
      if (v === undefined) throw new ValueError('alphadrop', `a value after --${k}`, 'nothing');
      args[k!] = v;
    } else command = a;
  }
  return { command, args };
}

const num = (args: Args, k: string, d: number): number => {
  if (args[k] === undefined) return d;
  const v = Number(args[k]);
  if (!Number.isFinite(v)) throw new ValueError(`--${k}`, 'a number', JSON.stringify(args[k]));
  return v;
};
const list = (args: Args, k: string, d: readonly number[]): number[] => (args[k] === undefined ? [...d] : args[k]!.split(',').map((s) => {
  const v = Number(s);
  if (!Number.isFinite(v)) throw new ValueError(`--${k}`, 'comma-separated numbers', JSON.stringify(args[k]));
  return v;
}));

function writeOut(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}

const SAMPLE_DIR = fileURLToPath(new URL('../fixtures/mnist-sample', import.meta.url));

function requireDataDir(args: Args): string {
  const d = dataDir(args['data-dir']);
  if (!d) throw new ValueError('alphadrop', 'a data directory (--data-dir DIR or ALPHADROP_DATA)', 'none');
  return d;
}

function mnistTrain(args: Args): MnistSplit {
  const limit = args.limit === undefined ? {} : { limit: num(args, 'limit', 60000) };
  return loadMnist(requireDataDir(args), { split: 'train', ...limit });
}

async function demo(args: Args): Promise<void> {
  const o = {
    ...DEMO_DEFAULTS,
    alphas: list(args, 'alpha', DEMO_DEFAULTS.alphas),
    epochs: num(args, 'epochs', DEMO_DEFAULTS.epochs),
    samples: num(args, 'samples', DEMO_DEFAULTS.samples),
    testSamples: num(args, 'test-samples', DEMO_DEFAULTS.testSamples),
    dropout: num(args, 'dropout', DEMO_DEFAULTS.dropout),
    batchSize: num(args, 'batch-size', DEMO_DEFAULTS.batchSize),
    lr: num(args, 'lr', DEMO_DEFAULTS.lr),
    seed: num(args, 'seed', DEMO_DEFAULTS.seed),
  };
  const fromDir = args['data-dir'] !== undefined;
  const train = fromDir ? loadMnist(args['data-dir']!, { split: 'train', limit: 5000 }) : loadIdxDataset(SAMPLE_DIR, { split: 'train' });
  const test = fromDir ? loadMnist(args['data-dir']!, { split: 'test', limit: 1000 }) : loadIdxDataset(SAMPLE_DIR, { split: 'test' });
  console.log(`BB-α dropout on ${train.n} MNIST training digits (${fromDir ? args['data-dir'] : 'embedded sample'}), ${test.n} held out`);
  console.log(`MLP 784-100-100-10, dropout ${o.dropout} before every layer, K = ${o.samples}, K_test = ${o.testSamples}, ${o.epochs} epochs, Adam lr ${o.lr}`);
  const t0 = performance.now();
  const rows = await runDemo(train, test, o, (l) => console.log(l));
  console.log('\n' + formatDemoReport(rows, o));
  const failures = demoChecks(rows);
  console.log(`\n${failures.length === 0 ? 'all checks hold: accuracy ≥ 93% and entropy higher on corrupted and attacked inputs, for every α' : 'CHECKS FAILED:\n  ' + failures.join('\n  ')}`);
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (args.out) writeOut(args.out, JSON.stringify({ options: o, rows }, null, 2));
  if (failures.length) process.exitCode = 1;
}

async function mnist(args: Args, save = false): Promise<void> {
  const train = mnistTrain(args);
  const test = loadMnist(requireDataDir(args), { split: 'test' });
  const alpha = num(args, 'alpha', 0.5);
  const K = num(args, 'samples', 10);
  const seed = num(args, 'seed', 1);
  resetInitStreams();
  const model = mlp([784, 100, 100, 10], { dropout: num(args, 'dropout', 0.2), seed });
  console.log(`BB-α α=${alpha}, K=${K}, on ${train.n} MNIST digits`);
  await trainClassifier(model, train.images, train.labels, {
    alpha, samples: K, epochs: num(args, 'epochs', 10), batchSize: num(args, 'batch-size', 32), seed,
    optimizer: { rule: 'adam', lr: num(args, 'lr', 1e-3), weightDecay: 1e-6 },
  });
  const m = await evaluateClassifier(model, test.images, test.labels, { samples: num(args, 'test-samples', 10), seed });
  console.log(JSON.stringify({ alpha, ...m }, null, 2));
  if (save) {
    const out = args.out ?? 'alphadrop-mnist.safetensors';
    await saveCheckpoint(out, model, null, { seed });
    console.log(`wrote ${out}`);
  } else if (args.out) writeOut(args.out, JSON.stringify({ alpha, samples: K, metrics: m }, null, 2));
}

function loadModel(args: Args) {
  if (!args.model) throw new ValueError('alphadrop', 'a checkpoint (--model PATH)', 'none');
  resetInitStreams();
  const model = mlp([784, 100, 100, 10], { dropout: num(args, 'dropout', 0.2), seed: 0 });
  const { seed } = loadCheckpoint(args.model, model, null);
  return { model, seed };
}

async function evaluate(args: Args): Promise<void> {
  const { model, seed } = loadModel(args);
  const test = loadMnist(requireDataDir(args), { split: 'test' });
  const m = await evaluateClassifier(model, test.images, test.labels, { samples: num(args, 'test-samples', 10), seed });
  console.log(JSON.stringify(m, null, 2));
  if (args.out) writeOut(args.out, JSON.stringify(m, null, 2));
}

async function predict(args: Args): Promise<void> {
  const { model, seed } = loadModel(args);
  const count = num(args, 'limit', 10);
  const test = loadMnist(requireDataDir(args), { split: 'test', limit: count });
  const K = num(args, 'test-samples', 10);
  const x = tensor(test.images, [test.n, 784]);
  const { probs, C } = await mcSampleProbs(model, x, { samples: K, seed });
  x.dispose();
  const mean = meanOverSamples(probs, test.n, K, C);
  const out = Array.from({ length: test.n }, (_, i) => {
    const p = Array.from(mean.subarray(i * C, (i + 1) * C));
    let expected = 0;
    for (let k = 0; k < K; k++) expected += entropyOf(probs, (i * K + k) * C, C) / K;
    const h = entropyOf(p, 0, C);
    return { index: i, label: test.labels[i], predicted: p.indexOf(Math.max(...p)), probabilities: p.map((v) => Number(v.toFixed(5))), entropy: h, mutualInformation: h - expected };
  });
  const json = JSON.stringify(out, null, 2);
  if (args.out) writeOut(args.out, json);
  else console.log(json);
}

async function attack(args: Args): Promise<void> {
  const { model, seed } = loadModel(args);
  const test = loadMnist(requireDataDir(args), { split: 'test', limit: num(args, 'limit', 1000) });
  const etas = list(args, 'eta', Array.from({ length: 26 }, (_, i) => Number((0.02 * i).toFixed(2))));
  const K = num(args, 'test-samples', 10);
  const x = tensor(test.images, [test.n, 784]);
  const advs = fgsm(model, x, etas, { samples: K, seed, objective: args.objective === 'reference-code' ? 'reference-code' : 'paper' });
  const rows = [];
  for (let i = 0; i < etas.length; i++) {
    const m = await evaluateClassifier(model, advs[i]!, test.labels, { samples: K, seed, pass: i + 1 });
    rows.push({ eta: etas[i]!, accuracy: m.accuracy, entropy: m.entropy, entropyStdErr: m.entropyStdErr, mutualInformation: m.mutualInformation });
    console.log(`η=${etas[i]}: accuracy ${(100 * m.accuracy).toFixed(1)}%, entropy ${m.entropy.toFixed(3)}`);
    advs[i]!.dispose();
  }
  x.dispose();
  const out = args.out ?? 'alphadrop-attack';
  writeOut(join(out, 'attack.json'), JSON.stringify(rows, null, 2));
  writeOut(join(out, 'attack.svg'), lineChart(
    [
      { name: 'accuracy', points: rows.map((r) => [r.eta, r.accuracy]) },
      { name: 'entropy', points: rows.map((r) => [r.eta, r.entropy]) },
    ],
    { title: 'Untargeted FGS through MC dropout', xLabel: 'η', yLabel: 'accuracy / predictive entropy (nats)' },
  ));
}

async function uci(args: Args): Promise<void> {
  const dir = requireDataDir(args);
  const datasets = (args.datasets ?? 'bostonHousing,concrete,yacht').split(',');
  const alphas = list(args, 'alpha', [0, 0.5, 1]);
  const results: Record<string, Record<string, { rmse: number[]; logLikelihood: number[] }>> = {};
  for (const name of datasets) {
    const ds = loadUci(dir, name);
    const splits = Math.min(ds.splits, num(args, 'splits', ds.splits));
    results[name] = {};
    for (const alpha of alphas) {
      const r = { rmse: [] as number[], logLikelihood: [] as number[] };
      for (let s = 0; s < splits; s++) {
        const res = await runUciSplit(uciSplit(ds, s), {
          ...UCI_DEFAULTS,
          alpha,
          hidden: name === 'protein-tertiary-structure' ? 100 : 50,
          epochs: num(args, 'epochs', UCI_DEFAULTS.epochs),
          samples: num(args, 'samples', UCI_DEFAULTS.samples),
          testSamples: num(args, 'test-samples', UCI_DEFAULTS.testSamples),
          dropout: num(args, 'dropout', UCI_DEFAULTS.dropout),
          lr: num(args, 'lr', UCI_DEFAULTS.lr),
          seed: num(args, 'seed', UCI_DEFAULTS.seed) + s,
        });
        r.rmse.push(res.rmse);
        r.logLikelihood.push(res.logLikelihood);
        console.log(JSON.stringify({ dataset: name, alpha, split: s, ...res }));
      }
      results[name]![String(alpha)] = r;
    }
  }
  const table = [`| data set | α | test RMSE | test LL |`, `|---|---:|---:|---:|`];
  for (const [name, byAlpha] of Object.entries(results))
    for (const [alpha, r] of Object.entries(byAlpha).sort((a, b) => Number(a[0]) - Number(b[0]))) {
      const a = meanStdErr(r.rmse), b = meanStdErr(r.logLikelihood);
      table.push(`| ${name} | ${alpha} | ${a.mean.toFixed(3)} ± ${a.stdErr.toFixed(3)} | ${b.mean.toFixed(3)} ± ${b.stdErr.toFixed(3)} |`);
    }
  console.log(table.join('\n'));
  if (args.out) {
    writeOut(join(args.out, 'uci.json'), JSON.stringify({ options: { ...UCI_DEFAULTS, ...args }, results }, null, 2));
    writeOut(join(args.out, 'uci.md'), table.join('\n') + '\n');
  }
}

export async function main(argv: string[]): Promise<void> {
  const { command, args } = parseArgs(argv);
  if (command === 'help') return void console.log(HELP);
  const backend = await selectBackend((args.backend ?? 'auto') as BackendChoice);
  console.log(`backend: ${backend.description}`);
  try {
    switch (command) {
      case 'demo': return await demo(args);
      case 'mnist': return await mnist(args);
      case 'train': return await mnist(args, true);
      case 'eval': return await evaluate(args);
      case 'predict': return await predict(args);
      case 'attack': return await attack(args);
      case 'uci': return await uci(args);
      default:
        throw new ValueError('alphadrop', 'a command (demo, mnist, uci, train, eval, predict, attack, help)', JSON.stringify(command));
    }
  } finally {
    await backend.shutdown();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] || process.env.ALPHADROP_CLI === '1') {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    process.exit(1);
  });
}
