#!/usr/bin/env node
// Compiles the WebAssembly kernels from their AssemblyScript sources (packages/core/wasm/,
// entry index.ts) into a TypeScript module that carries the binaries as base64
// (packages/core/src/cpu/wasm/kernels.generated.ts, git-ignored), in two variants: one that
// owns its memory, and one over an imported shared memory that worker threads share, so that every consumer (vitest, esbuild bundles for Node and
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
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// SIMD128 only (no relaxed SIMD: Node 20's V8 has no relaxed FMA by default); the stub runtime
// because the kernels allocate nothing (the host owns the memory layout); -O3 for speed.
const FLAGS = ['-O3', '--runtime', 'stub', '--enable', 'simd', '--noAssert', '--initialMemory', '1'];
// The shared variant imports env.memory, declared shared with a 2 GiB maximum (a shared memory
// needs one; it is address space, not an allocation), and enables the threads feature.
const SHARED_FLAGS = ['--importMemory', '--sharedMemory', '--maximumMemory', '32768', '--enable', 'threads'];

/** Each kernel module: its source, the generated TS file, and its variants (export name, extra flags). */
const MODULES = [
  {
    source: 'packages/core/wasm/index.ts',
    output: 'packages/core/src/cpu/wasm/kernels.generated.ts',
    variants: [
      { exportName: 'KERNELS_WASM_BASE64', flags: [] },
      { exportName: 'KERNELS_SHARED_WASM_BASE64', flags: SHARED_FLAGS },
    ],
  },
];

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

/** A hash of every AssemblyScript source beside the entry, the compiler version and the flags. */
function stampOf(mod, version) {
  const dir = dirname(join(root, mod.source));
  const hash = createHash('sha256').update(`${version}\n${FLAGS.join(' ')}\n${JSON.stringify(mod.variants)}\n`);
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) hash.update(`${name}\n${readFileSync(join(dir, name), 'utf8')}\n`);
  return hash.digest('hex').slice(0, 16);
}

const STAMP_RE = /^\/\/ stamp: ([0-9a-f]+)$/m;

/** The binary of `mod` compiled with `extraFlags`, or null (the compiler's messages printed). */
async function compile(mod, extraFlags) {
  const asc = (await import('assemblyscript/asc')).default;
  let binary = null;
  const stderr = [];
  const result = await asc.main([mod.source, '--outFile', 'module.wasm', ...FLAGS, ...extraFlags], {
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
    console.error(`build-wasm: compiling ${mod.source} (${extraFlags.join(' ') || 'own memory'}) failed\n${stderr.join('')}${result.error ?? 'no binary emitted'}`);
    return null;
  }
  return binary;
}

async function buildOne(mod, version, force) {
  const outPath = join(root, mod.output);
  const stamp = stampOf(mod, version);
  if (!force && existsSync(outPath) && STAMP_RE.exec(readFileSync(outPath, 'utf8'))?.[1] === stamp) {
    console.log(`build-wasm: ${mod.output} is up to date`);
    return true;
  }
  const lines = [
    `// The compiled WebAssembly of ${mod.source}, written by scripts/build-wasm.mjs; not in git,`,
    '// rebuilt when a source, the compiler or the flags change.',
    `// stamp: ${stamp}`,
    `// compiler: assemblyscript ${version}, ${FLAGS.join(' ')}`,
  ];
  const sizes = [];
  for (const v of mod.variants) {
    const binary = await compile(mod, v.flags);
    if (binary === null) return false;
    sizes.push(`${v.exportName} ${binary.length} bytes`);
    lines.push('', `// ${binary.length} bytes; extra flags: ${v.flags.join(' ') || 'none'}`, `export const ${v.exportName} =`, `  '${Buffer.from(binary).toString('base64')}';`);
  }
  lines.push('');
  mkdirSync(dirname(outPath), { recursive: true });
  const tmp = `${outPath}.${process.pid}.tmp`;
  writeFileSync(tmp, lines.join('\n'));
  renameSync(tmp, outPath); // never a half-written module for a concurrent reader
  console.log(`build-wasm: ${mod.source} -> ${mod.output} (${sizes.join(', ')})`);
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
