// The Node device layer against dawn.node's tick hazard (DESIGN.md, "Known hazard";
// packages/kernels/src/device/dawn-ticker.ts says what the cause was and what fixes it).
//
// 1. In-process, without Dawn: the tick policy of DawnTicker (which calls it routes, fast
//    then slow, wait() bringing slow ticks forward, the global restored on the last release).
// 2. In child processes, through node.ts on the real adapter: three children at once, each
//    200 awaited long submissions (512³ matmuls, ~50-100 ms each on lavapipe) alternating
//    onSubmittedWorkDone and mapAsync read-backs, every result checked, with forced garbage
//    collections (the collection of the `create()` object was the cause of the crashes), a
//    clean destroy() and an exit of the process by itself; plus device loss and no adapter.
// No WebGPU adapter fails these tests (the children exit 1): CI must never skip them.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DawnTicker } from '../../packages/kernels/src/device/dawn-ticker.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const child = fileURLToPath(new URL('./fixtures/dawn-stress-child.ts', import.meta.url));
const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.json';
/** Hard bound of one child: killed (SIGKILL) after this. */
const CHILD_LIMIT_MS = 150_000;

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  killed: boolean;
  ms: number;
  stdout: string;
  stderr: string;
  events: Record<string, unknown>[];
}

function runChild(args: string[], env: Record<string, string | undefined> = {}, nodeArgs: string[] = []): Promise<ChildResult> {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  if (!childEnv.VK_ICD_FILENAMES && existsSync(LAVAPIPE)) childEnv.VK_ICD_FILENAMES = LAVAPIPE;
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...nodeArgs, 'scripts/run-ts.mjs', child, ...args], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      p.kill('SIGKILL');
    }, CHILD_LIMIT_MS);
    p.on('error', reject);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const events = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ code, signal, killed, ms: Date.now() - t0, stdout, stderr, events });
    });
  });
}

function explain(r: ChildResult): string {
  const how = r.killed ? `killed after ${CHILD_LIMIT_MS} ms (hang)` : r.signal ? `signal ${r.signal}` : `exit code ${r.code}`;
  const err = r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning: maxDynamic')).slice(-15).join('\n');
  return `child ${how} after ${r.ms} ms\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${err}`;
}

function expectClean(r: ChildResult): void {
  expect(r.code === 0 && !r.killed && r.signal === null && r.stdout.includes('DAWN-STRESS OK'), explain(r)).toBe(true);
}

/** Stands in for dawn.node's tick callback: nameless, with the source text of a native function. */
function fakeDawnTick(body: () => void): () => void {
  const target = function () {
    body();
  };
  Object.defineProperty(target, 'name', { value: '' });
  return new Proxy(target, {});
}

const nextTurn = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('DawnTicker (in process, no Dawn)', () => {
  const original = globalThis.setImmediate;
  afterEach(() => {
    expect(globalThis.setImmediate, 'a test left setImmediate patched').toBe(original);
  });

  it('routes only Dawn ticks, keeps promisify working, restores the global on the last release', async () => {
    const t = new DawnTicker();
    const a = t.acquire();
    const b = t.acquire();
    expect(t.installed).toBe(true);
    expect(globalThis.setImmediate).not.toBe(original);
    // User callbacks pass straight through, arguments included.
    const got = await new Promise<string>((resolve) => setImmediate((x: string) => resolve(x), 'user'));
    expect(got).toBe('user');
    expect(await promisify(setImmediate)('v')).toBe('v');
    expect(t.stats.passthrough).toBe(1);
    expect(t.stats.ticks).toBe(0);
    // A Dawn tick is counted as the start of a chain.
    await new Promise<void>((resolve) => setImmediate(fakeDawnTick(resolve)));
    expect(t.stats).toMatchObject({ ticks: 1, chains: 1, fastTicks: 1, slowTicks: 0 });
    a.release();
    a.release(); // idempotent
    expect(t.installed).toBe(true);
    b.release();
    expect(t.installed).toBe(false);
    expect(globalThis.setImmediate).toBe(original);
    expect(t.stats).toMatchObject({ installs: 1, restores: 1, displaced: 0 });
  });

  it('ticks a chain fast for spinUs, then through setTimeout; wait() brings slow ticks forward', async () => {
    const t = new DawnTicker();
    t.configure({ spinUs: 1000, backoffMs: 5 });
    const lease = t.acquire();
    try {
      // A chain of Dawn ticks that re-schedules itself from inside each tick, like AsyncRunner;
      // each tick takes 0.25 ms, so about 4 fit in the 1 ms fast window.
      let remaining = 0;
      let done: () => void = () => undefined;
      const tick = (): void => {
        const until = performance.now() + 0.25;
        while (performance.now() < until);
        if (--remaining > 0) setImmediate(fakeDawnTick(tick));
        else done();
      };
      const chain = (n: number): Promise<void> =>
        new Promise<void>((resolve) => {
          remaining = n;
          done = resolve;
          setImmediate(fakeDawnTick(tick));
        });
      const t0 = performance.now();
      await chain(20);
      const s = t.stats;
      expect(s.chains).toBe(1);
      expect(s.ticks).toBe(20);
      expect(s.fastTicks).toBeGreaterThan(0);
      expect(s.slowTicks).toBeGreaterThan(0);
      expect(s.fastTicks + s.slowTicks).toBe(20);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(s.slowTicks * 1);

      // A slow tick pending on its 10 s timer runs at once when a wait() begins.
      t.resetStats();
      t.configure({ spinUs: 0, backoffMs: 10_000 });
      const slow = chain(1);
      await nextTurn();
      expect(t.stats.slowTicks).toBe(1);
      const t1 = performance.now();
      await t.wait(slow);
      expect(performance.now() - t1).toBeLessThan(1000);
      expect(t.stats).toMatchObject({ kicked: 1, waits: 1, waitsPending: 0 });
    } finally {
      lease.release();
    }
  });

  it('leaves a setImmediate that replaced its patch in place', () => {
    const t = new DawnTicker();
    const lease = t.acquire();
    const theirs = ((fn: () => void) => original(fn)) as unknown as typeof setImmediate;
    globalThis.setImmediate = theirs;
    lease.release();
    expect(globalThis.setImmediate).toBe(theirs);
    expect(t.stats.displaced).toBe(1);
    globalThis.setImmediate = original;
  });

  it('rejects a bad policy', () => {
    const t = new DawnTicker();
    expect(() => t.configure({ spinUs: -1 })).toThrow(RangeError);
    expect(() => t.configure({ backoffMs: Number.NaN })).toThrow(RangeError);
  });
});

describe('Node device through dawn.node (child processes)', () => {
  it(
    'survives 3 × 200 awaited long submissions with forced collections, and exits cleanly',
    async () => {
      const results = await Promise.all(
        [0, 1, 2].map(() => runChild(['--long=200', '--gc-every=10'], {}, ['--expose-gc'])),
      );
      for (const r of results) {
        expectClean(r);
        const long = r.events.find((e) => e.event === 'long');
        expect(long, explain(r)).toMatchObject({ long: 200, ok: 200, firstBad: null });
        const done = r.events.find((e) => e.event === 'done') as { restored: boolean; stats: { ticks: number; installs: number; restores: number; waitsPending: number } };
        expect(done.restored).toBe(true);
        expect(done.stats).toMatchObject({ installs: 1, restores: 1, waitsPending: 0 });
        expect(done.stats.ticks).toBeGreaterThan(0);
      }
    },
    CHILD_LIMIT_MS + 30_000,
  );

  it('surfaces device loss as a DeviceError to a pending wait and to onLost', async () => {
    const r = await runChild(['--lost']);
    expectClean(r);
    const lost = r.events.find((e) => e.event === 'lost') as { error: string; onLost: string[] };
    expect(lost.error).toMatch(/^DeviceError: .*lost device/);
    expect(lost.onLost).toHaveLength(1);
  }, 60_000);

  it('says how to get an adapter when there is none', async () => {
    const r = await runChild(['--no-adapter'], { VK_ICD_FILENAMES: '/nonexistent/no_icd.json', VK_DRIVER_FILES: undefined });
    expectClean(r);
    const done = r.events.find((e) => e.event === 'done') as { error: string };
    expect(done.error).toMatch(/^DeviceError: .*mesa-vulkan-drivers.*VK_ICD_FILENAMES=/);
  }, 60_000);
});
