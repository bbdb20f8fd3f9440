// Reads a user's data file (Node only) into a DataTable, by extension: .csv (the target a
// column name), .npy (the target a second .npy file), IDX images (.idx, -ubyte, .gz; the
// target an IDX labels file). The parsing is table.ts's, csv.ts's and npy.ts's.

import { readFileSync } from 'node:fs';
import { DataError } from '@alphadrop/core';
import { parseCsv } from './csv.js';
import { expectIdxKind } from './mnist.js';
import { readIdxFile } from './mnist-node.js';
import { parseNpy } from './npy.js';
import { tableFromCsv, tableFromIdx, tableFromNpy, type ColumnSelection, type DataTable } from './table.js';

export type TableFormat = 'csv' | 'npy' | 'idx';

export function tableFormatOf(path: string): TableFormat {
  const p = path.toLowerCase();
  if (p.endsWith('.csv')) return 'csv';
  if (p.endsWith('.npy')) return 'npy';
  if (p.endsWith('.idx') || p.endsWith('-ubyte') || p.endsWith('.gz') || /\.idx\d-ubyte$/.test(p)) return 'idx';
  throw new DataError(path, 'a .csv, .npy or IDX (.idx, -ubyte, .gz) file', 'another extension');
}

export interface TableFileSelection extends ColumnSelection {
  /** For .npy and IDX data: the file holding the target (a 1-D .npy, IDX labels). */
  targetFile?: string;
}

/** Reads `path` as a table: CSV columns by name, NPY/IDX with the target from `targetFile`. */
export function loadTable(path: string, sel: TableFileSelection = {}): DataTable {
  const format = tableFormatOf(path);
  if (format === 'csv') return tableFromCsv(parseCsv(readFileSync(path, 'utf8'), path), sel);
  if (format === 'npy') {
    const target = sel.targetFile !== undefined ? parseNpy(readFileSync(sel.targetFile), sel.targetFile) : undefined;
    return tableFromNpy(parseNpy(readFileSync(path), path), target, { features: path, ...(sel.targetFile !== undefined ? { target: sel.targetFile } : {}) }, sel);
  }
  const images = expectIdxKind(readIdxFile(path), 'images', path);
  const labels = sel.targetFile !== undefined ? expectIdxKind(readIdxFile(sel.targetFile, { numClasses: 256 }), 'labels', sel.targetFile) : undefined;
  return tableFromIdx(images, labels, { images: path, ...(sel.targetFile !== undefined ? { labels: sel.targetFile } : {}) });
}
