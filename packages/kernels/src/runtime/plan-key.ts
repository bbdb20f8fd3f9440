// The plan cache key of primitive parameters. JSON.stringify is not injective on numbers:
// it writes NaN, Infinity and -Infinity as `null` and -0 as `0`, so pad(x, p, -Infinity)
// and then pad(x, p, Infinity) on the same shape would share one cached shader (its pad
// value baked in). This serialiser writes every value distinctly: ±0, ±Infinity, NaN,
// numbers vs strings (strings are quoted), null vs undefined, arrays vs objects.

import { ValueError } from '@alphadrop/core';

function number(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return String(v); // round-trips: distinct doubles give distinct strings
}

/** A string that differs whenever the (plain data) values differ. Cheap: it runs per dispatch. */
export function planKey(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return number(value);
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'T' : 'F';
    case 'undefined':
      return 'U';
    case 'bigint':
      return `${value}n`;
    case 'object': {
      if (value === null) return 'N';
      if (Array.isArray(value)) return `[${value.map(planKey).join(',')}]`;
      if (ArrayBuffer.isView(value) && !(value instanceof DataView))
        return `${value.constructor.name}[${Array.from(value as unknown as ArrayLike<number>, number).join(',')}]`;
      // plain objects: keys in insertion order (a different order is only a cache miss)
      let s = '{';
      for (const [k, v] of Object.entries(value)) s += `${JSON.stringify(k)}:${planKey(v)},`;
      return `${s}}`;
    }
    default:
      throw new ValueError('webgpu plan cache key', 'plain data (numbers, strings, booleans, arrays, objects)', `a ${typeof value}`);
  }
}
