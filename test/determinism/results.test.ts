// Results record what reproduces them (docs/determinism.md): every JSON result the CLI writes
// and every file of a reproduction (runs.jsonl's header and each run's line, summary.json)
// carry the library version and the seed. One CLI result (mnist --out) and one reproduction
// (reproduce uci, 2 splits of 1 epoch) are checked here, on the cheapest existing setups.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '@alphadrop/nn';
import { seedOfResult } from '../../packages/bbalpha/src/cli/common.js';
import { mnistForTests, yachtForTests } from '../helpers/data.js';
import { run, tempDir } from '../e2e/cli-helpers.js';

const packageVersion = (name: string) => (JSON.parse(readFileSync(new URL(`../../packages/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe('results record the library version and the seed', () => {
  it('the recorded version is the packages’ version', () => {
    expect(VERSION).toBe(packageVersion('nn'));
    expect(VERSION).toBe(packageVersion('bbalpha'));
  });

  it('a CLI result file (mnist --out): version and the --seed it ran under', async () => {
    const out = join(tempDir(), 'mnist.json');
    await run(['mnist', '--backend', 'cpu', '--data-dir', mnistForTests('determinism results').dir, '--limit', '16', '--test-limit', '8', '--epochs', '1',
      '--samples', '1', '--test-samples', '2', '--hidden', '8', '--seed', '42', '--out', out]);
    const written = readJson(out);
    expect(written).toMatchObject({ command: 'mnist', version: VERSION, seed: 42 });
    expect(Object.keys(written).slice(0, 4)).toEqual(['command', 'version', 'seed', 'options']);
  }, 120_000);

  it('the seed of a result: its own (a checkpoint’s), else --seed, else its entries’ (one, or the list), else null', () => {
    expect(seedOfResult({ seed: 1 }, { seed: 9 })).toBe(9);
    expect(seedOfResult({ seed: 1 }, { metrics: {} })).toBe(1);
    expect(seedOfResult({}, { results: [{ seed: 3 }, { seed: 3 }] })).toBe(3);
    expect(seedOfResult({}, { results: [{ seed: 3 }, { seed: 4 }, { seed: 3 }] })).toEqual([3, 4]);
    expect(seedOfResult({ force: true }, { rows: [1, 2] })).toBeNull();
  });

  it('a reproduction (reproduce uci): the journal header, each run’s line and summary.json', async () => {
    const out = join(tempDir(), 'uci');
    await run(['reproduce', 'uci', '--backend', 'cpu', '--data-dir', yachtForTests('determinism results').root, '--datasets', 'yacht', '--alpha', '0.5',
      '--epochs', '1', '--samples', '2', '--test-samples', '4', '--splits', '2', '--seed', '7', '--out', out]);
    const [header, ...lines] = readFileSync(join(out, 'runs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(header).toMatchObject({ journal: 'alphadrop-runs-1', version: VERSION, seed: 7, options: { seed: 7 } });
    // run s of the protocol trains under seed + s (the README says so); each line records its own
    const runs = lines.map((l) => (l as { unit: { split: number }; result: { run: { version: string; seed: number } } }));
    expect(runs.map((l) => [l.unit.split, l.result.run.version, l.result.run.seed])).toEqual([[0, VERSION, 7], [1, VERSION, 8]]);
    expect(readJson(join(out, 'summary.json'))).toMatchObject({ experiment: 'uci', version: VERSION, seed: 7 });
  }, 120_000);
});
