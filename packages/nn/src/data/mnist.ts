// MNIST and Fashion-MNIST in the IDX format of LeCun et al. (yann.lecun.com/exdb/mnist):
// a big-endian header (uint32 magic 0x00000803 then count, rows, cols for images;
// 0x00000801 then count for labels) followed by uint8 values, row-major.
// Parsing is pure and takes decompressed bytes; mnist-node.ts reads and gunzips the files.
// Every check runs over the whole file before anything is returned, so a caller never
// gets partial data: a truncated, padded or out-of-range file is a DataError naming the
// file and the byte offset.

import { DataError, ValueError } from '@alphadrop/core';

/** IDX magic numbers: two zero bytes, type 0x08 (unsigned byte), number of dimensions. */
export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;
/** MNIST and Fashion-MNIST both have ten classes, labelled 0–9. */
export const MNIST_CLASSES = 10;

export interface IdxImages {
  kind: 'images';
  count: number;
  rows: number;
  cols: number;
  /** count × rows × cols bytes, 0 = background, 255 = ink (a view into the input). */
  pixels: Uint8Array;
}

export interface IdxLabels {
  kind: 'labels';
  count: number;
  /** count bytes, each in [0, numClasses) (a view into the input). */
  labels: Uint8Array;
}

export type IdxFile = IdxImages | IdxLabels;

export interface ParseIdxOptions {
  /** Labels must lie in [0, numClasses); default 10. */
  numClasses?: number;
}

const hex32 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

function truncated(file: string, at: number, expected: string, detail?: string): DataError {
  return new DataError(`${file} at byte ${at}`, expected, 'end of file', detail);
}

/**
 * Parses one decompressed IDX file (images or labels, told apart by the magic number).
 * `file` names the source in errors. Gzip bytes (1f 8b) are refused: decompress first
 * (readIdxFile in the Node entry does).
 */
export function parseIdx(bytes: Uint8Array, file: string, opts: ParseIdxOptions = {}): IdxFile {
  const numClasses = opts.numClasses ?? MNIST_CLASSES;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b)
    throw new DataError(`${file} at byte 0`, 'decompressed IDX bytes', 'gzip data (magic 1f 8b)', 'gunzip it first');
  if (bytes.length < 4) throw truncated(file, bytes.length, 'a 4-byte IDX magic number');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== IDX_IMAGES_MAGIC && magic !== IDX_LABELS_MAGIC)
    throw new DataError(
      `${file} at byte 0`,
      `IDX magic ${hex32(IDX_IMAGES_MAGIC)} (images) or ${hex32(IDX_LABELS_MAGIC)} (labels)`,
      hex32(magic),
    );
  const rank = magic === IDX_IMAGES_MAGIC ? 3 : 1;
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes)
    throw truncated(file, bytes.length, `a ${headerBytes}-byte header (magic and ${rank} big-endian uint32 dimension${rank > 1 ? 's' : ''})`);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims[0]!;
  let perItem = 1;
  if (rank === 3) {
    const [, rows, cols] = dims as [number, number, number];
    if (rows === 0 || cols === 0) throw new DataError(`${file} at byte 8`, 'rows and cols ≥ 1', `${rows} × ${cols}`);
    perItem = rows * cols;
  }
  // count × rows × cols < 2^96 in theory; Number keeps it exact up to 2^53, far above any file.
  const expected = headerBytes + count * perItem;
  if (bytes.length < expected)
    throw truncated(
      file,
      bytes.length,
      `${expected} bytes (header ${headerBytes} + ${dims.join(' × ')} values)`,
      `data ran out at byte ${bytes.length}, ${expected - bytes.length} bytes short`,
    );
  if (bytes.length > expected)
    throw new DataError(
      `${file} at byte ${expected}`,
      `end of file after ${expected} bytes (header ${headerBytes} + ${dims.join(' × ')} values)`,
      `${bytes.length - expected} trailing bytes`,
    );
  const data = bytes.subarray(headerBytes, expected);
  if (rank === 3) return { kind: 'images', count, rows: dims[1]!, cols: dims[2]!, pixels: data };
  for (let i = 0; i < count; i++)
    if (data[i]! >= numClasses)
      throw new DataError(`${file} at byte ${headerBytes + i}`, `a label in [0, ${numClasses - 1}]`, String(data[i]), `label ${i}`);
  return { kind: 'labels', count, labels: data };
}

export interface MnistSplit {
  /** Pixels scaled to [0, 1] (value / 255), row-major [n, rows × cols]. */
  images: Float32Array;
  /** Class indices in [0, 10). */
  labels: Int32Array;
  n: number;
  rows: number;
  cols: number;
}

export interface MnistSelect {
  /** First example to return, in [0, count − 1]; default 0. */
  offset?: number;
  /** At most this many examples (≥ 1) from `offset`; default all that remain. */
  limit?: number;
}

/** Narrows an IdxFile to the kind a caller needs, naming the file if it is the other kind. */
export function expectIdxKind<K extends IdxFile['kind']>(f: IdxFile, kind: K, file: string): Extract<IdxFile, { kind: K }> {
  if (f.kind !== kind)
    throw new DataError(`${file} at byte 0`, `an IDX ${kind} file (magic ${hex32(kind === 'images' ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC)})`, `an IDX ${f.kind} file`);
  return f as Extract<IdxFile, { kind: K }>;
}

/**
 * Pairs parsed image and label files into a split, optionally a window [offset,
 * offset + limit). Both files are fully validated before this runs; the counts must match.
 */
export function mnistFromIdx(images: IdxImages, labels: IdxLabels, select: MnistSelect = {}, files = { images: 'images', labels: 'labels' }): MnistSplit {
  if (images.count !== labels.count)
    throw new DataError(`${files.labels} at byte 4`, `${images.count} labels (the image count of ${files.images})`, `${labels.count}`);
  if (images.count === 0) throw new DataError(`${files.images} at byte 4`, 'at least one image', 'a count of 0');
  // An empty selection is refused here: downstream it only shows up as a [0, NaN] shape.
  const offset = select.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset >= images.count)
    throw new ValueError(`mnist (${files.images})`, `an offset in [0, ${images.count - 1}]`, String(offset));
  const remaining = images.count - offset;
  const limit = select.limit ?? remaining;
  if (!Number.isInteger(limit) || limit < 1) throw new ValueError(`mnist (${files.images})`, 'a limit that is an integer ≥ 1', String(limit));
  const n = Math.min(limit, remaining);
  const d = images.rows * images.cols;
  const src = images.pixels.subarray(offset * d, (offset + n) * d);
  const out = new Float32Array(n * d);
  // A table rather than a divide per pixel: exactly the f32 nearest v / 255 either way.
  const scale = new Float32Array(256);
  for (let v = 0; v < 256; v++) scale[v] = v / 255;
  for (let i = 0; i < src.length; i++) out[i] = scale[src[i]!]!;
  return { images: out, labels: Int32Array.from(labels.labels.subarray(offset, offset + n)), n, rows: images.rows, cols: images.cols };
}
