// The playground's worker (worker.ts) driven through its message protocol in Node: the
// worker's global scope is stood in for (onmessage, postMessage) and fetch serves the
// repository's data files, so the replies of protocol.ts can be checked one by one on the
// CPU backend. The real-browser run of the worker is the page's suite.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Reply, Request } from '../../packages/playground/src/protocol.js';
import { FASHION_DIR, MNIST_DIR, tinyConfig, WORKER_DATA_URLS } from './session-data.js';

const replies: Reply[] = [];
let waiters: { match: (r: Reply) => boolean; resolve: (r: Reply) => void }[] = [];
const scope = globalThis as unknown as { onmessage: ((e: { data: Request }) => void) | null; postMessage: (r: Reply) => void };

function send(req: Request): void {
  scope.onmessage!({ data: req });
}

/** The next reply (from now on, or already received and not yet taken) that `match` accepts. */
function reply<T extends Reply['type']>(type: T, match: (r: Extract<Reply, { type: T }>) => boolean = () => true): Promise<Extract<Reply, { type: T }>> {
  const ok = (r: Reply): r is Extract<Reply, { type: T }> => r.type === type && match(r as Extract<Reply, { type: T }>);
  const at = replies.findIndex(ok);
  if (at >= 0) return Promise.resolve(replies.splice(at, 1)[0] as Extract<Reply, { type: T }>);
  return new Promise((resolve) => waiters.push({ match: ok, resolve: resolve as (r: Reply) => void }));
}

const urls = WORKER_DATA_URLS;

beforeAll(async () => {
  scope.postMessage = (r: Reply) => {
    const w = waiters.find((x) => x.match(r));
    if (w) {
      waiters = waiters.filter((x) => x !== w);
      w.resolve(r);
    } else replies.push(r);
  };
  vi.stubGlobal('fetch', async (url: string) => {
    const [dir, name] = url.split('/') as [string, string];
    if (name === 'missing.gz') return new Response('not here', { status: 404, statusText: 'Not Found' });
    return new Response(readFileSync(`${dir === 'mnist' ? MNIST_DIR : FASHION_DIR}/${name}`));
  });
  await import('../../packages/playground/src/worker.js');
});

afterAll(() => {
  send({ type: 'pause' });
  vi.unstubAllGlobals();
});

describe('the playground worker', () => {
  it('starts, trains in slices, pauses, answers requests, and refuses a wrong checkpoint by id', async () => {
    const config = tinyConfig({ alphas: [0, 1], evalEvery: 4 });
    send({ type: 'start', config, data: urls });
    const ready = await reply('ready');
    // in Node the Wasm kernels have worker threads; a page without cross-origin isolation has none
    expect(ready).toMatchObject({ backend: 'cpu', config });
    expect(ready.adapter).toMatch(/^cpu, wasm simd(, \d+ threads)?$/);
    expect(ready.fallbackReason).toBeUndefined();
    // progress until both models have a test point
    const seen = new Set<number>();
    while (seen.size < 2) {
      const p = await reply('progress');
      expect(p.paused).toBe(false);
      for (const q of p.points) if (q.testAccuracy !== undefined) seen.add(q.alpha);
    }
    send({ type: 'set', learningRate: 5e-3 });
    send({ type: 'pause' });
    await reply('progress', (p) => p.paused);

    send({ type: 'predict', id: 1, pixels: new Float32Array(784).fill(0.5) });
    const predicted = await reply('predicted', (r) => r.id === 1);
    expect(predicted.predictions.map((p) => p.alpha)).toEqual([0, 1]);

    send({ type: 'fgs', id: 2, eta: 0.1, count: 20 });
    const fgs = await reply('fgsDone', (r) => r.id === 2);
    expect(fgs.rows).toHaveLength(2);
    expect(fgs.images).toHaveLength(8);

    send({ type: 'ood', id: 3 });
    const ood = await reply('oodDone', (r) => r.id === 3);
    expect(ood.rows[1]!.fashionEntropy).toHaveLength(16);

    send({ type: 'export', id: 4, alpha: 1 });
    const exported = await reply('exported', (r) => r.id === 4);
    expect(exported.fileName).toMatch(/^bbalpha-alpha1-step\d+\.safetensors$/);
    send({ type: 'import', id: 5, bytes: exported.bytes });
    expect(await reply('imported', (r) => r.id === 5)).toMatchObject({ alpha: 1 });

    send({ type: 'import', id: 6, bytes: new Uint8Array(16) });
    const refused = await reply('failed', (r) => r.id === 6);
    expect(refused.message).toMatch(/^DataError/);
    send({ type: 'export', id: 7, alpha: 0.25 });
    expect((await reply('failed', (r) => r.id === 7)).message).toMatch(/ValueError.*0, 1/);

    send({ type: 'resume' });
    const resumed = await reply('progress', (p) => !p.paused && p.points.length > 0);
    expect(resumed.stepsPerSecond).toBeGreaterThan(0);
    send({ type: 'pause' });
    await reply('progress', (p) => p.paused);
  });

  it('reports a start whose data cannot be fetched as failed, naming the URL', async () => {
    send({ type: 'start', config: tinyConfig(), data: { ...urls, fashionLabels: 'fashion/missing.gz' } });
    const failed = await reply('failed');
    expect(failed.message).toMatch(/fashion\/missing\.gz.*404/);
  });
});
