// Reads MNIST / Fashion-MNIST IDX files from disk (Node only): gzip or raw, then the pure
// parser in mnist.ts. Layout of the MNIST distribution, either compressed or not:
//   {train,t10k}-images-idx3-ubyte[.gz], {train,t10k}-labels-idx1-ubyte[.gz]
// MNIST lives in `<dataDir>/mnist/`; Debian's dataset-fashion-mnist installs the same four
// names in /usr/share/datasets/fashion-mnist/.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zc, gunzipSync } from 'node:zlib';
import { DataError } from '@alphadrop/core';
import { expectIdxKind, mnistFromIdx, parseIdx, type IdxFile, type MnistSelect, type MnistSplit, type ParseIdxOptions } from './mnist.js';

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/**
 * Where a gzip stream goes bad: the shortest prefix that zlib refuses even when asked to
 * tolerate a missing end (Z_SYNC_FLUSH), found by bisection. Runs only after a failure,
 * about log2(size) decompressions. `at` is the 0-based offset of the byte whose reading
 * raised the error; `recovered` counts the bytes that decompressed before it.
 */
function locateGzipError(bytes: Uint8Array): { at: number; recovered: number } {
  const ok = (len: number): number | null => {
    try {
      return gunzipSync(bytes.subarray(0, len), { finishFlush: zc.Z_SYNC_FLUSH }).length;
    } catch {
      return null;
    }
  };
  let lo = 0;
  let hi = bytes.length;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (ok(mid) === null) hi = mid;
    else lo = mid;
  }
  return { at: hi - 1, recovered: ok(lo) ?? 0 };
}

/**
 * Gunzips `bytes` read from `file`. A bad stream is a DataError naming the file and the
 * compressed byte offset: the end of the file for a stream that stops early, else the
 * byte at which zlib detected the damage (a bad CRC is detected at the trailer).
 */
export function gunzipIdx(bytes: Uint8Array, file: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/unexpected end/i.test(message)) {
      let recovered = 0;
      try {
        recovered = gunzipSync(bytes, { finishFlush: zc.Z_SYNC_FLUSH }).length;
      } catch {
        /* also damaged before the end: the count stays 0 */
      }
      throw new DataError(
        `${file} at byte ${bytes.length}`,
        'a complete gzip stream',
        'end of file',
        `zlib: ${message}; ${recovered} bytes decompressed before the data ran out`,
      );
    }
    const { at, recovered } = locateGzipError(bytes);
    throw new DataError(`${file} at byte ${at}`, 'a valid gzip stream', JSON.stringify(message), `${recovered} bytes decompressed before the damage`);
  }
}

/** Reads one IDX file, gunzipping it when it starts with the gzip magic, and parses it. */
export function readIdxFile(path: string, opts: ParseIdxOptions = {}): IdxFile {
  if (!existsSync(path)) throw new DataError('mnist', `a file at ${path}`, 'nothing');
  const raw = new Uint8Array(readFileSync(path));
  const bytes = isGzip(raw) ? gunzipIdx(raw, path) : raw;
  return parseIdx(bytes, path, opts);
}

/** `<dir>/<base>.gz`, else `<dir>/<base>`; a DataError naming both when neither exists. */
function findIdx(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new DataError(`mnist (${dir})`, `${base}.gz or ${base}`, 'neither file');
}

export interface LoadMnistOptions extends MnistSelect {
  split: 'train' | 'test';
  /** Required [rows, cols] of the images; default 28 × 28 (MNIST, Fashion-MNIST); null: any. */
  imageShape?: readonly [number, number] | null;
}

/** The image size of MNIST and Fashion-MNIST, which the paper's models are built for. */
export const MNIST_IMAGE_SHAPE = [28, 28] as const;

/**
 * Loads one split from a folder holding the four IDX files (gzip or raw). The whole files
 * are read and validated (28 × 28 images unless `imageShape` says otherwise); `offset` /
 * `limit` then select a window of examples.
 */
export function loadIdxDataset(folder: string, opts: LoadMnistOptions): MnistSplit {
  const prefix = opts.split === 'train' ? 'train' : 't10k';
  const imagesPath = findIdx(folder, `${prefix}-images-idx3-ubyte`);
  const labelsPath = findIdx(folder, `${prefix}-labels-idx1-ubyte`);
  const images = expectIdxKind(readIdxFile(imagesPath), 'images', imagesPath);
  const shape = opts.imageShape === undefined ? MNIST_IMAGE_SHAPE : opts.imageShape;
  if (shape && (images.rows !== shape[0] || images.cols !== shape[1]))
    throw new DataError(`${imagesPath} at byte 8`, `${shape[0]} × ${shape[1]} images`, `${images.rows} × ${images.cols} images`, 'the rows and cols of the IDX header');
  const labels = expectIdxKind(readIdxFile(labelsPath), 'labels', labelsPath);
  return mnistFromIdx(images, labels, opts, { images: imagesPath, labels: labelsPath });
}

/**
 * MNIST from the data directory: `<dir>/mnist/` when that folder exists (the layout of
 * ALPHADROP_DATA), else `dir` itself.
 */
export function loadMnist(dir: string, opts: LoadMnistOptions): MnistSplit {
  const nested = join(dir, 'mnist');
  return loadIdxDataset(existsSync(nested) ? nested : dir, opts);
}

/**
 * Fashion-MNIST, by default from Debian's dataset-fashion-mnist package; from a data
 * directory (the fetch cache) `<dir>/fashion-mnist/` when that folder exists.
 */
export function loadFashionMnist(dir: string = FASHION_MNIST_DEBIAN_DIR, opts: LoadMnistOptions = { split: 'train' }): MnistSplit {
  const nested = join(dir, 'fashion-mnist');
  return loadIdxDataset(existsSync(nested) ? nested : dir, opts);
}
