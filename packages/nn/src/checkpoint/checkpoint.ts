// Training checkpoints in safetensors: every parameter under `param.<name>`, the
// optimizer's flat state under `optim.slot<i>`, and in the metadata the optimizer rule and
// step and the training seed. Together with the counter-based RNG (masks are functions of
// (seed, step, layer, row, column)) that is the whole training state: resuming is
// bit-exact.

import { DataError, keep, tensor, type DType } from '@alphadrop/core';
import type { Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { SafetensorsEntry, SafetensorsFile } from './safetensors.js';

export interface TrainingState {
  seed: number;
}

/** The checkpoint's tensors and metadata (read back from the device). */
export async function checkpointEntries(model: Module, optimizer: Optimizer | null, state: TrainingState): Promise<SafetensorsFile> {
  const tensors: Record<string, SafetensorsEntry> = {};
  for (const [name, t] of model.namedParameters()) tensors[`param.${name}`] = { dtype: t.dtype, shape: [...t.shape], data: await t.data() };
  const metadata: Record<string, string> = { format: 'alphadrop-checkpoint-1', seed: String(state.seed) };
  if (optimizer) {
    metadata.rule = optimizer.options.rule;
    metadata.step = String(optimizer.step);
    for (const [i, t] of optimizer.slots.entries()) tensors[`optim.slot${i}`] = { dtype: t.dtype, shape: [...t.shape], data: await t.data() };
  }
  return { tensors, metadata };
}

/** Installs a checkpoint into a model (and optimizer) of the same architecture. */
export function restoreCheckpoint(file: SafetensorsFile, model: Module, optimizer: Optimizer | null, source = 'checkpoint'): TrainingState {
  if (file.metadata.format !== 'alphadrop-checkpoint-1')
    throw new DataError(source, "metadata format 'alphadrop-checkpoint-1'", String(file.metadata.format));
  const toTensor = (name: string, want: readonly number[], dtype: DType) => {
    const e = file.tensors[name];
    if (!e) throw new DataError(source, `a tensor named ${name}`, 'none');
    if (e.dtype !== dtype || e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i]))
      throw new DataError(source, `${name} of ${dtype} [${want}]`, `${e.dtype} [${e.shape}]`);
    return tensor(e.data.slice(), e.shape, { dtype });
  };
  const params = model.namedParameters();
  // build everything first: a bad file leaves the model untouched
  const next = params.map(([name, t]) => toTensor(`param.${name}`, t.shape, t.dtype));
  let slots: ReturnType<typeof toTensor>[] = [];
  if (optimizer) {
    if (file.metadata.rule !== optimizer.options.rule) throw new DataError(source, `optimizer rule ${optimizer.options.rule}`, String(file.metadata.rule));
    slots = optimizer.slots.map((t, i) => toTensor(`optim.slot${i}`, t.shape, t.dtype));
  }
  params.forEach(([name], i) => model.setParameter(name, next[i]!));
  if (optimizer) {
    optimizer.slots.forEach((t) => t.dispose());
    optimizer.slots = slots.map((t) => keep(t));
    optimizer.step = Number(file.metadata.step);
  }
  const seed = Number(file.metadata.seed);
  if (!Number.isSafeInteger(seed)) throw new DataError(source, 'an integer seed in the metadata', String(file.metadata.seed));
  return { seed };
}
