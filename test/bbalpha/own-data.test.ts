// `alphadrop train --data` and `alphadrop predict --data` on small CSV tables made here: a
// noisy linear regression of three features and three well-separated classes with text
// labels. Trains a few epochs on the CPU, predicts on a second CSV and checks columns and
// ranges against what the data imply (RMSE below the target's spread, accuracy far above
// chance); bad CSVs are refused with file:line:column before any training.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cpuBackend, setBackend } from '@alphadrop/core';
import { encodeNpy, parseCsv, readCheckpointMetadata, VERSION } from '@alphadrop/nn';
import { loadSafetensors } from '@alphadrop/nn/node';
import { expectRefusal, refuse, run, tempDir } from '../e2e/cli-helpers.js';

let dir: string;

/** A small deterministic generator (LCG + Box–Muller): the test's data need no library RNG. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
}
const normal = (u: () => number) => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());

function regressionCsv(n: number, seed: number, withTarget = true): string {
  const u = rng(seed);
  const lines = [withTarget ? 'a,b,c,y' : 'c,b,a'];
  for (let i = 0; i < n; i++) {
    const [a, b, c] = [u() * 4 - 2, u() * 4 - 2, u() * 4 - 2];
    const y = 3 * a - 2 * b + 0.5 * c + 10 + 0.1 * normal(u);
    lines.push(withTarget ? [a, b, c, y].map((v) => v.toFixed(5)).join(',') : [c, b, a].map((v) => v.toFixed(5)).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

const CENTRES: Record<string, [number, number, number]> = { 'setosa, small': [3, 0, 0], versicolor: [0, 3, 0], virginica: [0, 0, 3] };
function classCsv(n: number, seed: number): string {
  const u = rng(seed);
  const names = Object.keys(CENTRES);
  const lines = ['x1,x2,x3,species'];
  for (let i = 0; i < n; i++) {
    const label = names[i % 3]!;
    const c = CENTRES[label]!;
    lines.push([...c.map((m) => (m + 0.3 * normal(u)).toFixed(4)), `"${label}"`].join(','));
  }
  return lines.join('\n') + '\n';
}

const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const fast = ['--backend', 'cpu', '--epochs', '30', '--samples', '2', '--test-samples', '5', '--hidden', '16', '--batch-size', '16', '--lr', '0.01', '--dropout', '0.05'];

beforeAll(() => {
  setBackend(cpuBackend('fast'));
  dir = tempDir();
});

describe('train and predict on own data', () => {
  it('regression: held-out RMSE below the target spread; predict writes mean, std, ll', async () => {
    const train = write('reg.csv', regressionCsv(200, 1));
    const model = join(dir, 'reg.safetensors');
    const lines = await run(['train', '--data', train, '--target', 'y', '--task', 'regression', ...fast, '--seed', '3', '--out', model]);
    const result = JSON.parse(readFileSync(join(dir, 'reg.json'), 'utf8'));
    expect(result).toMatchObject({ command: 'train', version: VERSION, seed: 3, task: 'regression', trainRows: 180, testRows: 20 });
    const ys = parseCsv(readFileSync(train, 'utf8')).records.map((r) => Number(r.fields[3]!.text));
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const spread = Math.sqrt(ys.reduce((a, b) => a + (b - mean) ** 2, 0) / ys.length);
    expect(result.metrics.rmse).toBeLessThan(0.5 * spread);
    expect(Number.isFinite(result.metrics.logLikelihood)).toBe(true);
    expect(lines.some((l) => l.includes('"rmse"'))).toBe(true);
    const meta = readCheckpointMetadata(loadSafetensors(model), model);
    expect(meta.data).toEqual({ task: 'regression', features: ['a', 'b', 'c'], target: 'y' });
    expect(meta.normalisation?.inputMean).toHaveLength(3);
    expect(meta.tau).toBeGreaterThan(0);

    // columns in another order and no target: mean and std only
    const noTarget = write('reg-new.csv', regressionCsv(15, 7, false));
    const out = join(dir, 'reg-pred.csv');
    await run(['predict', '--backend', 'cpu', '--model', model, '--data', noTarget, '--samples', '8', '--out', out]);
    const pred = parseCsv(readFileSync(out, 'utf8'));
    expect(pred.header).toEqual(['mean', 'std']);
    expect(pred.records).toHaveLength(15);
    const inputs = parseCsv(readFileSync(noTarget, 'utf8')).records;
    pred.records.forEach((r, i) => {
      const [c, b, a] = inputs[i]!.fields.map((f) => Number(f.text));
      const truth = 3 * a! - 2 * b! + 0.5 * c! + 10;
      expect(Number(r.fields[1]!.text)).toBeGreaterThan(0);
      expect(Math.abs(Number(r.fields[0]!.text) - truth)).toBeLessThan(spread);
    });

    // with the target: JSON rows with a finite per-point ll
    const json = join(dir, 'reg-pred.json');
    await run(['predict', '--backend', 'cpu', '--model', model, '--data', write('reg-test.csv', regressionCsv(10, 9)), '--out', json]);
    const f = JSON.parse(readFileSync(json, 'utf8'));
    expect(f.columns).toEqual(['mean', 'std', 'll']);
    expect(f.version).toBe(VERSION);
    for (const row of f.rows) {
      expect(row.std).toBeGreaterThan(0);
      expect(Number.isFinite(row.ll)).toBe(true);
    }
  });

  it('classification: text labels, accuracy well above chance; probabilities, entropy and MI in range', async () => {
    const train = write('cls.csv', classCsv(150, 2));
    const test = write('cls-test.csv', classCsv(30, 5));
    const model = join(dir, 'cls.safetensors');
    await run(['train', '--data', train, '--test', test, '--target', 'species', '--task', 'classification', ...fast, '--out', model]);
    const result = JSON.parse(readFileSync(join(dir, 'cls.json'), 'utf8'));
    expect(result).toMatchObject({ task: 'classification', trainRows: 150, testRows: 30, seed: 1 });
    expect(result.metrics.accuracy).toBeGreaterThan(0.9);
    const meta = readCheckpointMetadata(loadSafetensors(model), model);
    expect(meta.data?.classes).toEqual(['setosa, small', 'versicolor', 'virginica']);

    const out = join(dir, 'cls-pred.csv');
    await run(['predict', '--backend', 'cpu', '--model', model, '--data', test, '--format', 'csv', '--out', out]);
    const pred = parseCsv(readFileSync(out, 'utf8'));
    expect(pred.header).toEqual(['p_setosa, small', 'p_versicolor', 'p_virginica', 'predicted', 'entropy', 'mi']);
    const truth = parseCsv(readFileSync(test, 'utf8')).records.map((r) => r.fields[3]!.text);
    let hits = 0;
    pred.records.forEach((r, i) => {
      const p = r.fields.slice(0, 3).map((f) => Number(f.text));
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      p.forEach((v) => expect(v).toBeGreaterThanOrEqual(0));
      const h = Number(r.fields[4]!.text), mi = Number(r.fields[5]!.text);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThanOrEqual(Math.log(3) + 1e-9);
      expect(mi).toBeGreaterThanOrEqual(-1e-9);
      expect(mi).toBeLessThanOrEqual(h + 1e-9);
      if (r.fields[3]!.text === truth[i]) hits++;
    });
    expect(hits / truth.length).toBeGreaterThan(0.9);
  });
});

describe('other inputs and architectures', () => {
  it('NPY: a feature matrix and a target file; predict reads the same layout', async () => {
    const u = rng(4);
    const n = 60;
    const x = Float64Array.from({ length: n * 2 }, () => u() * 2 - 1);
    const y = Float64Array.from({ length: n }, (_, i) => 2 * x[2 * i]! - x[2 * i + 1]!);
    const xf = join(dir, 'x.npy'), yf = join(dir, 'y.npy');
    writeFileSync(xf, encodeNpy(x, [n, 2]));
    writeFileSync(yf, encodeNpy(Float32Array.from(y), [n]));
    const model = join(dir, 'npy.safetensors');
    await run(['train', '--data', xf, '--target', yf, '--task', 'regression', ...fast, '--holdout', '0.25', '--out', model]);
    expect(JSON.parse(readFileSync(join(dir, 'npy.json'), 'utf8'))).toMatchObject({ trainRows: 45, testRows: 15 });
    const lines = await run(['predict', '--backend', 'cpu', '--model', model, '--data', xf, '--samples', '2']);
    const csv = parseCsv(lines.slice(1).join('\n'));
    expect(csv.header).toEqual(['mean', 'std']);
    expect(csv.records).toHaveLength(n);
  });

  it('--conv paper-cnn over rows that are 8×8 images', async () => {
    const u = rng(6);
    const header = [...Array.from({ length: 64 }, (_, j) => `px${j}`), 'digit'];
    const rows = Array.from({ length: 24 }, (_, i) => [...Array.from({ length: 64 }, (_, j) => ((j % 8 < 4) === (i % 2 === 0) ? 1 : 0) + 0.1 * u()).map((v) => v.toFixed(3)), String(i % 2)].join(','));
    const f = write('images.csv', [header.join(','), ...rows].join('\n'));
    const model = join(dir, 'cnn.safetensors');
    await run(['train', '--data', f, '--target', 'digit', '--task', 'classification', '--conv', 'paper-cnn', '--image-shape', '8x8', '--backend', 'cpu', '--epochs', '1', '--samples', '1', '--test-samples', '2', '--batch-size', '8', '--holdout', '0.25', '--out', model]);
    const meta = readCheckpointMetadata(loadSafetensors(model), model);
    expect(meta.architecture?.filter((l) => l.kind === 'conv2d')).toHaveLength(2);
    expect(meta.architecture?.[0]).toEqual({ kind: 'reshape', shape: [1, 8, 8] });
    expect(meta.data?.classes).toEqual(['0', '1']);
    expectRefusal(await refuse(['train', '--data', f, '--target', 'digit', '--task', 'classification', '--conv', 'paper-cnn', '--image-shape', '7x7', '--backend', 'cpu', '--out', join(dir, 'cnn2.safetensors')]), 'ValueError', ['--image-shape', '64 values per image', '7x7 = 49'], { afterStart: true });
  });
});

describe('bad CSVs are refused with the location', () => {
  const train = (file: string, target = 'y') => refuse(['train', '--data', file, '--target', target, '--task', 'regression', '--backend', 'cpu', '--epochs', '1', '--out', join(dir, `bad-${Math.random()}.safetensors`)]);

  it('a ragged row', async () => {
    const f = write('ragged.csv', 'a,b,y\n1,2,3\n4,5\n');
    expectRefusal(await train(f), 'DataError', [`${f}:3:3`, '3 fields', 'got 2 fields'], { afterStart: true });
  });
  it('text in a numeric column', async () => {
    const f = write('text.csv', 'a,b,y\n1,2,3\n4,five,6\n7,8,9\n');
    expectRefusal(await train(f), 'DataError', [`${f}:3:3`, 'column "b"', '"five"'], { afterStart: true });
  });
  it('an empty cell and a NaN', async () => {
    const f = write('empty.csv', 'a,b,y\n1,,3\n4,5,6\n');
    expectRefusal(await train(f), 'DataError', [`${f}:2:3`, 'an empty cell'], { afterStart: true });
    const g = write('nan.csv', 'a,b,y\n1,2,3\n4,5,NaN\n');
    expectRefusal(await train(g), 'DataError', [`${g}:3:5`, 'column "y"', '"NaN"'], { afterStart: true });
  });
  it('a missing target column', async () => {
    const f = write('notarget.csv', 'a,b,z\n1,2,3\n4,5,6\n');
    expectRefusal(await train(f), 'DataError', [`${f}:1`, 'target column "y"', '"a", "b", "z"'], { afterStart: true });
  });
  it('fewer than 2 rows', async () => {
    const f = write('one.csv', 'a,b,y\n1,2,3\n');
    expectRefusal(await train(f), 'DataError', [f, 'at least 2 data rows', 'got 1'], { afterStart: true });
  });
  it('own-data flags without --data, MNIST flags with it, a missing --task', async () => {
    expectRefusal(await refuse(['train', '--target', 'y']), 'ValueError', ['--target', 'only with --data']);
    const f = write('ok.csv', 'a,y\n1,2\n3,4\n');
    expectRefusal(await refuse(['train', '--data', f, '--target', 'y', '--task', 'regression', '--arch', 'cnn']), 'ValueError', ['--arch', 'with --data']);
    expectRefusal(await refuse(['train', '--data', f, '--target', 'y']), 'ValueError', ['--task']);
  });
  it('help lists the new flags', async () => {
    const lines = await run(['help', 'train']);
    for (const name of ['--data', '--target', '--task', '--test', '--holdout', '--conv', '--image-shape']) expect(lines.join('\n')).toContain(name);
  });
});
