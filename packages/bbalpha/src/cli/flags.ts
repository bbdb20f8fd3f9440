// Flag definitions of the command line and the parsing of their values. Every value is
// validated here, before a command runs: numbers are plain decimals ("0x10", "1e", "" and
// "Infinity" are refused), in range, integers where they count something. Errors are
// ValueErrors whose `where` is the flag, so the message reads
//   --dropout: expected a rate in [0, 1), got -0.1

import { ValueError } from '@alphadrop/core';

export type FlagValue = number | number[] | string | string[] | boolean;

interface Range {
  min?: number;
  max?: number;
  /** min (max) itself excluded. */
  minOpen?: boolean;
  maxOpen?: boolean;
  integer?: boolean;
}

interface FlagBase {
  name: string;
  help: string;
  /** Metavariable in the help text. */
  meta?: string;
}

export type Flag =
  | (FlagBase & Range & { kind: 'number'; default?: number })
  | (FlagBase & Range & { kind: 'numbers'; default?: readonly number[] })
  | (FlagBase & { kind: 'enum'; values: readonly string[]; default?: string })
  | (FlagBase & { kind: 'strings'; default?: readonly string[] })
  | (FlagBase & { kind: 'string'; default?: string })
  | (FlagBase & { kind: 'boolean' });

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** "a number in [0, 1)", "an integer ≥ 1": what the range accepts, for messages and help. */
export function describeRange(r: Range): string {
  const noun = r.integer ? 'an integer' : 'a number';
  const lo = r.min === undefined ? null : r.min;
  const hi = r.max === undefined ? null : r.max;
  if (lo !== null && hi !== null) return `${noun} in ${r.minOpen ? '(' : '['}${lo}, ${hi}${r.maxOpen ? ')' : ']'}`;
  if (lo !== null) return `${noun} ${r.minOpen ? '>' : '≥'} ${lo}`;
  if (hi !== null) return `${noun} ${r.maxOpen ? '<' : '≤'} ${hi}`;
  return `a finite ${r.integer ? 'integer' : 'number'}`;
}

function parseNumber(flag: string, raw: string, r: Range, item = ''): number {
  const what = describeRange(r);
  if (raw.trim() === '') throw new ValueError(flag, `${what}${item}`, 'an empty value');
  if (!DECIMAL.test(raw.trim())) throw new ValueError(flag, `${what}${item} (a decimal number)`, JSON.stringify(raw));
  const v = Number(raw);
  const inRange =
    Number.isFinite(v) &&
    (!r.integer || Number.isSafeInteger(v)) &&
    (r.min === undefined || (r.minOpen ? v > r.min : v >= r.min)) &&
    (r.max === undefined || (r.maxOpen ? v < r.max : v <= r.max));
  if (!inRange) throw new ValueError(flag, `${what}${item}`, raw);
  return v;
}

/** The typed value of `raw` for `f`; `raw` undefined only for booleans. */
export function parseFlagValue(f: Flag, raw: string | boolean): FlagValue {
  const flag = `--${f.name}`;
  if (f.kind === 'boolean') return raw === true;
  if (typeof raw !== 'string') throw new ValueError(flag, 'a value', 'nothing');
  if (raw === '') throw new ValueError(flag, `a value (${expectation(f)})`, 'an empty value');
  switch (f.kind) {
    case 'number':
      return parseNumber(flag, raw, f);
    case 'numbers': {
      const items = raw.split(',');
      return items.map((s, i) => parseNumber(flag, s, f, items.length > 1 ? ` (item ${i + 1} of ${JSON.stringify(raw)})` : ''));
    }
    case 'enum':
      if (!f.values.includes(raw)) throw new ValueError(flag, `one of ${f.values.join(', ')}`, JSON.stringify(raw), suggestion(raw, f.values));
      return raw;
    case 'strings': {
      const items = raw.split(',').map((s) => s.trim());
      const empty = items.findIndex((s) => s === '');
      if (empty >= 0) throw new ValueError(flag, 'a comma-separated list of names', JSON.stringify(raw), `item ${empty + 1} is empty`);
      return items;
    }
    case 'string':
      return raw;
  }
}

/** What a flag accepts, in words (help text and messages). */
export function expectation(f: Flag): string {
  switch (f.kind) {
    case 'number':
      return describeRange(f);
    case 'numbers':
      return `comma-separated: each ${describeRange(f).replace(/^an? /, '')}`;
    case 'enum':
      return f.values.join(' | ');
    case 'strings':
      return 'comma-separated names';
    case 'string':
      return 'a path or name';
    case 'boolean':
      return 'no value';
  }
}

/** Levenshtein distance (insert, delete, substitute). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** "did you mean X?" for the nearest candidate within a third of the word's length (≥ 2), else undefined. */
export function suggestion(word: string, candidates: readonly string[], prefix = ''): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? `did you mean ${prefix}${best}?` : undefined;
}
