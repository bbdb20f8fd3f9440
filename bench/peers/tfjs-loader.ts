// Loads TensorFlow.js (tfjs-core with every gradient registered, plus the 'cpu' backend)
// as one ESM bundle made at run time.
//
// Why: under Node, @tensorflow/tfjs-core resolves to its CommonJS build, which registers
// no gradients, and its register_all_gradients module exists only as extensionless ESM
// that Node cannot load. The bench entries are bundled with third-party packages left
// external (scripts/run-ts.mjs), so tfjs is bundled separately here, preferring the
// packages' "module" (ESM) builds, into one file with a single copy of tfjs-core that the
// cpu backend registers itself into. The file is cached by package versions.

import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageJsonPath } from '../harness/cli.js';

export type Tfjs = typeof import('@tensorflow/tfjs-core');

// CommonJS dependencies inside an ESM bundle call require(); give them Node's.
const BANNER = [
  "import { createRequire as __benchCreateRequire } from 'node:module';",
  'const require = __benchCreateRequire(import.meta.url);',
].join('\n');

const ENTRY = [
  "export * from '@tensorflow/tfjs-core';",
  "import '@tensorflow/tfjs-core/dist/register_all_gradients';",
  "import '@tensorflow/tfjs-backend-cpu';",
].join('\n');

export async function loadTfjsCpu(): Promise<Tfjs> {
  const corePkg = packageJsonPath('@tensorflow/tfjs-core');
  const cpuPkg = packageJsonPath('@tensorflow/tfjs-backend-cpu');
  const version = (p: string) => (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  // .../node_modules/@tensorflow/tfjs-core/package.json → .../node_modules
  const nodeModules = dirname(dirname(dirname(corePkg)));
  const cacheDir = join(nodeModules, '.cache', 'alphadrop-bench');
  const outFile = join(cacheDir, `tfjs-cpu-${version(corePkg)}-${version(cpuPkg)}.mjs`);
  if (!existsSync(outFile)) {
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${outFile}.${process.pid}.tmp`;
    const { build } = await import('esbuild'); // only when the cached bundle is missing
    await build({
      stdin: { contents: ENTRY, resolveDir: dirname(nodeModules), loader: 'js', sourcefile: 'tfjs-cpu-entry.js' },
      outfile: tmp,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      mainFields: ['module', 'main'],
      banner: { js: BANNER },
      legalComments: 'none',
      logLevel: 'error',
    });
    renameSync(tmp, outFile); // atomic: a concurrent run never imports a half-written file
  }
  return (await import(pathToFileURL(outFile).href)) as Tfjs;
}
