#!/usr/bin/env node
// Cuts a sample from canonical IDX files (MNIST, Fashion-MNIST): the first N training and
// the first M test items, in IDX format, gzipped. The shipped samples were made with
//   node scripts/make-idx-sample.mjs <mnist dir> packages/bbalpha/fixtures/mnist-sample --train 8000 --test 1000
//   node scripts/make-idx-sample.mjs <fashion-mnist dir> packages/playground/fixtures/fashion-sample --test 16
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';

const usage = 'usage: node scripts/make-idx-sample.mjs <source dir> <out dir> [--train N] [--test M]';
const { values, positionals } = parseArgs({ allowPositionals: true, options: { train: { type: 'string' }, test: { type: 'string' } } });
const [src, out] = positionals;
const counts = { train: values.train, t10k: values.test };
if (!src || !out || positionals.length > 2 || Object.values(counts).every((c) => c === undefined)) {
  console.error(usage);
  process.exit(2);
}
mkdirSync(out, { recursive: true });

/** The IDX header with its count set to `count`, then the first `count` items. */
function take(name, count) {
  const raw = gunzipSync(readFileSync(join(src, `${name}.gz`)));
  const magic = raw.readUInt32BE(0);
  const header = magic === 0x803 ? 16 : 8;
  const itemBytes = magic === 0x803 ? raw.readUInt32BE(8) * raw.readUInt32BE(12) : 1;
  if (raw.readUInt32BE(4) < count) throw new Error(`${name}: ${count} items wanted, ${raw.readUInt32BE(4)} in the file`);
  const head = Buffer.from(raw.subarray(0, header));
  head.writeUInt32BE(count, 4);
  const body = raw.subarray(header, header + count * itemBytes);
  // mtime 0 in the gzip header (zlib's default): the same input always gives the same bytes
  writeFileSync(join(out, `${name}.gz`), gzipSync(Buffer.concat([head, body]), { level: 9 }));
}
for (const [split, value] of Object.entries(counts)) {
  if (value === undefined) continue;
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`--${split === 't10k' ? 'test' : 'train'}: expected a positive integer, got ${value}`);
  take(`${split}-images-idx3-ubyte`, count);
  take(`${split}-labels-idx1-ubyte`, count);
}
