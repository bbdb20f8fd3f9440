// UCI regression data in the layout of the standard benchmark (Hernández-Lobato & Adams
// 2015; Gal & Ghahramani 2016): data.txt (whitespace-separated rows), index_features.txt,
// index_target.txt, and fixed train/test splits index_{train,test}_<i>.txt.
// Parsing is pure (strings in); uci-node.ts reads the files. Normalisation statistics
// come from the training split only, in float64 with two passes, and a standard
// deviation that is zero or numerically zero (relative to the column's scale) becomes 1.

import { DataError } from '@alphadrop/core';

export interface UciTable {
  /** Row-major [rows, cols] in float64. */
  values: Float64Array;
  rows: number;
  cols: number;
}

/** Parses data.txt: runs of spaces/tabs separate fields, empty lines are skipped. */
export function parseUciTable(text: string, file = 'data.txt'): UciTable {
  const out: number[] = [];
  let cols = -1;
  let rows = 0;
  const lines = text.split('\n');
  lines.forEach((raw, lineNo) => {
    const line = raw.trim();
    if (line === '') return;
    const fields = line.split(/\s+/);
    if (cols < 0) cols = fields.length;
    else if (fields.length !== cols)
      throw new DataError(`${file}:${lineNo + 1}`, `${cols} fields`, `${fields.length} fields`);
    for (const f of fields) {
      const v = Number(f);
      if (!Number.isFinite(v)) throw new DataError(`${file}:${lineNo + 1}`, 'a finite number', JSON.stringify(f));
      out.push(v);
    }
    rows++;
  });
  if (rows === 0) throw new DataError(file, 'at least one data row', 'none');
  return { values: Float64Array.from(out), rows, cols };
}

/** Parses an index file: one non-negative integer per line, each < bound. */
export function parseIndexList(text: string, bound: number, file: string): Int32Array {
  const out: number[] = [];
  text.split('\n').forEach((raw, lineNo) => {
    const line = raw.trim();
    if (line === '') return;
    const v = Number(line);
    if (!Number.isInteger(v) || v < 0 || v >= bound)
      throw new DataError(`${file}:${lineNo + 1}`, `an integer index in [0, ${bound})`, JSON.stringify(line));
    out.push(v);
  });
  return Int32Array.from(out);
}

export interface Standardizer {
  mean: Float64Array;
  std: Float64Array;
}

/** Column means and population stds (ddof 0), two-pass in float64; tiny stds become 1. */
export function fitStandardizer(x: Float64Array, rows: number, cols: number): Standardizer {
  const mean = new Float64Array(cols);
  const std = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c]! += x[r * cols + c]! / rows;
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) {
      const d = x[r * cols + c]! - mean[c]!;
      std[c]! += (d * d) / rows;
    }
  for (let c = 0; c < cols; c++) {
    const s = Math.sqrt(std[c]!);
    // naval's constant column has a float64 std of ~1e-16 rather than 0: compare to scale
    std[c] = s <= 1e-12 * Math.max(1, Math.abs(mean[c]!)) ? 1 : s;
  }
  return { mean, std };
}

export function applyStandardizer(x: Float64Array, rows: number, cols: number, s: Standardizer): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = (x[r * cols + c]! - s.mean[c]!) / s.std[c]!;
  return out;
}

export interface UciSplit {
  /** Standardised inputs [nTrain, d] and targets [nTrain]; test likewise. */
  xTrain: Float32Array;
  yTrain: Float32Array;
  xTest: Float32Array;
  yTest: Float32Array;
  /** Targets in original units, for metrics. */
  yTestRaw: Float64Array;
  nTrain: number;
  nTest: number;
  inputs: number;
  xScale: Standardizer;
  /** Target mean and std (ddof 0) of the training split. */
  yMean: number;
  yStd: number;
}

/** Selects rows and columns, fits the standardiser on the training rows, applies it to both. */
export function makeUciSplit(table: UciTable, features: Int32Array, target: number, train: Int32Array, test: Int32Array): UciSplit {
  const d = features.length;
  const pick = (rows: Int32Array) => {
    const x = new Float64Array(rows.length * d);
    const y = new Float64Array(rows.length);
    rows.forEach((r, i) => {
      for (let j = 0; j < d; j++) x[i * d + j] = table.values[r * table.cols + features[j]!]!;
      y[i] = table.values[r * table.cols + target]!;
    });
    return { x, y };
  };
  const tr = pick(train);
  const te = pick(test);
  const xScale = fitStandardizer(tr.x, train.length, d);
  const yScale = fitStandardizer(tr.y, train.length, 1);
  const yMean = yScale.mean[0]!;
  const yStd = yScale.std[0]!;
  return {
    xTrain: applyStandardizer(tr.x, train.length, d, xScale),
    yTrain: Float32Array.from(tr.y, (v) => (v - yMean) / yStd),
    xTest: applyStandardizer(te.x, test.length, d, xScale),
    yTest: Float32Array.from(te.y, (v) => (v - yMean) / yStd),
    yTestRaw: te.y,
    nTrain: train.length,
    nTest: test.length,
    inputs: d,
    xScale,
    yMean,
    yStd,
  };
}

/**
 * A deterministic 90/10 split for data without split files (the embedded default):
 * a Fisher-Yates permutation driven by a 32-bit LCG from `seed`.
 */
export function randomSplit(rows: number, seed: number, testFraction = 0.1): { train: Int32Array; test: Int32Array } {
  const perm = Int32Array.from({ length: rows }, (_, i) => i);
  let s = seed >>> 0;
  for (let i = rows - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const nTrain = Math.round(rows * (1 - testFraction));
  return { train: perm.slice(0, nTrain), test: perm.slice(nTrain) };
}
