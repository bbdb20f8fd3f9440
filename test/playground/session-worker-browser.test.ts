// The playground's worker in a real browser: worker.ts bundled by esbuild for the browser,
// started as a module Worker by a bare page in headless Chromium (WebGPU on SwiftShader),
// fetching and gunzipping the shipped data itself. It must train on WebGPU, and the
// checkpoint it exports must predict in Node, on the CPU, what the worker predicted in the
// page: same masks, probabilities within 1e-5, same argmax. A missing browser or adapter
// fails the suite.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import type { Browser } from 'puppeteer-core';
import { cpuBackend, setBackend, tensor } from '@alphadrop/core';
import { decodeSafetensors, modelFromCheckpoint } from '@alphadrop/nn';
import { mcPredictProbs } from '@alphadrop/bbalpha';
import type { Prediction, Reply } from '../../packages/playground/src/protocol.js';
import { launchChromium, serveFiles } from '../helpers/chromium.js';
import { FASHION_DIR, MNIST_DIR, tinyConfig, WORKER_DATA_URLS } from './session-data.js';

let server: { url: string; close: () => Promise<void> };
let browser: Browser;

const config = tinyConfig({ alphas: [0, 1], hidden: [8], batchSize: 8, trainSize: 64, testSize: 16, testSamples: 3, evalEvery: 4, backend: 'webgpu' });
const urls = WORKER_DATA_URLS;
/** A stroke-like image: the same in the page and in Node. */
const pixels = Float32Array.from({ length: 784 }, (_, i) => (Math.abs((i % 28) - 14) < 3 && i > 140 && i < 640 ? 1 : 0));

// The page: start, and once both models have a test point, pause, predict and export.
const page = `<!doctype html><meta charset="utf-8"><script type="module">
const w = new Worker('/worker.js', { type: 'module' });
const replies = [];
globalThis.__replies = replies;
w.onerror = (e) => replies.push({ type: 'failed', message: 'worker error: ' + e.message });
w.onmessage = ({ data }) => {
  replies.push(data.type === 'exported' ? { ...data, bytes: Array.from(data.bytes) } : data);
  const evaluated = new Set(replies.flatMap((r) => (r.type === 'progress' ? r.points : [])).filter((p) => p.testAccuracy !== undefined).map((p) => p.alpha));
  if (evaluated.size === 2 && !globalThis.__asked) {
    globalThis.__asked = true;
    w.postMessage({ type: 'pause' });
    w.postMessage({ type: 'predict', id: 1, pixels: new Float32Array(${JSON.stringify(Array.from(pixels))}) });
    w.postMessage({ type: 'export', id: 2, alpha: 1 });
  }
};
w.postMessage({ type: 'start', config: ${JSON.stringify(config)}, data: ${JSON.stringify(urls)} });
</script>`;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: { worker: fileURLToPath(new URL('../../packages/playground/src/worker.ts', import.meta.url)) },
    outdir: '/bundle',
    write: false,
    bundle: true,
    splitting: true, // the Node device layer behind kernels' init becomes a chunk the worker never fetches
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)),
    logLevel: 'error',
  });
  const files: Record<string, string | Uint8Array> = { '/index.html': page };
  for (const f of bundle.outputFiles) files[f.path.slice('/bundle'.length)] = f.text;
  for (const [url, dir] of Object.entries(urls).map(([, u]) => [u, u.startsWith('mnist/') ? MNIST_DIR : FASHION_DIR] as const))
    files[`/${url}`] = readFileSync(`${dir}/${url.split('/')[1]}`);
  server = await serveFiles(files);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the playground worker in Chromium', () => {
  it('trains on WebGPU and exports a checkpoint that predicts in Node as the worker did', async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(server.url);
    await tab.waitForFunction('globalThis.__replies?.some((r) => r.type === "exported" || r.type === "failed")', { timeout: 240_000 });
    const replies = (await tab.evaluate('globalThis.__replies')) as Reply[];
    expect(errors).toEqual([]);
    expect(replies.filter((r) => r.type === 'failed')).toEqual([]);
    expect(replies[0]).toMatchObject({ type: 'ready', backend: 'webgpu' });
    const points = replies.flatMap((r) => (r.type === 'progress' ? r.points : []));
    expect(points.filter((p) => p.step === 4).map((p) => p.alpha).sort()).toEqual([0, 1]);
    expect(points.every((p) => Number.isFinite(p.loss))).toBe(true);

    const predicted = replies.find((r): r is Extract<Reply, { type: 'predicted' }> => r.type === 'predicted')!;
    const exported = replies.find((r): r is Extract<Reply, { type: 'exported' }> => r.type === 'exported')!;
    const inPage: Prediction = predicted.predictions.find((p) => p.alpha === 1)!;
    setBackend(cpuBackend());
    const { model, metadata } = modelFromCheckpoint(decodeSafetensors(Uint8Array.from(exported.bytes), exported.fileName), exported.fileName);
    expect(metadata).toMatchObject({ alpha: 1, seed: config.seed, samples: config.samples });
    const K = config.testSamples;
    const probs = mcPredictProbs(model, tensor(pixels, [1, 784]), K, { seed: config.seed, pass: 0, chunk: K });
    const inNode = Array.from(await probs.data());
    probs.dispose();
    model.dispose();
    inNode.forEach((v, c) => expect(Math.abs(v - inPage.probs[c]!)).toBeLessThan(1e-5));
    const argmax = (p: readonly number[]) => p.indexOf(Math.max(...p));
    expect(argmax(inNode)).toBe(argmax(inPage.probs));
    expect(inPage.mutualInformation).toBeGreaterThan(0);
  }, 300_000);
});
