// The run journal on its own: units recorded as they finish survive a failure, a re-open
// sees them, other options are refused, non-finite results are never written.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunJournal, canonicalJson } from '../../packages/bbalpha/src/runs/journal.js';
import { tempDir } from './cli-helpers.js';

describe('run journal', () => {
  it('keeps finished units when a later one fails, and a re-open resumes from them', () => {
    const path = join(tempDir(), 'runs.jsonl');
    const j = RunJournal.open<{ rmse: number }>(path, { epochs: 3 });
    const units = Array.from({ length: 25 }, (_, i) => ({ dataset: 'yacht', alpha: 0.5, split: i }));
    expect(() => {
      for (const u of units) {
        if (u.split === 22) throw new Error('unit 23 failed');
        j.append(u, { rmse: u.split / 10 });
      }
    }).toThrow('unit 23 failed');
    const again = RunJournal.open<{ rmse: number }>(path, { epochs: 3 });
    expect(again.entries()).toHaveLength(22);
    expect(again.get({ split: 21, alpha: 0.5, dataset: 'yacht' })).toEqual({ rmse: 2.1 }); // key order does not matter
    expect(again.get(units[22]!)).toBeUndefined();
    // exactly one header line and one line per unit on disk
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(23);
  });

  it('refuses other options, naming what differs', () => {
    const path = join(tempDir(), 'runs.jsonl');
    RunJournal.open(path, { epochs: 3, lr: 0.001 }).append({ split: 0 }, { rmse: 1 });
    expect(() => RunJournal.open(path, { lr: 0.001, epochs: 4 })).toThrow(/expected the options it was started with to resume \(epochs: 3\), got epochs: 4/);
    expect(() => RunJournal.open(path, { lr: 0.001, epochs: 3 })).not.toThrow();
  });

  it('never writes a non-finite result', () => {
    const path = join(tempDir(), 'runs.jsonl');
    const j = RunJournal.open<{ rmse: number; ll: number[] }>(path, {});
    expect(() => j.append({ split: 0 }, { rmse: 1, ll: [0, Number.NaN] })).toThrow(/expected finite results, got ll\[1\] = NaN/);
    expect(() => readFileSync(path)).toThrow(); // nothing written
  });

  it('refuses a corrupt line in the middle, naming the line', () => {
    const path = join(tempDir(), 'runs.jsonl');
    RunJournal.open(path, {}).append({ split: 0 }, { rmse: 1 });
    writeFileSync(path, readFileSync(path, 'utf8') + 'garbage\n{"unit":{"split":1},"result":{"rmse":2}}\n');
    expect(() => RunJournal.open(path, {})).toThrow(new RegExp(`${path} line 3: expected a JSON object`));
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"e":3,"f":2}]},"b":1}');
  });
});
