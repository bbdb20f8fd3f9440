// Node side of the kernel benchmark in Chromium: bundles a spec module together with the
// kernel page (page.ts) and runs it through harness/chromium.ts. The CLI and the browser
// test both come through here.

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, runInChromium, type PageOptions } from '../harness/chromium.js';
import type { KernelPageOptions, KernelPageResult } from './page.js';

const PAGE = resolve(dirname(fileURLToPath(import.meta.url)), 'page.ts');

export interface BrowserKernelRun extends KernelPageResult {
  browser: string;
}

/** The spec module's kernels (its default export: a KernelSpec or a list) benchmarked in headless Chromium. */
export async function benchSpecModuleInChromium(specModule: string, timing: Partial<KernelPageOptions>, opts: Omit<PageOptions, 'pageOptions'> = {}): Promise<BrowserKernelRun> {
  const entry = `import specs from ${JSON.stringify(resolve(specModule))};\nimport { kernelPage } from ${JSON.stringify(PAGE)};\nkernelPage(specs);\n`;
  const bundle = await bundleForBrowser(entry, dirname(resolve(specModule)));
  const run = await runInChromium<KernelPageResult | { error: string }>(bundle, { ...opts, pageOptions: timing });
  if (run.pageErrors.length) throw new Error(`the kernel page failed: ${run.pageErrors.join('; ')}`);
  if ('error' in run.result) throw new Error(`the kernel page failed: ${run.result.error}`);
  return { ...run.result, browser: run.browser };
}
