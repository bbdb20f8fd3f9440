#!/usr/bin/env node
// The `alphadrop sweep` and `alphadrop worker` commands (bbalpha's `alphadrop` forwards them
// here when this package is installed; this file also runs on its own). Parsing, checks and
// the backend start follow bbalpha's CLI driver: every flag is checked before any work.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { helpText, parseCommandLine, selectBackend, type Io } from './bbalpha-cli.js';
import type { main as declared } from '../cli.js';
import { sweepCommand, workerCommand } from './commands.js';

export const SWEEP_COMMANDS = [sweepCommand, workerCommand] as const;

const consoleIo: Io = { log: (line) => console.log(line) };

/** Runs `sweep ...` or `worker ...` (argv without node and the script); resolves to the exit status. */
export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  const line = parseCommandLine(argv, SWEEP_COMMANDS, 'sweep');
  if (line.kind === 'help') {
    io.log(helpText(SWEEP_COMMANDS, line.topic));
    return 0;
  }
  const command = SWEEP_COMMANDS.find((c) => c.name === line.args.command.name)!;
  const plan = command.check(line.args);
  if (plan.backend === null) return (await plan.run(io)) ?? 0;
  const backend = await selectBackend(plan.backend);
  io.log(`backend: ${backend.description}`);
  try {
    return (await plan.run(io, backend.description)) ?? 0;
  } finally {
    await backend.shutdown();
  }
}

// the entry's declaration (../cli.d.ts, what importers type-check against) matches this main
main satisfies typeof declared;

function startedHere(): boolean {
  const started = process.argv[1];
  if (!started) return false;
  try {
    return realpathSync(started) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (startedHere()) {
  main(process.argv.slice(2)).then((status) => {
    process.exitCode = status;
  }, (e: unknown) => {
    console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    process.exit(1);
  });
}
