// The plan cache key of primitive parameters. JSON.stringify is not injective on numbers:
// it writes NaN, Infinity and -Infinity as `null` and -0 as `0`, so pad(x, p, -Infinity)
// and then pad(x, p, Infinity) on the same shape would share one cached shader (its pad
// value baked in). This serialiser writes every value distinctly: ±0, ±Infinity, NaN,
// numbers vs strings (strings are length-prefixed), null vs undefined, arrays vs objects.

import { ValueError } from '@alphadrop/core';

/** A number written so that ±0, ±Infinity and NaN stay distinct (String(-0) is '0'). */
function number(v: number): string {
  if (v !== v) return 'NaN';
  if (v === 0) return 1 / v > 0 ? '0' : '-0';
  return String(v); // 'Infinity' / '-Infinity'; finite doubles round-trip, so distinct values differ
}

/**
 * A string that differs whenever the (plain data) values differ. It runs once per dispatch,
 * so it appends to one string instead of allocating per level; strings and object keys are
 * length-prefixed (s3:abc), which keeps the encoding injective whatever they contain.
 */
export function planKey(value: unknown): string {
  return write(value, '');
}

function write(value: unknown, acc: string): string {
  switch (typeof value) {
    case 'number':
      return acc + number(value);
    case 'string':
      return `${acc}s${value.length}:${value}`;
    case 'boolean':
      return acc + (value ? 'T' : 'F');
    case 'undefined':
      return acc + 'U';
    case 'bigint':
      return `${acc}${value}n`;
    case 'object': {
      if (value === null) return acc + 'N';
      if (Array.isArray(value)) {
        acc += '[';
        for (let i = 0; i < value.length; i++) acc = write(value[i], i === 0 ? acc : acc + ',');
        return acc + ']';
      }
      if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
        acc += `${value.constructor.name}[`;
        const a = value as unknown as ArrayLike<number>;
        for (let i = 0; i < a.length; i++) acc += (i === 0 ? '' : ',') + number(Number(a[i]));
        return acc + ']';
      }
      acc += '{';
      const o = value as Record<string, unknown>;
      for (const k in o) acc = write(o[k], `${acc}${k.length}:${k}=`) + ',';
      return acc + '}';
    }
    default:
      throw new ValueError('webgpu plan cache key', 'plain data (numbers, strings, booleans, arrays, objects)', `a ${typeof value}`);
  }
}
