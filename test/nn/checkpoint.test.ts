// Resume is bit-exact: 2N steps equal N steps, a checkpoint through safetensors bytes,
// a fresh model and optimizer restored from it, and N more steps — on the CPU and on WebGPU.
// Checkpoints describe their model: the file alone rebuilds it (any MLP, the paper's CNN);
// a file without that metadata, or holding NaN/Inf, is refused with what is wrong.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, ValueError, crossEntropy, cpuBackend, getBackend, setBackend, tensor, type Backend, type Tensor } from '@alphadrop/core';
import {
  Optimizer, VERSION, buildModel, checkpointEntries, decodeSafetensors, describeModel, encodeSafetensors, mlp, mlpArchitecture, modelFromCheckpoint,
  paperCnn, paperCnnArchitecture, parseArchitecture, readCheckpointMetadata, restoreCheckpoint, trainStep, type Sequential,
} from '@alphadrop/nn';
import { loadModelFromCheckpoint, saveCheckpoint } from '@alphadrop/nn/node';
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
    const other = mlp([6, 9, 3], { seed: 3 });
    const before = await params(other);
    expect(() => restoreCheckpoint(file, other, null)).toThrow(DataError);
    expect(await params(other)).toEqual(before);
  });
});

const cpu = () => setBackend(cpuBackend('fast'));
const tempDir = () => mkdtempSync(join(tmpdir(), 'alphadrop-ckpt-'));

/** The model's eval-mode (deterministic) outputs on fixed inputs. */
async function outputs(m: Sequential, inputs: number): Promise<number[]> {
  const x = tensor(new Float32Array(2 * inputs).map((_, i) => Math.cos(i * 0.11)), [2, inputs]);
  m.eval();
  const y = m.forward(x, { key: [1, 2], step: 0 });
  return Array.from(await y.data());
}

describe('self-describing checkpoints', () => {
  it('holds format, version, seed, step, architecture, α, K, normalisation and τ, and reads them back', async () => {
    cpu();
    const { model, optimizer } = fresh(1);
    const state = { seed: 7, step: 12, alpha: 0.5, samples: 10, tau: 3.5, normalisation: { inputMean: [1, 2], inputStd: [0.5, 4], targetMean: -1, targetStd: 2 } };
    const file = decodeSafetensors(encodeSafetensors(...(Object.values(await checkpointEntries(model, optimizer, state)) as [never, never])));
    expect(file.metadata.format).toBe('alphadrop-checkpoint-2');
    // the version is the package's
    const pkg = JSON.parse(readFileSync(new URL('../../packages/nn/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    const meta = readCheckpointMetadata(file, 'x', { requireArchitecture: true });
    expect(meta).toMatchObject({ ...state, version: pkg.version, rule: 'adam' });
    // the architecture written out by hand: dropout 0.3 before both linear layers, ReLU between
    expect(meta.architecture).toEqual([
      { kind: 'dropout', rate: 0.3 }, { kind: 'linear', in: 6, out: 8 }, { kind: 'relu' },
      { kind: 'dropout', rate: 0.3 }, { kind: 'linear', in: 8, out: 3 },
    ]);
  });

  it('rebuilds 784-100-100-10, 784-1000×3-10 and the paper CNN from the file alone', async () => {
    cpu();
    const dir = tempDir();
    for (const [name, m, inputs] of [
      ['mlp', mlp([784, 100, 100, 10], { dropout: 0.5, seed: 3 }), 784],
      ['wide', mlp([784, 1000, 1000, 1000, 10], { dropout: 0.5, seed: 4 }), 784],
      ['cnn', paperCnn({ dropout: 0.5, seed: 5 }), 784],
    ] as const) {
      const path = join(dir, `${name}.safetensors`);
      await saveCheckpoint(path, m, null, { seed: 9 });
      const { model, metadata } = loadModelFromCheckpoint(path);
      expect(metadata.architecture).toEqual(describeModel(m));
      expect(model.namedParameters().map(([n, t]) => [n, t.shape])).toEqual(m.namedParameters().map(([n, t]) => [n, t.shape]));
      expect(await params(model)).toEqual(await params(m));
      expect(await outputs(model, inputs)).toEqual(await outputs(m, inputs));
    }
  });

  it('the paper CNN is the spec’s (§b.3): parameter counts by hand', () => {
    cpu();
    const arch = paperCnnArchitecture({ dropout: 0.5 });
    const counts = buildModel(arch).namedParameters().map(([, t]) => t.size);
    // conv 1→32 3×3, conv 32→32 3×3, dense 32·12·12→100, dense 100→10 (weights, then biases)
    expect(counts).toEqual([32 * 9, 32, 32 * 32 * 9, 32, 4608 * 100, 100, 100 * 10, 10]);
    expect(arch.filter((l) => l.kind === 'dropout').length).toBe(2);
    const convIndex = arch.findIndex((l) => l.kind === 'conv2d');
    expect(arch.slice(0, convIndex + 4).some((l) => l.kind === 'dropout')).toBe(false); // none before the convolutions
  });

  it('mlp() is its architecture built: same parameters as buildModel(mlpArchitecture(...))', async () => {
    cpu();
    expect(await params(mlp([5, 7, 2], { dropout: 0.1, seed: 2 }))).toEqual(await params(buildModel(mlpArchitecture([5, 7, 2], { dropout: 0.1 }), { seed: 2 })));
    expect(() => mlp([5, 2], { dropout: Number.NaN })).toThrow(ValueError);
    expect(() => mlp([5, 2], { dropout: -0.1 })).toThrow(/dropout rate in \[0, 1\)/);
  });

  it('refuses an architecture whose sizes do not chain, an unknown kind, an unknown field', () => {
    expect(() => parseArchitecture([{ kind: 'linear', in: 4, out: 5 }, { kind: 'linear', in: 6, out: 2 }], 'f')).toThrow(/f\[1\] \(linear\)\.in: expected the input's size \[5\], got 6/);
    expect(() => parseArchitecture([{ kind: 'dense', in: 4, out: 5 }], 'f')).toThrow(/f\[0\]\.kind: expected one of linear/);
    expect(() => parseArchitecture([{ kind: 'dropout', rate: 0.5, p: 0.5 }, { kind: 'linear', in: 1, out: 1 }], 'f')).toThrow(DataError);
    expect(() => parseArchitecture([{ kind: 'dropout', rate: 1 }, { kind: 'linear', in: 1, out: 1 }], 'f')).toThrow(/rate: expected a dropout rate in \[0, 1\), got 1/);
  });

  it('a checkpoint without the metadata says what is missing', async () => {
    cpu();
    const { model } = fresh(1);
    const file = await checkpointEntries(model, null, { seed: 1 });
    const v1 = { tensors: file.tensors, metadata: { format: 'alphadrop-checkpoint-1', seed: '1' } };
    expect(() => modelFromCheckpoint(v1, 'old.safetensors')).toThrow(/old\.safetensors: expected an alphadrop checkpoint of format 'alphadrop-checkpoint-2'.*got format "alphadrop-checkpoint-1" \(missing: step, version, architecture/);
    const noArch = { tensors: file.tensors, metadata: { ...file.metadata } };
    delete noArch.metadata.architecture;
    expect(() => modelFromCheckpoint(noArch, 'a.safetensors')).toThrow(/a\.safetensors: metadata: expected the fields seed, step, version, architecture, got a checkpoint without architecture/);
    expect(() => modelFromCheckpoint({ tensors: file.tensors, metadata: {} }, 'b')).toThrow(/no "format" field/);
  });

  it('saving NaN or Inf is refused naming the tensor, and no file is written', async () => {
    cpu();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const dir = tempDir();
      const m = mlp([3, 4, 2], { seed: 1 });
      const w = new Float32Array(8).fill(0.1);
      w[5] = bad;
      m.setParameter('2.weight', tensor(w, [4, 2]));
      await expect(saveCheckpoint(join(dir, 'm.safetensors'), m, null, { seed: 1 })).rejects.toThrow(new RegExp(`saveCheckpoint: expected finite values in every tensor, got ${bad} at element 5 of param\\.2\\.weight`));
      expect(readdirSync(dir)).toEqual([]);
    }
  });

  it('loading a checkpoint holding NaN is a DataError unless allowNonFinite', async () => {
    cpu();
    const dir = tempDir();
    const path = join(dir, 'm.safetensors');
    const m = mlp([3, 4, 2], { dropout: 0.5, seed: 1 });
    await saveCheckpoint(path, m, null, { seed: 1 });
    const file = decodeSafetensors(new Uint8Array(readFileSync(path)));
    (file.tensors['param.1.weight']!.data as Float32Array)[3] = Number.NaN;
    writeFileSync(path, encodeSafetensors(file.tensors, file.metadata));
    expect(() => loadModelFromCheckpoint(path)).toThrow(new RegExp(`${path}: expected finite values in tensor param\\.1\\.weight, got NaN at element 3`));
    const { model } = loadModelFromCheckpoint(path, { allowNonFinite: true });
    expect(Number.isNaN((await model.namedParameters()[0]![1].data())[3])).toBe(true);
  });
});
