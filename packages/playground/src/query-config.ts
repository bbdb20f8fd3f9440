// The training configuration a page starts with: DEFAULT_CONFIG (protocol.ts), overridden
// by the URL query, e.g. ?alphas=0.5&samples=2&batchSize=16&hidden=32&trainSize=512 (the
// browser tests' small setting, which SwiftShader trains in seconds). Each key is a field of
// TrainConfig; lists are comma-separated. A value that does not parse is reported and the
// default kept, so a typo shows up on the page instead of silently training something else.

import { DEFAULT_CONFIG, type TrainConfig } from './protocol.js';

export interface QueryConfig {
  config: TrainConfig;
  /** One line per ignored query parameter: what was expected and what came. */
  problems: string[];
}

type NumberKey = { [K in keyof TrainConfig]: TrainConfig[K] extends number ? K : never }[keyof TrainConfig];

/** Each numeric field with the values it accepts. */
const NUMBERS: Record<NumberKey, { integer: boolean; min: number; max: number }> = {
  samples: { integer: true, min: 1, max: 100 },
  dropout: { integer: false, min: 0, max: 0.95 },
  learningRate: { integer: false, min: 1e-6, max: 1 },
  batchSize: { integer: true, min: 1, max: 1024 },
  trainSize: { integer: true, min: 1, max: 8000 },
  testSize: { integer: true, min: 1, max: 1000 },
  testSamples: { integer: true, min: 1, max: 100 },
  evalEvery: { integer: true, min: 1, max: 100_000 },
  seed: { integer: true, min: 0, max: 2 ** 31 - 1 },
};

function describe(r: { integer: boolean; min: number; max: number }): string {
  return `${r.integer ? 'an integer' : 'a number'} in [${r.min}, ${r.max}]`;
}

function parseNumber(text: string, r: { integer: boolean; min: number; max: number }): number | null {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < r.min || v > r.max || (r.integer && !Number.isInteger(v))) return null;
  return v;
}

function parseList(text: string, r: { integer: boolean; min: number; max: number }): number[] | null {
  const values = text.split(',').map((t) => parseNumber(t, r));
  return values.length > 0 && values.every((v) => v !== null) ? (values as number[]) : null;
}

/** DEFAULT_CONFIG with the query's overrides (`search` as location.search gives it). */
export function configFromQuery(search: string): QueryConfig {
  const config: TrainConfig = { ...DEFAULT_CONFIG, alphas: [...DEFAULT_CONFIG.alphas], hidden: [...DEFAULT_CONFIG.hidden] };
  const problems: string[] = [];
  const reject = (key: string, expected: string, got: string) => problems.push(`query parameter ${key}: expected ${expected}, got "${got}"`);
  for (const [key, text] of new URLSearchParams(search)) {
    if (key === 'alphas') {
      const r = { integer: false, min: 0, max: 10 };
      const alphas = parseList(text, r);
      if (alphas && new Set(alphas).size === alphas.length) config.alphas = alphas;
      else reject(key, `distinct comma-separated α values, each ${describe(r)}`, text);
    } else if (key === 'hidden') {
      const r = { integer: true, min: 1, max: 4096 };
      const hidden = parseList(text, r);
      if (hidden) config.hidden = hidden;
      else reject(key, `comma-separated layer widths, each ${describe(r)}`, text);
    } else if (key === 'backend') {
      if (text === 'auto' || text === 'webgpu' || text === 'cpu') config.backend = text;
      else reject(key, "'auto', 'webgpu' or 'cpu'", text);
    } else if (key in NUMBERS) {
      const r = NUMBERS[key as NumberKey];
      const v = parseNumber(text, r);
      if (v === null) reject(key, describe(r), text);
      else config[key as NumberKey] = v;
    } else {
      problems.push(`query parameter ${key}: not a training setting (expected one of alphas, hidden, backend, ${Object.keys(NUMBERS).join(', ')})`);
    }
  }
  return { config, problems };
}
