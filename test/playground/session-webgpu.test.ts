// The playground's TrainingSession on WebGPU in Node (Dawn on lavapipe): a traced step is one
// submit with nothing read back, a long run holds a flat buffer count, and the GPU session's predictions equal the CPU's on the
// same weights (the checkpoint format carries them across), within 1e-5 with the same argmax.
// A machine without an adapter fails here, as every WebGPU suite does.

import { afterAll, describe, expect, it } from 'vitest';
import { cpuBackend, getBackend, memory, setBackend } from '@alphadrop/core';
import { TrainingSession } from '../../packages/playground/src/session.js';
import type { Prediction } from '../../packages/playground/src/protocol.js';
import { destroyTestBackend, getTestBackend } from '../helpers/webgpu.js';
import { sessionData, tinyConfig } from './session-data.js';

afterAll(() => destroyTestBackend());

const argmaxOf = (p: Prediction) => p.probs.indexOf(Math.max(...p.probs));

describe('TrainingSession on WebGPU', () => {
  it('trains with one submit per step and predicts as the CPU does on the same weights', async () => {
    const gpu = await getTestBackend();
    const cpu = cpuBackend();
    const prev = getBackend();
    const data = await sessionData();
    const config = tinyConfig({ alphas: [0, 1], testSamples: 6 });
    const digits = [0, 1, 2].map((i) => data.test.images.slice(i * 784, (i + 1) * 784));
    let onGpu: Prediction[][];
    let checkpoints: Uint8Array[];
    let cpuTrained: Prediction[][];
    try {
      setBackend(gpu);
      const s = new TrainingSession(config, data);
      try {
        for (let i = 0; i < 4; i++) await s.step(); // two eager steps record and check each model's trace; then replays
        const before = gpu.counters.submits;
        await s.step(); // step 5 of each model: no point closes (pointEvery 8)
        expect(gpu.counters.submits - before).toBe(config.alphas.length);
        for (let i = 0; i < 3; i++) await s.step(); // step 8 closes a point with an evaluation
        const points = await s.drain();
        expect(points.map((p) => [p.alpha, p.step])).toEqual([[0, 8], [1, 8]]);
        expect(points.every((p) => Number.isFinite(p.loss) && p.testAccuracy !== undefined)).toBe(true);
        // a long run holds a flat count of tensors and device buffers
        const held = memory();
        for (let i = 0; i < 8; i++) await s.step();
        expect((await s.drain()).length).toBe(2);
        expect(memory()).toMatchObject({ tensors: held.tensors, buffers: held.buffers });
        onGpu = [];
        for (const x of digits) onGpu.push(await s.predict(x));
        checkpoints = [];
        for (const a of config.alphas) checkpoints.push((await s.exportCheckpoint(a)).bytes);
      } finally {
        await s.dispose();
      }
      setBackend(cpu);
      const c = new TrainingSession(config, data);
      try {
        for (let i = 0; i < 16; i++) await c.step();
        cpuTrained = [];
        for (const x of digits) cpuTrained.push(await c.predict(x));
        for (const bytes of checkpoints) c.importCheckpoint(bytes);
        for (const [i, x] of digits.entries()) {
          const onCpu = await c.predict(x);
          for (const [g, p] of onCpu.entries()) {
            const q = onGpu[i]![g]!;
            expect(q.alpha).toBe(p.alpha);
            p.probs.forEach((v, k) => expect(Math.abs(v - q.probs[k]!)).toBeLessThan(1e-5));
            expect(argmaxOf(q)).toBe(argmaxOf(p));
            expect(Math.abs(q.entropy - p.entropy)).toBeLessThan(1e-5);
          }
        }
      } finally {
        await c.dispose();
      }
    } finally {
      setBackend(prev);
    }
    // sixteen steps trained on each backend from the same start end close (f32 sums in another order)
    for (const [i, row] of cpuTrained.entries())
      for (const [g, p] of row.entries()) p.probs.forEach((v, k) => expect(Math.abs(v - onGpu[i]![g]!.probs[k]!)).toBeLessThan(1e-3));
  });
});
