#!/usr/bin/env node
// Compiles the WebAssembly kernels from their AssemblyScript sources (packages/core/wasm/)
// into TypeScript modules that carry the binary as base64 (packages/core/src/cpu/wasm/
// *.generated.ts, git-ignored), so that every consumer (vitest, esbuild bundles for Node and
// the browser, workers) gets the bytes through an ordinary import, with no file to locate at
// run time.
//
//   node scripts/build-wasm.mjs [--force]
//
// Runs from the root "prepare" script (npm ci / npm install), from `npm run build` and, when
// the output is missing, from the tests that load it. A module is rebuilt only when its
// stamp (a hash of the source, the compiler version and the flags) changed; --force rebuilds.
//
// The toolchain is the `assemblyscript` npm package (a devDependency): its compiler and
// Binaryen optimiser are JavaScript/Wasm, so a fresh clone needs nothing beyond npm.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Each kernel module: its source, the generated TS file, and the name of the exported base64 string. */
const MODULES = [
  {
    source: 'packages/core/wasm/gemm.ts',
    output: 'packages/core/src/cpu/wasm/gemm-module.generated.ts',
    exportName: 'GEMM_WASM_BASE64',
  },
];

// SIMD128 only (no relaxed SIMD: Node 20's V8 has no relaxed FMA by default); the stub runtime
// because the kernels allocate nothing (the host owns the memory layout); -O3 for speed.
const FLAGS = ['-O3', '--runtime', 'stub', '--enable', 'simd', '--noAssert', '--initialMemory', '1'];

function compilerVersion() {
  const require = createRequire(join(root, 'package.json'));
  let pkgPath;
  try {
    pkgPath = require.resolve('assemblyscript/package.json');
  } catch {
    return null;
  }
  return JSON.parse(readFileSync(pkgPath, 'utf8')).version;
}

function stampOf(sourceText, version) {
  return createHash('sha256').update(`${version}\n${FLAGS.join(' ')}\n${sourceText}`).digest('hex').slice(0, 16);
}

const STAMP_RE = /^\/\/ stamp: ([0-9a-f]+)$/m;

async function buildOne(mod, version, force) {
  const sourcePath = join(root, mod.source);
  const outPath = join(root, mod.output);
  const stamp = stampOf(readFileSync(sourcePath, 'utf8'), version);
  if (!force && existsSync(outPath) && STAMP_RE.exec(readFileSync(outPath, 'utf8'))?.[1] === stamp) {
    console.log(`build-wasm: ${mod.output} is up to date`);
    return true;
  }
  const asc = (await import('assemblyscript/asc')).default;
  let binary = null;
  const stderr = [];
  const result = await asc.main([relative(root, sourcePath), '--outFile', 'module.wasm', ...FLAGS], {
    readFile: (name, baseDir) => {
      const p = resolve(root, baseDir, name);
      return existsSync(p) ? readFileSync(p, 'utf8') : null;
    },
    writeFile: (name, contents) => {
      if (name.endsWith('.wasm')) binary = contents;
    },
    listFiles: () => [],
    stdout: { write: (s) => process.stdout.write(s) },
    stderr: { write: (s) => stderr.push(String(s)) },
  });
  if (result.error || binary === null) {
    console.error(`build-wasm: compiling ${mod.source} failed\n${stderr.join('')}${result.error ?? 'no binary emitted'}`);
    return false;
  }
  const base64 = Buffer.from(binary).toString('base64');
  const text = [
    `// The compiled WebAssembly of ${mod.source} (${binary.length} bytes), written by`,
    '// scripts/build-wasm.mjs; not in git, rebuilt when the source or the compiler changes.',
    `// stamp: ${stamp}`,
    `// compiler: assemblyscript ${version}, ${FLAGS.join(' ')}`,
    '',
    `export const ${mod.exportName} =`,
    `  '${base64}';`,
    '',
  ].join('\n');
  mkdirSync(dirname(outPath), { recursive: true });
  const tmp = `${outPath}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, outPath); // never a half-written module for a concurrent reader
  console.log(`build-wasm: ${mod.source} -> ${mod.output} (${binary.length} bytes)`);
  return true;
}

const force = process.argv.includes('--force');
const version = compilerVersion();
if (version === null) {
  console.error('build-wasm: the assemblyscript compiler is not installed (it is a devDependency: run npm ci)');
  process.exit(1);
}
let ok = true;
for (const mod of MODULES) ok = (await buildOne(mod, version, force)) && ok;
process.exit(ok ? 0 : 1);
