// A user's own data as a table of named numeric feature columns and an optional target:
// from CSV (csv.ts; the target by column name), from NPY (npy.ts; a 2-D feature matrix
// and a 1-D target array) or from IDX (mnist.ts; images and labels). A regression target
// is numeric; a classification target is a label (text or numbers) mapped to a class index
// in sorted order (numerically when every label is a number), the list kept with the model.
// Every cell is checked: an empty cell, text or NaN in a numeric column is a DataError
// naming file:line:column and the column's name.

import { DataError, ValueError } from '@alphadrop/core';
import type { CsvFile } from './csv.js';
import type { IdxImages, IdxLabels } from './mnist.js';
import type { NpyArray } from './npy.js';
import { isPlainDecimal } from './uci.js';

export type Task = 'regression' | 'classification';

export type TargetColumn = { name: string; kind: 'number'; values: Float64Array } | { name: string; kind: 'label'; labels: string[] };

export interface DataTable {
  file: string;
  featureNames: string[];
  /** Row-major [rows, features] in float64. */
  x: Float64Array;
  rows: number;
  /** Where each row came from ("file:line" for CSV, "file row i" otherwise), for errors. */
  rowWhere: string[];
  target?: TargetColumn;
}

export interface ColumnSelection {
  /** The target column's name; absent: every column is a feature. */
  target?: string;
  /** number (regression) or label (classification). */
  targetKind?: 'number' | 'label';
  /** Refuse a table without the target column (training); predicting accepts its absence. */
  requireTarget?: boolean;
  /** The feature columns by name, in this order (a model's); default: every column but the target. */
  features?: readonly string[];
  /** At least this many rows (default 1). */
  minRows?: number;
}

/** A regression's target is a number, a classification's a class label. */
export const targetKindOf = (task: Task): 'number' | 'label' => (task === 'regression' ? 'number' : 'label');

function checkRows(file: string, rows: number, min: number): void {
  if (rows < min) throw new DataError(file, `at least ${min} data row${min === 1 ? '' : 's'}`, `${rows}`);
}

/** A numeric cell: a plain decimal, finite. */
function cellNumber(text: string, where: string, column: string): number {
  const t = text.trim();
  if (t === '') throw new DataError(where, `a number in column ${JSON.stringify(column)}`, 'an empty cell');
  if (!isPlainDecimal(t)) throw new DataError(where, `a number in column ${JSON.stringify(column)}`, JSON.stringify(text), /^[+-]?(nan|inf(inity)?)$/i.test(t) ? 'missing or infinite values must be removed or filled in first' : 'text in a numeric column');
  const v = Number(t);
  if (!Number.isFinite(v)) throw new DataError(where, `a number within the float64 range in column ${JSON.stringify(column)}`, JSON.stringify(text));
  return v;
}

/** The columns of a parsed CSV file picked by name and converted, every cell checked. */
export function tableFromCsv(csv: CsvFile, sel: ColumnSelection = {}): DataTable {
  const { file, header } = csv;
  const targetAt = sel.target === undefined ? -1 : header.indexOf(sel.target);
  if (sel.target !== undefined && targetAt < 0 && (sel.requireTarget ?? true))
    throw new DataError(`${file}:1`, `a target column ${JSON.stringify(sel.target)} in the header`, `the columns ${header.map((h) => JSON.stringify(h)).join(', ')}`);
  const featureNames = sel.features ? [...sel.features] : header.filter((_, k) => k !== targetAt);
  if (featureNames.length === 0) throw new DataError(`${file}:1`, 'at least one feature column besides the target', `only ${JSON.stringify(sel.target)}`);
  const featureAt = featureNames.map((name) => {
    const k = header.indexOf(name);
    if (k < 0) throw new DataError(`${file}:1`, `a feature column ${JSON.stringify(name)} (the model's features: ${featureNames.join(', ')})`, `the columns ${header.join(', ')}`);
    if (k === targetAt) throw new DataError(`${file}:1`, `${JSON.stringify(name)} as a feature or as the target, not both`, 'both');
    return k;
  });
  const rows = csv.records.length;
  checkRows(file, rows, sel.minRows ?? 1);
  const d = featureNames.length;
  const x = new Float64Array(rows * d);
  const rowWhere: string[] = [];
  const targetNumbers = new Float64Array(rows);
  const labels: string[] = [];
  const numberTarget = (sel.targetKind ?? 'number') === 'number';
  csv.records.forEach((r, i) => {
    rowWhere.push(`${file}:${r.line}`);
    featureAt.forEach((k, j) => {
      const f = r.fields[k]!;
      x[i * d + j] = cellNumber(f.text, `${file}:${f.line}:${f.column}`, header[k]!);
    });
    if (targetAt >= 0) {
      const f = r.fields[targetAt]!;
      const where = `${file}:${f.line}:${f.column}`;
      if (numberTarget) targetNumbers[i] = cellNumber(f.text, where, header[targetAt]!);
      else {
        const label = f.text.trim();
        if (label === '') throw new DataError(where, `a class label in column ${JSON.stringify(header[targetAt])}`, 'an empty cell');
        labels.push(label);
      }
    }
  });
  const table: DataTable = { file, featureNames, x, rows, rowWhere };
  if (targetAt >= 0) table.target = numberTarget ? { name: header[targetAt]!, kind: 'number', values: targetNumbers } : { name: header[targetAt]!, kind: 'label', labels };
  return table;
}

/** A 2-D feature matrix (columns x0, x1, …) and an optional 1-D target (named y) from NPY arrays. */
export function tableFromNpy(features: NpyArray, target: NpyArray | undefined, files: { features: string; target?: string }, sel: Pick<ColumnSelection, 'targetKind' | 'minRows'> = {}): DataTable {
  if (features.shape.length !== 2) throw new DataError(`${files.features}: header field 'shape'`, 'a 2-D feature matrix (rows, features)', `shape (${features.shape.join(', ')})`);
  const [rows, d] = features.shape as [number, number];
  checkRows(files.features, rows, sel.minRows ?? 1);
  const rowWhere = Array.from({ length: rows }, (_, i) => `${files.features} row ${i}`);
  features.values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new DataError(`${files.features} row ${Math.floor(i / d)} column ${i % d}`, 'a finite number', String(v));
  });
  const table: DataTable = { file: files.features, featureNames: Array.from({ length: d }, (_, j) => `x${j}`), x: features.values, rows, rowWhere };
  if (target) {
    const tf = files.target ?? 'target';
    if (target.shape.length !== 1 || target.shape[0] !== rows) throw new DataError(`${tf}: header field 'shape'`, `a 1-D target of ${rows} values (one per feature row)`, `shape (${target.shape.join(', ')})`);
    target.values.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new DataError(`${tf} element ${i}`, 'a finite target', String(v));
    });
    table.target = (sel.targetKind ?? 'number') === 'number' ? { name: 'y', kind: 'number', values: target.values } : { name: 'y', kind: 'label', labels: Array.from(target.values, String) };
  }
  return table;
}

/** IDX images (pixels scaled to [0, 1], columns p0, p1, …) and optional labels as class labels. */
export function tableFromIdx(images: IdxImages, labels: IdxLabels | undefined, files: { images: string; labels?: string }): DataTable {
  const d = images.rows * images.cols;
  if (labels && labels.count !== images.count) throw new DataError(files.labels ?? 'labels', `${images.count} labels (one per image of ${files.images})`, `${labels.count}`);
  const table: DataTable = {
    file: files.images,
    featureNames: Array.from({ length: d }, (_, j) => `p${j}`),
    x: Float64Array.from(images.pixels, (v) => v / 255),
    rows: images.count,
    rowWhere: Array.from({ length: images.count }, (_, i) => `${files.images} image ${i}`),
  };
  if (labels) table.target = { name: 'label', kind: 'label', labels: Array.from(labels.labels, String) };
  return table;
}

/** Class labels in sorted order: numerically when every label is a number, else by code point. */
export function classesOf(labels: readonly string[]): string[] {
  const distinct = [...new Set(labels)];
  const numeric = distinct.every(isPlainDecimal);
  return distinct.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The class index of each label in `classes`; a label not among them is refused with its row. */
export function classIndices(table: DataTable, classes: readonly string[]): Int32Array {
  const t = table.target;
  if (!t || t.kind !== 'label') throw new ValueError('classIndices', 'a table with a label target', t ? 'a numeric target' : 'no target');
  const index = new Map(classes.map((c, i) => [c, i]));
  return Int32Array.from(t.labels, (l, i) => {
    const k = index.get(l);
    if (k === undefined) throw new DataError(table.rowWhere[i]!, `a class label the model knows (${classes.join(', ')})`, JSON.stringify(l), `column ${JSON.stringify(t.name)}`);
    return k;
  });
}

/** The rows `pick` of a table (a split), every column kept. */
export function selectRows(table: DataTable, pick: ArrayLike<number>): DataTable {
  const d = table.featureNames.length;
  const n = pick.length;
  const x = new Float64Array(n * d);
  const rowWhere: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = pick[i]!;
    x.set(table.x.subarray(r * d, (r + 1) * d), i * d);
    rowWhere.push(table.rowWhere[r]!);
  }
  const out: DataTable = { file: table.file, featureNames: table.featureNames, x, rows: n, rowWhere };
  const t = table.target;
  if (t) out.target = t.kind === 'number' ? { ...t, values: Float64Array.from({ length: n }, (_, i) => t.values[pick[i]!]!) } : { ...t, labels: Array.from({ length: n }, (_, i) => t.labels[pick[i]!]!) };
  return out;
}
