// safetensors: known answers (files written by hand, and the byte arrays that the reference
// implementation's own tests pin), encode ∘ decode = identity on encoder output, refusal
// of malformed files, and the atomic save.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, DTypeError, ShapeError, ValueError } from '@alphadrop/core';
import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry } from '@alphadrop/nn';
import { loadSafetensors, saveSafetensors } from '@alphadrop/nn/node';

const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const u64 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24, 0, 0, 0, 0];

/** A file from its parts: the u64 header length, the header text (UTF-8), the data bytes. */
function file(header: string, data: number[] | Uint8Array = [], lengthOverride?: number): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  out.set(u64(lengthOverride ?? h.length), 0);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function refuse(bytes: Uint8Array): DataError {
  let caught: unknown;
  try {
    decodeSafetensors(bytes, 'x.safetensors');
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DataError);
  return caught as DataError;
}

describe('safetensors known answers', () => {
  it('decodes a file written byte by byte (every dtype, a scalar, an empty tensor, metadata)', () => {
    const header =
      '{"__metadata__":{"format":"pt","note":"é"},' +
      '"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
      '"w":{"dtype":"F32","shape":[2,1],"data_offsets":[8,16]},' +
      '"u":{"dtype":"U32","shape":[],"data_offsets":[16,20]},' +
      '"i":{"dtype":"I32","shape":[2],"data_offsets":[20,28]},' +
      '"empty":{"dtype":"F32","shape":[0,3],"data_offsets":[28,28]},' +
      '"m":{"dtype":"BOOL","shape":[3],"data_offsets":[28,31]}}';
    const data = [
      ...[0, 0, 0, 0, 0, 0, 0xf8, 0x3f], // 1.5 (f64)
      ...[0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0], // 1, -2.5 (f32)
      ...[0xff, 0xff, 0xff, 0xff], // 4294967295 (u32)
      ...[0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x00, 0x00], // -1, 256 (i32)
      ...[1, 0, 1], // true, false, true
    ];
    const { tensors, metadata } = decodeSafetensors(file(header, data));
    expect({ ...metadata }).toEqual({ format: 'pt', note: 'é' });
    expect(Object.keys(tensors).sort()).toEqual(['d', 'empty', 'i', 'm', 'u', 'w']);
    expect(tensors.d).toEqual({ dtype: 'f64', shape: [1], data: Float64Array.of(1.5) });
    expect(tensors.w).toEqual({ dtype: 'f32', shape: [2, 1], data: Float32Array.of(1, -2.5) });
    expect(tensors.u).toEqual({ dtype: 'u32', shape: [], data: Uint32Array.of(4294967295) });
    expect(tensors.i).toEqual({ dtype: 'i32', shape: [2], data: Int32Array.of(-1, 256) });
    expect(tensors.empty).toEqual({ dtype: 'f32', shape: [0, 3], data: new Float32Array(0) });
    expect(tensors.m).toEqual({ dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) });
  });

  it('reads the reference implementation test files (unpadded header of 60 bytes, scalar shape [])', () => {
    const ref = latin1('<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}' + '\x00'.repeat(16));
    expect(decodeSafetensors(ref).tensors.test).toEqual({ dtype: 'i32', shape: [2, 2], data: new Int32Array(4) });
    const scalar = latin1('8\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}\x00\x00\x00\x00');
    expect(decodeSafetensors(scalar).tensors.test).toEqual({ dtype: 'i32', shape: [], data: new Int32Array(1) });
  });

  it('encodes byte for byte like the reference serializer (its test_serialization and test_empty arrays)', () => {
    const f32 = Float32Array.of(0, 1, 2, 3, 4, 5);
    const tail = [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];
    // header exactly 64 bytes: no padding
    expect([...encodeSafetensors({ 'attn.0': { dtype: 'f32', shape: [1, 2, 3], data: f32 } })]).toEqual([
      ...u64(64), ...latin1('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'), ...tail,
    ]);
    // 65 bytes of JSON: seven spaces pad the header to 72
    expect([...encodeSafetensors({ attn0: { dtype: 'f32', shape: [1, 1, 2, 3], data: f32 } })]).toEqual([
      ...u64(72), ...latin1('{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       '), ...tail,
    ]);
    expect([...encodeSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect([...encodeSafetensors({}, { framework: 'pt' })]).toEqual([...u64(40), ...latin1('{"__metadata__":{"framework":"pt"}}     ')]);
  });

  it('lays out metadata first, then widest dtype first and names in byte order, contiguously', () => {
    const bytes = encodeSafetensors(
      {
        b: { dtype: 'f32', shape: [1], data: Float32Array.of(2) },
        flag: { dtype: 'bool', shape: [2], data: Uint8Array.of(0, 1) },
        a: { dtype: 'f32', shape: [1], data: Float32Array.of(1) },
        d: { dtype: 'f64', shape: [1], data: Float64Array.of(-1) },
        n: { dtype: 'i32', shape: [1], data: Int32Array.of(-2) },
      },
      { z: '1', a: '2' },
    );
    const json =
      '{"__metadata__":{"a":"2","z":"1"},' +
      '"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
      '"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
      '"n":{"dtype":"I32","shape":[1],"data_offsets":[16,20]},' +
      '"flag":{"dtype":"BOOL","shape":[2],"data_offsets":[20,22]}}';
    const padded = json + ' '.repeat((8 - (json.length % 8)) % 8);
    const data = [0, 0, 0, 0, 0, 0, 0xf0, 0xbf, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0xfe, 0xff, 0xff, 0xff, 0, 1];
    expect([...bytes]).toEqual([...u64(padded.length), ...latin1(padded), ...data]);
    expect((8 + padded.length) % 8).toBe(0);
  });
});

describe('safetensors round trip', () => {
  it('encode(decode(x)) equals x for encoder output (names needing care, all dtypes, odd sizes)', () => {
    const entries: Record<string, SafetensorsEntry> = {
      ['__proto__']: { dtype: 'f32', shape: [3], data: Float32Array.of(NaN, -0, Infinity) },
      '10': { dtype: 'i32', shape: [2, 3], data: Int32Array.of(-2147483648, 2147483647, 0, 1, -1, 7) },
      '2': { dtype: 'u32', shape: [1], data: Uint32Array.of(4294967295) },
      'layer.0.weight': { dtype: 'f64', shape: [5, 1], data: Float64Array.of(Math.PI, -1e-300, 1e300, 5e-324, 0.1) },
      'ℵ "quoted"\n': { dtype: 'bool', shape: [7], data: Uint8Array.of(1, 0, 0, 1, 1, 0, 1) },
      '\u{1F600}': { dtype: 'f32', shape: [0], data: new Float32Array(0) },
      '\uFFFD': { dtype: 'f32', shape: [], data: Float32Array.of(3) },
    };
    const bytes = encodeSafetensors(entries, { '1': 'one', 'z': '', 'unicode': 'ü\u{1F600}' });
    const decoded = decodeSafetensors(bytes);
    expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(entries).sort());
    for (const [k, v] of Object.entries(entries)) expect(decoded.tensors[k]).toEqual(v);
    expect(encodeSafetensors(decoded.tensors, decoded.metadata)).toEqual(bytes);
    // and the same bytes whatever order the entries came in
    const reversed = Object.fromEntries(Object.entries(entries).reverse());
    expect(encodeSafetensors(reversed, { unicode: 'ü\u{1F600}', z: '', '1': 'one' })).toEqual(bytes);
  });

  it('refuses bad input to the encoder', () => {
    expect(() => encodeSafetensors({ a: { dtype: 'f32', shape: [2], data: Float32Array.of(1) } })).toThrow(ShapeError);
    expect(() => encodeSafetensors({ a: { dtype: 'f32', shape: [1], data: Float64Array.of(1) } })).toThrow(DTypeError);
    expect(() => encodeSafetensors({ a: { dtype: 'bool', shape: [1], data: Uint8Array.of(2) } })).toThrow(ValueError);
    expect(() => encodeSafetensors({ a: { dtype: 'f32', shape: [-1], data: new Float32Array(0) } })).toThrow(ShapeError);
    expect(() => encodeSafetensors({ __metadata__: { dtype: 'f32', shape: [0], data: new Float32Array(0) } })).toThrow(ValueError);
    expect(() => encodeSafetensors({}, { k: 1 as unknown as string })).toThrow(ValueError);
  });
});

describe('safetensors refuses malformed files', () => {
  const ok = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const eight = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40];

  it('accepts the base file the cases below damage', () => {
    expect(decodeSafetensors(file(ok, eight)).tensors.a!.data).toEqual(Float32Array.of(1, 2));
  });

  it('truncated: shorter than the length field, header cut, data cut', () => {
    expect(refuse(new Uint8Array(5)).where).toBe('x.safetensors at byte 5');
    const whole = file(ok, eight);
    expect(refuse(whole.subarray(0, 30)).expected).toContain('header length ≤ 22');
    expect(refuse(whole.subarray(0, whole.length - 2)).message).toContain('end ≤ 6');
  });

  it('header length beyond the file, above the cap, or too small', () => {
    expect(refuse(file(ok, eight, 1000)).received).toBe('1000');
    const huge = file(ok, eight);
    huge.set([0, 0, 0, 0, 0, 0xff, 0xff, 0xff], 0); // the reference's test_header_too_large
    expect(refuse(huge).where).toBe('x.safetensors at byte 0');
    const capped = new Uint8Array(8 + 100_000_008);
    capped.set(u64(100_000_001), 0);
    expect(refuse(capped).expected).toContain('≤ 100000000');
    expect(refuse(file('{}', [], 1)).expected).toContain('≥ 2');
  });

  it('not a JSON object: array, invalid JSON, bad UTF-8, not starting with {', () => {
    expect(refuse(file('[1,2]  ')).where).toBe('x.safetensors at byte 8');
    expect(refuse(file('{"a":')).expected).toBe('valid JSON');
    const badUtf8 = file('{"a\u00ff":1}');
    badUtf8[12] = 0x28; // 'ÿ' is c3 bf: a lead byte followed by '(' is not UTF-8
    expect(refuse(badUtf8).expected).toBe('valid UTF-8');
    expect(refuse(file(' {}')).expected).toBe("a header starting with '{'");
    expect(refuse(file('{} x')).expected).toBe('valid JSON');
  });

  it('entries: missing or extra fields, bad dtype, bad shape, bad offsets', () => {
    expect(refuse(file('{"a":{"dtype":"F32","shape":[2]}}', eight)).expected).toBe('a field "data_offsets"');
    expect(refuse(file('{"a":{"dtype":"F32","data_offsets":[0,8]}}', eight)).expected).toBe('a field "shape"');
    expect(refuse(file('{"a":{"shape":[2],"data_offsets":[0,8]}}', eight)).expected).toBe('a field "dtype"');
    expect(refuse(file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}', eight)).received).toBe('field "x"');
    const fake = refuse(file('{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}', eight));
    expect([fake.received, fake.message.includes('not a safetensors dtype')]).toEqual(['"F33"', true]);
    const f16 = refuse(file('{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}', eight));
    expect(f16.message).toContain('does not hold');
    expect(refuse(file('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', eight)).where).toContain('tensor "a": shape');
    expect(refuse(file('{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}', eight)).where).toContain('shape');
    expect(refuse(file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}', eight)).where).toContain('data_offsets');
    expect(refuse(file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}', eight)).expected).toBe('begin ≤ end');
    expect(refuse(file('{"a":7}', eight)).received).toBe('7');
  });

  it('wrong sizes: end - begin ≠ prod(shape) × dtype size', () => {
    const e = refuse(file('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', eight));
    expect([e.expected.startsWith('12 bytes'), e.received]).toEqual([true, '8 bytes [0, 8]']);
    expect(refuse(file('{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}', eight)).expected).toContain('16 bytes');
  });

  it('overlapping offsets, holes, unindexed trailing bytes', () => {
    const two = (a: string, b: string) => `{"a":{"dtype":"F32","shape":[1],"data_offsets":${a}},"b":{"dtype":"F32","shape":[1],"data_offsets":${b}}}`;
    expect(refuse(file(two('[0,4]', '[0,4]'), eight)).message).toMatch(/overlaps "[ab]"/);
    expect(refuse(file(two('[0,4]', '[2,6]'), eight)).message).toContain('overlaps');
    expect(Object.keys(decodeSafetensors(file(two('[4,8]', '[0,4]'), eight)).tensors).sort()).toEqual(['a', 'b']);
    expect(refuse(file(two('[0,4]', '[8,12]'), [...eight, 1, 2, 3, 4])).message).toContain('hole of 4');
    expect(refuse(file(two('[4,8]', '[8,12]'), [...eight, 1, 2, 3, 4])).message).toContain('hole of 4');
    const trailing = refuse(file(ok, [...eight, 9, 9]));
    expect([trailing.where, trailing.received]).toEqual([`x.safetensors at byte ${8 + ok.length + 8}`, '2 unindexed bytes']);
    // the reference's test_metadata_incomplete_buffer: a polyglot tail after valid data
    const polyglot = latin1('<\x00\x00\x00\x00\x00\x00\x00{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}' + '\x00'.repeat(16) + 'extra_bogus_data_for_polyglot_file');
    expect(refuse(polyglot).received).toBe('34 unindexed bytes');
  });

  it('duplicate keys, metadata that is not string → string, BOOL bytes other than 0/1', () => {
    const dup = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expect(refuse(file(dup, eight)).received).toBe('"a" twice');
    expect(refuse(file('{"a":{"dtype":"F32","shape":[2],"shape":[2],"data_offsets":[0,8]}}', eight)).received).toBe('"shape" twice');
    expect(refuse(file(`{"__metadata__":{"k":1},${ok.slice(1)}`, eight)).where).toContain('__metadata__.k');
    expect(refuse(file(`{"__metadata__":["x"],${ok.slice(1)}`, eight)).received).toBe('an array');
    const boolHeader = '{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}';
    expect(refuse(file(boolHeader, [1, 2])).where).toBe(`x.safetensors at byte ${8 + boolHeader.length + 1}`);
  });
});

describe('safetensors files', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'alphadrop-st-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('saves through a temporary file and a rename, loads back, leaves no temporary behind', () => {
    const path = join(dir, 'model.safetensors');
    const entries = { w: { dtype: 'f32' as const, shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) } };
    saveSafetensors(path, entries, { step: '10' });
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const loaded = loadSafetensors(path);
    expect(loaded.tensors.w).toEqual(entries.w);
    expect(loaded.metadata.step).toBe('10');
    // overwrite: the old file is replaced whole
    saveSafetensors(path, { w: { dtype: 'f32', shape: [1], data: Float32Array.of(9) } });
    expect(loadSafetensors(path).tensors.w!.data).toEqual(Float32Array.of(9));
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });

  it('a failed save leaves the previous file untouched and no temporary file', () => {
    const path = join(dir, 'keep.safetensors');
    saveSafetensors(path, { a: { dtype: 'i32', shape: [1], data: Int32Array.of(1) } });
    const before = readFileSync(path);
    expect(() => saveSafetensors(path, { a: { dtype: 'i32', shape: [2], data: Int32Array.of(1) } })).toThrow(ShapeError);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(() => saveSafetensors(join(dir, 'no-such-dir', 'x.safetensors'), {})).toThrow();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('load errors name the path', () => {
    const path = join(dir, 'bad.safetensors');
    writeFileSync(path, file('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', [0, 0, 0, 0, 0, 0, 0, 0]));
    expect(() => loadSafetensors(path)).toThrow(path);
    expect(() => loadSafetensors(join(dir, 'missing.safetensors'))).toThrow(DataError);
    expect(existsSync(join(dir, 'missing.safetensors'))).toBe(false);
  });
});
