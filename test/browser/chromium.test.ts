// The WebGPU backend in a real browser: bundles page-entry.ts with esbuild, serves it from
// localhost (a secure context), drives Debian's Chromium through puppeteer-core with
// WebGPU on SwiftShader, and checks every in-page case. A missing browser or adapter
// fails the suite; it never skips.

import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import type { Browser } from 'puppeteer-core';
import { launchChromium, serveFiles } from '../helpers/chromium.js';

let server: { url: string; close: () => Promise<void> };
let browser: Browser;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('./page-entry.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)),
    logLevel: 'error',
  });
  const html = '<!doctype html><meta charset="utf-8"><title>alphadrop browser suite</title><script type="module" src="/page.js"></script>';
  server = await serveFiles({ '/index.html': html, '/page.js': bundle.outputFiles[0]!.text });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('WebGPU backend in headless Chromium', () => {
  it('runs every in-page case on navigator.gpu and matches the CPU oracle', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(server.url);
    await page.waitForFunction('globalThis.__alphadrop !== undefined', { timeout: 60_000 });
    const out = (await page.evaluate('globalThis.__alphadrop')) as { adapter?: string; error?: string; results?: { name: string; ok: boolean; detail: string }[] };
    expect(errors).toEqual([]);
    expect(out.error, 'page failed before running the cases').toBeUndefined();
    expect(out.results!.length).toBeGreaterThanOrEqual(8);
    const failed = out.results!.filter((r) => !r.ok).map((r) => `${r.name}: ${r.detail}`);
    expect(failed).toEqual([]);
    console.log(`browser adapter: ${out.adapter}`);
  }, 300_000);
});
