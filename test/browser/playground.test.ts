// The playground in headless Chromium (WebGPU on SwiftShader), served by its own server
// (packages/playground/serve.ts), with a configuration small enough for a software GPU:
// one α, M = 16, K = 2, a 784-32-10 MLP. A user's session, end to end: the page finds an
// adapter and trains until the loss falls; a "1" drawn with mouse events gets a predictive
// distribution; the checkpoint the page downloads loads in Node and predicts that digit as
// the page did (same masks: probabilities within 1e-5, same argmax); a screenshot of the
// trained page is kept in test-artifacts/ and must not be blank. A missing browser or
// adapter fails the suite; it never skips.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import { cpuBackend, setBackend, tensor } from '@alphadrop/core';
import { decodeSafetensors, modelFromCheckpoint } from '@alphadrop/nn';
import { mcPredictProbs } from '@alphadrop/bbalpha';
import { startPlaygroundServer, type PlaygroundServer } from '../../packages/playground/serve.js';
import type { PlaygroundState } from '../../packages/playground/src/main.js';
import { launchChromium } from '../helpers/chromium.js';
import { decodePng } from '../helpers/png.js';

const ALPHA = 0.5;
const QUERY = `?alphas=${ALPHA}&samples=2&testSamples=2&batchSize=16&hidden=32&trainSize=512&testSize=64&evalEvery=5&backend=webgpu`;
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

let server: PlaygroundServer;
let browser: Browser;
let downloads: string;

beforeAll(async () => {
  server = await startPlaygroundServer({ port: 0, minify: false });
  browser = await launchChromium();
  downloads = mkdtempSync(join(tmpdir(), 'playground-downloads-'));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (downloads) rmSync(downloads, { recursive: true, force: true });
});

const stateOf = (page: Page) => page.evaluate(() => window.__playground) as Promise<PlaygroundState>;
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** Waits for `ready(state)`; on timeout fails with the page's state and console, not a bare timeout. */
async function waitForState(page: Page, what: string, ready: string, timeout: number, log: string[]): Promise<PlaygroundState> {
  try {
    await page.waitForFunction(`(() => { const s = window.__playground; return s.errors.length > 0 || (${ready}); })()`, { timeout, polling: 250 });
  } catch {
    const s = await stateOf(page);
    throw new Error(`timed out waiting for ${what}; state: ${JSON.stringify({ ...s, points: s.points.slice(-3) })}; console: ${log.slice(-10).join(' | ')}`);
  }
  const s = await stateOf(page);
  expect(s.errors, `page errors while waiting for ${what}`).toEqual([]);
  return s;
}

/** The downloaded file once Chromium has finished writing it. */
async function downloaded(dir: string, timeout: number): Promise<string> {
  const until = Date.now() + timeout;
  while (Date.now() < until) {
    const done = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
    if (done.length > 0) return join(dir, done[0]!);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no .safetensors file appeared in the download folder within ${timeout} ms (found: ${readdirSync(dir).join(', ') || 'nothing'})`);
}

function entropy(p: number[]): number {
  return -p.reduce((h, v) => h + (v > 0 ? v * Math.log(v) : 0), 0);
}

describe('playground in headless Chromium', () => {
  it('trains on WebGPU, predicts a drawn digit, and its checkpoint predicts the same in Node', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    const pageErrors: string[] = [];
    const log: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });

    await page.goto(server.url + QUERY);
    // 1. an adapter, and training that lowers the loss
    const ready = await waitForState(page, 'the worker to start', 's.ready', 60_000, log);
    expect(ready.backend, `fell back: ${ready.fallbackReason}`).toBe('webgpu');
    expect(ready.adapter).toBeTruthy();
    expect(ready.fallbackReason).toBeUndefined();
    expect(ready.config).toMatchObject({ alphas: [ALPHA], samples: 2, batchSize: 16, hidden: [32], testSamples: 2 });
    expect(await page.$eval('#backend', (e) => e.textContent)).toBe('WebGPU');
    expect(await page.$eval('#fallback', (e) => (e as HTMLElement).hidden)).toBe(true);

    const fell = `s.points.length >= 12 && (() => {
      const l = s.points.map((p) => p.loss), m = (v) => v.reduce((a, b) => a + b, 0) / v.length;
      return m(l.slice(-3)) < 0.8 * m(l.slice(0, 3));
    })()`;
    const trained = await waitForState(page, 'the loss to fall', fell, 60_000, log);
    const losses = trained.points.map((p) => p.loss);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(mean(losses.slice(-3))).toBeLessThan(0.8 * mean(losses.slice(0, 3)));
    expect(trained.points.some((p) => p.testAccuracy !== undefined && p.testLogLikelihood !== undefined)).toBe(true);
    expect(await page.$$eval('#charts .uplot canvas', (canvases) => canvases.length)).toBe(3);

    // freeze the weights: the prediction and the checkpoint must see the same model
    await page.click('.control-actions button.primary');
    await waitForState(page, 'training to pause', 's.paused', 30_000, log);

    // 2. a "1" drawn with the mouse gets a predictive distribution with entropy and MI
    const pad = (await page.$('canvas.draw-pad'))!;
    const box = (await pad.boundingBox())!;
    await page.mouse.move(box.x + 0.52 * box.width, box.y + 0.18 * box.height);
    await page.mouse.down();
    await page.mouse.move(box.x + 0.5 * box.width, box.y + 0.82 * box.height, { steps: 24 });
    await page.mouse.up();
    const predicted = await waitForState(page, 'a prediction of the drawn digit', 's.lastPrediction !== undefined', 30_000, log);
    const { pixels, predictions } = predicted.lastPrediction!;
    expect(pixels.length).toBe(784);
    expect(Math.max(...pixels)).toBeGreaterThan(0.5); // the stroke reached the input
    expect(predictions.map((p) => p.alpha)).toEqual([ALPHA]);
    const shown = predictions[0]!;
    expect(shown.probs.length).toBe(10);
    expect(Math.abs(shown.probs.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-5);
    expect(Math.abs(shown.entropy - entropy(shown.probs))).toBeLessThan(1e-4);
    expect(shown.mutualInformation).toBeGreaterThanOrEqual(-1e-6);
    expect(shown.mutualInformation).toBeLessThanOrEqual(shown.entropy + 1e-6);
    expect(await page.$eval('[data-metric="entropy"]', (e) => e.textContent)).toBe(`${shown.entropy.toFixed(3)} nats`);
    expect(await page.$eval('[data-metric="mi"]', (e) => e.textContent)).toBe(`${shown.mutualInformation.toFixed(3)} nats`);

    // 3. the page's checkpoint download, loaded in Node, predicts that digit as the page did
    await page.click(`button.download[data-alpha="${ALPHA}"]`);
    const file = await downloaded(downloads, 30_000);
    setBackend(cpuBackend('fast'));
    const { model, metadata } = modelFromCheckpoint(decodeSafetensors(new Uint8Array(readFileSync(file)), file));
    expect(metadata.alpha).toBe(ALPHA);
    const K = predicted.config.testSamples;
    const probs = mcPredictProbs(model, tensor(Float32Array.from(pixels), [1, 784]), K, { seed: metadata.seed, pass: 0, chunk: K });
    const inNode = Array.from(await probs.data());
    probs.dispose();
    model.dispose();
    for (let c = 0; c < 10; c++) expect(Math.abs(inNode[c]! - shown.probs[c]!), `class ${c}: Node ${inNode[c]} vs page ${shown.probs[c]}`).toBeLessThan(1e-5);
    expect(inNode.indexOf(Math.max(...inNode))).toBe(shown.probs.indexOf(Math.max(...shown.probs)));

    // the same file uploaded back replaces the model with itself: the same prediction
    const upload = (await page.$('.upload input[type="file"]')) as ElementHandle<HTMLInputElement>;
    await upload.uploadFile(file);
    const count = predicted.lastPrediction!.count;
    const reloaded = await waitForState(page, 'the uploaded checkpoint to predict', `s.lastPrediction.count > ${count}`, 30_000, log);
    expect(await page.$eval('.control-message', (e) => e.textContent)).toMatch(new RegExp(`^loaded .*\\.safetensors as the model of α = ${ALPHA}$`));
    expect(reloaded.lastPrediction!.predictions[0]!.probs).toEqual(shown.probs);

    // 4. a screenshot of the trained page, kept as an artifact, is not blank
    await waitForState(page, 'the FGS and out-of-distribution panels', 's.lastFgs !== undefined && s.lastOod !== undefined', 30_000, log);
    const png = await page.screenshot({ fullPage: true });
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'playground.png'), png);
    const { width, height, rgba } = decodePng(png);
    // "ink": pixels far from both the page background (its top-left corner) and the panels' white
    const colours = new Set<number>();
    let ink = 0;
    const far = (i: number, [r, g, b]: number[]) => Math.abs(rgba[i]! - r!) + Math.abs(rgba[i + 1]! - g!) + Math.abs(rgba[i + 2]! - b!) > 60;
    const background = [rgba[0]!, rgba[1]!, rgba[2]!];
    for (let i = 0; i < width * height; i++) {
      colours.add((rgba[4 * i]! << 16) | (rgba[4 * i + 1]! << 8) | rgba[4 * i + 2]!);
      if (far(4 * i, background) && far(4 * i, [255, 255, 255])) ink++;
    }
    // measured on a trained page: ~2,000 colours, ~12% ink (the draw pad alone is ~4%)
    expect(colours.size).toBeGreaterThan(200);
    expect(ink / (width * height)).toBeGreaterThan(0.06);

    expect(pageErrors).toEqual([]);
    expect((await stateOf(page)).errors).toEqual([]);
    console.log(`playground on ${ready.adapter}: ${trained.points.length} points, loss ${losses[0]!.toFixed(3)} → ${losses[losses.length - 1]!.toFixed(3)}; screenshot ${width}×${height}, ${colours.size} colours, ${((100 * ink) / (width * height)).toFixed(0)}% ink`);
  }, 150_000);

  it('announces the CPU fallback with its reason, and restarts with another α set', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 640 });
    const pageErrors: string[] = [];
    const log: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
    // 'auto' passes over a software adapter such as SwiftShader: the page trains on the CPU and says why
    await page.goto(server.url + QUERY.replace('backend=webgpu', 'backend=auto'));
    const ready = await waitForState(page, 'the worker to start', 's.ready', 60_000, log);
    expect(ready.backend).toBe('cpu');
    // the CPU fallback runs the WebAssembly SIMD kernels in the page too, on every core: the page
    // is cross-origin isolated, so the training worker shares the kernels' memory with Web Workers
    const cores = await page.evaluate(() => [navigator.hardwareConcurrency, (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated]);
    expect(cores[1], 'the page is cross-origin isolated').toBe(true);
    expect(ready.adapter).toBe(`cpu, wasm simd${Number(cores[0]) > 1 ? `, ${cores[0]} threads` : ''}`);
    expect(ready.fallbackReason).toMatch(/software/);
    expect(await page.$eval('#fallback', (e) => (e as HTMLElement).hidden)).toBe(false);
    expect(await page.$eval('#fallback', (e) => e.textContent)).toContain(ready.fallbackReason!);
    expect(await page.$eval('#backend', (e) => e.textContent)).toBe('CPU');
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'playground-cpu-fallback.png'), await page.screenshot());

    await page.click('.alpha-choice input[value="0"]');
    await page.click('.control-actions button:not(.primary)');
    const restarted = await waitForState(page, 'the restart', 's.ready && s.config.alphas.length === 2 && s.points.some((p) => p.alpha === 0)', 60_000, log);
    expect(restarted.config.alphas).toEqual([0, ALPHA]);
    expect(restarted.config.hidden).toEqual([32]); // the query's settings survive a restart
    expect(await page.$$eval('.downloads button', (b) => b.map((x) => x.textContent))).toEqual(['α = 0', `α = ${ALPHA}`]);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 120_000);
});
