// The packages as a user gets them: `npm pack` each published package, install the tarballs
// into an empty project outside the repository (dependencies from the npm registry, or its
// cache), and there run the README examples with node, the `alphadrop` bin, a type check of
// the exports' declarations and a browser bundle (esbuild) of every entry. Nothing of the
// monorepo may be visible from that project: the packages must stand on what they ship.
//
// Builds packages/*/dist first when it is missing or older than the sources. Needs the npm
// registry (or a warm npm cache, --prefer-offline): without either the install fails, and so
// does this test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build } from 'esbuild';

const root = resolve(__dirname, '../..');
const PACKAGES = ['core', 'kernels', 'nn', 'bbalpha'] as const;
type Name = (typeof PACKAGES)[number];
const pkgDir = (p: Name) => join(root, 'packages', p);
const pkgJson = (p: Name) => JSON.parse(readFileSync(join(pkgDir(p), 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | Record<string, string | null>>;
  bin?: Record<string, string>;
};
/** Every subpath a package exports for code ("." and e.g. "./node"), as an import specifier. */
const specifiers = (p: Name) =>
  Object.entries(pkgJson(p).exports).filter(([, e]) => typeof e === 'object').map(([k]) => pkgJson(p).name + k.slice(1));

// Children see neither the monorepo's npm settings (`npm test` exports npm_config_* and
// npm_package_*, among them the workspace's prefix) nor a NODE_PATH into it.
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|NODE_PATH$|NODE_OPTIONS$|INIT_CWD$)/i.test(k)) env[k] = v;
  return env;
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: string[], cwd: string, timeoutMs = 60_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
}
function mustRun(what: string, cmd: string, args: string[], cwd: string, timeoutMs?: number): string {
  const r = run(cmd, args, cwd, timeoutMs);
  if (r.status !== 0) {
    const why = r.error ? String(r.error) : `exit status ${r.status}${r.signal ? ` (${r.signal})` : ''}`;
    throw new Error(`${what}: \`${cmd} ${args.join(' ')}\` in ${cwd} failed, ${why}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** The newest modification time of the files under `dir` (0 when absent). */
function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let t = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) t = Math.max(t, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs);
  return t;
}
/** dist is usable when every package has it, no source or package.json is newer, and the bin launcher is there. */
function distIsFresh(): boolean {
  return PACKAGES.every((p) => {
    const marker = join(pkgDir(p), 'dist', 'index.js');
    if (!existsSync(marker)) return false;
    const built = statSync(marker).mtimeMs;
    const bins = Object.values(pkgJson(p).bin ?? {});
    return newest(join(pkgDir(p), 'src')) <= built && statSync(join(pkgDir(p), 'package.json')).mtimeMs <= built && bins.every((b) => existsSync(join(pkgDir(p), b)));
  });
}

/** The .js files under `dir`, browser modules excluded (self-contained, they import nothing). */
function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'browser' ? [] : jsFiles(join(dir, e.name))) : e.name.endsWith('.js') ? [join(dir, e.name)] : []);
}

/** A README's runnable examples: ```js blocks whose first line is `// example: node`, with their `// prints:` lines. */
function readmeExamples(markdown: string): { code: string; prints: string[] }[] {
  const blocks = [...markdown.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  return blocks
    .filter((b) => b.split('\n')[0]!.trim() === '// example: node')
    .map((code) => ({ code, prints: [...code.matchAll(/^\/\/ prints: (.+)$/gm)].map((m) => m[1]!) }));
}
/** `// prints: a … b` holds when a line of the output has a, anything, then b. */
const printsPattern = (line: string) => new RegExp(`^${line.split('…').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'm');

describe('the packed packages, installed into an empty project', () => {
  let work = '';
  let project = '';
  const packed = new Map<Name, string[]>(); // the files of each tarball

  beforeAll(() => {
    if (!distIsFresh()) mustRun('building the packages (dist missing or older than the sources)', npm, ['run', '-s', 'build'], root, 240_000);
    work = realpathSync(mkdtempSync(join(tmpdir(), 'alphadrop-packed-')));
    const tarballs = join(work, 'tarballs');
    mkdirSync(tarballs);
    for (const p of PACKAGES) {
      const out = mustRun(`npm pack ${p}`, npm, ['pack', '--json', '--pack-destination', tarballs], pkgDir(p));
      const [info] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
      packed.set(p, info!.files.map((f) => f.path));
    }
    project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'packed-install-check', private: true, type: 'module' }, null, 2));
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    mustRun('installing the tarballs (needs the npm registry or a warm npm cache)', npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', ...files], project, 240_000);
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('packs dist, the README, CHANGELOG and LICENSE, and the data the runtime reads; no sources', () => {
    for (const p of PACKAGES) {
      const files = packed.get(p)!;
      for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) expect(files, `${p}: ${f}`).toContain(f);
      expect(files.filter((f) => f.startsWith('src/') || f.endsWith('.d.ts.map')), p).toEqual([]);
    }
    expect(packed.get('bbalpha')).toContain('dist/cli.js'); // the bin: it runs when started through npm's link too
    expect(packed.get('bbalpha')).toContain('dist/browser/infer.js');
    expect(packed.get('bbalpha')).toContain('fixtures/mnist-sample/train-images-idx3-ubyte.gz');
    expect(packed.get('nn')).toContain('fixtures/uci-yacht/data.txt'); // bbalpha's embedded UCI runs read it
  });

  it('declares every package its code imports', () => {
    const builtins = new Set(builtinModules);
    for (const p of PACKAGES) {
      const dir = join(project, 'node_modules', '@alphadrop', p);
      // an optional peer (bbalpha's `sweep` and `worker` commands import @alphadrop/sweep when asked) is declared too
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
      const { name } = pkg;
      const dependencies = { ...pkg.dependencies, ...pkg.peerDependencies };
      const imported = new Set<string>();
      for (const file of jsFiles(join(dir, 'dist'))) {
        for (const m of readFileSync(file, 'utf8').matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s*)["']([^"'./][^"']*)["']/gm)) {
          const spec = m[1]!;
          if (spec.startsWith('node:') || builtins.has(spec.split('/')[0]!)) continue;
          imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
        }
      }
      imported.delete(name);
      expect([...imported].filter((d) => !(d in dependencies)), `${name} imports packages it does not declare`).toEqual([]);
    }
  });

  it('sees only what it installed: real package directories, no way up into the monorepo', () => {
    expect(relative(root, work).startsWith('..')).toBe(true);
    for (const p of PACKAGES) {
      const dir = join(project, 'node_modules', '@alphadrop', p);
      expect(lstatSync(dir).isSymbolicLink(), `${dir} is a link`).toBe(false);
      expect(lstatSync(dir).isDirectory()).toBe(true);
    }
    // Node looks for packages in every ancestor's node_modules: none may hold alphadrop.
    for (let d = dirname(project); d !== dirname(d); d = dirname(d)) expect(existsSync(join(d, 'node_modules', '@alphadrop')), d).toBe(false);
    // Every exported entry resolves, for node, inside the project.
    const all = PACKAGES.flatMap(specifiers);
    const script = `for (const s of ${JSON.stringify(all)}) console.log(s, import.meta.resolve(s));`;
    const out = mustRun('resolving the entries', process.execPath, ['--input-type=module', '-e', script], project);
    const resolved = out.trim().split('\n').map((l) => l.split(' '));
    expect(resolved.map(([s]) => s)).toEqual(all);
    for (const [s, url] of resolved) expect(new URL(url!).pathname.startsWith(join(project, 'node_modules') + sep), `${s} -> ${url}`).toBe(true);
    // and the installed packages' relative paths (fixtures) stay inside node_modules too
    const req = createRequire(join(project, 'package.json'));
    expect(existsSync(resolve(dirname(req.resolve('@alphadrop/bbalpha/package.json')), '../nn/fixtures/uci-yacht/data.txt'))).toBe(true);
  });

  it('imports every exported entry in node', () => {
    const all = PACKAGES.flatMap(specifiers);
    const script = `for (const s of ${JSON.stringify(all)}) console.log(s, Object.keys(await import(s)).length);`;
    const out = mustRun('importing the entries', process.execPath, ['--input-type=module', '-e', script], project);
    for (const s of all) expect(out).toMatch(new RegExp(`^${s.replace(/[/.]/g, '\\$&')} [1-9]\\d*$`, 'm'));
  });

  it('runs the README examples and prints what they say', () => {
    const readmes = [...PACKAGES.map((p) => join(pkgDir(p), 'README.md')), join(root, 'README.md')];
    let count = 0;
    for (const readme of readmes) {
      readmeExamples(readFileSync(readme, 'utf8')).forEach(({ code, prints }, i) => {
        const where = `${relative(root, readme)} example ${i + 1}`;
        expect(prints.length, `${where}: no "// prints:" line to check`).toBeGreaterThan(0);
        const file = join(project, `example-${count++}.mjs`);
        writeFileSync(file, code);
        const out = mustRun(where, process.execPath, [file], project, 120_000);
        for (const line of prints) expect(out, `${where}: prints ${line}`).toMatch(printsPattern(line));
      });
    }
    expect(count).toBeGreaterThanOrEqual(PACKAGES.length);
  }, 300_000);

  it('runs the alphadrop bin from node_modules/.bin', () => {
    const out = mustRun('alphadrop help', join(project, 'node_modules', '.bin', 'alphadrop'), ['help'], project);
    expect(out).toMatch(/^alphadrop <command>/m);
    for (const command of ['demo', 'train', 'predict', 'reproduce']) expect(out).toContain(command);
    const bad = run(join(project, 'node_modules', '.bin', 'alphadrop'), ['no-such-command'], project);
    expect(bad.status).toBe(1);
    // a command that reads data shipped in the packages (nn's embedded yacht), in about a second
    const out2 = join(work, 'uci');
    mustRun('alphadrop reproduce', join(project, 'node_modules', '.bin', 'alphadrop'), ['reproduce', 'uci', '--datasets', 'yacht', '--embedded', '--splits', '1', '--epochs', '2', '--out', out2], project, 120_000);
    expect(existsSync(join(out2, 'summary.json'))).toBe(true);
  }, 180_000);

  it('type-checks a consumer against the shipped declarations (node16 resolution of "exports")', () => {
    const source = [
      "import { tensor, type Tensor } from '@alphadrop/core';",
      "import { Prim } from '@alphadrop/core/backend';",
      "import { init, type Initialized } from '@alphadrop/kernels';",
      "import { gpuKernels } from '@alphadrop/kernels/modules';",
      "import { mlp, type Sequential } from '@alphadrop/nn';",
      "import { saveCheckpoint } from '@alphadrop/nn/node';",
      "import { bbAlphaLoss } from '@alphadrop/bbalpha';",
      "import { loadPredictor, type Predictor } from '@alphadrop/bbalpha/infer';",
      'const t: Tensor = tensor([1, 2]);',
      'const m: Sequential = mlp([2, 3, 2], { dropout: 0.5 });',
      'const ready: Promise<Initialized> = init({ backend: "cpu" });',
      'const load: (b: Uint8Array) => Predictor = loadPredictor;',
      'export const used = [t, m, ready, load, Prim, gpuKernels, saveCheckpoint, bbAlphaLoss];',
      '// @ts-expect-error: a tensor is not a number',
      'export const wrong: number = t;',
      '',
    ].join('\n');
    writeFileSync(join(project, 'consumer.ts'), source);
    const tsconfig = { compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['consumer.ts'] };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = join(dirname(createRequire(join(root, 'package.json')).resolve('typescript/package.json')), 'bin', 'tsc');
    mustRun('tsc on a consumer of the installed packages', process.execPath, [tsc, '-p', 'tsconfig.json'], project);
  }, 120_000);

  it('bundles every entry for the browser with no Node built-in, and refuses the Node-only entry', async () => {
    const browserSpecifiers = PACKAGES.flatMap(specifiers).filter((s) => s !== '@alphadrop/nn/node');
    const entry = join(project, 'browser-entry.js');
    writeFileSync(entry, browserSpecifiers.map((s, i) => `import * as m${i} from '${s}';\nconsole.log(Object.keys(m${i}).length);`).join('\n') + '\n');
    const result = await build({
      entryPoints: [entry], absWorkingDir: project, bundle: true, format: 'esm', platform: 'browser', splitting: true,
      outdir: join(project, 'bundle'), write: false, metafile: true, logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((i) => !i.startsWith('node_modules/') && i !== 'browser-entry.js')).toEqual([]);
    expect(inputs.filter((i) => i.startsWith('node_modules/webgpu/') || i.endsWith('/device/node.js'))).toEqual([]);
    // (core's worker source, a string evaluated only in Node, may name node:worker_threads)
    for (const f of result.outputFiles) expect(f.text.match(/\bfrom\s*["']node:[^"']*|\bimport\s*\(\s*["']node:[^"']*/g), relative(project, f.path)).toBeNull();

    const nodeOnly = join(project, 'node-only-entry.js');
    writeFileSync(nodeOnly, "export * from '@alphadrop/nn/node';\n");
    await expect(build({ entryPoints: [nodeOnly], absWorkingDir: project, bundle: true, platform: 'browser', write: false, logLevel: 'silent' })).rejects.toThrow(/@alphadrop\/nn\/node/);
  }, 120_000);
});
