// Reads a UCI data set directory (Node only). The data directory comes from the caller,
// `--data-dir`, the ALPHADROP_DATA variable, or the fetch cache; see dataDir().

import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, ValueError } from '@alphadrop/core';
import { defaultCacheDir, holdsData } from './cache-node.js';
import { makeUciSplit, parseIndexList, parseUciTable, type UciSplit, type UciTable } from './uci.js';

/**
 * The data directory: the explicit argument, then ALPHADROP_DATA, then the fetch cache
 * (`alphadrop data fetch`) when it holds a data set; undefined when there is none.
 */
export function dataDir(explicit?: string): string | undefined {
  if (explicit !== undefined) return explicit;
  const fromEnv = process.env.ALPHADROP_DATA;
  if (fromEnv) return fromEnv;
  const cache = defaultCacheDir();
  return holdsData(cache) ? cache : undefined;
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
  const splits = existsSync(splitsPath) ? parseSplitCount(read(splitsPath), splitsPath) : 0;
  return { name, table, features, target: targetList[0]!, splits, dir };
}

/** n_splits.txt: one positive decimal integer. */
function parseSplitCount(text: string, file: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < 1) throw new DataError(`${file}:1`, 'a positive integer number of splits', JSON.stringify(t));
  return Number(t);
}

/** Split i of a loaded data set, standardised with its training statistics. */
export function uciSplit(ds: UciDataset, i: number): UciSplit {
  if (!Number.isInteger(i) || i < 0 || i >= ds.splits)
    throw new ValueError(`uciSplit (${ds.dir})`, `a split index in [0, ${ds.splits})`, String(i));
  const trainPath = join(ds.dir, `index_train_${i}.txt`);
  const testPath = join(ds.dir, `index_test_${i}.txt`);
  const train = parseIndexList(read(trainPath), ds.table.rows, trainPath);
  const test = parseIndexList(read(testPath), ds.table.rows, testPath);
  return makeUciSplit(ds.table, ds.features, ds.target, train, test);
}
