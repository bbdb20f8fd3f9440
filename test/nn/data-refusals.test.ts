// The loaders refuse bad data before any work starts (issue 9, item 3): every refusal is a
// typed error whose message names the file, the line (and column) or byte, what was
// expected and what came. Small fixtures are generated in a temporary folder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError, ValueError } from '@alphadrop/core';
import { loadFashionMnist, loadIdxDataset, loadMnist, loadUci, uciSplit } from '@alphadrop/nn/node';
import { refused } from '../helpers/refused.js';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'alphadrop-refusals-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// --- UCI -----------------------------------------------------------------------------------

/**
 * 12 rows of a 3-column table (inputs 0, 1; target 2) after one blank line, so that row r
 * sits on line r + 2 of data.txt: errors must name the file's line, not the row index.
 */
function uciRows(): string[] {
  return Array.from({ length: 12 }, (_, r) => `  ${r}.5\t${(r * 7) % 5} ${10 + r * 0.25}`);
}

interface UciFiles {
  data?: string;
  features?: string;
  target?: string;
  splits?: string;
  train?: string;
  test?: string;
}

let serial = 0;
/** A data directory holding uci/set with the given files replaced; returns [root, set dir]. */
function uciDir(files: UciFiles = {}): [string, string] {
  const root = join(tmp, `uci-${serial++}`);
  const dir = join(root, 'uci', 'set');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'data.txt'), files.data ?? `\n${uciRows().join('\n')}\n`);
  writeFileSync(join(dir, 'index_features.txt'), files.features ?? '0\n1\n');
  writeFileSync(join(dir, 'index_target.txt'), files.target ?? '2\n');
  writeFileSync(join(dir, 'n_splits.txt'), files.splits ?? '1\n');
  writeFileSync(join(dir, 'index_train_0.txt'), files.train ?? '0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n');
  writeFileSync(join(dir, 'index_test_0.txt'), files.test ?? '10\n11\n');
  return [root, dir];
}

/** data.txt with row r's field k (0-based) replaced by `token`. */
function withCell(r: number, k: number, token: string): string {
  const rows = uciRows();
  const fields = rows[r]!.trim().split(/\s+/);
  fields[k] = token;
  rows[r] = fields.join(' ');
  return `\n${rows.join('\n')}\n`;
}

const loadSplit = (root: string) => uciSplit(loadUci(root, 'set'), 0);

describe('UCI loader refusals', () => {
  it('the fixture itself loads: 10 training and 2 test rows, standardised', () => {
    const [root] = uciDir();
    const s = loadSplit(root);
    expect([s.nTrain, s.nTest, s.inputs]).toEqual([10, 2, 2]);
    // target rows 0–9: 10 + 0.25 r, mean 11.125
    expect(s.yMean).toBeCloseTo(11.125, 12);
    expect(s.yTestRaw[1]).toBe(12.75);
  });

  it('an empty training or test index file: DataError naming the file', () => {
    for (const which of ['train', 'test'] as const) {
      const [root, dir] = uciDir({ [which]: '' });
      const err = refused(DataError, () => loadSplit(root));
      expect(err.where).toBe(join(dir, `index_${which}_0.txt`));
      expect(err.expected).toBe('at least one index');
      expect(err.received).toBe('an empty file');
    }
    const [root, dir] = uciDir({ test: '\n\n' });
    expect(refused(DataError, () => loadSplit(root)).message).toBe(`${join(dir, 'index_test_0.txt')}: expected at least one index, got only blank lines`);
  });

  it('an empty features file or data file: DataError naming the file', () => {
    const [root, dir] = uciDir({ features: '' });
    expect(refused(DataError, () => loadUci(root, 'set')).where).toBe(join(dir, 'index_features.txt'));
    const [root2, dir2] = uciDir({ data: '' });
    const err = refused(DataError, () => loadUci(root2, 'set'));
    expect(err.message).toBe(`${join(dir2, 'data.txt')}: expected at least one data row, got an empty file`);
  });

  it('a cell of 1e308 or a target of 1e200 (a non-finite mean or std): DataError naming file and line', () => {
    // the mean stays finite (each value is divided by n first); the squared deviation overflows
    const [root, dir] = uciDir({ data: withCell(4, 1, '1e308') });
    const err = refused(DataError, () => loadSplit(root));
    expect(err.where).toBe(`${join(dir, 'data.txt')}:6`); // row 4, after the blank line 1
    expect(err.expected).toContain('feature column 1');
    expect(err.received).toBe('1e+308');
    expect(err.message).toMatch(/std Infinity/);

    const [root2, dir2] = uciDir({ data: withCell(7, 2, '1e200') });
    const err2 = refused(DataError, () => loadSplit(root2));
    expect(err2.where).toBe(`${join(dir2, 'data.txt')}:9`);
    expect(err2.expected).toContain('target column 2');
    expect(err2.received).toBe('1e+200');
  });

  it('a test value that overflows float32 once standardised: DataError naming its line', () => {
    const [root, dir] = uciDir({ data: withCell(11, 0, '1e300') }); // row 11 is a test row
    const err = refused(DataError, () => loadSplit(root));
    expect(err.where).toBe(`${join(dir, 'data.txt')}:13`);
    expect(err.expected).toContain('test feature value of column 0');
    expect(err.message).toContain('standardised to Infinity');
  });

  it('NaN, Inf, Infinity, 1e400 and hex, binary, empty-looking or suffixed tokens: DataError naming file, line, column', () => {
    const cases: [string, string][] = [
      ['NaN', 'a plain decimal number'],
      ['nan', 'a plain decimal number'],
      ['Inf', 'a plain decimal number'],
      ['-Infinity', 'a plain decimal number'],
      ['0x10', 'a plain decimal number'],
      ['0b11', 'a plain decimal number'],
      ['1_000', 'a plain decimal number'],
      ['12abc', 'a plain decimal number'],
      ['1e400', 'a number within the float64 range'],
    ];
    for (const [token, expected] of cases) {
      const [root, dir] = uciDir({ data: withCell(2, 1, token) });
      const err = refused(DataError, () => loadUci(root, 'set'));
      // row 2 is on line 4; its fields are joined by one space, so field 2 starts after "2.5 "
      expect(err.where, token).toBe(`${join(dir, 'data.txt')}:4:5`);
      expect(err.expected, token).toBe(expected);
      expect(err.received, token).toBe(JSON.stringify(token));
      expect(err.message, token).toContain('field 2');
    }
    // plain decimal forms are accepted: sign, leading dot, exponent
    const [root] = uciDir({ data: withCell(2, 1, '-.5e+1') });
    expect(loadUci(root, 'set').table.values[2 * 3 + 1]).toBe(-5);
  });

  it('hex or fractional indices and a bad split count: DataError naming file and line', () => {
    const [root, dir] = uciDir({ train: '0\n1\n0x2\n' });
    const err = refused(DataError, () => loadSplit(root));
    expect(err.where).toBe(`${join(dir, 'index_train_0.txt')}:3`);
    expect(err.received).toBe('"0x2"');
    const [root2, dir2] = uciDir({ features: '0\n1.0\n' });
    expect(refused(DataError, () => loadUci(root2, 'set')).where).toBe(`${join(dir2, 'index_features.txt')}:2`);
    for (const bad of ['1.5', '0', '0x1', '']) {
      const [root3, dir3] = uciDir({ splits: bad });
      const e = refused(DataError, () => loadUci(root3, 'set'));
      expect(e.where).toBe(`${join(dir3, 'n_splits.txt')}:1`);
      expect(e.expected).toBe('a positive integer number of splits');
    }
  });

  it('a split number out of range or not an integer: ValueError naming the data set', () => {
    const [root, dir] = uciDir();
    const ds = loadUci(root, 'set');
    for (const i of [1, -1, 0.5, Number.NaN]) {
      const err = refused(ValueError, () => uciSplit(ds, i));
      expect(err.where).toContain(dir);
      expect(err.expected).toBe('a split index in [0, 1)');
      expect(err.received).toBe(String(i));
    }
  });
});

// --- IDX ----------------------------------------------------------------------------------

/** An IDX images file of `count` images of rows × cols, pixel values (i + k) mod 256. */
function idxImages(count: number, rows: number, cols: number): Uint8Array {
  const out = new Uint8Array(16 + count * rows * cols);
  const view = new DataView(out.buffer);
  [0x00000803, count, rows, cols].forEach((v, i) => view.setUint32(4 * i, v, false));
  for (let i = 16; i < out.length; i++) out[i] = i % 256;
  return out;
}

function idxLabels(count: number): Uint8Array {
  const out = new Uint8Array(8 + count);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00000801, false);
  view.setUint32(4, count, false);
  for (let i = 0; i < count; i++) out[8 + i] = i % 10;
  return out;
}

function idxFolder(name: string, rows: number, cols: number, count = 5): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(idxImages(count, rows, cols)));
  writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(idxLabels(count)));
  return dir;
}

describe('IDX loader refusals', () => {
  it('14×14 images where MNIST needs 28×28: DataError naming the file, the header byte and the dims', () => {
    const dir = idxFolder('idx-14', 14, 14);
    for (const load of [() => loadMnist(dir, { split: 'test' }), () => loadFashionMnist(dir, { split: 'test' })]) {
      const err = refused(DataError, load);
      expect(err.message).toBe(
        `${join(dir, 't10k-images-idx3-ubyte.gz')} at byte 8: expected 28 × 28 images, got 14 × 14 images (the rows and cols of the IDX header)`,
      );
    }
    // a caller that asks for another size, or for any size, gets the images
    expect(loadIdxDataset(dir, { split: 'test', imageShape: [14, 14] }).images.length).toBe(5 * 196);
    expect(loadIdxDataset(dir, { split: 'test', imageShape: null }).rows).toBe(14);
    expect(loadMnist(idxFolder('idx-28', 28, 28), { split: 'test' }).n).toBe(5);
  });

  it('limit 0 or negative, or an offset past the end: ValueError naming the file', () => {
    const dir = idxFolder('idx-limits', 28, 28);
    const images = join(dir, 't10k-images-idx3-ubyte.gz');
    for (const limit of [0, -1, 2.5]) {
      const err = refused(ValueError, () => loadMnist(dir, { split: 'test', limit }));
      expect(err.message).toBe(`mnist (${images}): expected a limit that is an integer ≥ 1, got ${limit}`);
    }
    for (const offset of [5, -1]) {
      const err = refused(ValueError, () => loadMnist(dir, { split: 'test', offset }));
      expect(err.message).toBe(`mnist (${images}): expected an offset in [0, 4], got ${offset}`);
    }
    expect(loadMnist(dir, { split: 'test', offset: 4, limit: 100 }).n).toBe(1);
  });

  it('an IDX file of zero images: DataError naming the count', () => {
    const dir = idxFolder('idx-empty', 28, 28, 0);
    expect(refused(DataError, () => loadMnist(dir, { split: 'test' })).message).toBe(
      `${join(dir, 't10k-images-idx3-ubyte.gz')} at byte 4: expected at least one image, got a count of 0`,
    );
  });
});
