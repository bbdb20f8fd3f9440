// NumPy's .npy format (numpy.lib.format, versions 1.0 and 2.0/3.0): the magic "\x93NUMPY",
// a version (major, minor), a little-endian header length (uint16 in v1, uint32 in v2 and
// v3), a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
// padded with spaces to a multiple of 64 bytes, then the raw array. Read here: C order,
// little-endian (or byte-sized) f4, f8, i4, i8 and u1. Parsing is pure (bytes in); errors
// name the file and the byte offset or header field.

import { DataError } from '@alphadrop/core';

export interface NpyArray {
  shape: number[];
  /** The header's dtype, e.g. '<f4'. */
  descr: string;
  /** The values converted to float64 (i8 only within ±2^53). */
  values: Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DTYPES: Record<string, { size: number; read: (v: DataView, at: number) => number }> = {
  f4: { size: 4, read: (v, at) => v.getFloat32(at, true) },
  f8: { size: 8, read: (v, at) => v.getFloat64(at, true) },
  i4: { size: 4, read: (v, at) => v.getInt32(at, true) },
  i8: { size: 8, read: (v, at) => Number(v.getBigInt64(at, true)) },
  u1: { size: 1, read: (v, at) => v.getUint8(at) },
};

function headerField(header: string, key: string, pattern: RegExp, file: string, at: number): RegExpMatchArray {
  const m = header.match(new RegExp(`['"]${key}['"]\\s*:\\s*${pattern.source}`));
  if (!m) throw new DataError(`${file} at byte ${at}`, `a header field '${key}' (${pattern.source})`, JSON.stringify(header.trim()));
  return m;
}

/** Parses one .npy file. `file` names the source in errors. */
export function parseNpy(bytes: Uint8Array, file = 'array.npy'): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw new DataError(`${file} at byte 0`, 'the .npy magic \\x93NUMPY', bytes.length < 6 ? `${bytes.length} bytes` : JSON.stringify(Array.from(bytes.subarray(0, 6), (b) => String.fromCharCode(b)).join('')));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new DataError(`${file} at byte 6`, 'format version 1, 2 or 3', `version ${major}.${bytes[7]}`);
  const lengthBytes = major === 1 ? 2 : 4;
  const headerAt = 8 + lengthBytes;
  if (bytes.length < headerAt) throw new DataError(`${file} at byte 8`, `a ${lengthBytes}-byte header length`, 'the end of the file');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataAt = headerAt + headerLength;
  if (bytes.length < dataAt) throw new DataError(`${file} at byte ${headerAt}`, `a header of ${headerLength} bytes`, `${bytes.length - headerAt} bytes before the end of the file`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerAt, dataAt));
  const descr = headerField(header, 'descr', /['"]([<>|=]?)([a-zA-Z]\d+)['"]/, file, headerAt);
  const [order, kind] = [descr[1]!, descr[2]!];
  const dtype = DTYPES[kind];
  if (!dtype) throw new DataError(`${file}: header field 'descr'`, `one of ${Object.keys(DTYPES).map((k) => `<${k}`).join(', ')}`, JSON.stringify(`${order}${kind}`));
  if (order === '>' && dtype.size > 1) throw new DataError(`${file}: header field 'descr'`, 'little-endian data (<)', JSON.stringify(`${order}${kind}`), 'save with arr.astype(arr.dtype.newbyteorder("<"))');
  const fortran = headerField(header, 'fortran_order', /(True|False)/, file, headerAt)[1];
  if (fortran === 'True') throw new DataError(`${file}: header field 'fortran_order'`, 'C order (False)', 'True', 'save np.ascontiguousarray(arr)');
  const shapeText = headerField(header, 'shape', /\(([^)]*)\)/, file, headerAt)[1]!;
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (dims.some((d) => !/^\d+$/.test(d))) throw new DataError(`${file}: header field 'shape'`, 'a tuple of non-negative integers', JSON.stringify(`(${shapeText})`));
  const shape = dims.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const want = count * dtype.size;
  if (bytes.length - dataAt !== want)
    throw new DataError(`${file} at byte ${dataAt}`, `${want} data bytes (${count} × ${kind}, shape [${shape}])`, `${bytes.length - dataAt} bytes`, bytes.length - dataAt < want ? 'a truncated file' : 'trailing bytes');
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const v = dtype.read(view, dataAt + i * dtype.size);
    if (kind === 'i8' && !Number.isSafeInteger(v)) throw new DataError(`${file} at byte ${dataAt + i * dtype.size}`, 'an int64 within ±2^53', String(v), `element ${i}`);
    values[i] = v;
  }
  return { shape, descr: `${order}${kind}`, values };
}

/** Encodes a float64 or float32 array as .npy v1 (C order): what tests and exports write. */
export function encodeNpy(values: Float32Array | Float64Array, shape: readonly number[]): Uint8Array {
  const kind = values instanceof Float32Array ? '<f4' : '<f8';
  let header = `{'descr': '${kind}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + values.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), 10 + header.length);
  return out;
}
