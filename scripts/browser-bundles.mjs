// The library for the page: self-contained ES modules that a plain <script type="module">
// loads (no bare imports left), built from the sources with esbuild for the browser platform.
//
//   alphadrop.js   the whole library as namespaces: { core, kernels, nn, bbalpha }
//   infer.js       @alphadrop/bbalpha/infer: load a checkpoint, MC-predict, uncertainty
//
// Shared code goes to chunks; a dynamic import (the Node device layer behind kernels' init)
// becomes a chunk a page never fetches. A page's cost is therefore an entry's *static*
// closure: the entry and the chunks it imports, each minified and gzipped as a server would
// send it. That is what the report gives and what the budgets bound.
//
// The browser path must hold no Node built-in and no server-side package: esbuild fails on a
// `node:` import for the browser platform, and the inputs are checked against FORBIDDEN.

import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const BROWSER_ENTRIES = [
  { name: 'alphadrop', source: 'packages/bbalpha/src/browser.ts', what: 'the whole library (core, kernels, nn, bbalpha)' },
  { name: 'infer', source: 'packages/bbalpha/src/infer.ts', what: 'inference only: checkpoint, MC prediction, uncertainty, WebGPU or CPU', budgetKiB: 60 },
];

/** Packages that must never reach a page: Dawn, job queues, the browser driver, the file system's stand-ins. */
export const FORBIDDEN = ['webgpu', 'bullmq', 'ioredis', 'redis', 'puppeteer-core', 'puppeteer', 'esbuild', 'vitest'];

const packageOf = (input) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];

/**
 * Builds the browser bundles into `outdir` (or in memory without it) and returns one row per
 * entry: the static closure's files and its minified and gzipped bytes. Throws when a Node
 * built-in or a FORBIDDEN package is reached, or an entry exceeds its budget.
 */
export async function buildBrowserBundles({ outdir, entries = BROWSER_ENTRIES } = {}) {
  const rows = [];
  for (const entry of entries) rows.push(await buildEntry(entry, outdir));
  if (outdir) {
    const report = rows.map(({ name, what, files, minified, gzipped, budgetKiB }) => ({ name, what, files, minified, gzipped, ...(budgetKiB ? { budgetKiB } : {}) }));
    writeFileSync(join(outdir, 'sizes.json'), JSON.stringify(report, null, 2) + '\n');
  }
  const over = rows.filter((r) => r.budgetKiB && r.gzipped > r.budgetKiB * 1024);
  if (over.length) throw new Error(`browser bundles over budget: ${over.map((r) => `${r.name}.js ${kib(r.gzipped)} KiB gzipped > ${r.budgetKiB} KiB`).join('; ')}`);
  return rows;
}

// One build per entry: chunks shared between entries would carry the union of what each
// entry uses, so the small entry would pay for the large one.
async function buildEntry(entry, outdir) {
  const dir = outdir ?? join(root, 'node_modules', '.cache', 'alphadrop-browser');
  const result = await build({
    entryPoints: { [entry.name]: join(root, entry.source) },
    absWorkingDir: root,
    outdir: dir,
    write: false,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    charset: 'utf8', // the error messages' α, ≥ and × as UTF-8 rather than \u escapes
    metafile: true,
    chunkNames: `${entry.name}-chunks/[name]-[hash]`,
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'silent',
  }).catch((e) => {
    const where = (x) => (x.location ? ` in ${x.location.file}` : '');
    throw new Error(`browser bundle ${entry.name}.js (${entry.source}): ${e.errors?.map((x) => x.text + where(x)).join('; ') ?? e}`);
  });
  const outputs = result.metafile.outputs;
  const reached = new Set(Object.values(outputs).flatMap((o) => Object.keys(o.inputs).map(packageOf)).filter(Boolean));
  const bad = FORBIDDEN.filter((p) => reached.has(p));
  if (bad.length) throw new Error(`browser bundle ${entry.name}.js: server-side packages reached the page: ${bad.join(', ')}`);

  const bytes = new Map(result.outputFiles.map((f) => [relative(root, f.path), f.contents]));
  const file = relative(root, join(dir, `${entry.name}.js`));
  const closure = new Set();
  const visit = (f) => {
    if (closure.has(f)) return;
    closure.add(f);
    for (const imp of outputs[f].imports) if (imp.kind === 'import-statement') visit(imp.path);
  };
  visit(file);
  let minified = 0, gzipped = 0;
  for (const f of closure) {
    const b = bytes.get(f);
    minified += b.length;
    gzipped += gzipSync(b, { level: 9 }).length;
  }
  if (outdir) {
    mkdirSync(outdir, { recursive: true });
    rmSync(join(outdir, `${entry.name}-chunks`), { recursive: true, force: true });
    for (const f of result.outputFiles) {
      mkdirSync(dirname(f.path), { recursive: true });
      writeFileSync(f.path, f.contents);
    }
  }
  const code = Object.fromEntries(result.outputFiles.map((f) => [relative(dir, f.path), f.text]));
  return { ...entry, files: [...closure].map((f) => relative(dir, join(root, f))), minified, gzipped, code };
}

const kib = (n) => (n / 1024).toFixed(1);

/** The size table `npm run build` prints. */
export function formatSizes(rows) {
  const lines = ['| browser bundle | what | files | minified | min+gzip | budget |', '|---|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.name}.js | ${r.what} | ${r.files.length} | ${kib(r.minified)} KiB | ${kib(r.gzipped)} KiB | ${r.budgetKiB ? `${r.budgetKiB} KiB` : '—'} |`);
  return lines.join('\n');
}
