// `alphadrop sweep` and `alphadrop worker` against a real redis-server (Debian's, started
// here on 127.0.0.1 at a free port with persistence off, and shut down at the end): a grid of
// 2 dropout rates × 2 splits × 2 α on the shipped yacht is enqueued, three worker processes
// (CPU, one thread each) take the units, one is SIGKILLed while it holds an active job, and
// that job must be taken over after its lock expires and finished by another worker. Then
// every unit has exactly one stored result, enqueueing again adds nothing, and what `sweep
// collect` writes equals, per grid point, a single-process `reproduce uci` of the same units
// bit for bit (runs.jsonl without each run's provenance; summary.json and figures whole).
// Last, a unit that diverges fails after its attempts, keeps its error, and stops nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../packages/bbalpha/src/cli.js';

const repo = resolve(__dirname, '../..');
const NAME = 'sweep-test';
const GRID = ['--embedded', '--datasets', 'yacht', '--splits', '2', '--alpha', '0,1', '--samples', '2', '--epochs', '100', '--hidden', '4', '--test-samples', '4'];
const DROPOUTS = ['0.05', '0.1'];
const UNITS = DROPOUTS.length * 2 * 2;
// one thread per process: the results must not depend on it, but the test says which
const env = { ...process.env, ALPHADROP_CPU_WORKERS: '0' };

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

interface Proc {
  child: ChildProcess;
  output: string;
  exited: Promise<number | null>;
}

/** Spawns a process and collects its output; fails (never skips) when the program is missing. */
function start(cmd: string, args: string[]): Promise<Proc> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const p: Proc = { child, output: '', exited: new Promise((e) => child.on('exit', (code) => e(code))) };
    child.stdout!.on('data', (c: Buffer) => (p.output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (p.output += c.toString()));
    child.on('error', fail);
    child.on('spawn', () => done(p));
  });
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms: number, p?: Proc[]): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${(p ?? []).map((x) => x.output).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function stop(p: Proc, signal: NodeJS.Signals): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await p.exited;
  clearTimeout(timer);
}

const cli = (...args: string[]) => ['scripts/run-ts.mjs', 'packages/bbalpha/src/cli.ts', ...args];

async function runCli(argv: string[]): Promise<string[]> {
  const lines: string[] = [];
  const status = await main(argv, { log: (l) => lines.push(l) });
  expect(status, lines.join('\n')).toBe(0);
  return lines;
}

describe('sweep on BullMQ and Redis: three CPU workers, one SIGKILLed mid-job', () => {
  const dir = mkdtempSync(join(tmpdir(), 'alphadrop-sweep-'));
  let redis: Proc | undefined;
  const workers: Proc[] = [];
  let queue: Queue | undefined;
  let url = '';

  beforeAll(async () => {
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    redis = await start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
    await until('redis-server to accept connections', () => /Ready to accept connections/.test(redis!.output), 10_000, [redis]);
    queue = new Queue(NAME, { connection: { host: '127.0.0.1', port } });
  });

  afterAll(async () => {
    await queue?.close();
    for (const w of workers) await stop(w, 'SIGKILL');
    if (redis) await stop(redis, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the grid, survives a killed worker, and collects what reproduce writes', async () => {
    for (const id of ['w1', 'w2', 'w3'])
      workers.push(await start(process.execPath, cli('worker', '--queue', url, '--name', NAME, '--backend', 'cpu', '--id', id, '--lock-duration', '2000', '--stalled-interval', '1000')));
    await until('three workers waiting for jobs', () => workers.every((w) => /waiting for jobs/.test(w.output)), 60_000, workers);

    const added = await runCli(['sweep', 'uci', '--queue', url, '--name', NAME, ...GRID, '--dropout', DROPOUTS.join(','), '--backoff', '200']);
    expect(added.at(-1)).toContain(`${UNITS} units, ${UNITS} jobs added`);

    // the first job a worker starts: that worker is killed while the job is active
    const started = await until('a worker to start a job', () => {
      for (const w of workers) {
        const m = /worker (w\d): job (\S+) started/.exec(w.output);
        if (m) return { victim: w, victimId: m[1]!, jobId: m[2]! };
      }
      return undefined;
    }, 30_000, workers);
    const held = (await queue!.getJob(started.jobId))!;
    expect(await held.getState()).toBe('active');
    expect(held.processedBy).toBe(started.victimId);
    started.victim.child.kill('SIGKILL');
    await started.victim.exited;
    expect(started.victim.output).not.toContain(`job ${started.jobId} done`);

    await until(`all ${UNITS} units completed`, async () => (await queue!.getJobCounts('completed')).completed === UNITS || undefined, 60_000, workers);
    const counts = await queue!.getJobCounts('completed', 'active', 'waiting', 'delayed', 'failed', 'prioritized', 'paused');
    expect(counts).toEqual({ completed: UNITS, active: 0, waiting: 0, delayed: 0, failed: 0, prioritized: 0, paused: 0 });

    // the killed worker's job: stalled, started again, finished by another worker
    const retried = (await queue!.getJob(started.jobId))!;
    expect(await retried.getState()).toBe('completed');
    expect(retried.stalledCounter).toBeGreaterThanOrEqual(1);
    expect(retried.attemptsStarted).toBeGreaterThanOrEqual(2);
    const finisher = (retried.returnvalue as { worker: string }).worker;
    expect(['w1', 'w2', 'w3'].filter((w) => w !== started.victimId)).toContain(finisher);
    expect(workers.find((w) => w.output.includes(`worker ${finisher}: job ${started.jobId} done`))).toBeDefined();

    // exactly one stored result per unit: one completed job per unit, its result for its unit
    const jobs = await queue!.getJobs(['completed'], 0, -1);
    const units = jobs.map((j) => JSON.stringify(j.data.unit) + JSON.stringify(j.data.plan.options.dropout));
    expect(new Set(units).size).toBe(UNITS);
    for (const j of jobs) expect((j.returnvalue as { unit: unknown }).unit).toEqual(j.data.unit);

    // enqueueing the same sweep again adds nothing
    const again = await runCli(['sweep', 'uci', '--queue', url, '--name', NAME, ...GRID, '--dropout', DROPOUTS.join(','), '--backoff', '200']);
    expect(again.at(-1)).toContain(`${UNITS} units, 0 jobs added`);
    expect((await queue!.getJobCounts('completed', 'waiting')).waiting).toBe(0);

    const status = await runCli(['sweep', 'status', '--queue', url, '--name', NAME]);
    expect(status[0]).toMatch(new RegExp(`${UNITS} units: done ${UNITS}, active 0, waiting 0, delayed 0, failed 0, retried [1-9]`));

    await runCli(['sweep', 'collect', '--queue', url, '--name', NAME, '--out', join(dir, 'sweep')]);
    const collected = readdirSync(join(dir, 'sweep')).filter((d) => d.startsWith('dropout-')).sort();
    expect(collected).toHaveLength(DROPOUTS.length);

    // one single-process reproduce per grid point (the same units), in child processes
    const reproduced = await Promise.all(DROPOUTS.map(async (d) => {
      const r = await start(process.execPath, cli('reproduce', 'uci', ...GRID, '--dropout', d, '--backend', 'cpu', '--out', join(dir, `reproduce-${d}`)));
      expect(await r.exited, r.output).toBe(0);
      return join(dir, `reproduce-${d}`);
    }));
    const read = (d: string, f: string) => readFileSync(join(d, f), 'utf8');
    /** runs.jsonl without each run's provenance (device, commit, date, seconds, worker). */
    const results = (d: string) => read(d, 'runs.jsonl').trim().split('\n').map((l) => {
      const o = JSON.parse(l) as { result?: { run?: unknown } };
      if (o.result) delete o.result.run;
      return JSON.stringify(o);
    });
    DROPOUTS.forEach((d, i) => {
      const ours = join(dir, 'sweep', collected.find((c) => c.startsWith(`dropout-${d}_`))!);
      expect(results(ours)).toEqual(results(reproduced[i]!));
      expect(results(ours)).toHaveLength(1 + 4);
      for (const f of ['summary.json', 'figures/uci-ll.svg', 'figures/uci-rmse.svg', 'figures/uci-log-tau.svg']) expect(read(ours, f), f).toBe(read(reproduced[i]!, f));
      expect(read(ours, 'README.md')).toMatch(/## What ran where\n\n- 4 runs on cpu/);
    });
    // the killed worker's unit, as collected, names the worker that finished it
    const unit = JSON.stringify(retried.data.unit);
    const line = readdirSync(join(dir, 'sweep')).filter((d) => d.startsWith('dropout-')).flatMap((d) => read(join(dir, 'sweep', d), 'runs.jsonl').trim().split('\n').slice(1))
      .map((l) => JSON.parse(l) as { unit: unknown; result: { run: { worker: string; seed: number } } })
      .filter((l) => JSON.stringify(l.unit) === unit);
    expect(line.map((l) => l.result.run.worker)).toContain(finisher);

    // a unit that keeps failing (it diverges) keeps its error after its attempts; the sweep goes on
    const diverging = ['sweep', 'uci', '--queue', url, '--name', NAME, ...GRID.map((a, i) => (GRID[i - 1] === '--splits' ? '1' : GRID[i - 1] === '--alpha' ? '1' : a)), '--lr', '1e30', '--attempts', '2', '--backoff', '100'];
    expect((await runCli(diverging)).at(-1)).toContain('1 units, 1 jobs added');
    await until('the diverging unit to fail', async () => (await queue!.getJobCounts('failed')).failed === 1 || undefined, 30_000, workers);
    const failed = (await queue!.getJobs(['failed'], 0, -1))[0]!;
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toContain('expected finite losses');
    const after = await runCli(['sweep', 'status', '--queue', url, '--name', NAME]);
    expect(after[0]).toContain(`${UNITS + 1} units: done ${UNITS}, active 0, waiting 0, delayed 0, failed 1`);
    expect(after.join('\n')).toContain(`failed ${failed.id} (yacht split 0 α 1) after 2 attempts: fitBatch: expected finite losses`);
    const lines: string[] = [];
    expect(await main(['sweep', 'collect', '--queue', url, '--name', NAME, '--out', join(dir, 'sweep')], { log: (l) => lines.push(l) })).toBe(1);
    expect(lines.at(-1)).toContain(`${DROPOUTS.length} grid points written under ${join(dir, 'sweep')}, 1 incomplete`);
  }, 150_000);

  it('refuses a malformed queue and grid flags outside sweep uci, before any work', async () => {
    const refusal = async (argv: string[]) => {
      const lines: string[] = [];
      const e = await main(argv, { log: (l) => lines.push(l) }).then(() => undefined, (x: unknown) => x as Error);
      expect(lines).toEqual([]);
      return e;
    };
    expect((await refusal(['sweep', 'status', '--queue', 'http://x:1']))?.message).toContain('--queue: expected a Redis URL redis://HOST:PORT');
    expect((await refusal(['sweep', 'status', '--queue', url, '--dropout', '0.1']))?.message).toContain('--dropout: expected a flag of sweep uci');
    expect((await refusal(['worker', '--concurrency', '0', '--queue', url]))?.name).toBe('ValueError');
    expect((await refusal(['sweep', 'uci']))?.message).toContain('--queue: expected the Redis of the sweep');
  });
});
