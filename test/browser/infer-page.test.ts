// The inference entry as a page loads it: dist/browser/infer.js (scripts/browser-bundles.mjs),
// imported by a plain <script type="module"> with no bundler, reads a checkpoint written in
// Node and predicts on WebGPU (SwiftShader) what Node predicts on the CPU: the same masks, so
// probabilities within 1e-5 and the same argmax. And alphadrop.js, the whole library as one
// module, trains a BB-α step on WebGPU from a plain module script.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import { cpuBackend, keyFor, randomUniform, setBackend } from '@alphadrop/core';
import { checkpointEntries, encodeSafetensors, mlp } from '@alphadrop/nn';
import { loadPredictor, predictClasses } from '@alphadrop/bbalpha/infer';
// @ts-expect-error: a plain .mjs build script without declarations
import { buildBrowserBundles, BROWSER_ENTRIES } from '../../scripts/browser-bundles.mjs';
import { launchChromium, serveFiles } from '../helpers/chromium.js';

const PAGE = `<!doctype html><meta charset="utf-8"><title>infer.js</title>
<script type="module">
import { init, loadPredictor, predictClasses } from './infer.js';
window.__infer = (async () => {
  const backend = await init({ backend: 'webgpu' });
  const bytes = new Uint8Array(await (await fetch('./model.safetensors')).arrayBuffer());
  const pixels = new Float32Array(await (await fetch('./inputs.f32')).arrayBuffer());
  const p = loadPredictor(bytes, 'model.safetensors');
  const out = await predictClasses(p, pixels, { seed: 7, pass: 1 });
  return { backend: backend.description, probs: Array.from(out.probs), predicted: Array.from(out.predicted), entropy: Array.from(out.entropy), mi: Array.from(out.mutualInformation) };
})().catch((e) => ({ error: String(e && e.stack || e) }));
</script>`;

// The whole library as one module: train a step of a dropout MLP in the page on WebGPU.
const WHOLE = `<!doctype html><meta charset="utf-8"><title>alphadrop.js</title>
<script type="module">
import { core, kernels, nn, bbalpha } from './alphadrop.js';
window.__whole = (async () => {
  const backend = await kernels.init({ backend: 'webgpu' });
  const model = nn.mlp([6, 8, 3], { dropout: 0.5, seed: 1 });
  const x = core.randomUniform([4, 6], core.keyFor(1, 'user'));
  const y = core.tensor(Int32Array.from([0, 1, 2, 0]), [4]);
  const loss = (m, xb, yb, ctx) => bbalpha.bbAlphaLoss(bbalpha.mcForward(m, xb, 2, ctx), yb, 0.5);
  const optimizer = new nn.Optimizer(model, { rule: 'sgd', lr: 0.1 });
  const first = await nn.trainStep(model, optimizer, loss, x, y, 1, { keepLoss: true }).loss.data();
  return { backend: backend.description, loss: first[0] };
})().catch((e) => ({ error: String(e && e.stack || e) }));
</script>`;

let browser: Browser;
let server: { url: string; close: () => Promise<void> };
let bytes: Uint8Array;
let inputs: Float32Array;

beforeAll(async () => {
  setBackend(cpuBackend('fast'));
  const model = mlp([784, 32, 10], { dropout: 0.5, seed: 11 });
  const file = await checkpointEntries(model, null, { seed: 11, alpha: 0.5, samples: 8 });
  model.dispose();
  bytes = encodeSafetensors(file.tensors, file.metadata);
  inputs = (await randomUniform([3, 784], keyFor(3, 'user')).data()) as Float32Array;
  const rows = (await buildBrowserBundles({ entries: BROWSER_ENTRIES })) as { files: string[]; code: Record<string, string> }[];
  const files: Record<string, string | Uint8Array> = { '/index.html': PAGE, '/whole.html': WHOLE, '/model.safetensors': bytes, '/inputs.f32': new Uint8Array(inputs.buffer) };
  for (const row of rows) for (const [name, text] of Object.entries(row.code)) files[`/${name}`] = text;
  server = await serveFiles(files);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('infer.js in headless Chromium', () => {
  it('predicts a Node checkpoint on WebGPU as Node does on the CPU', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.url);
    await page.waitForFunction('window.__infer !== undefined', { timeout: 30_000 });
    const got = (await page.evaluate('window.__infer')) as { error?: string; backend: string; probs: number[]; predicted: number[]; entropy: number[]; mi: number[] };
    expect(errors).toEqual([]);
    expect(got.error).toBeUndefined();
    expect(got.backend).toMatch(/^webgpu/);
    const want = await predictClasses(loadPredictor(bytes), inputs, { seed: 7, pass: 1 });
    expect(got.predicted).toEqual(Array.from(want.predicted));
    expect(got.probs.length).toBe(30);
    for (let i = 0; i < 30; i++) expect(Math.abs(got.probs[i]! - want.probs[i]!)).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(got.entropy[i]! - want.entropy[i]!)).toBeLessThan(1e-4);
      expect(Math.abs(got.mi[i]! - want.mutualInformation[i]!)).toBeLessThan(1e-4);
    }
    console.log(`infer.js in Chromium: ${got.backend}`);
  }, 120_000);
});

describe('alphadrop.js in headless Chromium', () => {
  it('loads from a plain module script and trains a BB-α step on WebGPU', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}whole.html`);
    await page.waitForFunction('window.__whole !== undefined', { timeout: 30_000 });
    const got = (await page.evaluate('window.__whole')) as { error?: string; backend: string; loss: number };
    expect(got.error).toBeUndefined();
    expect(got.backend).toMatch(/^webgpu/);
    expect(Number.isFinite(got.loss) && got.loss > 0).toBe(true);
  }, 120_000);
});
