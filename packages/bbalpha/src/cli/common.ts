// Pieces every command shares: the flag table entries (one definition per flag, defaults
// per command), the command shape (check, then run), data-directory resolution and result
// files that record the options with their types.

import { ValueError } from '@alphadrop/core';
import { VERSION } from '@alphadrop/nn';
import { dataDir } from '@alphadrop/nn/node';
import type { BackendChoice } from '../backend-select.js';
import { firstNonFinite, seedOf } from '../runs/journal.js';
import type { Flag } from './flags.js';
import type { CommandSpec, ParsedArgs } from './parse.js';
import { checkInputDir, writeTextFile } from './paths.js';

export interface Io {
  log(line: string): void;
}

/** What a command does once its flags and paths have passed every check. */
export interface Plan {
  /** The backend to start before `run`; null for commands that compute nothing. */
  backend: BackendChoice | null;
  /**
   * Resolves to the exit status: 0, or 1 when the run finished but its checks failed (demo).
   * `device` describes the backend started for it (absent when `backend` is null).
   */
  run(io: Io, device?: string): Promise<number | void>;
}

/** A command: its flags, and `check`, which validates everything it can before any work (no side effects). */
export interface Command extends CommandSpec {
  check(args: ParsedArgs): Plan;
}

export const flag = {
  backend: (): Flag => ({ kind: 'enum', name: 'backend', values: ['auto', 'cpu', 'webgpu'], default: 'auto', help: 'auto: WebGPU on a hardware adapter, else the CPU' }),
  seed: (d = 1): Flag => ({ kind: 'number', name: 'seed', meta: 'S', integer: true, min: 0, max: Number.MAX_SAFE_INTEGER, default: d, help: 'seed of initialisation, shuffling and masks' }),
  alpha: (d: number): Flag => ({ kind: 'number', name: 'alpha', meta: 'A', min: 0, default: d, help: 'BB-α α (0: VI, 0.5: Hellinger, 1: EP)' }),
  alphas: (d: readonly number[]): Flag => ({ kind: 'numbers', name: 'alpha', meta: 'A[,A...]', min: 0, default: d, help: 'BB-α α values, one run each' }),
  samples: (d: number): Flag => ({ kind: 'number', name: 'samples', meta: 'K', integer: true, min: 1, default: d, help: 'MC samples per input in training' }),
  testSamples: (d: number): Flag => ({ kind: 'number', name: 'test-samples', meta: 'K', integer: true, min: 1, default: d, help: 'MC samples per input at test time' }),
  dropout: (d?: number): Flag => ({ kind: 'number', name: 'dropout', meta: 'RATE', min: 0, max: 1, maxOpen: true, ...(d === undefined ? {} : { default: d }), help: d === undefined ? "dropout rate (drop probability); default: the checkpoint's" : 'dropout rate (drop probability)' }),
  epochs: (d: number): Flag => ({ kind: 'number', name: 'epochs', meta: 'N', integer: true, min: 1, default: d, help: 'training epochs' }),
  batchSize: (d: number): Flag => ({ kind: 'number', name: 'batch-size', meta: 'M', integer: true, min: 1, default: d, help: 'minibatch size' }),
  lr: (d: number): Flag => ({ kind: 'number', name: 'lr', meta: 'LR', min: 0, minOpen: true, default: d, help: 'Adam learning rate' }),
  dataDir: (): Flag => ({ kind: 'string', name: 'data-dir', meta: 'DIR', help: 'data directory (else ALPHADROP_DATA, else the fetch cache)' }),
  out: (help: string, d?: string): Flag => ({ kind: 'string', name: 'out', meta: 'PATH', ...(d === undefined ? {} : { default: d }), help }),
  force: (): Flag => ({ kind: 'boolean', name: 'force', help: 'overwrite existing output files' }),
  limit: (help: string, d?: number): Flag => ({ kind: 'number', name: 'limit', meta: 'N', integer: true, min: 1, ...(d === undefined ? {} : { default: d }), help }),
  model: (): Flag => ({ kind: 'string', name: 'model', meta: 'FILE', help: 'checkpoint to load (required)' }),
  override: (): Flag => ({ kind: 'boolean', name: 'override', help: 'let flags that contradict the checkpoint win' }),
};

export function backendOf(args: ParsedArgs): BackendChoice {
  const b = args.string('backend');
  if (b !== 'auto' && b !== 'cpu' && b !== 'webgpu') throw new ValueError('--backend', 'auto, cpu or webgpu', String(b));
  return b;
}

/** The data directory (flag, ALPHADROP_DATA or fetch cache), checked to exist. */
export function requireDataDir(args: ParsedArgs): string {
  const given = args.string('data-dir');
  const d = dataDir(given);
  if (d === undefined) throw new ValueError('--data-dir', 'a data directory (--data-dir DIR, ALPHADROP_DATA, or `alphadrop data fetch <name>` first)', 'none');
  return checkInputDir(given !== undefined ? '--data-dir' : 'ALPHADROP_DATA', d);
}

/** Refuses any non-finite number in `metrics` (never "NaN ± NaN"). */
export function assertFinite(where: string, metrics: unknown): void {
  const bad = firstNonFinite(metrics);
  if (bad) throw new ValueError(where, 'finite metrics', bad, 'the model or the data hold non-finite values');
}

/**
 * A result file: the command, the library version, the seed, every option with its type,
 * then the results. Version and seed are what docs/determinism.md needs to reproduce it.
 */
export function writeResult(path: string, args: ParsedArgs, results: Record<string, unknown>, io: Io): void {
  const options = args.record();
  const record = { command: args.command.name, version: VERSION, seed: seedOfResult(options, results), options, ...results };
  writeTextFile(path, JSON.stringify(record, null, 2) + '\n');
  io.log(`wrote ${path}`);
}

/**
 * The seed a result was computed under: the results' own `seed` (a checkpoint's), else the
 * --seed option, else the seeds of its per-checkpoint entries (calibration, ood: one number
 * when they share it, else the list); null for a command that draws nothing at random.
 */
export function seedOfResult(options: Record<string, unknown>, results: Record<string, unknown>): number | number[] | null {
  const own = seedOf(results) ?? seedOf(options);
  if (own !== null) return own;
  const perEntry = Object.values(results)
    .filter(Array.isArray)
    .flat()
    .map((entry: unknown) => (entry !== null && typeof entry === 'object' ? seedOf(entry as Record<string, unknown>) : null))
    .filter((v): v is number => v !== null);
  const distinct = [...new Set(perEntry)];
  return distinct.length === 0 ? null : distinct.length === 1 ? distinct[0]! : distinct;
}
