// The playground's server: bundles the page (src/main.ts, with its CSS) and the training
// worker (src/worker.ts) with esbuild for the browser, and serves them with index.html and
// the shipped data samples on 127.0.0.1 (localhost is a secure context, which WebGPU
// needs). Every response carries the cross-origin-isolation headers (COOP same-origin, COEP
// require-corp: everything the page loads is its own), so the page may share memory with
// workers: the CPU fallback's Wasm kernels then run on all cores.
//
//   npm run playground [-- --port 8080]
//
// The bundles must run in a page: a Node built-in or a server-side package (Dawn's
// `webgpu`, esbuild, …) reaching them fails the build, with the module that pulled it in.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { DATA_FOLDERS } from './src/data-routes.js';
// @ts-expect-error: a plain .mjs build script without declarations
import { FORBIDDEN } from '../../scripts/browser-bundles.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const DEFAULT_PORT = 8080;

/** The headers that make the page cross-origin isolated (SharedArrayBuffer, shared Wasm memory). */
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json',
  md: 'text/markdown; charset=utf-8',
};

export interface PlaygroundServerOptions {
  /** 0 for any free port; a taken port is an error unless `fallbackToFreePort`. */
  port?: number;
  /** When `port` is taken, listen on a free one instead (the CLI's behaviour). */
  fallbackToFreePort?: boolean;
  /** Minify the bundles (default true; the tests read unminified stack traces more easily). */
  minify?: boolean;
}

export interface PlaygroundServer {
  /** http://localhost:PORT/ */
  url: string;
  port: number;
  /** Bytes of each bundle served (main.js, main.css, worker.js). */
  sizes: Record<string, number>;
  close: () => Promise<void>;
}

const forbiddenPackages = new Set<string>(FORBIDDEN as string[]);
const builtins = new Set(builtinModules);
const isBuiltin = (path: string) => path.startsWith('node:') || builtins.has(path) || builtins.has(path.split('/')[0]!);
const packageOf = (input: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];

/** Refuses bundles that a Node built-in or a server-side package reached. */
function checkBrowserOnly(meta: Metafile): void {
  const problems: string[] = [];
  for (const [input, info] of Object.entries(meta.inputs)) {
    const pkg = packageOf(input);
    if (pkg && forbiddenPackages.has(pkg)) problems.push(`${pkg} (${input})`);
    for (const imp of info.imports) if (isBuiltin(imp.path)) problems.push(`Node built-in ${imp.path} (imported by ${input})`);
  }
  if (problems.length) throw new Error(`playground bundles: server-side code reached the page: ${problems.join('; ')}`);
}

/** main.js, main.css and worker.js (with source maps), in memory. */
export async function bundlePlayground(minify = true): Promise<Record<string, Uint8Array>> {
  const result = await build({
    entryPoints: { main: join(here, 'src', 'main.ts'), worker: join(here, 'src', 'worker.ts') },
    absWorkingDir: root,
    outdir: join(here, 'out'),
    write: false,
    bundle: true,
    // each bundle self-contained: a module worker then loads one file
    splitting: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: 'linked',
    charset: 'utf8',
    metafile: true,
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'silent',
  }).catch((e: { errors?: { text: string; location?: { file: string } | null }[] }) => {
    throw new Error(`playground bundles: ${e.errors?.map((x) => x.text + (x.location ? ` in ${x.location.file}` : '')).join('; ') ?? String(e)}`);
  });
  checkBrowserOnly(result.metafile);
  return Object.fromEntries(result.outputFiles.map((f) => [`/${f.path.split(/[\\/]/).pop()}`, f.contents]));
}

/** URL path → file of the data samples (every file of each data folder, nothing above it). */
function dataFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [urlFolder, folder] of Object.entries(DATA_FOLDERS)) {
    const dir = join(root, folder);
    if (!existsSync(dir)) throw new Error(`playground: the data folder ${folder} is missing`);
    for (const name of readdirSync(dir)) files.set(`${urlFolder}${name}`, join(dir, name));
  }
  return files;
}

function listen(server: ReturnType<typeof createServer>, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const fail = (e: Error) => reject(e);
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      const address = server.address();
      resolvePort(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/** Bundles the playground and serves it on 127.0.0.1; resolves once it listens. */
export async function startPlaygroundServer(opts: PlaygroundServerOptions = {}): Promise<PlaygroundServer> {
  const bundles = await bundlePlayground(opts.minify ?? true);
  const html = readFileSync(join(here, 'index.html'));
  const data = dataFiles();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/favicon.ico') return void res.writeHead(204).end(); // no icon, and no 404 in the console
    const name = path === '/' ? '/index.html' : path;
    const body = name === '/index.html' ? html : bundles[name] ?? (data.has(name) ? readFileSync(data.get(name)!) : undefined);
    if (body === undefined) return void res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
    const type = TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream';
    // no caching: a restarted server's new bundles are what the next reload gets
    res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-store', ...ISOLATION });
    res.end(req.method === 'HEAD' ? undefined : body);
  });

  const wanted = opts.port ?? DEFAULT_PORT;
  let port: number;
  try {
    port = await listen(server, wanted);
  } catch (e) {
    if (!(opts.fallbackToFreePort && (e as NodeJS.ErrnoException).code === 'EADDRINUSE')) throw e;
    port = await listen(server, 0);
  }
  return {
    url: `http://localhost:${port}/`,
    port,
    sizes: Object.fromEntries(Object.entries(bundles).filter(([k]) => !k.endsWith('.map')).map(([k, v]) => [k.slice(1), v.length])),
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** --port N (default 8080; a free port when 8080 is taken and no port was asked for). */
function parsePort(args: string[]): { port: number; asked: boolean } {
  const i = args.findIndex((a) => a === '--port' || a.startsWith('--port='));
  if (i < 0) return { port: DEFAULT_PORT, asked: false };
  const text = args[i]!.includes('=') ? args[i]!.split('=')[1]! : args[i + 1];
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`playground: --port expects an integer in [0, 65535], got "${text ?? ''}"`);
  return { port, asked: true };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log('usage: npm run playground [-- --port N]   (default 8080, or a free port when it is taken)');
    return;
  }
  const { port, asked } = parsePort(args);
  const server = await startPlaygroundServer({ port, fallbackToFreePort: !asked });
  const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  console.log(`bundles: ${Object.entries(server.sizes).map(([k, v]) => `${k} ${kib(v)}`).join(', ')}`);
  console.log(`playground: ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
