// Plain-text output shared by every bench entry, in Node and in a browser page (no Node
// imports): padded columns, tables, number formats, ratios and the median.

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/** The first `leftColumns` columns left-aligned, the others right-aligned, two spaces apart. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], leftColumns = 1): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    r.map((cell, c) => (c < leftColumns ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.map(line)].join('\n');
}

export function fmt(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return '—';
  return v.toFixed(digits);
}

/** "2.31×" for how many times slower `other` is than `base` (ours). */
export function ratio(other: number, base: number): string {
  if (!Number.isFinite(other) || !Number.isFinite(base) || base <= 0) return '—';
  return `${(other / base).toFixed(2)}×`;
}

export const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
export const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
export const fmtG = (g: number): string => (g >= 1000 ? g.toFixed(0) : g >= 10 ? g.toFixed(1) : g.toFixed(2));


/** An adapter's name for the tables: "vendor architecture description", empty parts left out. */
export function adapterLabel(info: { vendor?: string; architecture?: string; description?: string }): string {
  return [info.vendor, info.architecture, info.description].filter((s) => s && s.length > 0).join(' ') || 'unnamed adapter';
}
