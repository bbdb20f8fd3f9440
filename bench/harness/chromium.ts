// The browser side of the bench, driven from Node: bundle a page entry with esbuild (the
// workspace packages from source, as the browser suites do), serve it from localhost (a
// secure context, as WebGPU needs), open it in Debian's headless Chromium through
// puppeteer-core with WebGPU on SwiftShader, forward the page's console to stdout, and
// return what the page publishes as globalThis.__benchResult. The Chromium flags and the
// file server (browser-host.ts) are shared with the browser suites, so the bench and the
// tests run the same browser the same way. A missing browser is an error, never a skip.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import puppeteer from 'puppeteer-core';
import { CHROMIUM, CHROMIUM_ARGS, serveFiles } from './browser-host.js';

/** The repository root (tsconfig.json's folder), from this file's place in it. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Timestamps unquantized: without WebGPU's developer features Chromium rounds GPU timestamps
 * to 100 µs, coarser than a small kernel's call.
 */
const BENCH_ARGS = ['--enable-webgpu-developer-features'];

/** A browser bundle (ESM) of `contents`, whose relative imports resolve from `resolveDir`. */
export async function bundleForBrowser(contents: string, resolveDir: string): Promise<string> {
  const out = await build({
    stdin: { contents, resolveDir, loader: 'ts', sourcefile: 'bench-page-entry.ts' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    absWorkingDir: REPO_ROOT,
    logLevel: 'error',
    legalComments: 'none',
  });
  return out.outputFiles[0]!.text;
}

export interface PageRun<T> {
  /** What the page published as globalThis.__benchResult. */
  result: T;
  /** The browser's version string, e.g. "Chrome/156.0.…" (headless). */
  browser: string;
  /** Uncaught errors on the page. */
  pageErrors: string[];
}

export interface PageOptions {
  chromium?: string;
  /** Published to the page as globalThis.__benchOptions before its module runs. */
  pageOptions?: unknown;
  /** Each console message of the page (default: printed to stdout). */
  onConsole?: (text: string) => void;
  /** How long the page may run (default 20 min: SwiftShader is slow). */
  timeoutMs?: number;
}

/** Opens `bundle` on a localhost page in headless Chromium and waits for its globalThis.__benchResult. */
export async function runInChromium<T>(bundle: string, opts: PageOptions = {}): Promise<PageRun<T>> {
  const executablePath = opts.chromium ?? CHROMIUM;
  if (!existsSync(executablePath)) throw new Error(`Chromium not found at ${executablePath}: install Debian's chromium package, or pass --chromium PATH`);
  const options = JSON.stringify(opts.pageOptions ?? {}).replace(/</g, '\\u003c');
  const html = `<!doctype html><meta charset="utf-8"><title>alphadrop bench</title><script>globalThis.__benchOptions = ${options};</script><script type="module" src="/page.js"></script>`;
  const server = await serveFiles({ '/index.html': html, '/page.js': bundle, '/favicon.ico': new Uint8Array(0) });
  const timeout = opts.timeoutMs ?? 20 * 60_000;
  const browser = await puppeteer.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS, ...BENCH_ARGS], protocolTimeout: timeout });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    const print = opts.onConsole ?? ((text: string) => console.log(text));
    page.on('console', (m) => print(m.text()));
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(server.url);
    await page.waitForFunction('globalThis.__benchResult !== undefined', { timeout, polling: 250 });
    const result = (await page.evaluate('globalThis.__benchResult')) as T;
    return { result, browser: await browser.version(), pageErrors };
  } finally {
    await browser.close();
    await server.close();
  }
}
