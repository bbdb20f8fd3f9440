// Headless Chromium for the browser suites and the browser benchmarks: Debian's chromium through puppeteer-core, with
// WebGPU on SwiftShader, and pages served from localhost (a secure context, as WebGPU needs).
// A missing browser fails the suite; it never skips.

import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader', '--enable-features=Vulkan', '--disable-gpu-sandbox'];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium package (or set CHROMIUM_PATH)`);
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

const TYPES: Record<string, string> = { js: 'text/javascript', html: 'text/html', json: 'application/json' };

/** Serves fixed files (path → body) on 127.0.0.1; `url` is the server's root on localhost. */
export async function serveFiles(files: Record<string, string | Uint8Array>): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const asked = (req.url ?? '/').split('?')[0]!;
    const path = asked === '/' ? '/index.html' : asked;
    const body = files[path];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': TYPES[path.split('.').pop() ?? ''] ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://localhost:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
