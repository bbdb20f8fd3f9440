// How a command-line entry file runs: only when node was started on it (compared through real
// paths, since npm installs a bin as a symlink) or when `force` says so, with errors printed
// as `ErrorClass: where: expected …, got …` and exit status 1.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Whether node was started on the module at `moduleUrl` (its import.meta.url). */
export function startedOn(moduleUrl: string): boolean {
  const started = process.argv[1];
  if (!started) return false;
  try {
    return realpathSync(started) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs main on the process's arguments when the entry at `moduleUrl` is what node started (or `force`). */
export function runWhenStarted(moduleUrl: string, main: (argv: readonly string[]) => Promise<number>, force = false): void {
  if (!force && !startedOn(moduleUrl)) return;
  main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  }, (e: unknown) => {
    console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    process.exit(1);
  });
}
