// A run journal: long multi-unit runs (uci: data set × α × split; later `reproduce`)
// append each finished unit to a JSON-lines file the moment it completes, so a failure in
// unit 23 leaves 22 results on disk, and a re-run with the same options skips what is done.
//   line 1   {"journal":"alphadrop-runs-1","version":…,"seed":…,"options":{…}}   what the results depend on
//   then     {"unit":{"dataset":"yacht","alpha":0.5,"split":3},"result":{…}}
// A re-run with different options is refused (its results would mix with the old ones).
// Each line is written with one write and fsync'd; a torn last line (a crash mid-write) is
// dropped on the next append. Only finite numbers are recorded: NaN has no JSON form, and
// a non-finite metric is an error, never a result.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { DataError, ValueError } from '@alphadrop/core';
import { VERSION } from '@alphadrop/nn';

export const JOURNAL_FORMAT = 'alphadrop-runs-1';

export type JsonValue = number | string | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type Unit = Record<string, string | number>;

export interface JournalEntry<R> {
  unit: Unit;
  result: R;
}

/** JSON with object keys sorted at every level: equal values, equal text. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** The path of the first non-finite number in `v` ("rmse", "result.ll[2]"), else null. */
export function firstNonFinite(v: unknown, path = ''): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${path || 'value'} = ${v}`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const r = firstNonFinite(v[i], `${path}[${i}]`);
      if (r) return r;
    }
  } else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      const r = firstNonFinite(x, path ? `${path}.${k}` : k);
      if (r) return r;
    }
  return null;
}

/** The seed a set of options names (docs/determinism.md: results record it), else null. */
export function seedOf(options: Record<string, unknown>): number | null {
  return typeof options.seed === 'number' ? options.seed : null;
}

export class RunJournal<R extends JsonValue> {
  private readonly done = new Map<string, R>();
  private readonly order: JournalEntry<R>[] = [];
  private hasHeader: boolean;
  /** Bytes of complete lines; a torn tail beyond it is cut on the next append. */
  private validBytes: number;
  private torn: boolean;

  private constructor(
    readonly path: string,
    readonly options: Record<string, JsonValue>,
  ) {
    this.hasHeader = false;
    this.validBytes = 0;
    this.torn = false;
    if (!existsSync(path)) return;
    const text = readFileSync(path, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    this.torn = end < text.length;
    this.validBytes = Buffer.byteLength(text.slice(0, end));
    const lines = text.slice(0, end).split('\n').slice(0, -1);
    lines.forEach((line, i) => {
      const at = `${path} line ${i + 1}`;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        throw new DataError(at, 'a JSON object', JSON.stringify(line.slice(0, 80)));
      }
      const o = v as Record<string, unknown>;
      if (i === 0) {
        if (typeof o !== 'object' || o === null || o.journal !== JOURNAL_FORMAT) throw new DataError(at, `a journal header {"journal":"${JOURNAL_FORMAT}", ...}`, line.slice(0, 80));
        const mine = canonicalJson(options);
        const theirs = canonicalJson(o.options);
        if (mine !== theirs) {
          const old = (o.options ?? {}) as Record<string, unknown>;
          const keys = [...new Set([...Object.keys(old), ...Object.keys(options)])].filter((k) => canonicalJson(old[k]) !== canonicalJson(options[k]));
          throw new ValueError(`journal ${path}`, `the options it was started with to resume (${keys.map((k) => `${k}: ${canonicalJson(old[k]) ?? 'unset'}`).join(', ')})`,
            keys.map((k) => `${k}: ${canonicalJson(options[k]) ?? 'unset'}`).join(', '), 'resume with the same options, or write to another --out');
        }
        this.hasHeader = true;
        return;
      }
      if (typeof o !== 'object' || o === null || typeof o.unit !== 'object' || o.unit === null || !('result' in o))
        throw new DataError(at, 'an entry {"unit": {...}, "result": ...}', line.slice(0, 80));
      const entry = { unit: o.unit as Unit, result: o.result as R };
      const key = canonicalJson(entry.unit);
      if (!this.done.has(key)) this.order.push(entry);
      this.done.set(key, entry.result);
    });
  }

  /** Reads the journal at `path` (if any) and checks it was started with `options`; writes nothing. */
  static open<R extends JsonValue>(path: string, options: Record<string, JsonValue>): RunJournal<R> {
    const bad = firstNonFinite(options);
    if (bad) throw new ValueError(`journal ${path}`, 'finite options', bad);
    return new RunJournal<R>(path, options);
  }

  get(unit: Unit): R | undefined {
    return this.done.get(canonicalJson(unit));
  }

  /** Finished units, in the order they finished. */
  entries(): readonly JournalEntry<R>[] {
    return this.order;
  }

  /** Records a finished unit: one line, written and flushed before returning. */
  append(unit: Unit, result: R): void {
    const bad = firstNonFinite(result);
    if (bad) throw new ValueError(`journal ${this.path}: unit ${canonicalJson(unit)}`, 'finite results', bad);
    if (this.torn) truncateSync(this.path, this.validBytes);
    let text = '';
    if (!this.hasHeader) text += JSON.stringify({ journal: JOURNAL_FORMAT, version: VERSION, seed: seedOf(this.options), options: this.options }) + '\n';
    text += JSON.stringify({ unit, result }) + '\n';
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.hasHeader = true;
    this.torn = false;
    const key = canonicalJson(unit);
    if (!this.done.has(key)) this.order.push({ unit, result });
    this.done.set(key, result);
  }
}
