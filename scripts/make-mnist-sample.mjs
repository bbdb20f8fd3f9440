#!/usr/bin/env node
// Writes the embedded MNIST sample (the main job's default data) from the canonical IDX
// files: the first 8,000 training and the first 1,000 test digits, in IDX format, gzipped.
//   node scripts/make-mnist-sample.mjs <mnist dir> <out dir>
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';

const [src, out] = process.argv.slice(2);
if (!src || !out) {
  console.error('usage: node scripts/make-mnist-sample.mjs <mnist dir> <out dir>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });
function take(name, count) {
  const raw = gunzipSync(readFileSync(join(src, `${name}.gz`)));
  const magic = raw.readUInt32BE(0);
  const header = magic === 0x803 ? 16 : 8;
  const itemBytes = magic === 0x803 ? raw.readUInt32BE(8) * raw.readUInt32BE(12) : 1;
  const head = Buffer.from(raw.subarray(0, header));
  head.writeUInt32BE(count, 4);
  const body = raw.subarray(header, header + count * itemBytes);
  writeFileSync(join(out, `${name}.gz`), gzipSync(Buffer.concat([head, body]), { level: 9 }));
}
take('train-images-idx3-ubyte', 8000);
take('train-labels-idx1-ubyte', 8000);
take('t10k-images-idx3-ubyte', 1000);
take('t10k-labels-idx1-ubyte', 1000);
