#!/usr/bin/env node
// The `alphadrop sweep` and `alphadrop worker` commands (bbalpha's `alphadrop` forwards them
// here when this package is installed; this file also runs on its own). Parsing, checks and
// the backend start follow bbalpha's CLI driver: every flag is checked before any work.

import { runCommandLine, runWhenStarted, type Io } from './bbalpha-cli.js';
import type { main as declared } from '../cli.js';
import { sweepCommand, workerCommand } from './commands.js';

export const SWEEP_COMMANDS = [sweepCommand, workerCommand] as const;

const consoleIo: Io = { log: (line) => console.log(line) };

/** Runs `sweep ...` or `worker ...` (argv without node and the script); resolves to the exit status. */
export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  return runCommandLine(argv, SWEEP_COMMANDS, 'sweep', io);
}

// the entry's declaration (../cli.d.ts, what importers type-check against) matches this main
main satisfies typeof declared;

runWhenStarted(import.meta.url, (argv) => main(argv));
