#!/usr/bin/env node
// Builds the library packages into packages/<name>/dist:
//   dist/<entry>.js (+ .map) ESM bundles (esbuild, platform neutral, shared chunks) of the
//                            src/<entry>.ts files that package.json "exports" and "bin" name
//   dist/**/*.d.ts (+ maps)  declarations emitted by tsc
//
//   node scripts/build.mjs [core kernels ...]     (default: every package with src/index.ts)
//
// Packages build in dependency order. Other @alphadrop/* packages, Node builtins and the
// package's own dependencies stay external (imported by name). For declarations, each
// package gets a generated tsconfig (under node_modules/.cache/alphadrop-build/) that
// maps the other workspace packages' entries to their already-built declarations, so emitted
// declarations import them by package name and only the package's own sources are emitted.

import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBrowserBundles, formatSizes } from './browser-bundles.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ORDER = ['core', 'kernels', 'nn', 'bbalpha']; // dependencies point one way: left to right
const require = createRequire(join(root, 'package.json'));
const tscBin = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
const cacheDir = join(root, 'node_modules', '.cache', 'alphadrop-build');

const requested = process.argv.slice(2);
for (const name of requested) {
  if (!ORDER.includes(name)) {
    console.error(`build: unknown package "${name}" (expected one of ${ORDER.join(', ')})`);
    process.exit(2);
  }
}
const dirOf = (name) => join(root, 'packages', name);
const hasEntry = (name) => existsSync(join(dirOf(name), 'src', 'index.ts'));
const targets = ORDER.filter((n) => (requested.length ? requested.includes(n) : hasEntry(n)));
if (targets.length === 0) {
  console.log('build: no package has src/index.ts yet; nothing to do');
  process.exit(0);
}

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
// "./dist/backend-entry.js" -> "backend-entry"
const distName = (file) => /^\.\/dist\/(.+)\.js$/.exec(file)?.[1];
/**
 * The src/<name>.ts files to bundle: the "import" targets of "exports", the "bin" files, and
 * both sides of each dist file the "browser" field swaps (kernels: the Node device layer and
 * its browser stand-in), so that the swapped modules are files of their own in dist.
 */
function entryNames(pkg) {
  const swapped = Object.entries(pkg.browser ?? {}).filter(([from]) => from.startsWith('./dist/')).flat();
  const targets = [...codeExports(pkg).map(([, e]) => e.import), ...Object.values(pkg.bin ?? {}), ...swapped];
  return [...new Set(targets.map(distName).filter((n) => n !== undefined))];
}
/** [subpath ("" or "/backend"), declaration file relative to the package] per "exports" entry. */
function exportedDeclarations(pkg) {
  return codeExports(pkg).map(([key, e]) => [key.slice(1), e.types.slice(2)]);
}
/** The "exports" entries with conditions (types, import...); "./package.json" maps to a plain path. */
function codeExports(pkg) {
  return Object.entries(pkg.exports ?? {}).filter(([, e]) => typeof e === 'object' && e !== null);
}
const nodeBuiltins = [...builtinModules.flatMap((m) => [m, `${m}/*`]), 'node:*'];

let failed = false;
for (const name of targets) {
  const pkgDir = dirOf(name);
  const pkg = readJson(join(pkgDir, 'package.json'));
  const rel = relative(root, pkgDir);
  if (!hasEntry(name)) {
    console.error(`build: ${rel}/src/index.ts does not exist`);
    failed = true;
    continue;
  }
  const started = Date.now();
  const dist = join(pkgDir, 'dist');
  rmSync(dist, { recursive: true, force: true });

  // 1. JavaScript bundle.
  const deps = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies });
  try {
    // One bundle entry per file the package.json "exports" map and "bin" name (index, the
    // subpath entries such as core's backend-entry or nn's node, the CLI).
    const entries = entryNames(pkg);
    const absent = entries.filter((e) => !existsSync(join(pkgDir, 'src', `${e}.ts`)));
    if (absent.length) throw new Error(`${rel}/package.json names dist/${absent[0]}.js but ${rel}/src/${absent[0]}.ts does not exist`);
    await build({
      entryPoints: entries.map((e) => join(pkgDir, 'src', `${e}.ts`)),
      absWorkingDir: root,
      outdir: dist,
      splitting: true,
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      mainFields: ['module', 'main'],
      sourcemap: true,
      external: ['@alphadrop/*', 'webgpu', ...nodeBuiltins, ...deps.flatMap((d) => [d, `${d}/*`])],
      tsconfig: join(root, 'tsconfig.json'),
      logLevel: 'warning',
    });
  } catch (e) {
    console.error(`build: esbuild failed for ${pkg.name}: ${e instanceof Error ? e.message : e}`);
    failed = true;
    continue;
  }

  // 2. Declarations. Other workspace packages resolve to their built declarations.
  const paths = {};
  for (const other of ORDER) {
    if (other === name) continue;
    const otherPkg = readJson(join(dirOf(other), 'package.json')).name;
    for (const [subpath, file] of exportedDeclarations(readJson(join(dirOf(other), 'package.json')))) {
      paths[`${otherPkg}${subpath}`] = [join(dirOf(other), file)];
    }
  }
  const config = {
    extends: join(root, 'tsconfig.json'),
    compilerOptions: {
      rootDir: join(pkgDir, 'src'),
      outDir: dist,
      declaration: true,
      declarationMap: true,
      emitDeclarationOnly: true,
      noEmit: false,
      noEmitOnError: true,
      composite: false,
      incremental: false,
      baseUrl: root,
      paths,
    },
    include: [join(pkgDir, 'src')],
    exclude: ['**/*.test.ts', '**/node_modules'],
  };
  mkdirSync(join(cacheDir, name), { recursive: true });
  const configPath = join(cacheDir, name, 'tsconfig.build.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const tsc = spawnSync(process.execPath, [tscBin, '-p', configPath], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) {
    console.error(`build: tsc failed for ${pkg.name} (config: ${relative(root, configPath)})`);
    failed = true;
    continue;
  }
  console.log(`build: ${pkg.name} -> ${relative(root, dist)} (${Date.now() - started} ms)`);
}

// 3. The self-contained browser modules (scripts/browser-bundles.mjs) and their sizes.
if (!failed && targets.includes('bbalpha')) {
  const outdir = join(dirOf('bbalpha'), 'dist', 'browser');
  try {
    const rows = await buildBrowserBundles({ outdir });
    console.log(`build: browser modules -> ${relative(root, outdir)} (sizes.json)\n${formatSizes(rows)}`);
  } catch (e) {
    console.error(`build: ${e instanceof Error ? e.message : e}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
