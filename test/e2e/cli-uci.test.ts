// `uci` end to end on yacht: every data set is loaded before the first unit computes,
// --batch-size is honoured, each finished split is in the journal as it completes, a
// re-run resumes, other options are refused, and result files hold typed options.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { yachtForTests } from '../helpers/data.js';
import { expectRefusal, filesUnder, refuse, run, tempDir } from './cli-helpers.js';

const root = () => yachtForTests('e2e cli uci').root;
const fast = ['--epochs', '1', '--test-samples', '4', '--samples', '2'];
const uci = (out: string, ...more: string[]) => ['uci', '--backend', 'cpu', '--data-dir', root(), '--datasets', 'yacht', '--alpha', '0.5', ...fast, '--out', out, ...more];

interface Line {
  unit: { dataset: string; alpha: number; split: number };
  result: { rmse: number; logLikelihood: number };
}
const journal = (out: string): Line[] => readFileSync(join(out, 'uci.jsonl'), 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l) as Line);

describe('uci', () => {
  it('a missing data set fails before anything is computed', async () => {
    const out = join(tempDir(), 'u');
    const r = await refuse(['uci', '--backend', 'cpu', '--data-dir', root(), '--datasets', 'yacht,yaht', ...fast, '--out', out]);
    expectRefusal(r, 'ValueError', ['--datasets: expected data sets under', 'yacht', 'got "yaht"', 'did you mean yacht?']);
  });

  it('more splits than the data set has', async () => {
    expectRefusal(await refuse(uci(join(tempDir(), 'u'), '--splits', '1000')), 'ValueError', ['--splits: expected at most', '(the splits of yacht)', 'got 1000']);
  });

  it('journals each split, resumes a re-run, refuses other options', async () => {
    const out = join(tempDir(), 'results', 'uci');
    const first = await run(uci(out, '--splits', '1'));
    expect(journal(out).map((l) => l.unit)).toEqual([{ dataset: 'yacht', alpha: 0.5, split: 0 }]);
    const firstResult = journal(out)[0]!.result;
    // two splits now: split 0 comes from the journal, split 1 is computed
    const second = await run(uci(out, '--splits', '2'));
    expect(second.some((l) => l.includes('"split":0') && l.includes('done earlier'))).toBe(true);
    expect(journal(out).map((l) => l.unit.split)).toEqual([0, 1]);
    expect(journal(out)[0]!.result).toEqual(firstResult);
    expect(first.length).toBeGreaterThan(0);
    const summary = JSON.parse(readFileSync(join(out, 'uci.json'), 'utf8')) as { options: Record<string, unknown>; results: { yacht: Record<string, { rmse: number[] }> } };
    expect(summary.options).toMatchObject({ splits: 2, epochs: 1, 'test-samples': 4, alpha: [0.5], datasets: ['yacht'], 'batch-size': 32 });
    expect(summary.results.yacht['0.5']!.rmse).toEqual(journal(out).map((l) => l.result.rmse));
    expect(filesUnder(out)).toEqual(['uci.json', 'uci.jsonl', 'uci.md']);
    const twoEpochs = uci(out, '--splits', '2').map((a, i, all) => (all[i - 1] === '--epochs' ? '2' : a));
    const r = await refuse(twoEpochs);
    expectRefusal(r, 'ValueError', [`journal ${join(out, 'uci.jsonl')}`, 'expected the options it was started with', 'epochs: 1', 'got epochs: 2', 'another --out']);
  });

  it('--batch-size is honoured (recorded, and it changes the result)', async () => {
    const a = join(tempDir(), 'a');
    const b = join(tempDir(), 'b');
    await run(uci(a, '--splits', '1', '--batch-size', '8'));
    await run(uci(b, '--splits', '1', '--batch-size', '64'));
    const header = (out: string) => JSON.parse(readFileSync(join(out, 'uci.jsonl'), 'utf8').split('\n')[0]!) as { options: { batchSize: number } };
    expect(header(a).options.batchSize).toBe(8);
    expect(header(b).options.batchSize).toBe(64);
    expect(journal(a)[0]!.result.rmse).not.toBe(journal(b)[0]!.result.rmse);
  });

  it('a torn last line (a crash mid-write) is dropped and the unit recomputed', async () => {
    const out = join(tempDir(), 'u');
    await run(uci(out, '--splits', '1'));
    const text = readFileSync(join(out, 'uci.jsonl'), 'utf8');
    writeFileSync(join(out, 'uci.jsonl'), text + '{"unit":{"dataset":"yacht","alpha":0.5,"spl');
    await run(uci(out, '--splits', '2'));
    expect(journal(out).map((l) => l.unit.split)).toEqual([0, 1]);
  });

  it('a run that diverges is an error, never "NaN ± NaN", and writes no summary', async () => {
    const out = join(tempDir(), 'u');
    const r = await refuse(uci(out, '--splits', '1', '--lr', '1e30'));
    expect(r.error.name).toBe('NonFiniteError');
    expect(r.error.message).toContain('non-finite');
    expect(r.lines.join('\n')).not.toContain('NaN ±');
    expect(() => filesUnder(out)).toThrow(); // --out never created
  });
});
