// Figure specs for the reports: pure functions that return Vega-Lite specs as plain JSON, so
// the same object renders to SVG in Node (render.ts) and can be embedded as-is in a page.
// The shapes follow the paper's figures (Li & Gal 2017, figs. 4–7: test accuracy / LL
// against epochs, accuracy / entropy against the FGS step η, one line per α) and a
// reliability diagram. Every number is checked here, because Vega-Lite silently drops
// NaN / infinite points and a figure with a missing point would look plausible.

import { ValueError } from '@alphadrop/core';

/** A JSON value: what a Vega-Lite spec is made of. */
export type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };
/** A Vega-Lite spec as plain JSON (checked against Vega-Lite when it is compiled). */
export type FigureSpec = { readonly [key: string]: Json };

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * The categorical palette. Colours are assigned by series order, not by name, so a report
 * that always lists its series in the same order (α = 0, 0.5, 1, deterministic) gets the
 * same colour for each in every figure. The colours are the colour-blind-safe Okabe–Ito set.
 */
export const PALETTE: readonly string[] = ['#0072b2', '#e69f00', '#009e73', '#d55e00', '#cc79a7', '#56b4e9', '#f0e442', '#000000'];

export interface LinePoint {
  x: number;
  mean: number;
  /** Standard error of the mean; draws a band mean ± se where given. */
  se?: number;
}

export interface LineSeries {
  name: string;
  points: readonly LinePoint[];
}

export interface LineFigureOptions {
  title: string;
  x: { title: string; scale?: 'linear' | 'log' };
  y: { title: string; domain?: readonly [number, number] };
  series: readonly LineSeries[];
  width?: number;
  height?: number;
}

export interface ReliabilityBin {
  /** Mean confidence of the predictions in the bin, in [0, 1]. */
  confidence: number;
  /** Fraction of those predictions that were right, in [0, 1]. */
  accuracy: number;
  /** Number of predictions in the bin; empty bins are left out of the figure. */
  count: number;
}

export interface ReliabilitySeries {
  name: string;
  bins: readonly ReliabilityBin[];
}

export interface ReliabilityFigureOptions {
  title: string;
  series: readonly ReliabilitySeries[];
  width?: number;
  height?: number;
}

function checkNames(where: string, names: readonly string[]): void {
  if (names.length === 0) throw new ValueError(where, 'at least one series', 'none');
  const seen = new Set<string>();
  for (const n of names) {
    if (n.length === 0) throw new ValueError(where, 'a non-empty series name', '""');
    // One colour per name: two series with one name would be drawn as one line.
    if (seen.has(n)) throw new ValueError(where, 'distinct series names', `"${n}" twice`);
    seen.add(n);
  }
}

function checkSize(where: string, name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new ValueError(where, `a positive integer ${name}`, String(v));
}

function checkDomain(where: string, d: readonly [number, number] | undefined): void {
  if (d !== undefined && !(Number.isFinite(d[0]) && Number.isFinite(d[1]) && d[0] < d[1])) {
    throw new ValueError(where, 'a finite y domain [lo, hi] with lo < hi', `[${d[0]}, ${d[1]}]`);
  }
}

function colour(names: readonly string[]): { [key: string]: Json } {
  return {
    field: 'series',
    type: 'nominal',
    title: null,
    // The legend merges the band's and the line's swatches; draw it at full colour.
    legend: { symbolOpacity: 1 },
    // Domain in series order, so the legend keeps the caller's order (not alphabetical).
    sort: names,
    scale: { domain: names, range: names.map((_, i) => PALETTE[i % PALETTE.length]!) },
  };
}

/** One line per series, with a shaded band mean ± se at the points that carry an se. */
export function lineFigure(o: LineFigureOptions): FigureSpec {
  const where = `lineFigure "${o.title}"`;
  const names = o.series.map((s) => s.name);
  checkNames(where, names);
  checkSize(where, 'width', o.width);
  checkSize(where, 'height', o.height);
  checkDomain(where, o.y.domain);
  const log = o.x.scale === 'log';
  const rows: Json[] = [];
  let anyBand = false;
  for (const s of o.series) {
    if (s.points.length === 0) throw new ValueError(where, `points in series "${s.name}"`, 'none');
    const xs = new Set<number>();
    s.points.forEach((p, i) => {
      const at = `series "${s.name}" point ${i}`;
      const bad = !Number.isFinite(p.x) ? `x=${p.x}` : !Number.isFinite(p.mean) ? `mean=${p.mean}` : p.se !== undefined && !(Number.isFinite(p.se) && p.se >= 0) ? `se=${p.se}` : undefined;
      if (bad !== undefined) throw new ValueError(where, 'finite x and mean, finite se ≥ 0', `${at}: ${bad}`);
      if (log && p.x <= 0) throw new ValueError(where, 'x > 0 on a log scale', `${at}: x=${p.x}`);
      // A repeated x makes the line double back on itself: a sign of unaggregated runs.
      if (xs.has(p.x)) throw new ValueError(where, `distinct x within a series`, `${at}: x=${p.x} repeated`);
      xs.add(p.x);
      const band = p.se === undefined ? { lo: null, hi: null } : { lo: p.mean - p.se, hi: p.mean + p.se };
      anyBand ||= p.se !== undefined;
      rows.push({ series: s.name, x: p.x, mean: p.mean, ...band });
    });
  }
  const clip = o.y.domain !== undefined; // keep bands and lines that leave a fixed domain inside the plot
  const yScale: Json = o.y.domain !== undefined ? { domain: [o.y.domain[0], o.y.domain[1]] } : { zero: false };
  const y = (field: string): Json => ({ field, type: 'quantitative', title: o.y.title, scale: yScale });
  const layer: Json[] = [];
  if (anyBand) {
    layer.push({
      // Points without an se break the band rather than being bridged across.
      mark: { type: 'area', opacity: 0.2, invalid: 'break-paths-show-domains', clip },
      encoding: { y: y('lo'), y2: { field: 'hi' }, color: colour(names) },
    });
  }
  layer.push({ mark: { type: 'line', point: true, clip }, encoding: { y: y('mean'), color: colour(names) } });
  return {
    $schema: SCHEMA,
    title: o.title,
    width: o.width ?? 360,
    height: o.height ?? 240,
    data: { values: rows },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.x.title, scale: log ? { type: 'log' } : { type: 'linear', zero: false } },
    },
    layer,
  };
}

/** Reliability diagram: accuracy against confidence per bin, with the diagonal of perfect calibration. */
export function reliabilityFigure(o: ReliabilityFigureOptions): FigureSpec {
  const where = `reliabilityFigure "${o.title}"`;
  checkNames(where, o.series.map((s) => s.name));
  checkSize(where, 'width', o.width);
  checkSize(where, 'height', o.height);
  const rows: Json[] = [];
  for (const s of o.series) {
    if (s.bins.length === 0) throw new ValueError(where, `bins in series "${s.name}"`, 'none');
    s.bins.forEach((b, i) => {
      const at = `series "${s.name}" bin ${i}`;
      if (!(Number.isInteger(b.count) && b.count >= 0)) throw new ValueError(where, 'an integer count ≥ 0', `${at}: count=${b.count}`);
      for (const [k, v] of [['confidence', b.confidence], ['accuracy', b.accuracy]] as const) {
        if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new ValueError(where, `${k} in [0, 1]`, `${at}: ${k}=${v}`);
      }
      if (b.count > 0) rows.push({ series: s.name, confidence: b.confidence, accuracy: b.accuracy, count: b.count });
    });
  }
  const unit: Json = { domain: [0, 1] };
  const x: Json = { field: 'confidence', type: 'quantitative', title: 'confidence', scale: unit };
  const y: Json = { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: unit };
  return {
    $schema: SCHEMA,
    title: o.title,
    width: o.width ?? 240,
    height: o.height ?? 240,
    layer: [
      {
        data: { values: [{ confidence: 0, accuracy: 0 }, { confidence: 1, accuracy: 1 }] },
        mark: { type: 'line', strokeDash: [4, 4], strokeWidth: 1 },
        encoding: { x, y, color: { value: '#888888' } },
      },
      {
        data: { values: rows },
        mark: { type: 'line', point: true },
        encoding: { x, y, color: colour(o.series.map((s) => s.name)) },
      },
    ],
  };
}

function isObject(v: Json | undefined): v is { readonly [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The colour domain a figure from this file uses (top level or in a layer), as JSON text. */
function colourDomain(spec: FigureSpec): string | undefined {
  const specs = [spec, ...(Array.isArray(spec.layer) ? spec.layer : [])];
  for (const s of specs) {
    if (!isObject(s) || !isObject(s.encoding) || !isObject(s.encoding.color)) continue;
    const scale = s.encoding.color.scale;
    if (isObject(scale) && scale.domain !== undefined) return JSON.stringify(scale.domain);
  }
  return undefined;
}

/**
 * Several figures side by side in one SVG (one row, or `columns` per row). Panels that all
 * show the same series share one legend; otherwise each keeps its own, since a union of
 * colour domains would re-colour series by the merged order.
 */
export function panels(title: string, specs: readonly FigureSpec[], columns?: number): FigureSpec {
  const where = `panels "${title}"`;
  if (specs.length === 0) throw new ValueError(where, 'at least one figure', 'none');
  checkSize(where, 'column count', columns);
  // Only the top level may carry $schema (and config); the panels keep everything else.
  const children: Json[] = specs.map((s) => {
    if (s.config !== undefined) throw new ValueError(where, 'panels without their own config', 'a config block');
    const { $schema: _schema, ...rest } = s;
    return rest;
  });
  const domains = new Set(specs.map(colourDomain));
  const shared = domains.size === 1 && !domains.has(undefined);
  const resolve: Json = shared ? { scale: { color: 'shared' }, legend: { color: 'shared' } } : { scale: { color: 'independent' }, legend: { color: 'independent' } };
  const layout: { [key: string]: Json } = columns === undefined ? { hconcat: children } : { concat: children, columns };
  return { $schema: SCHEMA, title, ...layout, resolve };
}
