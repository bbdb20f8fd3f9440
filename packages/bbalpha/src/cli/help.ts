// `alphadrop help [command]`, generated from the command table: every command's flags
// with what they accept and their defaults, so help and the parser cannot disagree.

import { expectation, type Flag } from './flags.js';
import type { CommandSpec } from './parse.js';

function defaultOf(f: Flag): string {
  if (f.kind === 'boolean' || f.default === undefined) return '';
  return ` (default ${Array.isArray(f.default) ? f.default.join(',') : String(f.default)})`;
}

function flagLines(cmd: CommandSpec): string[] {
  const rows = cmd.flags.map((f) => [`--${f.name}${f.kind === 'boolean' ? '' : ` ${f.meta ?? (f.kind === 'enum' ? f.values.join('|') : 'VALUE')}`}`, `${f.help}${f.kind === 'boolean' || f.kind === 'string' || f.kind === 'enum' ? '' : `: ${expectation(f)}`}${defaultOf(f)}`]);
  const width = Math.max(...rows.map(([a]) => a!.length));
  return rows.map(([a, b]) => `    ${a!.padEnd(width)}  ${b}`);
}

function usage(cmd: CommandSpec): string {
  return `alphadrop ${cmd.name}${(cmd.positionals ?? []).map((p) => ` <${p.values.length <= 4 ? p.values.join('|') : p.name}>`).join('')} [flags]`;
}

export function helpText(commands: readonly CommandSpec[], topic?: string): string {
  const shown = topic === undefined ? commands : commands.filter((c) => c.name === topic);
  const head = topic === undefined
    ? ['alphadrop <command> [flags]     (alphadrop help <command>: one command)', '', 'commands:', ...commands.map((c) => `  ${c.name.padEnd(8)} ${c.summary}`), '']
    : [];
  const body = shown.flatMap((c) => [usage(c), `  ${c.summary}`, ...flagLines(c), '']);
  return [...head, ...body, 'Every flag is checked before any work starts: unknown flags, missing or empty values, out-of-range numbers and unusable paths are errors.'].join('\n');
}
