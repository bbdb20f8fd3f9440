// The own-data readers: CSV (quotes, doubled quotes, commas and line breaks inside quotes,
// CRLF, blank lines, a byte-order mark) against tables written out by hand; NPY round trips
// of arrays encoded here (v1 by encodeNpy, v2 and integer dtypes built byte by byte); and the
// refusals, each naming file:line:column (CSV) or the byte offset / header field (NPY).
import { describe, expect, it } from 'vitest';
import { DataError, ValueError } from '@alphadrop/core';
import {
  checkpointEntries, classesOf, classIndices, encodeNpy, mlp, parseCsv, parseNpy, readCheckpointMetadata, selectRows, tableFromCsv, tableFromNpy,
} from '@alphadrop/nn';

const refusal = (fn: () => unknown): DataError => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('expected a DataError');
};

describe('CSV', () => {
  it('quoted fields with commas, doubled quotes and line breaks; CRLF; blank lines; BOM', () => {
    const text = '\ufeffx,"na,me",label\r\n1.5,-2e3,"a ""b"", c"\r\n\r\n.5,+3,"two\nlines"\r\n';
    const csv = parseCsv(text, 'f.csv');
    expect(csv.header).toEqual(['x', 'na,me', 'label']);
    expect(csv.records.map((r) => r.fields.map((f) => f.text))).toEqual([['1.5', '-2e3', 'a "b", c'], ['.5', '+3', 'two\nlines']]);
    expect(csv.records.map((r) => r.line)).toEqual([2, 4]);
    expect(csv.records[1]!.fields.map((f) => [f.line, f.column])).toEqual([[4, 1], [4, 4], [4, 7]]);
    const t = tableFromCsv(csv, { target: 'label', targetKind: 'label' });
    expect(t.featureNames).toEqual(['x', 'na,me']);
    expect(Array.from(t.x)).toEqual([1.5, -2000, 0.5, 3]);
    expect(t.target).toEqual({ name: 'label', kind: 'label', labels: ['a "b", c', 'two\nlines'] });
    expect(t.rowWhere).toEqual(['f.csv:2', 'f.csv:4']);
  });

  it('features picked by name in the model’s order; the target may be absent when predicting', () => {
    const t = tableFromCsv(parseCsv('c,a,b\n3,1,2\n6,4,5\n', 'p.csv'), { target: 'y', requireTarget: false, features: ['a', 'b', 'c'] });
    expect(Array.from(t.x)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(t.target).toBeUndefined();
  });

  it('class labels sorted (numerically when numeric), indices, rows selected', () => {
    expect(classesOf(['b', 'a', 'c', 'a'])).toEqual(['a', 'b', 'c']);
    expect(classesOf(['10', '9', '2'])).toEqual(['2', '9', '10']);
    const t = tableFromCsv(parseCsv('x,y\n1,dog\n2,cat\n3,dog\n', 'c.csv'), { target: 'y', targetKind: 'label' });
    expect(Array.from(classIndices(t, classesOf(['dog', 'cat'])))).toEqual([1, 0, 1]);
    const s = selectRows(t, [2, 1]);
    expect([Array.from(s.x), s.target, s.rowWhere]).toEqual([[3, 2], { name: 'y', kind: 'label', labels: ['dog', 'cat'] }, ['c.csv:4', 'c.csv:3']]);
    expect(refusal(() => classIndices(t, ['dog'])).message).toContain('c.csv:3');
  });

  it('refusals name file:line:column', () => {
    const where = (text: string, sel = {}) => refusal(() => tableFromCsv(parseCsv(text, 'bad.csv'), { target: 'y', ...sel })).message;
    expect(where('a,y\n1,2\n3\n')).toMatch(/^bad\.csv:3:1: expected 2 fields .*got 1 fields/);
    expect(where('a,y\n1,2\n3,4,5\n')).toMatch(/^bad\.csv:3:3: expected 2 fields .*got 3 fields/);
    expect(where('a,y\n1,2\n3,x7\n')).toMatch(/^bad\.csv:3:3: expected a number in column "y", got "x7"/);
    expect(where('a,y\n 1 ,2\n0x10,4\n')).toMatch(/^bad\.csv:3:1: .*"0x10"/);
    expect(where('a,y\n,2\n')).toMatch(/^bad\.csv:2:1: .*an empty cell/);
    expect(where('a,y\n1,inf\n')).toMatch(/^bad\.csv:2:3: .*"inf".*missing or infinite/);
    expect(where('a,b\n1,2\n')).toMatch(/^bad\.csv:1: expected a target column "y"/);
    expect(where('a,y\n1,2\n', { minRows: 2 })).toMatch(/^bad\.csv: expected at least 2 data rows, got 1/);
    expect(where('a,y\n"1,2\n')).toMatch(/^bad\.csv:2:1: expected a closing quote/);
    expect(where('a,y\n"1"x,2\n')).toMatch(/^bad\.csv:2:4: expected a comma/);
    expect(where('a,a,y\n1,2,3\n')).toMatch(/^bad\.csv:1:3: expected distinct column names/);
    expect(where('')).toMatch(/^bad\.csv: expected a header row/);
    expect(where('a,y\n1,2\n', { features: ['a', 'b'] })).toMatch(/^bad\.csv:1: expected a feature column "b"/);
  });
});

/** A .npy file built byte by byte: version, descr and shape as given, the data bytes after. */
function npyBytes(major: number, descr: string, shape: string, data: Uint8Array, fortran = 'False'): Uint8Array {
  const lenBytes = major === 1 ? 2 : 4;
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((8 + lenBytes + header.length) % 64)) + '\n';
  const out = new Uint8Array(8 + lenBytes + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const v = new DataView(out.buffer);
  if (major === 1) v.setUint16(8, header.length, true);
  else v.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[8 + lenBytes + i] = header.charCodeAt(i);
  out.set(data, 8 + lenBytes + header.length);
  return out;
}

describe('NPY', () => {
  it('round trips f4 and f8 (v1), and reads v2 headers and i4, i8, u1 data', () => {
    const f8 = Float64Array.from([1.25, -3, 1e300, 0.1, 7, 8]);
    const a = parseNpy(encodeNpy(f8, [2, 3]), 'a.npy');
    expect([a.shape, a.descr, Array.from(a.values)]).toEqual([[2, 3], '<f8', Array.from(f8)]);
    const f4 = Float32Array.from([0.1, 2, 3]);
    expect(Array.from(parseNpy(encodeNpy(f4, [3]), 'b.npy').values)).toEqual(Array.from(f4));
    const i4 = new Uint8Array(new Int32Array([-5, 7]).buffer);
    expect(Array.from(parseNpy(npyBytes(2, '<i4', '(2,)', i4), 'c.npy').values)).toEqual([-5, 7]);
    const i8 = new Uint8Array(new BigInt64Array([-(2n ** 40n), 3n]).buffer);
    expect(Array.from(parseNpy(npyBytes(1, '<i8', '(1, 2)', i8), 'd.npy').values)).toEqual([-(2 ** 40), 3]);
    expect(Array.from(parseNpy(npyBytes(1, '|u1', '(3,)', Uint8Array.from([0, 128, 255])), 'e.npy').values)).toEqual([0, 128, 255]);
  });

  it('a feature matrix and a target as a table', () => {
    const t = tableFromNpy(parseNpy(encodeNpy(Float64Array.from([1, 2, 3, 4]), [2, 2])), parseNpy(encodeNpy(Float64Array.from([5, 6]), [2])), { features: 'x.npy', target: 'y.npy' });
    expect([t.featureNames, Array.from(t.x), t.target]).toEqual([['x0', 'x1'], [1, 2, 3, 4], { name: 'y', kind: 'number', values: Float64Array.from([5, 6]) }]);
    expect(refusal(() => tableFromNpy(parseNpy(encodeNpy(Float64Array.from([1, 2]), [2])), undefined, { features: 'x.npy' })).message).toMatch(/^x\.npy: header field 'shape': expected a 2-D/);
    expect(refusal(() => tableFromNpy(parseNpy(encodeNpy(Float64Array.from([1, NaN]), [1, 2])), undefined, { features: 'x.npy' })).message).toMatch(/^x\.npy row 0 column 1: expected a finite number, got NaN/);
  });

  it('refusals name the byte offset or the header field', () => {
    const good = encodeNpy(Float64Array.from([1, 2]), [2]);
    expect(refusal(() => parseNpy(new TextEncoder().encode('PK\x03\x04 not npy'), 'z.npy')).message).toMatch(/^z\.npy at byte 0: expected the \.npy magic/);
    expect(refusal(() => parseNpy(good.subarray(0, good.length - 3), 't.npy')).message).toMatch(/^t\.npy at byte 128: expected 16 data bytes .*got 13 bytes \(a truncated file\)/);
    expect(refusal(() => parseNpy(npyBytes(1, '>f8', '(1,)', new Uint8Array(8)), 'b.npy')).message).toMatch(/^b\.npy: header field 'descr': expected little-endian/);
    expect(refusal(() => parseNpy(npyBytes(1, '<c16', '(1,)', new Uint8Array(16)), 'c.npy')).message).toMatch(/^c\.npy: header field 'descr': expected one of/);
    expect(refusal(() => parseNpy(npyBytes(1, '<f8', '(1, 1)', new Uint8Array(8), 'True'), 'f.npy')).message).toMatch(/^f\.npy: header field 'fortran_order': expected C order/);
  });
});

describe('checkpoint data columns', () => {
  it('saved and read back; malformed fields refused', async () => {
    const model = mlp([2, 3, 2], { seed: 1 });
    const data = { task: 'classification' as const, features: ['a', 'b'], target: 'y', classes: ['no', 'yes'] };
    const file = await checkpointEntries(model, null, { seed: 1, data });
    expect(readCheckpointMetadata(file, 'm').data).toEqual(data);
    await expect(checkpointEntries(model, null, { seed: 1, data: { ...data, classes: ['only'] } })).rejects.toThrow(ValueError);
    file.metadata.data = JSON.stringify({ ...data, features: ['a', 'a'] });
    expect(refusal(() => readCheckpointMetadata(file, 'm')).message).toMatch(/^m: metadata data\.features: expected distinct/);
    file.metadata.data = JSON.stringify({ task: 'regression', features: ['a'], target: 'y', classes: ['x', 'z'] });
    expect(refusal(() => readCheckpointMetadata(file, 'm')).message).toMatch(/data\.classes: expected no classes for a regression/);
    model.dispose();
  });
});
