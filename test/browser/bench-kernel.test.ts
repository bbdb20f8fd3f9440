// The kernel benchmark harness (bench/kernel) in Node on Dawn (lavapipe) and in headless
// Chromium (SwiftShader): a correct kernel (the SAXPY example) is validated and then timed,
// and the same kernel with an off-by-one bound is rejected with a KernelMismatchError naming
// the first bad index, its value and the expected one (computed here in float64,
// independently of the spec's reference), and is never timed. A missing adapter or browser
// fails the suite; it never skips.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValueError } from '@alphadrop/core';
import { acquireNodeDevice, type NodeDevice } from '@alphadrop/kernels';
import { benchKernel, KernelMismatchError, type KernelSpec, type KernelStage } from '../../bench/kernel/bench-kernel.js';
import { benchSpecModuleInChromium } from '../../bench/kernel/browser.js';
import saxpy from '../../bench/kernel/examples/saxpy.js';
import offByOne from '../../bench/kernel/examples/off-by-one.js';

const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.json';
const example = (name: string) => fileURLToPath(new URL(`../../bench/kernel/examples/${name}`, import.meta.url));

// What SAXPY's last entry must be, from the spec's data, in float64: out[n − 1] = a·x + y.
const [x, y] = saxpy.bindings.map((b) => (b.kind === 'input' ? b.data : null));
const params = saxpy.bindings.find((b) => b.kind === 'uniform')!.data as Uint32Array;
const n = params[0]!;
const a = new Float32Array(params.buffer)[1]!;
const lastWant = a * x![n - 1]! + y![n - 1]!;
// one call must take positive time, and the timing protocol must run at all: R = 1, one window
const QUICK = { minMs: 0, maxReps: 1, windows: 1 };

describe('kernel benchmark in Node (Dawn)', () => {
  let nd: NodeDevice;
  beforeAll(async () => {
    if (existsSync(LAVAPIPE)) process.env.VK_ICD_FILENAMES ??= LAVAPIPE;
    nd = await acquireNodeDevice(); // throws without an adapter: the suite fails
  });
  afterAll(async () => {
    await nd?.destroy();
  });
  const run = (spec: KernelSpec, stages: KernelStage[]) => benchKernel(nd.device, spec, { ...QUICK, wait: (p) => nd.wait(p), onStage: (s) => stages.push(s) });

  it('validates a correct kernel, then times it', async () => {
    const stages: KernelStage[] = [];
    const r = await run(saxpy, stages);
    expect(stages).toEqual(['compiled', 'validated', 'timed']);
    expect(r.checked).toBe(n);
    expect(r.maxErr).toBeLessThanOrEqual(1);
    expect(r.timing.msPerCall).toBeGreaterThan(0);
    expect(r.timing.msBest).toBeGreaterThan(0);
    expect(r.gbps).toBeGreaterThan(0);
  });

  it('rejects an off-by-one kernel with the first bad index, never timing it', async () => {
    const stages: KernelStage[] = [];
    const err = await run(offByOne, stages).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(KernelMismatchError);
    const m = err as KernelMismatchError;
    expect(m.index).toBe(n - 1);
    expect(m.got).toBe(0); // the cleared output, never written
    expect(m.want).toBeCloseTo(lastWant, 6);
    expect(m.badEntries).toBe(1);
    expect(m.message).toContain(`output[${n - 1}]`);
    expect(stages).toEqual(['compiled']);
  });

  it('refuses a spec whose bindings do not match the shader', async () => {
    const stages: KernelStage[] = [];
    // the output declared as an input: binding 2 is read_write in the WGSL
    const wrong: KernelSpec = { ...saxpy, bindings: saxpy.bindings.map((b) => (b.kind === 'output' ? { kind: 'uniform', data: new Uint32Array(4) } : b)) };
    await expect(run(wrong, stages)).rejects.toBeInstanceOf(ValueError);
    expect(stages).toEqual([]);
  });
});

describe('kernel benchmark in headless Chromium (SwiftShader)', () => {
  it('validates and times a correct kernel, and rejects an off-by-one one untimed', async () => {
    const good = await benchSpecModuleInChromium(example('saxpy.ts'), QUICK);
    expect(good.rows).toHaveLength(1);
    const ok = good.rows[0]!;
    expect(ok.ok, ok.validation).toBe(true);
    expect(ok.device).toMatch(/^chromium: /);
    expect(ok.stages).toEqual(['compiled', 'validated', 'timed']);
    expect(ok.msMedian).toBeGreaterThan(0);

    const bad = await benchSpecModuleInChromium(example('off-by-one.ts'), QUICK);
    const row = bad.rows[0]!;
    expect(row.ok).toBe(false);
    expect(row.error).toBe('KernelMismatchError');
    expect(row.validation).toContain(`output[${n - 1}] = `);
    expect(row.validation).toContain('got 0');
    expect(row.stages).toEqual(['compiled']);
    expect(row.msMedian).toBeUndefined();
    console.log(`browser adapter: ${good.adapter} (${good.browser})`);
  }, 120_000);
});
