// `reproduce uci` end to end on yacht: every data set is loaded before the first run
// computes, finished runs are in runs.jsonl, a re-run resumes, other options are refused,
// and (the CI smoke test) the shipped yacht with self-generated splits, killed after the
// first split or in the middle of training and re-run, gives the runs.jsonl and
// summary.json of an uninterrupted run, timings excluded.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { yachtForTests } from '../helpers/data.js';
import { expectRefusal, filesUnder, refuse, run, tempDir } from './cli-helpers.js';

const root = () => yachtForTests('e2e reproduce uci').root;
const fast = ['--epochs', '1', '--test-samples', '4', '--samples', '2'];
const uci = (out: string, ...more: string[]) => ['reproduce', 'uci', '--backend', 'cpu', '--data-dir', root(), '--datasets', 'yacht', '--alpha', '0.5', ...fast, '--out', out, ...more];

interface Line {
  unit: { dataset: string; alpha: number; split: number };
  result: { rmse: number; logLikelihood: number; logTauDrift: number; run?: unknown };
}
const lines = (out: string): string[] => readFileSync(join(out, 'runs.jsonl'), 'utf8').trim().split('\n');
const journal = (out: string): Line[] => lines(out).slice(1).map((l) => JSON.parse(l) as Line);
/** The journal without each run's provenance (device, commit, date, seconds). */
const results = (out: string) => journal(out).map(({ unit, result }) => ({ unit, result: { ...result, run: undefined } }));

describe('reproduce uci', () => {
  it('a missing data set fails before anything is computed', async () => {
    const out = join(tempDir(), 'u');
    const r = await refuse(['reproduce', 'uci', '--backend', 'cpu', '--data-dir', root(), '--datasets', 'yacht,yaht', ...fast, '--out', out]);
    expectRefusal(r, 'ValueError', ['--datasets: expected data sets under', 'yacht', 'got "yaht"', 'did you mean yacht?']);
  });

  it('more splits than the data set has; flags of other experiments', async () => {
    expectRefusal(await refuse(uci(join(tempDir(), 'u'), '--splits', '1000')), 'ValueError', ['--splits: expected at most', '(the splits of yacht)', 'got 1000']);
    expectRefusal(await refuse(['reproduce', 'mnist-mlp', '--splits', '2']), 'ValueError', ['--splits: expected a flag of reproduce uci', 'got reproduce mnist-mlp']);
    expectRefusal(await refuse(['reproduce', 'uci', '--embedded', '--datasets', 'concrete']), 'ValueError', ['--datasets: expected yacht', 'got concrete']);
  });

  it('records each run, resumes a re-run, refuses other options', async () => {
    const out = join(tempDir(), 'results', 'uci');
    await run(uci(out, '--splits', '1'));
    expect(journal(out).map((l) => l.unit)).toEqual([{ dataset: 'yacht', alpha: 0.5, split: 0 }]);
    const firstResult = journal(out)[0]!.result;
    // two splits now: split 0 comes from the journal, split 1 is computed
    const second = await run(uci(out, '--splits', '2'));
    expect(second.some((l) => l.includes('training 1 models as one batch (1 done earlier)'))).toBe(true);
    expect(journal(out).map((l) => l.unit.split)).toEqual([0, 1]);
    expect(journal(out)[0]!.result).toEqual(firstResult);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { cells: { dataset: string; alpha: number; splits: number; rmse: { mean: number } }[] };
    expect(summary.cells).toHaveLength(1);
    expect(summary.cells[0]).toMatchObject({ dataset: 'yacht', alpha: 0.5, splits: 2 });
    expect(summary.cells[0]!.rmse.mean).toBeCloseTo((journal(out)[0]!.result.rmse + journal(out)[1]!.result.rmse) / 2, 10);
    expect(filesUnder(out)).toEqual(['README.md', 'figures/uci-ll.svg', 'figures/uci-log-tau.svg', 'figures/uci-rmse.svg', 'runs.jsonl', 'summary.json']);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toMatch(/## What ran where\n\n- 2 runs on cpu/);
    const twoEpochs = uci(out, '--splits', '2').map((a, i, all) => (all[i - 1] === '--epochs' ? '2' : a));
    expectRefusal(await refuse(twoEpochs), 'ValueError', [`journal ${join(out, 'runs.jsonl')}`, 'expected the options it was started with', 'epochs: 1', 'got epochs: 2', 'another --out']);
  });

  it('a torn last line (a crash mid-write) is dropped and the run recomputed', async () => {
    const out = join(tempDir(), 'u');
    await run(uci(out, '--splits', '1'));
    writeFileSync(join(out, 'runs.jsonl'), readFileSync(join(out, 'runs.jsonl'), 'utf8') + '{"unit":{"dataset":"yacht","alpha":0.5,"spl');
    await run(uci(out, '--splits', '2'));
    expect(journal(out).map((l) => l.unit.split)).toEqual([0, 1]);
  });

  it('a run that diverges is an error, never "NaN ± NaN", and writes no summary', async () => {
    const out = join(tempDir(), 'u');
    const r = await refuse(uci(out, '--splits', '1', '--lr', '1e30'));
    expect(r.error.name).toBe('NonFiniteError');
    expect(r.lines.join('\n')).not.toContain('NaN ±');
    expect(() => filesUnder(out)).toThrow(); // --out never created
  });
});

// The CI smoke test: the real CLI in a child process, as a user runs it.
const repo = resolve(__dirname, '../..');
const smoke = (out: string) => ['scripts/run-ts.mjs', 'packages/bbalpha/src/cli.ts', 'reproduce', 'uci', '--embedded', '--datasets', 'yacht', '--splits', '2', '--epochs', '20', '--backend', 'cpu', '--out', out];

/** Runs the CLI; with `killWhen`, SIGKILLs it as soon as its output matches. Resolves to what it printed and whether it was killed. */
function cliProcess(args: string[], killWhen?: RegExp): Promise<{ output: string; killed: boolean; code: number | null }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let killed = false;
    const seen = (chunk: Buffer) => {
      output += chunk.toString();
      if (killWhen && !killed && killWhen.test(output)) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('error', fail);
    child.on('close', (code) => done({ output, killed, code }));
  });
}

describe('reproduce uci smoke test (shipped yacht, generated splits, 2 splits × 3 α, 20 epochs)', () => {
  const dir = tempDir();
  const whole = join(dir, 'whole');
  const summary = (out: string) => readFileSync(join(out, 'summary.json'), 'utf8');

  it('an uninterrupted run', async () => {
    const r = await cliProcess(smoke(whole));
    expect(r.code, r.output).toBe(0);
    expect(journal(whole).map((l) => `${l.unit.split}/${l.unit.alpha}`)).toEqual(['0/0', '0/0.5', '0/1', '1/0', '1/0.5', '1/1']);
    for (const l of journal(whole)) expect(Number.isFinite(l.result.logLikelihood) && l.result.rmse > 0).toBe(true);
  }, 300_000);

  it('killed after the first split and re-run: the same runs.jsonl and summary.json', async () => {
    // the state a kill right after split 0's runs were recorded leaves: the header and three lines
    const out = join(dir, 'after-first-split');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'runs.jsonl'), lines(whole).slice(0, 4).join('\n') + '\n');
    const r = await cliProcess(smoke(out));
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain('training 3 models as one batch (3 done earlier)');
    expect(results(out)).toEqual(results(whole));
    expect(summary(out)).toBe(summary(whole));
  }, 300_000);

  it('killed (SIGKILL) in the middle of training and re-run: the same runs.jsonl and summary.json', async () => {
    const out = join(dir, 'killed');
    const killed = await cliProcess(smoke(out), /epoch 10\/20/);
    expect(killed.killed, killed.output).toBe(true);
    expect(existsSync(join(out, 'summary.json'))).toBe(false);
    const r = await cliProcess(smoke(out));
    expect(r.code, r.output).toBe(0);
    expect(results(out)).toEqual(results(whole));
    expect(summary(out)).toBe(summary(whole));
  }, 300_000);
});
