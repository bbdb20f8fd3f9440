// Checkpoints in the safetensors format (github.com/huggingface/safetensors, README
// "Format"): an 8-byte little-endian u64 N, N bytes of a UTF-8 JSON object
//   {"__metadata__": {string: string}, "<name>": {"dtype": "F32", "shape": [..],
//    "data_offsets": [begin, end]}, ...}
// then the byte buffer, little-endian, row-major; offsets are relative to the buffer.
// The encoder is deterministic and matches the reference serializer byte for byte:
// metadata first (its keys sorted), then the tensors in the reference's order, by dtype
// from the widest (F64, F32, U32, I32, BOOL: its Dtype enum, descending) and then by name
// in UTF-8 byte order, laid out contiguously in that order; the header is padded with
// spaces to a multiple of 8 bytes. With the widest dtypes first and the buffer starting at
// a multiple of 8, every tensor's data is aligned to its element size. The decoder is strict, as
// the spec asks: the buffer must be covered exactly (no holes, no overlaps), sizes must
// equal prod(shape) × dtype size, duplicate keys and unknown fields are refused.
// Pure (bytes in, bytes out); safetensors-node.ts does the file I/O.

import { DataError, DTypeError, ShapeError, ValueError, type DType, type HostArray } from '@alphadrop/core';
import { DTYPES, bytesPerElement } from '@alphadrop/core/backend';

export interface SafetensorsEntry {
  dtype: DType;
  shape: number[];
  /** Row-major values: the typed array of `dtype` (bool: Uint8Array of 0/1). */
  data: HostArray;
}

export interface SafetensorsFile {
  tensors: Record<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

/** The safetensors name of each dtype this library holds. */
export const SAFETENSORS_DTYPE: Readonly<Record<DType, string>> = { f32: 'F32', f64: 'F64', i32: 'I32', u32: 'U32', bool: 'BOOL' };
const FROM_SAFETENSORS = new Map<string, DType>(DTYPES.map((d) => [SAFETENSORS_DTYPE[d], d]));
/** Valid in the format but not representable here; named in the error rather than "unknown". */
const OTHER_SAFETENSORS_DTYPES = new Set(['F16', 'BF16', 'I8', 'U8', 'I16', 'U16', 'I64', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'E8M0', 'C64']);
/** The reference implementation's cap on the header (MAX_HEADER_SIZE). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
/** Layout rank: the reference sorts by its Dtype enum (BOOL < I32 < U32 < F32 < F64), descending. */
const LAYOUT_RANK: Record<DType, number> = { f64: 0, f32: 1, u32: 2, i32: 3, bool: 4 };

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const ARRAY_FOR: Record<DType, string> = { f32: 'Float32Array', f64: 'Float64Array', i32: 'Int32Array', u32: 'Uint32Array', bool: 'Uint8Array' };

const utf8 = new TextEncoder();

function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function hostArrayOf(dtype: DType, data: HostArray): boolean {
  return Object.prototype.toString.call(data) === `[object ${ARRAY_FOR[dtype]}]`;
}

/** The little-endian bytes of `data`. */
function toLittleEndian(data: HostArray, dtype: DType): Uint8Array {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE_ENDIAN_HOST || bytesPerElement(dtype) === 1) return raw;
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (dtype === 'f32') view.setFloat32(4 * i, v, true);
    else if (dtype === 'f64') view.setFloat64(8 * i, v, true);
    else if (dtype === 'i32') view.setInt32(4 * i, v, true);
    else view.setUint32(4 * i, v, true);
  }
  return out;
}

/** A fresh host array of `count` elements from little-endian `bytes`. */
function fromLittleEndian(bytes: Uint8Array, dtype: DType, count: number): HostArray {
  const copy = bytes.slice(); // aligned, owned by the result
  if (dtype === 'bool') return copy;
  if (LITTLE_ENDIAN_HOST) {
    if (dtype === 'f32') return new Float32Array(copy.buffer, 0, count);
    if (dtype === 'f64') return new Float64Array(copy.buffer, 0, count);
    if (dtype === 'i32') return new Int32Array(copy.buffer, 0, count);
    return new Uint32Array(copy.buffer, 0, count);
  }
  const view = new DataView(copy.buffer);
  if (dtype === 'f32') return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
  if (dtype === 'f64') return Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, true));
  if (dtype === 'i32') return Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
  return Uint32Array.from({ length: count }, (_, i) => view.getUint32(4 * i, true));
}

// ------------------------------------------------------------------------------ encode

/**
 * A safetensors file of `entries` (contiguous, widest dtype first, then by name) and
 * optional string metadata. Byte-identical output for equal input.
 */
export function encodeSafetensors(entries: Record<string, SafetensorsEntry>, metadata?: Record<string, string>): Uint8Array {
  const where = 'encodeSafetensors';
  const rank = (name: string): number => LAYOUT_RANK[entries[name]!.dtype] ?? -1; // unknown dtypes are refused below
  const names = Object.keys(entries).sort((a, b) => rank(a) - rank(b) || compareUtf8(a, b));
  const parts: string[] = [];
  const metaKeys = metadata ? Object.keys(metadata).sort(compareUtf8) : [];
  if (metaKeys.length > 0) {
    const fields = metaKeys.map((k) => {
      const v = metadata![k];
      if (typeof v !== 'string') throw new ValueError(where, `a string value for metadata key ${JSON.stringify(k)}`, typeof v);
      return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
    });
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }
  let offset = 0;
  const chunks: Uint8Array[] = [];
  for (const name of names) {
    if (name === METADATA_KEY) throw new ValueError(where, 'a tensor name other than __metadata__', name);
    const { dtype, shape, data } = entries[name]!;
    const at = `${where}: tensor ${JSON.stringify(name)}`;
    if (!DTYPES.includes(dtype)) throw new DTypeError(at, `one of ${DTYPES.join(', ')}`, String(dtype));
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      throw new ShapeError(at, 'a shape of non-negative integers', JSON.stringify(shape));
    if (!hostArrayOf(dtype, data)) throw new DTypeError(at, `a ${ARRAY_FOR[dtype]} for dtype ${dtype}`, Object.prototype.toString.call(data).slice(8, -1));
    if (data.length !== product(shape)) throw new ShapeError(at, `${product(shape)} values for shape [${shape.join(', ')}]`, `${data.length} values`);
    if (dtype === 'bool')
      for (let i = 0; i < data.length; i++)
        if (data[i]! > 1) throw new ValueError(at, 'bool values 0 or 1', `${data[i]} at element ${i}`);
    const bytes = toLittleEndian(data, dtype);
    parts.push(`${JSON.stringify(name)}:{"dtype":"${SAFETENSORS_DTYPE[dtype]}","shape":[${shape.join(',')}],"data_offsets":[${offset},${offset + bytes.length}]}`);
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = utf8.encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true); // the u64's high word stays 0: headers are < 4 GiB
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let pos = 8 + headerLength;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

// ------------------------------------------------------------------------------ decode

/**
 * The first key that repeats within one JSON object, or null. JSON.parse keeps the last
 * of duplicates silently; the spec forbids them. Only called on text JSON.parse accepted.
 */
function duplicateKey(text: string): string | null {
  const stack: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const raw = text.slice(i, j + 1);
      i = j;
      const keys = stack[stack.length - 1];
      if (!keys) continue;
      let k = j + 1;
      while (text[k] === ' ' || text[k] === '\n' || text[k] === '\r' || text[k] === '\t') k++;
      if (text[k] !== ':') continue;
      const key = JSON.parse(raw) as string;
      if (keys.has(key)) return key;
      keys.add(key);
    } else if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
  }
  return null;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const describe = (v: unknown): string => (Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : JSON.stringify(v));

interface Placed {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses and validates a safetensors file. `source` names it in errors (a path, or a
 * label); every DataError says what was expected, what came, and where in the file.
 */
export function decodeSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  if (bytes.length < 8) throw new DataError(`${source} at byte ${bytes.length}`, 'an 8-byte little-endian header length', 'end of file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 4294967296;
  const room = bytes.length - 8;
  if (headerLength > room)
    throw new DataError(`${source} at byte 0`, `a header length ≤ ${room} (the bytes after the length field)`, String(headerLength), 'truncated file or corrupt length');
  if (headerLength > SAFETENSORS_MAX_HEADER_BYTES)
    throw new DataError(`${source} at byte 0`, `a header length ≤ ${SAFETENSORS_MAX_HEADER_BYTES}`, String(headerLength));
  if (headerLength < 2) throw new DataError(`${source} at byte 0`, 'a header length ≥ 2 (a JSON object)', String(headerLength));
  const headerBytes = bytes.subarray(8, 8 + headerLength);
  if (headerBytes[0] !== 0x7b) throw new DataError(`${source} at byte 8`, "a header starting with '{'", `byte 0x${headerBytes[0]!.toString(16).padStart(2, '0')}`);
  const at = `${source}: header`;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new DataError(at, 'valid UTF-8', 'an invalid byte sequence', `header bytes 8 … ${8 + headerLength}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DataError(at, 'valid JSON', 'a syntax error', err instanceof Error ? err.message : String(err));
  }
  if (!isPlainObject(parsed)) throw new DataError(at, 'a JSON object', describe(parsed));
  const dup = duplicateKey(text);
  if (dup !== null) throw new DataError(at, 'unique keys', `${JSON.stringify(dup)} twice`);

  const bufferStart = 8 + headerLength;
  const bufferLength = bytes.length - bufferStart;
  const metadata: Record<string, string> = Object.create(null) as Record<string, string>;
  const placed: Placed[] = [];
  for (const [name, info] of Object.entries(parsed)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(info)) throw new DataError(`${at}: __metadata__`, 'an object of strings', describe(info));
      for (const [k, v] of Object.entries(info)) {
        if (typeof v !== 'string') throw new DataError(`${at}: __metadata__.${k}`, 'a string value', describe(v));
        metadata[k] = v;
      }
      continue;
    }
    const where = `${at}: tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(info)) throw new DataError(where, 'an object {dtype, shape, data_offsets}', describe(info));
    for (const field of ['dtype', 'shape', 'data_offsets']) if (!(field in info)) throw new DataError(where, `a field "${field}"`, 'none');
    const extra = Object.keys(info).filter((k) => k !== 'dtype' && k !== 'shape' && k !== 'data_offsets');
    if (extra.length > 0) throw new DataError(where, 'only dtype, shape and data_offsets', `field ${JSON.stringify(extra[0])}`);
    const { dtype: dtypeName, shape, data_offsets: offsets } = info as { dtype: unknown; shape: unknown; data_offsets: unknown };
    const dtype = typeof dtypeName === 'string' ? FROM_SAFETENSORS.get(dtypeName) : undefined;
    if (dtype === undefined) {
      const known = typeof dtypeName === 'string' && OTHER_SAFETENSORS_DTYPES.has(dtypeName);
      throw new DataError(`${where}: dtype`, `one of ${[...FROM_SAFETENSORS.keys()].join(', ')}`, describe(dtypeName), known ? 'a safetensors dtype alphadrop does not hold' : 'not a safetensors dtype');
    }
    if (!Array.isArray(shape) || !shape.every((s) => Number.isSafeInteger(s) && s >= 0))
      throw new DataError(`${where}: shape`, 'an array of non-negative integers', JSON.stringify(shape));
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0))
      throw new DataError(`${where}: data_offsets`, 'two non-negative integers [begin, end]', JSON.stringify(offsets));
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw new DataError(`${where}: data_offsets`, 'begin ≤ end', `[${begin}, ${end}]`);
    if (end > bufferLength)
      throw new DataError(`${where}: data_offsets`, `end ≤ ${bufferLength} (the data buffer's length)`, String(end), `file bytes ${bufferStart + begin} … ${bufferStart + end} of ${bytes.length}`);
    const size = product(shape as number[]) * bytesPerElement(dtype);
    if (end - begin !== size)
      throw new DataError(`${where}: data_offsets`, `${size} bytes (shape [${shape.join(', ')}] × ${bytesPerElement(dtype)}-byte ${dtypeName})`, `${end - begin} bytes [${begin}, ${end}]`);
    placed.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // The spec requires the buffer to be indexed entirely, without holes or overlaps.
  placed.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = '';
  for (const p of placed) {
    if (p.begin > cursor)
      throw new DataError(`${at}: tensor ${JSON.stringify(p.name)}: data_offsets`, `begin ${cursor}${previous ? ` (the end of ${JSON.stringify(previous)})` : ''}`, `${p.begin}`, `a hole of ${p.begin - cursor} unindexed bytes`);
    if (p.begin < cursor)
      throw new DataError(`${at}: tensor ${JSON.stringify(p.name)}: data_offsets`, `begin ${cursor} (the end of ${JSON.stringify(previous)})`, `${p.begin}`, `overlaps ${JSON.stringify(previous)}`);
    cursor = p.end;
    previous = p.name;
  }
  if (cursor !== bufferLength)
    throw new DataError(`${source} at byte ${bufferStart + cursor}`, `end of file (the last tensor ends at buffer offset ${cursor})`, `${bufferLength - cursor} unindexed bytes`);

  const tensors: Record<string, SafetensorsEntry> = Object.create(null) as Record<string, SafetensorsEntry>;
  for (const p of placed) {
    const raw = bytes.subarray(bufferStart + p.begin, bufferStart + p.end);
    if (p.dtype === 'bool')
      for (let i = 0; i < raw.length; i++)
        if (raw[i]! > 1) throw new DataError(`${source} at byte ${bufferStart + p.begin + i}`, `BOOL values 0 or 1 in tensor ${JSON.stringify(p.name)}`, String(raw[i]));
    tensors[p.name] = { dtype: p.dtype, shape: [...p.shape], data: fromLittleEndian(raw, p.dtype, product(p.shape)) };
  }
  return { tensors, metadata };
}
