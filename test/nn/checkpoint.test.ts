// Resume is bit-exact: 2N steps equal N steps, a checkpoint through safetensors bytes,
// a fresh model and optimizer restored from it, and N more steps — on the CPU and on WebGPU.
import { describe, expect, it } from 'vitest';
import { DataError, crossEntropy, cpuBackend, getBackend, setBackend, tensor, type Backend, type Tensor } from '@alphadrop/core';
import {
  Optimizer, checkpointEntries, decodeSafetensors, encodeSafetensors, mlp, resetInitStreams, restoreCheckpoint, trainStep,

} from '@alphadrop/nn';
import { getTestBackend } from '../helpers/webgpu.js';

const N = 3;
const seed = 5;

function batches(): { x: Tensor; y: Tensor }[] {
  return Array.from({ length: 2 * N }, (_, b) => {
    const x = new Float32Array(16 * 6).map((_, i) => Math.sin(i * 0.37 + b));
    const y = Int32Array.from({ length: 16 }, (_, i) => (i + b) % 3);
    return { x: tensor(x, [16, 6]), y: tensor(y, [16]) };
  });
}

const loss = (m: ReturnType<typeof mlp>, x: Tensor, y: Tensor, ctx: Parameters<ReturnType<typeof mlp>['forward']>[1]) => crossEntropy(m.forward(x, ctx), y);

function fresh(initSeed: number) {
  resetInitStreams();
  const model = mlp([6, 8, 3], { dropout: 0.3, seed: initSeed });
  const optimizer = new Optimizer(model, { rule: 'adam', lr: 0.01, weightDecay: 1e-4 });
  return { model, optimizer };
}

async function params(m: ReturnType<typeof mlp>): Promise<number[][]> {
  return Promise.all(m.parameters().map(async (t) => Array.from(await t.data())));
}

async function resumeIsBitExact(backend: Backend): Promise<void> {
  const prev = getBackend();
  setBackend(backend);
  try {
    const data = batches();
    const straight = fresh(1);
    for (const b of data) trainStep(straight.model, straight.optimizer, loss as never, b.x, b.y, seed);
    const first = fresh(1);
    for (const b of data.slice(0, N)) trainStep(first.model, first.optimizer, loss as never, b.x, b.y, seed);
    const bytes = encodeSafetensors(...(Object.values(await checkpointEntries(first.model, first.optimizer, { seed }))) as [never, never]);
    const resumed = fresh(2); // a different initialisation: the restore must overwrite it
    const state = restoreCheckpoint(decodeSafetensors(bytes), resumed.model, resumed.optimizer);
    expect(state.seed).toBe(seed);
    expect(resumed.optimizer.step).toBe(N);
    for (const b of data.slice(N)) trainStep(resumed.model, resumed.optimizer, loss as never, b.x, b.y, state.seed);
    expect(await params(resumed.model)).toEqual(await params(straight.model));
    // and the run did move the parameters
    expect(await params(resumed.model)).not.toEqual(await params(fresh(1).model));
  } finally {
    setBackend(prev);
  }
}

describe('checkpoints', () => {
  it('resume is bit-exact on the CPU', () => resumeIsBitExact(cpuBackend('fast')));
  it('resume is bit-exact on WebGPU', async () => resumeIsBitExact(await getTestBackend()), 120_000);
  it('refuses a checkpoint of another architecture and leaves the model untouched', async () => {
    setBackend(cpuBackend('fast'));
    const a = fresh(1);
    const file = await checkpointEntries(a.model, a.optimizer, { seed });
    resetInitStreams();
    const other = mlp([6, 9, 3], { seed: 3 });
    const before = await params(other);
    expect(() => restoreCheckpoint(file, other, null)).toThrow(DataError);
    expect(await params(other)).toEqual(before);
  });
});
