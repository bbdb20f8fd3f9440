#!/usr/bin/env node
// Writes the playground's Fashion-MNIST sample (out-of-distribution items shown beside
// digits) from the canonical IDX files: the first 16 test items, in IDX format, gzipped.
//   node scripts/make-fashion-sample.mjs <fashion-mnist dir> <out dir>
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';

const COUNT = 16;
const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error('usage: node scripts/make-fashion-sample.mjs <fashion-mnist dir> <out dir>');
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
take('t10k-images-idx3-ubyte', COUNT);
take('t10k-labels-idx1-ubyte', COUNT);
