// The library for the page (scripts/browser-bundles.mjs): no Node built-in and no server-side
// package on the browser path, and the inference entry within its size budget.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
// @ts-expect-error: a plain .mjs build script without declarations
import { buildBrowserBundles, BROWSER_ENTRIES } from '../../scripts/browser-bundles.mjs';

interface Row { name: string; files: string[]; minified: number; gzipped: number; budgetKiB?: number; code: Record<string, string> }

describe('browser bundles', () => {
  it('build every entry for the browser platform, the inference entry within its budget and free of training code', async () => {
    const rows = (await buildBrowserBundles()) as Row[];
    expect(rows.map((r) => r.name)).toEqual(['alphadrop', 'infer']);
    const infer = rows.find((r) => r.name === 'infer')!;
    expect(infer.budgetKiB).toBe(60);
    expect(infer.gzipped).toBeLessThanOrEqual(60 * 1024);
    expect(infer.gzipped).toBeGreaterThan(10 * 1024); // the engine is in it, not a stub
    const inferCode = infer.files.map((f) => infer.code[f]).join('\n');
    // no Dawn tick machinery, no optimizer, no charts on the page that only predicts
    for (const marker of ['alphadrop.kernels.dawnTicker', 'vega', 'optimizerUpdate(']) expect(inferCode.includes(marker), marker).toBe(false);
    const whole = rows.find((r) => r.name === 'alphadrop')!;
    expect(whole.gzipped).toBeGreaterThan(infer.gzipped);
    for (const r of rows) for (const f of r.files) expect(r.code[f]).not.toMatch(/from\s*["'](node:|webgpu["'])/);
  }, 120_000);

  it('refuse a Node built-in or a server-side package on the browser path, naming the entry', async () => {
    // inside the repository, so that the packages resolve as they would from the sources
    const cache = join(__dirname, '../../node_modules/.cache');
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, 'alphadrop-bundle-test-'));
    try {
      const fsEntry = join(dir, 'uses-fs.ts');
      writeFileSync(fsEntry, "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n");
      const asRoot = (p: string) => relative(join(__dirname, '../..'), p);
      await expect(buildBrowserBundles({ entries: [{ name: 'uses-fs', source: asRoot(fsEntry), what: 'test' }] })).rejects.toThrow(/uses-fs\.js.*node:fs/);
      const dawnEntry = join(dir, 'uses-dawn.ts');
      writeFileSync(dawnEntry, "export { create } from 'webgpu';\n");
      await expect(buildBrowserBundles({ entries: [{ name: 'uses-dawn', source: asRoot(dawnEntry), what: 'test' }] })).rejects.toThrow(/uses-dawn\.js.*Could not resolve "node:[a-z]+" in node_modules\/webgpu\//);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(BROWSER_ENTRIES.length).toBe(2);
  }, 120_000);
});
