// `npm run bench:browser`: the matmul ladder and the BB-α training step in headless Chromium
// (page.ts, bundled and served on localhost, driven through puppeteer-core with WebGPU on
// SwiftShader), with tfjs-webgpu and jax-js measured on the same page. The page prints the
// same tables as the Node entries; this copies them to stdout (and to --out FILE).
//
//   npm run bench:browser -- [--parts matmul,step] [--chromium PATH] [--out FILE]
//     matmul: [--shapes 256x256x256,784x1280x100:TN] [--versions v1,v3,auto] [--all-configs]
//             [--min-ms 20] [--windows 3] [--max-reps 64]
//     step:   [--M 16] [--K 2] [--sizes 784,100,100,10] [--libs alphadrop,fused,tfjs,jax]
//             [--warmup 2] [--steps 3] [--reps 3] [--step-min-ms 0] [--max-steps 20]
//
// The defaults are sized for SwiftShader, which emulates a GPU on the CPU: its tables check
// correctness, their times are not speed. On a machine with a real GPU in Chromium, raise
// --shapes, --M/--K and --steps. Exit code 0 when everything validated, 1 otherwise, 2 when
// the browser or its adapter is missing.

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForBrowser, runInChromium } from '../harness/chromium.js';
import { listFlag, numberFlag, packageVersion, parseFlags } from '../harness/cli.js';
import type { BrowserBenchOptions, BrowserBenchResult } from './page.js';

const flags = parseFlags(process.argv.slice(2));
const HERE = dirname(fileURLToPath(import.meta.url));
const PEERS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgpu', '@jax-js/jax'] as const;

const options: BrowserBenchOptions = {
  parts: listFlag(flags, 'parts', ['matmul', 'step']) as BrowserBenchOptions['parts'],
  shapes: listFlag(flags, 'shapes', []),
  ladderVersions: listFlag(flags, 'versions', []),
  versions: Object.fromEntries(PEERS.map((p) => [p, packageVersion(p)])),
  allConfigs: flags['all-configs'] === true,
  minMs: numberFlag(flags, 'min-ms', 20),
  windows: numberFlag(flags, 'windows', 3),
  maxReps: numberFlag(flags, 'max-reps', 64),
  step: {
    M: numberFlag(flags, 'M', 16),
    K: numberFlag(flags, 'K', 2),
    sizes: listFlag(flags, 'sizes', ['784', '100', '100', '10']).map(Number),
    libs: listFlag(flags, 'libs', ['alphadrop', 'fused', 'tfjs', 'jax']),
    warmup: numberFlag(flags, 'warmup', 2),
    steps: numberFlag(flags, 'steps', 3),
    reps: numberFlag(flags, 'reps', 3),
    minMs: numberFlag(flags, 'step-min-ms', 0),
    maxSteps: numberFlag(flags, 'max-steps', 20),
  },
};

const lines: string[] = [];
const print = (text: string) => {
  console.log(text);
  lines.push(text);
};

async function main(): Promise<number> {
  for (const p of options.parts) if (p !== 'matmul' && p !== 'step') throw new Error(`--parts: expected matmul and/or step, got '${p}'`);
  const t0 = performance.now();
  const bundle = await bundleForBrowser(`import ${JSON.stringify(join(HERE, 'page.ts'))};\n`, HERE);
  let run;
  try {
    run = await runInChromium<BrowserBenchResult | { error: string }>(bundle, {
      ...(typeof flags.chromium === 'string' ? { chromium: flags.chromium } : {}),
      pageOptions: options,
      onConsole: print,
    });
  } catch (e) {
    console.error(`bench:browser: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const r = run.result;
  const header = [
    `bench:browser — ${run.browser} (headless, puppeteer-core), page on localhost; ${new Date().toISOString()}, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    `command: npm run bench:browser --${process.argv.slice(2).map((a) => ` ${a}`).join('')}`,
    ...('error' in r ? [] : [/swiftshader/i.test(r.adapter)
      ? `adapter ${r.adapter}: SwiftShader emulates a GPU on the CPU. These tables check CORRECTNESS ONLY; their times are not speed (real-GPU timings come from Node/Dawn, bench/README-gpu.md).`
      : `adapter ${r.adapter}`]),
  ];
  for (const h of header) console.log(h);
  if (typeof flags.out === 'string') {
    writeFileSync(flags.out, `${[...header, '', ...lines].join('\n')}\n`);
    console.log(`wrote ${flags.out}`);
  }
  if (run.pageErrors.length) console.log(`page errors: ${run.pageErrors.join('; ')}`);
  if ('error' in r) return 2;
  if (r.failures.length) console.log(`failures:\n  ${r.failures.join('\n  ')}`);
  return r.failures.length || run.pageErrors.length ? 1 : 0;
}

process.exit(await main());
