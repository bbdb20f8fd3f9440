// Measures dawn.node's tick hazard and the Node device layer's fix with the stress child of
// test/kernels/dawn-stress.test.ts, each run in its own process.
//
//   node bench/dawn-ticker-experiment.mjs stress <mode> <runs> [--par=P] [--limit=S] [child args...]
//       runs the child <runs> times (P at a time, each killed after S seconds, default 300)
//       and counts how each ended: ok, segfault, abort, hang (killed), failed (exit 1), other.
//   node bench/dawn-ticker-experiment.mjs short <rounds> <waits> <mode...>
//       times short waits (tiny dispatch + submit + await), modes interleaved per round; a
//       mode written 'M:raw' awaits the promises directly instead of through wait()
//       (wait() brings a pending slow tick forward, so 'timeout:raw' is the old shim's cost).
//
// Modes (the child's --mode): mechanism | pin-only | timeout | none | shim-only; see
// test/kernels/fixtures/dawn-stress-child.ts. Child args pass through, e.g. --long=200
// --gc-every=10 (then add --expose-gc with NODE_ARGS="--expose-gc").
// CHILD=/path/bundle.mjs runs a pre-bundled child with plain node (for the lent GPU, which has
// no npm); otherwise the child runs through scripts/run-ts.mjs. VK_ICD_FILENAMES defaults to
// lavapipe's ICD when that exists and neither it nor VK_DRIVER_FILES is set.
// Every outcome goes to stdout as one JSON line; a summary line ends each command.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.json';
const env = { ...process.env };
if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(LAVAPIPE)) env.VK_ICD_FILENAMES = LAVAPIPE;
const nodeArgs = (process.env.NODE_ARGS ?? '').split(' ').filter(Boolean);
const childCmd = process.env.CHILD
  ? [process.env.CHILD]
  : ['scripts/run-ts.mjs', fileURLToPath(new URL('../test/kernels/fixtures/dawn-stress-child.ts', import.meta.url))];

function runChild(args, limitS) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...nodeArgs, ...childCmd, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      killed = true;
      p.kill('SIGKILL');
    }, limitS * 1000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      const outcome = killed ? 'hang' : signal === 'SIGSEGV' ? 'segfault' : signal === 'SIGABRT' ? 'abort'
        : code === 0 && out.includes('DAWN-STRESS OK') ? 'ok' : code === 1 ? 'failed' : `other(${code ?? signal})`;
      const lastErr = err.split('\n').filter((l) => l.trim() && !l.startsWith('Warning: maxDynamic')).slice(-2).join(' | ');
      resolve({ outcome, seconds: +((Date.now() - t0) / 1000).toFixed(1), events, lastErr });
    });
  });
}

async function stress(mode, runs, rest) {
  const par = Number(rest.find((a) => a.startsWith('--par='))?.slice(6) ?? 1);
  const limit = Number(rest.find((a) => a.startsWith('--limit='))?.slice(8) ?? 300);
  const childArgs = [`--mode=${mode}`, ...rest.filter((a) => !a.startsWith('--par=') && !a.startsWith('--limit='))];
  const counts = {};
  const medians = [];
  const cpus = [];
  let next = 0;
  const worker = async () => {
    while (next < runs) {
      const i = next++;
      const r = await runChild(childArgs, limit);
      counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
      const long = r.events.find((e) => e.event === 'long');
      if (long) medians.push(long.medianMs);
      if (long) cpus.push(long.cpuMsPerWait);
      const done = r.events.find((e) => e.event === 'done');
      console.log(JSON.stringify({ run: i, mode, outcome: r.outcome, seconds: r.seconds, longOk: long?.ok, medianMs: long?.medianMs, cpuMsPerWait: long?.cpuMsPerWait, ticks: done?.stats?.ticks, lastErr: r.outcome === 'ok' ? undefined : r.lastErr }));
    }
  };
  await Promise.all(Array.from({ length: par }, worker));
  const mid = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[xs.length >> 1] : null);
  console.log(JSON.stringify({ summary: 'stress', mode, runs, childArgs, nodeArgs, counts, longMedianMs: mid(medians), cpuMsPerWait: mid(cpus.filter((x) => x !== undefined)) }));
}

async function short(rounds, waits, modes) {
  const per = Object.fromEntries(modes.map((m) => [m, []]));
  for (let r = 0; r < rounds; r++) {
    for (const mode of modes) {
      const [m, raw] = mode.split(':');
      const res = await runChild([`--mode=${m}`, '--long=0', `--short=${waits}`, ...(raw ? ['--short-raw'] : [])], 120);
      const s = res.events.find((e) => e.event === 'short');
      console.log(JSON.stringify({ round: r, mode, outcome: res.outcome, ...(s ?? {}) }));
      if (s) per[mode].push(s);
    }
  }
  const med = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[xs.length >> 1] : null);
  const table = Object.fromEntries(
    Object.entries(per).map(([m, xs]) => [m, { runs: xs.length, medianOfMeanUs: med(xs.map((x) => x.meanUs)), medianOfMedianUs: med(xs.map((x) => x.medianUs)), ticksPerWait: med(xs.map((x) => x.ticksPerWait)) }]),
  );
  console.log(JSON.stringify({ summary: 'short', rounds, waits, table }));
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'stress') await stress(args[0] ?? 'mechanism', Number(args[1] ?? 10), args.slice(2));
else if (cmd === 'short') await short(Number(args[0] ?? 5), Number(args[1] ?? 500), args.slice(2).length ? args.slice(2) : ['mechanism', 'pin-only', 'timeout']);
else {
  console.error('usage: node bench/dawn-ticker-experiment.mjs stress <mode> <runs> [--par=P] [--limit=S] [child args...]\n       node bench/dawn-ticker-experiment.mjs short <rounds> <waits> [modes...]');
  process.exit(2);
}
