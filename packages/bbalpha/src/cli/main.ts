// The command line's driver: parse (strict), check (every flag, path and input the
// command can check without computing), start the backend, run.

import { StateError } from '@alphadrop/core';
import { selectBackend } from '../backend-select.js';
import type { Command, Io } from './common.js';
import { dataCommand } from './commands/data.js';
import { demoCommand } from './commands/demo.js';
import { attackCommand, evalCommand, predictCommand } from './commands/evaluate.js';
import { calibrationCommand } from './commands/calibration.js';
import { oodCommand } from './commands/ood.js';
import { mnistCommand, trainCommand } from './commands/train.js';
import { reproduceCommand } from './commands/reproduce.js';
import { helpText } from './help.js';
import { parseCommandLine } from './parse.js';

export const COMMANDS: readonly Command[] = [demoCommand, mnistCommand, reproduceCommand, trainCommand, evalCommand, predictCommand, attackCommand, oodCommand, calibrationCommand, dataCommand];

/**
 * `alphadrop sweep` and `alphadrop worker` live in the optional package @alphadrop/sweep
 * (BullMQ and Redis stay out of this package and of the browser bundles); it is imported
 * only when one of them is asked for.
 */
async function loadSweep(): Promise<{ main(argv: readonly string[], io: Io): Promise<number> }> {
  try {
    return await import('@alphadrop/sweep/cli');
  } catch (e) {
    const code = (e as { code?: string }).code;
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((e as Error).message).includes('@alphadrop/sweep'))
      throw new StateError('alphadrop sweep / worker', 'the package @alphadrop/sweep installed beside @alphadrop/bbalpha (it brings BullMQ)', 'no such package', 'install @alphadrop/sweep');
    // the package ships TypeScript sources: it runs through scripts/run-ts.mjs, not from a build
    if (code === 'ERR_UNKNOWN_FILE_EXTENSION')
      throw new StateError('alphadrop sweep / worker', '@alphadrop/sweep run from its sources', `a built alphadrop (${(e as Error).message})`, 'node scripts/run-ts.mjs packages/bbalpha/src/cli.ts sweep ...');
    throw e;
  }
}

const consoleIo: Io = { log: (line) => console.log(line) };

/**
 * Runs one command line (argv without node and the script) and resolves to its exit
 * status (0, or 1 for a demo whose checks failed). Refusals are typed errors, thrown
 * before any work.
 */
export async function main(argv: readonly string[], io: Io = consoleIo): Promise<number> {
  if (argv[0] === 'sweep' || argv[0] === 'worker') return (await loadSweep()).main(argv, io);
  return runCommandLine(argv, COMMANDS, 'demo', io);
}

/**
 * The driver any command set shares (this CLI's, and @alphadrop/sweep's): parse strictly
 * (`fallback` when no command is named), answer help, check the plan, start the backend it
 * asks for, run, shut the backend down.
 */
export async function runCommandLine(argv: readonly string[], commands: readonly Command[], fallback: string, io: Io): Promise<number> {
  const line = parseCommandLine(argv, commands, fallback);
  if (line.kind === 'help') {
    io.log(helpText(commands, line.topic));
    return 0;
  }
  const command = commands.find((c) => c.name === line.args.command.name)!;
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
