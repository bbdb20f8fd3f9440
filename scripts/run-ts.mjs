#!/usr/bin/env node
// Runs a TypeScript entry file under Node without a build step.
//
//   node scripts/run-ts.mjs path/to/entry.ts [args...]
//
// The entry is bundled with esbuild (workspace packages resolved from source through the
// root tsconfig.json `paths`), written under node_modules/.cache/alphadrop-run/ and
// imported. Node builtins and every non-workspace package (e.g. `webgpu`, a native addon)
// stay external and load from node_modules at run time. Types are stripped, not checked
// (`npm run typecheck` does that).
//
// Inside the bundle each module's `import.meta.url` / `import.meta.filename` /
// `import.meta.dirname` still name its own source file, so `new URL('./x', import.meta.url)`
// and "is this the main module" checks work as they would unbundled. process.argv is
// `[node, <entry.ts>, ...args]`.

import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [, , entryArg, ...args] = process.argv;

if (!entryArg || entryArg === '-h' || entryArg === '--help') {
  console.error('usage: node scripts/run-ts.mjs <entry.ts> [args...]');
  process.exit(entryArg ? 0 : 2);
}
const entry = resolve(entryArg);
if (!existsSync(entry)) {
  console.error(`run-ts: no such file: ${entryArg}`);
  process.exit(2);
}

const builtins = new Set(builtinModules);
const isBuiltin = (p) => p.startsWith('node:') || builtins.has(p) || builtins.has(p.split('/')[0]);
const isBare = (p) => !p.startsWith('.') && !isAbsolute(p) && !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(p);

/** Keep builtins and third-party packages external; bundle @alphadrop/* from source. */
const externals = {
  name: 'alphadrop-externals',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (a) => {
      if (a.kind === 'entry-point') return undefined;
      if (isBuiltin(a.path)) return { path: a.path, external: true };
      if (isBare(a.path) && !a.path.startsWith('@alphadrop/')) return { path: a.path, external: true };
      return undefined;
    });
  },
};

const loaders = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.jsx': 'jsx' };

/** Give each bundled source module its own import.meta.{url,filename,dirname}. */
const importMeta = {
  name: 'alphadrop-import-meta',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, (a) => {
      if (/[\\/]node_modules[\\/]/.test(a.path)) return undefined;
      const source = readFileSync(a.path, 'utf8');
      if (!source.includes('import.meta')) return undefined;
      const contents = source
        .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(a.path).href))
        .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(a.path))
        .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(a.path)));
      return { contents, loader: loaders[extname(a.path)] ?? 'ts', resolveDir: dirname(a.path) };
    });
  },
};

let result;
try {
  result = await build({
    entryPoints: [entry],
    absWorkingDir: root,
    tsconfig: join(root, 'tsconfig.json'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcesContent: false,
    write: false,
    outfile: join(root, 'node_modules/.cache/alphadrop-run/out.mjs'),
    logLevel: 'warning',
    plugins: [externals, importMeta],
  });
} catch {
  // esbuild has already printed the errors.
  process.exit(1);
}

const cacheDir = join(root, 'node_modules', '.cache', 'alphadrop-run');
mkdirSync(cacheDir, { recursive: true });
const tag = createHash('sha256').update(entry).digest('hex').slice(0, 12);
const outFile = join(cacheDir, `${basename(entry, extname(entry))}-${tag}.mjs`);
const tmpFile = `${outFile}.${process.pid}.tmp`;
writeFileSync(tmpFile, result.outputFiles[0].contents);
renameSync(tmpFile, outFile); // atomic, so concurrent runs of one entry never see a torn file

process.setSourceMapsEnabled?.(true);
process.argv = [process.argv[0], entry, ...args];
await import(pathToFileURL(outFile).href);
