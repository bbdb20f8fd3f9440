// Running the CLI in-process for the end-to-end tests: main(argv) with its output captured,
// and refusals caught with what the command printed before failing (nothing, when the
// refusal came before any work: the backend line is the first thing a run prints).
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { main } from '../../packages/bbalpha/src/cli.js';

/** Runs a command that must succeed (exit status 0); its printed lines. */
export async function run(argv: readonly string[]): Promise<string[]> {
  const lines: string[] = [];
  const status = await main(argv, { log: (l) => lines.push(l) });
  expect(status, lines.join('\n')).toBe(0);
  return lines;
}

export interface Refusal {
  error: Error;
  /** What the command printed before it failed. */
  lines: string[];
}

export async function refuse(argv: readonly string[]): Promise<Refusal> {
  const lines: string[] = [];
  try {
    await main(argv, { log: (l) => lines.push(l) });
  } catch (error) {
    if (error instanceof Error) return { error, lines };
    throw error;
  }
  throw new Error(`expected a refusal of: alphadrop ${argv.join(' ')}`);
}

/**
 * The refusal is a `cls` whose message holds each of `parts` (the flag or file, what was
 * expected, what came), raised before any work started unless `afterStart`.
 */
export function expectRefusal(r: Refusal, cls: string, parts: readonly (string | RegExp)[], o: { afterStart?: boolean } = {}): void {
  expect(r.error.name, r.error.message).toBe(cls);
  for (const p of parts) {
    if (typeof p === 'string') expect(r.error.message).toContain(p);
    else expect(r.error.message).toMatch(p);
  }
  if (!o.afterStart) expect(r.lines, 'nothing ran before the refusal').toEqual([]);
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'alphadrop-e2e-'));

/** Every file under `dir`, relative, sorted. */
export function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath ?? (d as unknown as { path: string }).path, d.name).slice(dir.length + 1))
    .sort();
}
