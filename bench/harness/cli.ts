// Shared pieces of the CPU benchmarks in Node: the machine's name, a tiny flag parser, the
// process's CPU clock for the step protocol (step-protocol.ts), and the plain-text tables
// (table.ts), re-exported. No tensor library is imported here.

import os from 'node:os';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { fmt, formatTable, median, ratio } from './table.js';

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

/** Process CPU time of all threads, in ms: the step protocol's CPU clock in Node. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e3;
}

/** The 1-minute load average with the core count, to show how busy a shared machine was. */
export function loadNote(): string {
  const [one] = os.loadavg();
  return `load average ${(one ?? 0).toFixed(2)} on ${os.cpus().length} cores`;
}

