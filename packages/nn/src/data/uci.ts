// UCI regression data in the layout of the standard benchmark (Hernández-Lobato & Adams
// 2015; Gal & Ghahramani 2016): data.txt (whitespace-separated rows), index_features.txt,
// index_target.txt, and fixed train/test splits index_{train,test}_<i>.txt.
// Parsing is pure (strings in); uci-node.ts reads the files. Normalisation statistics
// come from the training split only, in float64 with two passes, and a standard
// deviation that is zero or numerically zero (relative to the column's scale) becomes 1.

import { DataError, keyFor, ValueError } from '@alphadrop/core';
import { permutation } from './batches.js';

export interface UciTable {
  /** Row-major [rows, cols] in float64. */
  values: Float64Array;
  rows: number;
  cols: number;
  /** The file the table came from and the 1-based line of each row, for errors. */
  file: string;
  lines: Int32Array;
}

/**
 * A plain decimal number: optional sign, digits with an optional fraction, optional
 * exponent. Number() alone would also take "0x10", "0b1", "Infinity" and "" (as 0).
 */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** True for a plain decimal number (the tables' one accepted spelling; also used by table.ts). */
export const isPlainDecimal = (token: string): boolean => DECIMAL.test(token);
const INDEX = /^\d+$/;

/** Parses data.txt: runs of spaces/tabs separate fields, empty lines are skipped. */
export function parseUciTable(text: string, file = 'data.txt'): UciTable {
  const out: number[] = [];
  const lines: number[] = [];
  let cols = -1;
  text.split('\n').forEach((raw, lineIndex) => {
    const lineNo = lineIndex + 1;
    const fields = [...raw.matchAll(/\S+/g)];
    if (fields.length === 0) return;
    if (cols < 0) cols = fields.length;
    else if (fields.length !== cols) throw new DataError(`${file}:${lineNo}`, `${cols} fields (as on line ${lines[0]})`, `${fields.length} fields`);
    fields.forEach((m, k) => {
      const token = m[0];
      const where = `${file}:${lineNo}:${m.index! + 1}`;
      if (!DECIMAL.test(token)) throw new DataError(where, 'a plain decimal number', JSON.stringify(token), `field ${k + 1}`);
      const v = Number(token);
      if (!Number.isFinite(v)) throw new DataError(where, 'a number within the float64 range', JSON.stringify(token), `field ${k + 1}`);
      out.push(v);
    });
    lines.push(lineNo);
  });
  if (lines.length === 0) throw new DataError(file, 'at least one data row', text.length === 0 ? 'an empty file' : 'only blank lines');
  return { values: Float64Array.from(out), rows: lines.length, cols, file, lines: Int32Array.from(lines) };
}

/**
 * Parses an index file: one non-negative decimal integer per line, each < bound. At least
 * one index: an empty feature list or split would train on nothing.
 */
export function parseIndexList(text: string, bound: number, file: string): Int32Array {
  const out: number[] = [];
  text.split('\n').forEach((raw, lineNo) => {
    const line = raw.trim();
    if (line === '') return;
    const v = INDEX.test(line) ? Number(line) : NaN;
    if (!Number.isSafeInteger(v) || v >= bound)
      throw new DataError(`${file}:${lineNo + 1}`, `an integer index in [0, ${bound})`, JSON.stringify(line));
    out.push(v);
  });
  if (out.length === 0) throw new DataError(file, 'at least one index', text.length === 0 ? 'an empty file' : 'only blank lines');
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

/**
 * Refuses a column whose training mean or standard deviation is not finite in float64
 * (a value near 1e308, or above ~1e154 whose square overflows): names the table's file
 * and the line of the training value of largest magnitude, the one to blame.
 */
function checkFiniteScale(table: UciTable, column: number, rows: Int32Array, mean: number, std: number, role: string): void {
  if (Number.isFinite(mean) && Number.isFinite(std)) return;
  let worst = rows[0]!;
  for (const r of rows) if (Math.abs(table.values[r * table.cols + column]!) > Math.abs(table.values[worst * table.cols + column]!)) worst = r;
  throw new DataError(
    `${table.file}:${table.lines[worst]}`,
    `values of ${role} column ${column} whose training mean and standard deviation are finite in float64`,
    String(table.values[worst * table.cols + column]),
    `mean ${mean}, std ${std}`,
  );
}

/** Refuses a standardised value that is not finite in float32 (a test value far outside the training scale). */
function checkFiniteOutput(table: UciTable, out: Float32Array, rows: Int32Array, columns: readonly number[], role: string): void {
  for (let i = 0; i < out.length; i++) {
    if (Number.isFinite(out[i]!)) continue;
    const r = rows[Math.floor(i / columns.length)]!;
    const c = columns[i % columns.length]!;
    throw new DataError(
      `${table.file}:${table.lines[r]}`,
      `a ${role} value of column ${c} that stays finite in float32 once standardised`,
      String(table.values[r * table.cols + c]),
      `standardised to ${out[i]}`,
    );
  }
}

/**
 * Selects rows and columns, fits the standardiser on the training rows, applies it to both.
 * Refuses empty splits and anything that would make a statistic or an output non-finite.
 */
export function makeUciSplit(table: UciTable, features: Int32Array, target: number, train: Int32Array, test: Int32Array): UciSplit {
  const d = features.length;
  if (d === 0) throw new DataError(`${table.file}`, 'at least one feature column', 'none');
  if (train.length === 0) throw new DataError(`${table.file}`, 'at least one training row', 'an empty training split');
  if (test.length === 0) throw new DataError(`${table.file}`, 'at least one test row', 'an empty test split');
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
  features.forEach((c, j) => checkFiniteScale(table, c, train, xScale.mean[j]!, xScale.std[j]!, 'feature'));
  checkFiniteScale(table, target, train, yMean, yStd, 'target');
  const split: UciSplit = {
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
  const featureColumns = [...features];
  checkFiniteOutput(table, split.xTrain, train, featureColumns, 'training feature');
  checkFiniteOutput(table, split.yTrain, train, [target], 'training target');
  checkFiniteOutput(table, split.xTest, test, featureColumns, 'test feature');
  checkFiniteOutput(table, split.yTest, test, [target], 'test target');
  return split;
}

/**
 * A deterministic 90/10 split for data without split files (the embedded default): the
 * permutation of batches.ts under derive(rootKey(seed), 'split', 0); split i of a protocol
 * uses seed i.
 */
export function randomSplit(rows: number, seed: number, testFraction = 0.1): { train: Int32Array; test: Int32Array } {
  if (!(testFraction > 0 && testFraction < 1)) throw new ValueError('randomSplit', 'a test fraction in (0, 1)', String(testFraction));
  const perm = permutation(rows, keyFor(seed, 'split', 0));
  const nTrain = Math.round(rows * (1 - testFraction));
  return { train: perm.slice(0, nTrain), test: perm.slice(nTrain) };
}
