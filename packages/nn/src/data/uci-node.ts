// Reads a UCI data set directory (Node only). The data directory comes from the caller,
// `--data-dir`, or the ALPHADROP_DATA variable; see dataDir().

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '@alphadrop/core';
import { makeUciSplit, parseIndexList, parseUciTable, type UciSplit, type UciTable } from './uci.js';

/** The data directory: explicit argument, then ALPHADROP_DATA; undefined when neither is set. */
export function dataDir(explicit?: string): string | undefined {
  return explicit ?? process.env.ALPHADROP_DATA ?? undefined;
}

function read(path: string): string {
  if (!existsSync(path)) throw new DataError('uci', `a file at ${path}`, 'nothing');
  return readFileSync(path, 'utf8');
}

export interface UciDataset {
  name: string;
  table: UciTable;
  features: Int32Array;
  target: number;
  splits: number;
  dir: string;
}

/** Loads `<dataDir>/uci/<name>`: data.txt, index_features.txt, index_target.txt, n_splits.txt. */
export function loadUci(root: string, name: string): UciDataset {
  const dir = join(root, 'uci', name);
  const table = parseUciTable(read(join(dir, 'data.txt')), join(dir, 'data.txt'));
  const features = parseIndexList(read(join(dir, 'index_features.txt')), table.cols, join(dir, 'index_features.txt'));
  const targetList = parseIndexList(read(join(dir, 'index_target.txt')), table.cols, join(dir, 'index_target.txt'));
  if (targetList.length !== 1) throw new DataError(join(dir, 'index_target.txt'), 'one target column', `${targetList.length}`);
  const splitsPath = join(dir, 'n_splits.txt');
  const splits = existsSync(splitsPath) ? Number(read(splitsPath).trim()) : 0;
  return { name, table, features, target: targetList[0]!, splits, dir };
}

/** Split i of a loaded data set, standardised with its training statistics. */
export function uciSplit(ds: UciDataset, i: number): UciSplit {
  if (!Number.isInteger(i) || i < 0 || i >= ds.splits)
    throw new DataError(`uci/${ds.name}`, `a split index in [0, ${ds.splits})`, String(i));
  const train = parseIndexList(read(join(ds.dir, `index_train_${i}.txt`)), ds.table.rows, `index_train_${i}.txt`);
  const test = parseIndexList(read(join(ds.dir, `index_test_${i}.txt`)), ds.table.rows, `index_test_${i}.txt`);
  return makeUciSplit(ds.table, ds.features, ds.target, train, test);
}
