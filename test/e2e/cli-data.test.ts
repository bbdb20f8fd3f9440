// `alphadrop data fetch` end to end against a local HTTP server on 127.0.0.1 serving
// Debian's dataset-fashion-mnist files (npm test installs the package): the files land in
// --cache-dir, verified, and a second fetch finds them there.
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FASHION_MNIST_DEBIAN_DIR } from '@alphadrop/nn/node';
import { expectRefusal, filesUnder, refuse, run, tempDir } from './cli-helpers.js';

const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
let server: Server;
let base = '';
const requests: string[] = [];

beforeAll(async () => {
  if (!existsSync(FASHION_MNIST_DEBIAN_DIR)) throw new Error(`${FASHION_MNIST_DEBIAN_DIR} missing: install dataset-fashion-mnist (npm test does)`);
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const name = (req.url ?? '').replace(/^\/fm\//, '');
    if (!FILES.includes(name)) return void res.writeHead(404).end();
    const body = readFileSync(join(FASHION_MNIST_DEBIAN_DIR, name));
    res.writeHead(200, { 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/fm/`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

describe('data fetch', () => {
  it('downloads fashion-mnist into --cache-dir; a second fetch downloads nothing', async () => {
    const cache = tempDir();
    await run(['data', 'fetch', 'fashion-mnist', '--cache-dir', cache, '--base-url', base]);
    expect(filesUnder(cache)).toEqual(FILES.map((f) => `fashion-mnist/${f}`).sort());
    const before = requests.length;
    await run(['data', 'fetch', 'fashion-mnist', '--cache-dir', cache, '--base-url', base]);
    expect(requests.length).toBe(before);
  }, 60_000);

  it('a --cache-dir that is a file is refused before any download', async () => {
    const f = join(tempDir(), 'file');
    writeFileSync(f, 'x');
    const before = requests.length;
    expectRefusal(await refuse(['data', 'fetch', 'fashion-mnist', '--cache-dir', f, '--base-url', base]), 'ValueError', ['--cache-dir: expected a directory', `${f} (an existing file)`]);
    expect(requests.length).toBe(before);
  });
});
