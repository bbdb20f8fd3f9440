// The WebGPU runtime on real WebGPU: dispatch/submit counters of the one-encoder recorder,
// the pipeline and bind-group caches, buffer-pool reuse (and its upload hazard), per-dispatch
// uniform blocks, a 1,000-step training loop that must hold memory flat, and the table of
// which suite tests each primitive's kernel.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  abs, add, argmax, crossEntropy, exp, getBackend, matmul, memory, mul, neg, keyFor, randomBits,
  randomUniform, relu, setBackend, sqrt, sub, tensor, tidy, valueAndGradsOf, type Tensor,
} from '@alphadrop/core';
import { Prim, philoxFill } from '@alphadrop/core/backend';
import type { GpuStorage, WebGpuBackend } from '@alphadrop/kernels';
import { GPU_PRIM_COVERAGE, getTestBackend } from '../helpers/webgpu.js';

let gpu: WebGpuBackend;
beforeAll(async () => {
  gpu = await getTestBackend();
});

const bufferOf = (t: Tensor) => (t.storage as GpuStorage).buffer;

/** Runs fn with the GPU as the default backend. */
function onGpu<T>(fn: () => T): T {
  const prev = getBackend();
  setBackend(gpu);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

describe('recorder counters', () => {
  it('a 10-op chain encodes 10 dispatches and no submit; the read submits the flush and its copy', async () => {
    const x = tensor([0.5, -1, 2, 3, -4, 5, 6], [7], { backend: gpu });
    gpu.flush();
    const before = { ...gpu.counters };
    const chain = [neg, abs, sqrt, exp, neg, relu, (t: Tensor) => add(t, t), abs, (t: Tensor) => mul(t, t), sqrt];
    const made: Tensor[] = [];
    let y = x;
    for (const f of chain) made.push((y = f(y)));
    expect(gpu.counters.dispatches - before.dispatches).toBe(10);
    expect(gpu.counters.submits - before.submits).toBe(0);
    const values = await y.data();
    expect(gpu.counters.submits - before.submits).toBe(2); // the flush, then the read-back copy
    const want = [0.5, -1, 2, 3, -4, 5, 6].map((v) => Math.sqrt((2 * Math.max(0, -Math.exp(Math.sqrt(Math.abs(-v))))) ** 2));
    expect(Array.from(values)).toEqual(want.map((v) => Math.fround(v)));
    await y.data(); // nothing encoded since: only the copy
    expect(gpu.counters.submits - before.submits).toBe(3);
    for (const t of [x, ...made]) t.dispose();
  });

  it('two randomBits in one encoder, one flush: each dispatch sees its own uniform block', async () => {
    const n = 103;
    gpu.flush();
    const submits = gpu.counters.submits;
    const ca = { key: keyFor(11, 'user'), counter: [1, 5, 0] } as const;
    const cb = { key: keyFor(12, 'user'), counter: [2, 9, 1] } as const;
    const a = onGpu(() => randomBits([n], ca));
    const b = onGpu(() => randomBits([n], cb));
    expect(gpu.counters.submits).toBe(submits);
    const [ga, gb] = [await a.data(), await b.data()];
    expect(gpu.counters.submits - submits).toBe(3); // one flush carrying both, two copies
    const wa = new Uint32Array(n);
    const wb = new Uint32Array(n);
    philoxFill(wa, ca.key, ca.counter);
    philoxFill(wb, cb.key, cb.counter);
    expect(Array.from(ga)).toEqual(Array.from(wa));
    expect(Array.from(gb)).toEqual(Array.from(wb));
    expect(Array.from(ga)).not.toEqual(Array.from(gb));
    a.dispose();
    b.dispose();
  });
});

describe('caches', () => {
  it('the same shape twice compiles once; a new shape compiles again', async () => {
    const x = tensor(Array.from({ length: 3 * 331 }, (_, i) => i / 100), [3, 331], { backend: gpu });
    const c0 = gpu.counters.compiles;
    const y1 = exp(x);
    expect(gpu.counters.compiles - c0).toBe(1);
    const size = gpu.pipelines.size;
    const y2 = exp(x);
    expect(gpu.counters.compiles - c0).toBe(1);
    expect(gpu.pipelines.size).toBe(size);
    const z = tensor(Array.from({ length: 2 * 331 }, (_, i) => i / 100), [2, 331], { backend: gpu });
    const y3 = exp(z);
    expect(gpu.counters.compiles - c0).toBe(2);
    expect(Array.from(await y1.data())).toEqual(Array.from(await y2.data()));
    for (const t of [x, y1, y2, z, y3]) t.dispose();
  });

  it('the same pipeline and buffers reuse the bind group', async () => {
    const device = gpu.device as GPUDevice & { createBindGroup: GPUDevice['createBindGroup'] };
    const original = device.createBindGroup;
    let created = 0;
    device.createBindGroup = function (this: GPUDevice, d: GPUBindGroupDescriptor) {
      created++;
      return original.call(this, d);
    };
    try {
      const x = tensor([1, 2, 3, 4, 5], [5], { backend: gpu });
      const y1 = neg(x);
      const out = bufferOf(y1);
      y1.dispose(); // its buffer returns to the pool and is handed out again for the same size
      const afterFirst = created;
      const y2 = neg(x);
      expect(bufferOf(y2)).toBe(out);
      expect(created).toBe(afterFirst); // same (pipeline, in0, out): cached
      const x2 = tensor([1, 2, 3, 4, 6], [5], { backend: gpu });
      const y3 = neg(x2);
      expect(created).toBe(afterFirst + 1); // a new input buffer: a new bind group
      expect(Array.from(await y3.data())).toEqual([-1, -2, -3, -4, -6]);
      expect(Array.from(await y2.data())).toEqual([-1, -2, -3, -4, -5]);
      for (const t of [x, y2, x2, y3]) t.dispose();
    } finally {
      device.createBindGroup = original;
    }
  });
});

describe('buffer pool', () => {
  it('reuses released buffers; uploads wait for the submit that retires them', async () => {
    // 37 elements: a size bucket no other case of this file uses, so the pool starts empty for it
    const n = 37;
    const vals = (f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
    const x = tensor(vals((i) => i - 18), [n], { backend: gpu });
    await x.data(); // settle: nothing pending
    const created = gpu.pool.created;
    const y = neg(x);
    const yBuf = bufferOf(y);
    y.dispose(); // pending: an encoded, unsubmitted dispatch wrote it
    const u = tensor(vals(() => 7), [n], { backend: gpu });
    // queue.writeBuffer runs before the open encoder: it must not land in y's buffer
    expect(bufferOf(u)).not.toBe(yBuf);
    const z = abs(u); // a dispatch output may take it (command order keeps that safe)
    expect(bufferOf(z)).toBe(yBuf);
    const w = neg(z);
    z.dispose();
    gpu.flush(); // the submit retires z's buffer
    const v = tensor(vals((i) => i), [n], { backend: gpu }); // now uploads may reuse it
    expect(bufferOf(v)).toBe(yBuf);
    expect(gpu.pool.created - created).toBe(3); // y, u and w; z and v reused y's buffer
    expect(Array.from(await w.data())).toEqual(vals(() => -7));
    expect(Array.from(await v.data())).toEqual(vals((i) => i));
    for (const t of [x, u, v, w]) t.dispose();
  });
});

describe('a 1,000-step training loop holds memory flat', () => {
  it('2-layer MLP, SGD, fresh random data each step, one submit per step', async () => {
    const [IN, HID, OUT, BATCH, LR] = [8, 16, 4, 32, 0.3];
    const prev = getBackend();
    setBackend(gpu);
    try {
      const teacher = randomUniform([IN, OUT], keyFor(1, 'user'), -1, 1);
      let params: Tensor[] = [
        randomUniform([IN, HID], keyFor(1, 'init', 0), -0.5, 0.5),
        randomUniform([HID], keyFor(1, 'init', 1), -0.1, 0.1),
        randomUniform([HID, OUT], keyFor(1, 'init', 2), -0.5, 0.5),
        randomUniform([OUT], keyFor(1, 'init', 3), -0.1, 0.1),
      ];
      const dataKey = keyFor(100, 'user');
      const step = (s: number): Tensor =>
        tidy(() => {
          const x = randomUniform([BATCH, IN], { key: dataKey, counter: [s, 0, 0] }, -1, 1) // step s: its own counter word;
          const labels = argmax(matmul(x, teacher), 1); // learnable: a fixed linear teacher
          const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
          const { value, grads } = valueAndGradsOf(() => crossEntropy(add(matmul(relu(add(matmul(x, w1), b1)), w2), b2), labels), params);
          const next = params.map((p, i) => sub(p, mul(grads[i]!, LR)));
          for (const p of params) p.dispose();
          params = next;
          return [value, ...next];
        })[0]!;
      const losses: number[] = [];
      let snapshot: { tensors: number; buffers: number; live: number; compiles: number } | null = null;
      let perStep: { dispatches: number; submits: number } | null = null;
      for (let s = 0; s < 1000; s++) {
        const before = { ...gpu.counters };
        const loss = step(s);
        gpu.flush(); // the end of a step: one submit
        if (s === 500) perStep = { dispatches: gpu.counters.dispatches - before.dispatches, submits: gpu.counters.submits - before.submits };
        if (s % 100 === 0 || s === 999) losses.push(await loss.item());
        loss.dispose();
        if (s === 50 || s === 999) {
          const m = memory();
          const now = { tensors: m.tensors, buffers: m.buffers, live: gpu.pool.live, compiles: gpu.counters.compiles };
          if (s === 50) snapshot = now;
          else expect(now).toEqual(snapshot);
        }
      }
      expect(perStep!.submits).toBe(1);
      expect(perStep!.dispatches).toBeGreaterThan(10);
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses[losses.length - 1]!).toBeLessThan(0.6 * losses[0]!); // it learns, so the loop really ran
      for (const p of [...params, teacher]) p.dispose();
    } finally {
      setBackend(prev);
    }
  });
});

describe('every primitive has a WebGPU test', () => {
  const here = (suite: string) => fileURLToPath(new URL(`./${suite}.test.ts`, import.meta.url));
  it('each member of the Prim enum is assigned to a suite in test/helpers/webgpu.ts', () => {
    const missing = Object.values(Prim).filter((p) => GPU_PRIM_COVERAGE[p] === undefined);
    expect(missing, 'primitives without a WebGPU kernel test: add cases and a GPU_PRIM_COVERAGE entry').toEqual([]);
  });
  it('each assigned suite exists', () => {
    const suites = [...new Set(Object.values(GPU_PRIM_COVERAGE))];
    expect(suites.filter((s) => !existsSync(here(s)))).toEqual([]);
  });
  it('the table names no primitive that is gone', () => {
    const known = new Set<string>(Object.values(Prim));
    expect(Object.keys(GPU_PRIM_COVERAGE).filter((p) => !known.has(p))).toEqual([]);
  });
});



