// train writes a self-describing checkpoint; eval, predict and attack rebuild the model
// from the file alone (784-100-100-10, 784-1000×3-10, the paper's CNN), refuse flags that
// contradict it unless --override, and refuse a checkpoint holding NaN. Tiny runs on the
// CPU: the point is the plumbing, not the accuracy.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '@alphadrop/nn';
import { mnistForTests } from '../helpers/data.js';
import { expectRefusal, filesUnder, refuse, run, tempDir } from './cli-helpers.js';

const data = () => mnistForTests('e2e cli checkpoints').dir;
const common = () => ['--backend', 'cpu', '--data-dir', data()];
const tiny = ['--limit', '24', '--test-limit', '8', '--epochs', '1', '--samples', '2', '--test-samples', '2', '--batch-size', '8'];

/** The JSON object a command printed (the first line that parses as one). */
function printedJson(lines: readonly string[]): Record<string, unknown> {
  for (const l of lines) if (l.startsWith('{') || l.startsWith('[')) return JSON.parse(l) as Record<string, unknown>;
  throw new Error(`no JSON in ${lines.join('\n')}`);
}

let dir: string;
let mlp05: string;

beforeAll(async () => {
  dir = tempDir();
  mlp05 = join(dir, 'mlp05.safetensors');
  await run(['train', ...common(), ...tiny, '--dropout', '0.5', '--alpha', '0.5', '--seed', '3', '--out', mlp05]);
});

describe('train → eval: the model comes from the file', () => {
  it('the checkpoint records architecture, rate, α, K, seed, step and version', () => {
    const meta = decodeSafetensors(new Uint8Array(readFileSync(mlp05))).metadata;
    expect(meta.format).toBe('alphadrop-checkpoint-2');
    expect(JSON.parse(meta.architecture!)).toEqual([
      { kind: 'dropout', rate: 0.5 }, { kind: 'linear', in: 784, out: 100 }, { kind: 'relu' },
      { kind: 'dropout', rate: 0.5 }, { kind: 'linear', in: 100, out: 100 }, { kind: 'relu' },
      { kind: 'dropout', rate: 0.5 }, { kind: 'linear', in: 100, out: 10 },
    ]);
    // 24 images in minibatches of 8, one epoch: 3 steps
    expect({ alpha: meta.alpha, samples: meta.samples, seed: meta.seed, step: meta.step }).toEqual({ alpha: '0.5', samples: '2', seed: '3', step: '3' });
  });

  it('eval without --dropout gives the numbers eval with --dropout 0.5 gives', async () => {
    const args = ['eval', ...common(), '--model', mlp05, '--limit', '16', '--test-samples', '3'];
    const without = printedJson(await run(args));
    const withRate = printedJson(await run([...args, '--dropout', '0.5']));
    expect(withRate).toEqual(without);
    expect(without.mutualInformation).toBeGreaterThan(0); // dropout is on: MC samples disagree
  });

  it('a --dropout that contradicts the file is refused, unless --override', async () => {
    const args = ['eval', ...common(), '--model', mlp05, '--limit', '16', '--test-samples', '3'];
    expectRefusal(await refuse([...args, '--dropout', '0.2']), 'ValueError', ['--dropout: expected the checkpoint\'s dropout rate 0.5', mlp05, 'or --override', 'got 0.2']);
    const at02 = printedJson(await run([...args, '--dropout', '0.2', '--override']));
    const at0 = printedJson(await run([...args, '--dropout', '0', '--override']));
    expect(at02.entropy).not.toEqual(printedJson(await run(args)).entropy);
    expect(at0.mutualInformation).toBe(0); // rate 0: every MC sample is the same network
  });

  it('eval --out writes the options with their types', async () => {
    const out = join(tempDir(), 'eval.json');
    await run(['eval', ...common(), '--model', mlp05, '--limit', '8', '--test-samples', '2', '--out', out]);
    const written = JSON.parse(readFileSync(out, 'utf8')) as { command: string; options: Record<string, unknown>; metrics: Record<string, unknown> };
    expect(written.command).toBe('eval');
    expect(written.options).toMatchObject({ 'test-samples': 2, limit: 8, model: mlp05, override: false });
    expect(typeof written.metrics.accuracy).toBe('number');
  });

  it('predict --out equal to --model is refused and the checkpoint is untouched', async () => {
    const before = readFileSync(mlp05);
    expectRefusal(await refuse(['predict', ...common(), '--model', mlp05, '--out', mlp05, '--force']), 'ValueError',
      ['--out: expected a path other than --model\'s', `the same file as --model ${mlp05}`]);
    expect(readFileSync(mlp05).equals(before)).toBe(true);
  });

  it('attack --out onto existing results is refused unless --force', async () => {
    const out = tempDir();
    writeFileSync(join(out, 'attack.json'), 'earlier results');
    const args = ['attack', ...common(), '--model', mlp05, '--limit', '4', '--test-samples', '2', '--eta', '0,0.1', '--out', out];
    expectRefusal(await refuse(args), 'ValueError', ['--out: expected a directory without attack.json (or --force to overwrite)', `${join(out, 'attack.json')} (an existing file)`]);
    expect(readFileSync(join(out, 'attack.json'), 'utf8')).toBe('earlier results');
    await run([...args, '--force']);
    const written = JSON.parse(readFileSync(join(out, 'attack.json'), 'utf8')) as { rows: { eta: number }[]; options: { eta: number[] } };
    expect(written.rows.map((r) => r.eta)).toEqual([0, 0.1]);
    expect(written.options.eta).toEqual([0, 0.1]);
    expect(filesUnder(out)).toEqual(['attack.json', 'attack.svg']);
  });

  it('the default η sweep (26 steps) finishes on a dropout-0.5 model, and two runs with one seed write identical JSON', async () => {
    const out = tempDir();
    const args = ['attack', ...common(), '--model', mlp05, '--limit', '6', '--test-samples', '2', '--out', out];
    await run(args);
    const a = readFileSync(join(out, 'attack.json'), 'utf8');
    await run([...args, '--force']);
    const b = readFileSync(join(out, 'attack.json'), 'utf8').replace('"force": true', '"force": false');
    const rows = (JSON.parse(a!) as { rows: { eta: number; accuracy: number }[] }).rows;
    expect(rows).toHaveLength(26);
    expect(rows[25]!.eta).toBeCloseTo(0.5, 12);
    expect(rows.every((r) => Number.isFinite(r.accuracy))).toBe(true);
    expect(b).toBe(a);
  });
});

describe('a checkpoint that cannot be trusted is refused', () => {
  it('NaN weights: eval, predict and attack refuse, naming the file and tensor', async () => {
    const bad = join(tempDir(), 'nan.safetensors');
    const file = decodeSafetensors(new Uint8Array(readFileSync(mlp05)));
    (file.tensors['param.4.weight']!.data as Float32Array)[17] = Number.NaN;
    writeFileSync(bad, encodeSafetensors(file.tensors, file.metadata));
    const out = tempDir();
    for (const cmd of [
      ['eval', '--out', join(out, 'e.json')],
      ['predict', '--out', join(out, 'p.json')],
      ['attack', '--out', join(out, 'a')],
    ]) {
      const r = await refuse([cmd[0]!, ...common(), '--model', bad, '--limit', '4', ...cmd.slice(1)]);
      expectRefusal(r, 'DataError', [bad, 'expected finite values in tensor param.4.weight', 'got NaN at element 17'], { afterStart: true });
    }
    expect(filesUnder(out)).toEqual([]);
  });

  it('a checkpoint without architecture metadata says what is missing', async () => {
    const old = join(tempDir(), 'old.safetensors');
    const file = decodeSafetensors(new Uint8Array(readFileSync(mlp05)));
    writeFileSync(old, encodeSafetensors(file.tensors, { format: 'alphadrop-checkpoint-1', seed: '1' }));
    expectRefusal(await refuse(['eval', ...common(), '--model', old]), 'DataError', [old, "format 'alphadrop-checkpoint-2'", 'got format "alphadrop-checkpoint-1"', 'missing: step, version, architecture']);
  });

  it('a missing --model or one that is a directory', async () => {
    expectRefusal(await refuse(['eval', ...common()]), 'ValueError', ['--model: expected a checkpoint file', 'got none']);
    const d = tempDir();
    expectRefusal(await refuse(['predict', ...common(), '--model', d]), 'ValueError', ['--model: expected an existing readable file', `${d} (a directory)`]);
  });
});

describe('eval, predict and attack from the file alone, for every architecture', () => {
  const cases: [string, string[]][] = [
    ['784-100-100-10', ['--hidden', '100,100']],
    ['784-1000×3-10', ['--hidden', '1000,1000,1000']],
    ['the paper CNN', ['--arch', 'cnn']],
  ];
  for (const [name, archArgs] of cases)
    it(name, async () => {
      const d = tempDir();
      const model = join(d, 'm.safetensors');
      const trained = await run(['train', ...common(), ...tiny, '--dropout', '0.5', ...archArgs, '--out', model]);
      const trainMetrics = printedJson(trained);
      const evaluated = printedJson(await run(['eval', ...common(), '--model', model, '--limit', '8', '--test-samples', '2']));
      // train evaluated on the same 8 test digits with the same seed and K: same numbers
      expect(evaluated.accuracy).toBe(trainMetrics.accuracy);
      expect(evaluated.entropy).toBe(trainMetrics.entropy);
      const predicted = JSON.parse((await run(['predict', ...common(), '--model', model, '--limit', '3', '--test-samples', '2'])).find((l) => l.startsWith('['))!) as { probabilities: number[] }[];
      expect(predicted).toHaveLength(3);
      for (const p of predicted) expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      await run(['attack', ...common(), '--model', model, '--limit', '3', '--test-samples', '2', '--eta', '0,0.2', '--out', join(d, 'attack')]);
      expect(filesUnder(d)).toEqual(['attack/attack.json', 'attack/attack.svg', 'm.safetensors']);
    });
});
