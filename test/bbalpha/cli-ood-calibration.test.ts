// `alphadrop ood` and `alphadrop calibration`: strict refusals before any work (unknown
// flags, a missing or unreadable checkpoint, an output that would overwrite an input, bad
// numbers and folders), and runs on two small checkpoints (MC dropout and deterministic)
// with --limit on the CPU. The "out-of-distribution" set here is the MNIST test sample
// itself: the plumbing is under test, and identical sets give the deterministic model an
// entropy AUROC of exactly 0.5.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cpuBackend, setBackend } from '@alphadrop/core';
import { mlp } from '@alphadrop/nn';
import { saveCheckpoint } from '@alphadrop/nn/node';
import { embeddedMnistDir, mnistForTests } from '../helpers/data.js';
import { expectRefusal, refuse, run, tempDir } from '../e2e/cli-helpers.js';

const data = () => mnistForTests('cli ood calibration').dir;
const common = () => ['--backend', 'cpu', '--data-dir', data()];

let dir: string;
let withDropout: string;
let deterministic: string;

beforeAll(async () => {
  setBackend(cpuBackend('fast'));
  dir = tempDir();
  withDropout = join(dir, 'dropout.safetensors');
  deterministic = join(dir, 'plain.safetensors');
  const a = mlp([784, 12, 10], { dropout: 0.5, seed: 2 });
  const b = mlp([784, 12, 10], { seed: 3 });
  await saveCheckpoint(withDropout, a, null, { seed: 5, alpha: 0.5, samples: 2 });
  await saveCheckpoint(deterministic, b, null, { seed: 6 });
  a.dispose();
  b.dispose();
});

interface OodFile {
  command: string;
  device: string;
  options: Record<string, unknown>;
  inDistribution: { n: number };
  outOfDistribution: { n: number };
  results: { checkpoint: string; mc: boolean; testSamples: number; seed: number; entropyAuroc: number; miAuroc: number | null; nIn: number; nOut: number }[];
}

interface CalibrationFile {
  testImages: number;
  results: { checkpoint: string; mc: boolean; accuracy: number; ece: number; brier: number; logLikelihood: number; bins: { count: number; accuracy: number | null; confidence: number | null }[] }[];
}

describe('refusals before any work', () => {
  it('unknown flags, with the flag that was meant', async () => {
    expectRefusal(await refuse(['ood', ...common(), '--checkpoint', withDropout, '--model', withDropout]), 'ValueError', ['--model', 'is a flag of']);
    expectRefusal(await refuse(['calibration', ...common(), '--checkpoint', withDropout, '--bin', '4']), 'ValueError', ['--bin', 'did you mean --bins?']);
  });

  it('a missing --checkpoint, a missing file, a file twice', async () => {
    expectRefusal(await refuse(['ood', ...common()]), 'ValueError', ['--checkpoint', 'one or more checkpoint files']);
    expectRefusal(await refuse(['calibration', ...common(), '--checkpoint', join(dir, 'none.safetensors')]), 'ValueError', ['--checkpoint', 'no such file']);
    expectRefusal(await refuse(['calibration', ...common(), '--checkpoint', `${withDropout},${withDropout}`]), 'ValueError', ['--checkpoint', 'distinct files']);
  });

  it('a file that is not a checkpoint', async () => {
    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, 'not a safetensors file');
    const r = await refuse(['ood', ...common(), '--checkpoint', junk]);
    expect(r.lines).toEqual([]);
    expect(r.error.message).toContain(junk);
  });

  it('bad numbers, an output over a checkpoint, a missing folder', async () => {
    expectRefusal(await refuse(['calibration', ...common(), '--checkpoint', withDropout, '--bins', '0']), 'ValueError', ['--bins', 'an integer in [1, 1000]']);
    expectRefusal(await refuse(['ood', ...common(), '--checkpoint', withDropout, '--test-samples', '1.5']), 'ValueError', ['--test-samples']);
    expectRefusal(await refuse(['ood', ...common(), '--checkpoint', withDropout, '--limit', '0']), 'ValueError', ['--limit']);
    expectRefusal(await refuse(['calibration', ...common(), '--checkpoint', withDropout, '--out', withDropout, '--force']), 'ValueError', ['--out', 'an input of this run']);
    expectRefusal(await refuse(['ood', ...common(), '--checkpoint', withDropout, '--fashion-dir', join(dir, 'nowhere')]), 'ValueError', ['--fashion-dir', 'no such directory']);
  });
});

describe('runs on small checkpoints', () => {
  it('ood: one row per checkpoint; MI only for MC dropout; identical sets give the deterministic model 0.5', async () => {
    const out = join(dir, 'ood.json');
    const lines = await run(['ood', ...common(), '--checkpoint', `${withDropout},${deterministic}`, '--fashion-dir', embeddedMnistDir(), '--limit', '20', '--test-samples', '2', '--out', out]);
    expect(lines.some((l) => l.includes('| entropy AUROC |'))).toBe(true);
    const f = JSON.parse(readFileSync(out, 'utf8')) as OodFile;
    expect(f.command).toBe('ood');
    expect(f.device).toMatch(/^cpu/);
    expect(f.options).toMatchObject({ checkpoint: [withDropout, deterministic], limit: 20, 'test-samples': 2 });
    expect([f.inDistribution.n, f.outOfDistribution.n]).toEqual([20, 20]);
    const [mc, det] = f.results;
    expect(mc).toMatchObject({ checkpoint: withDropout, mc: true, testSamples: 2, seed: 5, nIn: 20, nOut: 20 });
    expect(typeof mc!.miAuroc).toBe('number');
    expect(det).toMatchObject({ checkpoint: deterministic, mc: false, testSamples: 1, seed: 6, miAuroc: null, entropyAuroc: 0.5 });
    // the out-of-distribution batches draw their own masks: the MC model's entropies differ
    expect(mc!.entropyAuroc).toBeGreaterThan(0);
    expect(mc!.entropyAuroc).toBeLessThan(1);
  });

  it('calibration: bins that add up to the test images and to the accuracy; --seed overrides the checkpoint', async () => {
    const out = join(dir, 'calibration.json');
    const lines = await run(['calibration', ...common(), '--checkpoint', `${withDropout},${deterministic}`, '--limit', '20', '--test-samples', '2', '--bins', '5', '--seed', '9', '--out', out]);
    expect(lines.some((l) => l.includes('| ECE |'))).toBe(true);
    const f = JSON.parse(readFileSync(out, 'utf8')) as CalibrationFile;
    expect(f.testImages).toBe(20);
    expect(f.results.map((r) => r.mc)).toEqual([true, false]);
    for (const r of f.results) {
      expect(r.bins).toHaveLength(5);
      expect(r.bins.reduce((a, b) => a + b.count, 0)).toBe(20);
      expect(r.bins.reduce((a, b) => a + b.count * (b.accuracy ?? 0), 0) / 20).toBeCloseTo(r.accuracy, 12);
      expect(r.ece).toBeGreaterThanOrEqual(0);
      expect(r.logLikelihood).toBeLessThan(0);
    }
    // an existing output is refused without --force
    expectRefusal(await refuse(['calibration', ...common(), '--checkpoint', withDropout, '--out', out]), 'ValueError', ['--out', 'an existing file']);
  });
});
