// The command line, parsed by node:util's parseArgs in strict mode. When parseArgs
// refuses, the same arguments are tokenised again (non-strict) to say precisely what was
// wrong, as a ValueError naming the flag: an unknown flag (with the nearest known one), a
// flag without its value (`--epochs --alpha 0.5`), an empty value (`--alpha=`), a switch
// given a value, a flag given twice, a stray argument.

import { parseArgs } from 'node:util';
import { StateError, ValueError } from '@alphadrop/core';
import { expectation, parseFlagValue, suggestion, type Flag, type FlagValue } from './flags.js';

export interface CommandSpec {
  name: string;
  summary: string;
  flags: readonly Flag[];
  /** Positional arguments after the command (e.g. `data fetch <name>`). */
  positionals?: readonly { name: string; values: readonly string[] }[];
}

/** A command's validated flag values, defaults filled in on read. */
export class ParsedArgs {
  constructor(
    readonly command: CommandSpec,
    private readonly values: ReadonlyMap<string, FlagValue>,
    readonly positionals: readonly string[],
  ) {}

  private flag(name: string): Flag {
    const f = this.command.flags.find((x) => x.name === name);
    if (!f) throw new StateError(`alphadrop ${this.command.name}`, `a flag --${name} in its table`, 'none');
    return f;
  }
  private get(name: string): FlagValue | undefined {
    const f = this.flag(name);
    const v = this.values.get(name);
    if (v !== undefined) return v;
    if (f.kind === 'boolean') return false;
    const d = f.default;
    return typeof d === 'object' ? [...d] as FlagValue : d;
  }
  given(name: string): boolean {
    this.flag(name);
    return this.values.has(name);
  }
  number(name: string): number {
    const v = this.get(name);
    if (typeof v !== 'number') throw new StateError(`--${name}`, 'a number or a default', String(v));
    return v;
  }
  optionalNumber(name: string): number | undefined {
    const v = this.get(name);
    return typeof v === 'number' ? v : undefined;
  }
  numbers(name: string): number[] {
    const v = this.get(name);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new StateError(`--${name}`, 'numbers or a default', String(v));
    return v as number[];
  }
  optionalNumbers(name: string): number[] | undefined {
    const v = this.get(name);
    return Array.isArray(v) ? (v as number[]) : undefined;
  }
  string(name: string): string | undefined {
    const v = this.get(name);
    return typeof v === 'string' ? v : undefined;
  }
  strings(name: string): string[] {
    const v = this.get(name);
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new StateError(`--${name}`, 'names or a default', String(v));
    return v as string[];
  }
  boolean(name: string): boolean {
    return this.get(name) === true;
  }
  /** Every flag's value (given or default), typed: what result files record. */
  record(): Record<string, FlagValue> {
    const out: Record<string, FlagValue> = {};
    for (const f of this.command.flags) {
      const v = this.get(f.name);
      if (v !== undefined && f.name !== 'help') out[f.name] = v;
    }
    return out;
  }
}

export type CommandLine = { kind: 'help'; topic?: string } | { kind: 'run'; args: ParsedArgs };

const HELP_FLAG: Flag = { kind: 'boolean', name: 'help', help: 'this command’s flags' };

function flagsOf(cmd: CommandSpec): Flag[] {
  return [...cmd.flags, HELP_FLAG];
}

/** The typed reason parseArgs refused `args`, found from its non-strict tokens. */
function diagnose(cmd: CommandSpec, args: string[], all: readonly CommandSpec[], cause: string): ValueError {
  const flags = flagsOf(cmd);
  const { tokens } = parseArgs({ args, options: Object.fromEntries(flags.map((f) => [f.name, { type: f.kind === 'boolean' ? 'boolean' : 'string' }])), strict: false, allowPositionals: true, tokens: true });
  const where = `alphadrop ${cmd.name}`;
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const f = flags.find((x) => x.name === t.name);
    if (!f) {
      const near = suggestion(t.name, flags.map((x) => x.name), '--');
      const elsewhere = all.filter((c) => c.flags.some((x) => x.name === t.name)).map((c) => c.name);
      // an exact flag of another command says more than a near spelling of one of this command's
      const hint = elsewhere.length > 0 ? `${t.rawName} is a flag of ${elsewhere.join(', ')}, not of ${cmd.name}` : near ?? `see alphadrop help ${cmd.name}`;
      return new ValueError(where, `one of its flags (${flags.map((x) => `--${x.name}`).join(', ')})`, t.rawName, hint);
    }
    if (f.kind === 'boolean') {
      if (t.value !== undefined) return new ValueError(`--${f.name}`, 'no value (it is a switch)', JSON.stringify(t.value));
      continue;
    }
    if (t.value === undefined) return new ValueError(`--${f.name}`, `a value (${expectation(f)})`, 'the end of the command line', `--${f.name} expects a value`);
    if (!t.inlineValue && t.value.startsWith('-'))
      return new ValueError(`--${f.name}`, `a value (${expectation(f)})`, `the flag ${t.value}`, `--${f.name} expects a value`);
  }
  return new ValueError(where, 'a valid command line', cause);
}

/** `--dropout -0.1` → `--dropout=-0.1`, so a negative number reaches range validation rather than looking like a flag. */
function joinNegativeNumbers(args: readonly string[], flags: readonly Flag[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const f = a.startsWith('--') && !a.includes('=') ? flags.find((x) => x.name === a.slice(2)) : undefined;
    if (f && f.kind !== 'boolean' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * Parses `argv` (without node and the script): the command (default `defaultCommand`),
 * then its flags. Unknown commands and flags, missing or empty values, out-of-range
 * numbers: ValueError before anything runs.
 */
export function parseCommandLine(argv: readonly string[], commands: readonly CommandSpec[], defaultCommand: string): CommandLine {
  const first = argv[0];
  if (first === undefined || first.startsWith('-')) {
    if (first === '--help' || first === '-h') return { kind: 'help' };
    return parseCommandLine([defaultCommand, ...argv], commands, defaultCommand);
  }
  if (first === 'help') {
    const topic = argv[1];
    if (topic !== undefined && !commands.some((c) => c.name === topic))
      throw new ValueError('alphadrop help', `a command (${commands.map((c) => c.name).join(', ')})`, JSON.stringify(topic), suggestion(topic, commands.map((c) => c.name)));
    if (argv.length > 2) throw new ValueError('alphadrop help', 'at most one command name', JSON.stringify(argv.slice(1)));
    return topic === undefined ? { kind: 'help' } : { kind: 'help', topic };
  }
  const cmd = commands.find((c) => c.name === first);
  if (!cmd) throw new ValueError('alphadrop', `a command (${commands.map((c) => c.name).join(', ')}, help)`, JSON.stringify(first), suggestion(first, commands.map((c) => c.name)));
  const flags = flagsOf(cmd);
  const args = joinNegativeNumbers(argv.slice(1), flags);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(flags.map((f) => [f.name, f.kind === 'boolean' ? { type: 'boolean' as const, ...(f.name === 'help' ? { short: 'h' } : {}) } : { type: 'string' as const }])),
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (err) {
    throw diagnose(cmd, args, commands, err instanceof Error ? err.message : String(err));
  }
  const values = new Map<string, FlagValue>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    const f = flags.find((x) => x.name === t.name)!;
    if (values.has(f.name)) throw new ValueError(`--${f.name}`, 'the flag once', 'it twice', 'give each flag at most once');
    // a separate value that looks like a flag: parseArgs only refuses those starting with '-'
    if (f.kind !== 'boolean' && !t.inlineValue && typeof t.value === 'string' && t.value.startsWith('--'))
      throw new ValueError(`--${f.name}`, `a value (${expectation(f)})`, `the flag ${t.value}`, `--${f.name} expects a value`);
    values.set(f.name, parseFlagValue(f, f.kind === 'boolean' ? true : (t.value ?? '')));
  }
  if (values.get('help') === true) return { kind: 'help', topic: cmd.name };
  values.delete('help');
  const positionals = parsed.positionals;
  const wanted = cmd.positionals ?? [];
  if (positionals.length > wanted.length) {
    const extra = positionals.slice(wanted.length);
    throw new ValueError(`alphadrop ${cmd.name}`, wanted.length === 0 ? 'only flags after the command' : `${wanted.length} argument(s): ${wanted.map((p) => `<${p.name}>`).join(' ')}`,
      JSON.stringify(extra), 'a value without its flag, or a flag without its leading --?');
  }
  wanted.forEach((p, i) => {
    const v = positionals[i];
    if (v === undefined) throw new ValueError(`alphadrop ${cmd.name}`, `<${p.name}>: one of ${p.values.join(', ')}`, 'nothing');
    if (!p.values.includes(v)) throw new ValueError(`alphadrop ${cmd.name} <${p.name}>`, `one of ${p.values.join(', ')}`, JSON.stringify(v), suggestion(v, p.values));
  });
  return { kind: 'run', args: new ParsedArgs(cmd, values, positionals) };
}
