// The kernel benchmark's command line: a spec module (its default export: a KernelSpec or a
// list of them, bench-kernel.ts) benchmarked in Node on Dawn and/or in headless Chromium on
// SwiftShader; both print the same table.
//
//   npm run bench:kernel -- <spec.ts|.js> [--where node|browser|both] [--chromium PATH]
//        [--min-ms 100] [--windows 3] [--max-reps 65536] [--host-clock]
//
// Exit code 0 when every kernel validated and was timed, 1 when one was rejected, 2 when
// there is no WebGPU adapter (Node) or no browser.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { numberFlag, parseFlags } from '../harness/cli.js';
import { benchDevice, describeAdapter } from '../harness/node.js';
import { adapterLabel } from '../harness/table.js';
import { benchKernels, formatKernelTable, type KernelRow, type KernelSpec } from './bench-kernel.js';

const USAGE = 'usage: npm run bench:kernel -- <spec.ts|.js> [--where node|browser|both] [--chromium PATH] [--min-ms 100] [--windows 3] [--max-reps 65536] [--host-clock]';

/**
 * Imports a spec module under Node: a .js/.mjs module as it is; a TypeScript one bundled with
 * esbuild as scripts/run-ts.mjs does (workspace packages from source, third-party packages
 * left to Node), cached by path. esbuild and the browser driver are imported only when
 * needed, so a bundle of this CLI runs a prebuilt spec where neither is installed (the lent GPU).
 */
async function importSpecModule(path: string): Promise<KernelSpec[]> {
  const mod = (/\.m?js$/.test(path) ? await import(pathToFileURL(path).href) : await importTypeScript(path)) as { default?: KernelSpec | KernelSpec[] };
  if (!mod.default) throw new Error(`${path}: no default export (expected a KernelSpec or a list of them)`);
  return Array.isArray(mod.default) ? mod.default : [mod.default];
}

async function importTypeScript(path: string): Promise<unknown> {
  const { build } = await import('esbuild');
  const { REPO_ROOT } = await import('../harness/chromium.js');
  const out = await build({
    entryPoints: [path],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    absWorkingDir: REPO_ROOT,
    logLevel: 'error',
    plugins: [{
      name: 'third-party-external',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (a) => (a.kind === 'entry-point' || a.path.startsWith('@alphadrop/') ? undefined : { path: a.path, external: true }));
      },
    }],
  });
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'alphadrop-bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `kernel-spec-${createHash('sha256').update(path).digest('hex').slice(0, 12)}.mjs`);
  writeFileSync(file, out.outputFiles[0]!.contents);
  return import(`${pathToFileURL(file).href}?t=${Date.now()}`);
}

/** The first argument that is neither a flag nor a flag's value (`switches` take no value). */
function firstPositional(argv: readonly string[], switches: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) return a;
    if (!a.includes('=') && !switches.includes(a.slice(2))) i++; // skip the flag's value
  }
  return undefined;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const flags = parseFlags(argv);
  const spec = firstPositional(argv, ['help', 'host-clock']);
  if (flags.help || !spec) {
    console.log(USAGE);
    return spec || flags.help ? 0 : 2;
  }
  const path = resolve(spec);
  if (!existsSync(path)) {
    console.error(`bench:kernel: no such spec module: ${spec}\n${USAGE}`);
    return 2;
  }
  const where = String(flags.where ?? 'node');
  if (!['node', 'browser', 'both'].includes(where)) throw new Error(`--where expects node, browser or both, got ${where}`);
  const timing = {
    minMs: numberFlag(flags, 'min-ms', 100),
    maxReps: numberFlag(flags, 'max-reps', 65536),
    windows: numberFlag(flags, 'windows', 3),
    hostClock: flags['host-clock'] === true,
  };
  const rows: KernelRow[] = [];
  console.log(`spec: ${spec}; timing: windows of ≥ ${timing.minMs} ms, median of ${timing.windows}${timing.hostClock ? ', host clock' : ''}`);

  if (where !== 'browser') {
    const specs = await importSpecModule(path);
    const nd = await benchDevice();
    const name = `node: ${adapterLabel(describeAdapter(nd))}`;
    console.log(`\n${name} (Dawn; timestamp-query ${nd.features.includes('timestamp-query') ? 'yes' : 'no: host clock'})`);
    const got = await benchKernels(nd.device, name, specs, { ...timing, wait: (p) => nd.wait(p) });
    await nd.destroy();
    console.log(formatKernelTable(got));
    rows.push(...got);
  }
  if (where !== 'node') {
    let run;
    try {
      const { benchSpecModuleInChromium } = await import('./browser.js');
      run = await benchSpecModuleInChromium(path, timing, typeof flags.chromium === 'string' ? { chromium: flags.chromium } : {});
    } catch (e) {
      console.error(`bench:kernel: the browser run failed: ${e instanceof Error ? e.message : String(e)}`);
      return 2;
    }
    const software = /swiftshader/i.test(run.adapter) ? ' — SwiftShader: a CPU emulation, so these times check correctness only, they are not speed' : '';
    console.log(`\nchromium: ${run.adapter} (${run.browser}; timestamp-query ${run.features.includes('timestamp-query') ? 'yes' : 'no: host clock'})${software}`);
    console.log(formatKernelTable(run.rows));
    rows.push(...run.rows);
  }
  return rows.every((r) => r.ok) ? 0 : 1;
}

process.exit(await main());
