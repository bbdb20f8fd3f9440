// Shared pieces of the CPU benchmarks: the machine's name, a tiny flag parser, the
// step-timing protocol (warm-up, ≥ N timed steps per repetition, median over repetitions)
// and plain-text tables. No tensor library is imported here.

import os from 'node:os';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** "AMD EPYC … (2 logical cores), linux x64, Node v20.…" */
export function machineName(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() || 'unknown CPU';
  return `${model} (${cpus.length} logical cores), ${os.platform()} ${os.arch()}, Node ${process.version}`;
}

/** Directories to resolve packages from: this source file's, then the working directory. */
function resolveBases(): string[] {
  const bases: string[] = [];
  try {
    bases.push(dirname(fileURLToPath(import.meta.url)));
  } catch {
    // not a file URL (never under run-ts or a plain esbuild bundle)
  }
  bases.push(process.cwd(), join(process.cwd(), 'bench'));
  return bases;
}

/** Absolute path of `<pkg>/package.json`, resolved as Node would from the bench sources. */
export function packageJsonPath(pkg: string): string {
  for (const base of resolveBases()) {
    try {
      return createRequire(join(base, 'noop.js')).resolve(`${pkg}/package.json`);
    } catch {
      // try the next base
    }
  }
  // Packages with an "exports" map that hides package.json: walk up looking for node_modules.
  for (const base of resolveBases()) {
    for (let d = base; ; d = dirname(d)) {
      const p = join(d, 'node_modules', pkg, 'package.json');
      if (existsSync(p)) return p;
      if (dirname(d) === d) break;
    }
  }
  throw new Error(`cannot find ${pkg}/package.json (run \`npm install\` at the repository root)`);
}

export function packageVersion(pkg: string): string {
  return (JSON.parse(readFileSync(packageJsonPath(pkg), 'utf8')) as { version: string }).version;
}

// ---------------------------------------------------------------- flags

export type Flags = Record<string, string | true>;

/** `--name value` and bare `--switch`; positional arguments are ignored. */
export function parseFlags(argv: readonly string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) {
      flags[a.slice(2, eq)] = a.slice(eq + 1);
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) flags[a.slice(2)] = true;
    else {
      flags[a.slice(2)] = next;
      i++;
    }
  }
  return flags;
}

export function numberFlag(flags: Flags, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new Error(`--${name} expects a number, got ${String(v)}`);
  return n;
}

export function listFlag(flags: Flags, name: string, fallback: readonly string[]): string[] {
  const v = flags[name];
  if (v === undefined || v === true) return [...fallback];
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

// ---------------------------------------------------------------- statistics

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

// ---------------------------------------------------------------- the step protocol

/** One library's training loop, as the timing protocol drives it. */
export interface TimedLoop {
  /** Issues one training step (it may run lazily; the CPU backends here run it at once). */
  step(): void;
  /** The loss of the latest step; waits for everything issued so far to finish. */
  readLoss(): Promise<number>;
}

export interface StepTimingOptions {
  /** Warm-up steps, each followed by a loss read (jit compilation happens here). */
  warmup: number;
  /** Timed steps per repetition, at least. */
  minSteps: number;
  /** A repetition grows past minSteps until it lasts this long … */
  minMs: number;
  /** … but never beyond this many steps. */
  maxSteps: number;
  repetitions: number;
  /** The loss is read every this many steps (and after the last step of a repetition). */
  lossEvery: number;
}

export interface StepTiming {
  /** Median over repetitions of wall time / steps. */
  msPerStep: number;
  /** Median over repetitions of process CPU time (all threads) / steps. */
  cpuMsPerStep: number;
  stepsPerRep: number;
  repMs: number[];
  warmupMs: number[];
  lastLoss: number;
}

/**
 * Warm-up, then `repetitions` runs of the same number of back-to-back steps per loop, the
 * loss read every `lossEvery` steps and at the end of each run (which forces completion).
 * The loops' runs are interleaved (rep r runs every loop once, starting with loop r mod n),
 * so that a load change on a shared machine falls on all of them rather than on one.
 * Result per loop: the median over its runs of (wall time of the run) / (steps in the run).
 */
export async function timeStepsInterleaved(loops: readonly TimedLoop[], o: StepTimingOptions, onRep?: (loop: number, rep: number, msPerStep: number) => void): Promise<StepTiming[]> {
  const n = loops.length;
  const warmupMs: number[][] = loops.map(() => []);
  const lastLoss: number[] = loops.map(() => NaN);
  const steps: number[] = [];
  for (const [j, loop] of loops.entries()) {
    for (let i = 0; i < o.warmup; i++) {
      const t0 = performance.now();
      loop.step();
      lastLoss[j] = await loop.readLoss();
      warmupMs[j]!.push(performance.now() - t0);
    }
    // The first warm-up steps pay for compilation (jit, V8 tiering): estimate from the last.
    const w = warmupMs[j]!;
    const estimate = w.length > 0 ? w[w.length - 1]! : 100;
    steps.push(Math.max(o.minSteps, Math.min(o.maxSteps, Math.ceil(o.minMs / Math.max(estimate, 1e-3)))));
  }
  const repMs: number[][] = loops.map(() => []);
  const repCpuMs: number[][] = loops.map(() => []);
  for (let r = 0; r < o.repetitions; r++) {
    for (let q = 0; q < n; q++) {
      const j = (r + q) % n;
      const loop = loops[j]!;
      const count = steps[j]!;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 1; i <= count; i++) {
        loop.step();
        if (i % o.lossEvery === 0 || i === count) lastLoss[j] = await loop.readLoss();
      }
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      repMs[j]!.push(ms);
      repCpuMs[j]!.push((cpu.user + cpu.system) / 1e3);
      onRep?.(j, r, ms / count);
    }
  }
  return loops.map((_, j) => ({
    msPerStep: median(repMs[j]!) / steps[j]!,
    cpuMsPerStep: median(repCpuMs[j]!) / steps[j]!,
    stepsPerRep: steps[j]!,
    repMs: repMs[j]!,
    warmupMs: warmupMs[j]!,
    lastLoss: lastLoss[j]!,
  }));
}

/** The 1-minute load average with the core count, to show how busy a shared machine was. */
export function loadNote(): string {
  const [one] = os.loadavg();
  return `load average ${(one ?? 0).toFixed(2)} on ${os.cpus().length} cores`;
}

// ---------------------------------------------------------------- output

/** The first `leftColumns` columns left-aligned, the others right-aligned, two spaces apart. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    r.map((cell, c) => (c < leftColumns ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function fmt(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return '—';
  return v.toFixed(digits);
}

/** "2.31×" for how many times slower `other` is than `base` (ours). */
export function ratio(other: number, base: number): string {
  if (!Number.isFinite(other) || !Number.isFinite(base) || base <= 0) return '—';
  return `${(other / base).toFixed(2)}×`;
}
