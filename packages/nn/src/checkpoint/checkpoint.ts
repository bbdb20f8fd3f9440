// Training checkpoints in safetensors: every parameter under `param.<name>`, the
// optimizer's flat state under `optim.slot<i>`, and metadata that makes the file
// self-describing (format 'alphadrop-checkpoint-2'; every value a string, as safetensors
// requires, numbers and lists as JSON):
//   format         'alphadrop-checkpoint-2'
//   version        the library version that wrote it
//   seed, step     the training seed and the optimizer steps taken
//   architecture   the layer list of arch.ts (kinds, sizes, activations, dropout rates)
//   alpha, samples the BB-α settings, when the caller gives them
//   normalisation  {inputMean, inputStd, targetMean, targetStd}, when given (UCI)
//   tau            learned Gaussian precision, when given
//   data           {task, features, target, classes?} for a model of a user's own table:
//                  the feature columns by name and order, the target column, the class labels
//   rule           the optimizer's update rule, with its slots
// With the counter-based RNG (masks are functions of key and step) that is the whole
// training state: resuming is bit-exact, and modelFromCheckpoint rebuilds the model from
// the file alone. Non-finite values are refused on save (nothing is written) and on load
// (unless the caller opts in): a NaN weight must not pass for an uncertain model.

import { DataError, tensor, ValueError, type DType, type HostArray, type Tensor } from '@alphadrop/core';
import { describeModel, parseArchitecture, buildModel, type Architecture } from '../arch.js';
import { Sequential } from '../layers/sequential.js';
import type { Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { VERSION } from '../version.js';
import type { SafetensorsEntry, SafetensorsFile } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'alphadrop-checkpoint-2';

/** Data normalisation a model's inputs and targets went through (UCI: train statistics). */
export interface Normalisation {
  inputMean?: number[];
  inputStd?: number[];
  targetMean?: number;
  targetStd?: number;
}

/** The table a model was trained on (`alphadrop train --data`): what `predict` needs to read new rows. */
export interface DataColumns {
  task: 'regression' | 'classification';
  /** Feature column names, in the order of the model's inputs. */
  features: string[];
  target: string;
  /** Class labels in class-index order (classification). */
  classes?: string[];
}

/** What a checkpoint records about the run besides the tensors. */
export interface TrainingState {
  seed: number;
  /** Optimizer steps taken; defaults to the optimizer's step (0 without one). */
  step?: number;
  /** Defaults to describeModel(model) when the model is a Sequential. */
  architecture?: Architecture;
  alpha?: number;
  samples?: number;
  normalisation?: Normalisation;
  tau?: number;
  data?: DataColumns;
}

/** The metadata of a format-2 checkpoint, parsed and validated. */
export interface CheckpointMetadata extends TrainingState {
  format: typeof CHECKPOINT_FORMAT;
  version: string;
  step: number;
  rule?: string;
}

export interface LoadOptions {
  /** Accept NaN/±Inf in the tensors (for inspecting a diverged run); refused by default. */
  allowNonFinite?: boolean;
}

/** "NaN at element 3" for the first non-finite value of a float array, else null. */
function firstNonFinite(data: HostArray, dtype: DType): string | null {
  if (dtype !== 'f32' && dtype !== 'f64') return null;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) return `${v} at element ${i}`;
  }
  return null;
}

function checkState(state: TrainingState): void {
  const where = 'checkpoint metadata';
  const need = (ok: boolean, field: string, expected: string, v: unknown) => {
    if (!ok) throw new ValueError(`${where}: ${field}`, expected, JSON.stringify(v) ?? String(v));
  };
  need(Number.isSafeInteger(state.seed) && state.seed >= 0, 'seed', 'a non-negative integer', state.seed);
  if (state.step !== undefined) need(Number.isSafeInteger(state.step) && state.step >= 0, 'step', 'a non-negative integer', state.step);
  if (state.alpha !== undefined) need(Number.isFinite(state.alpha) && state.alpha >= 0, 'alpha', 'a finite α ≥ 0', state.alpha);
  if (state.samples !== undefined) need(Number.isSafeInteger(state.samples) && state.samples >= 1, 'samples', 'an integer ≥ 1', state.samples);
  if (state.tau !== undefined) need(Number.isFinite(state.tau) && state.tau > 0, 'tau', 'a finite τ > 0', state.tau);
  const n = state.normalisation;
  if (n) {
    for (const k of ['inputMean', 'inputStd'] as const) if (n[k] !== undefined) need(n[k]!.every(Number.isFinite), `normalisation.${k}`, 'finite numbers', n[k]);
    for (const k of ['targetMean', 'targetStd'] as const) if (n[k] !== undefined) need(Number.isFinite(n[k]), `normalisation.${k}`, 'a finite number', n[k]);
  }
  if (state.data) parseDataColumns(JSON.parse(JSON.stringify(state.data)), `${where}: data`, ValueError);
}

/** Validates the data field (on save as a ValueError, on load as a DataError naming the file). */
function parseDataColumns(v: unknown, where: string, Err: typeof DataError | typeof ValueError): DataColumns {
  const o = v as Record<string, unknown>;
  const names = (x: unknown) => Array.isArray(x) && x.length > 0 && x.every((e) => typeof e === 'string' && e !== '') && new Set(x).size === x.length;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Err(where, 'an object {task, features, target, classes?}', JSON.stringify(v));
  const extra = Object.keys(o).filter((k) => !['task', 'features', 'target', 'classes'].includes(k));
  if (extra.length > 0) throw new Err(where, 'only task, features, target, classes', `field ${JSON.stringify(extra[0])}`);
  if (o.task !== 'regression' && o.task !== 'classification') throw new Err(`${where}.task`, 'regression or classification', JSON.stringify(o.task));
  if (!names(o.features)) throw new Err(`${where}.features`, 'distinct non-empty column names', JSON.stringify(o.features));
  if (typeof o.target !== 'string' || o.target === '') throw new Err(`${where}.target`, 'a column name', JSON.stringify(o.target));
  if (o.task === 'classification' ? !names(o.classes) || (o.classes as string[]).length < 2 : o.classes !== undefined)
    throw new Err(`${where}.classes`, o.task === 'classification' ? 'at least 2 distinct class labels' : 'no classes for a regression', JSON.stringify(o.classes));
  return { task: o.task, features: o.features as string[], target: o.target, ...(o.classes !== undefined ? { classes: o.classes as string[] } : {}) };
}

/** The checkpoint's tensors and metadata (read back from the device). Refuses non-finite values. */
export async function checkpointEntries(model: Module, optimizer: Optimizer | null, state: TrainingState): Promise<SafetensorsFile> {
  checkState(state);
  const architecture = state.architecture ?? (model instanceof Sequential ? describeModel(model) : undefined);
  const tensors: Record<string, SafetensorsEntry> = {};
  const add = async (name: string, t: Tensor) => {
    const data = await t.data();
    const bad = firstNonFinite(data, t.dtype);
    if (bad) throw new ValueError('saveCheckpoint', `finite values in every tensor`, `${bad} of ${name}`, 'nothing was written; training diverged or the data hold NaN/Inf');
    tensors[name] = { dtype: t.dtype, shape: [...t.shape], data };
  };
  for (const [name, t] of model.namedParameters()) await add(`param.${name}`, t);
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: VERSION,
    seed: String(state.seed),
    step: String(state.step ?? optimizer?.step ?? 0),
  };
  if (architecture) metadata.architecture = JSON.stringify(architecture);
  if (state.alpha !== undefined) metadata.alpha = String(state.alpha);
  if (state.samples !== undefined) metadata.samples = String(state.samples);
  if (state.normalisation) metadata.normalisation = JSON.stringify(state.normalisation);
  if (state.tau !== undefined) metadata.tau = String(state.tau);
  if (state.data) metadata.data = JSON.stringify(state.data);
  if (optimizer) {
    metadata.rule = optimizer.options.rule;
    // the slots without the optimizer's alignment padding: the format stays one flat run of the parameters
    const slots = optimizer.exportSlots();
    try {
      for (const [i, t] of slots.entries()) await add(`optim.slot${i}`, t);
    } finally {
      slots.forEach((t) => t.dispose());
    }
  }
  return { tensors, metadata };
}

const REQUIRED = ['seed', 'step', 'version'] as const;

/**
 * Parses a checkpoint's metadata. `requireArchitecture` for rebuilding a model from the
 * file alone. A file of another format, or missing fields, is a DataError listing them.
 */
export function readCheckpointMetadata(file: SafetensorsFile, source = 'checkpoint', opts: { requireArchitecture?: boolean } = {}): CheckpointMetadata {
  const m = file.metadata;
  const required: string[] = [...REQUIRED, ...(opts.requireArchitecture ? ['architecture'] : [])];
  const missing = required.filter((k) => m[k] === undefined);
  if (m.format !== CHECKPOINT_FORMAT) {
    const what = m.format === undefined ? 'a file without alphadrop metadata (no "format" field)' : `format ${JSON.stringify(m.format)}`;
    throw new DataError(source, `an alphadrop checkpoint of format '${CHECKPOINT_FORMAT}' (metadata ${required.join(', ')})`, what,
      missing.length > 0 ? `missing: ${missing.join(', ')}; retrain, or save it again with this version` : 'save it again with this version');
  }
  if (missing.length > 0) throw new DataError(`${source}: metadata`, `the fields ${required.join(', ')}`, `a checkpoint without ${missing.join(', ')}`);
  const at = (k: string) => `${source}: metadata ${k}`;
  const json = (k: string): unknown => {
    try {
      return JSON.parse(m[k]!);
    } catch {
      throw new DataError(at(k), 'JSON', JSON.stringify(m[k]));
    }
  };
  const int = (k: string, min: number): number => {
    const v = json(k);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new DataError(at(k), `an integer ≥ ${min}`, JSON.stringify(m[k]));
    return v;
  };
  const finite = (k: string, ok: (v: number) => boolean, expected: string): number => {
    const v = json(k);
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new DataError(at(k), expected, JSON.stringify(m[k]));
    return v;
  };
  const out: CheckpointMetadata = { format: CHECKPOINT_FORMAT, version: m.version!, seed: int('seed', 0), step: int('step', 0) };
  if (m.architecture !== undefined) out.architecture = parseArchitecture(json('architecture'), at('architecture'));
  if (m.alpha !== undefined) out.alpha = finite('alpha', (v) => v >= 0, 'a finite α ≥ 0');
  if (m.samples !== undefined) out.samples = int('samples', 1);
  if (m.tau !== undefined) out.tau = finite('tau', (v) => v > 0, 'a finite τ > 0');
  if (m.rule !== undefined) out.rule = m.rule;
  if (m.normalisation !== undefined) out.normalisation = parseNormalisation(json('normalisation'), at('normalisation'));
  if (m.data !== undefined) out.data = parseDataColumns(json('data'), at('data'), DataError);
  return out;
}

function parseNormalisation(v: unknown, where: string): Normalisation {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new DataError(where, 'an object', JSON.stringify(v));
  const o = v as Record<string, unknown>;
  const out: Normalisation = {};
  for (const k of Object.keys(o)) {
    const x = o[k];
    if (k === 'inputMean' || k === 'inputStd') {
      if (!Array.isArray(x) || !x.every((e) => typeof e === 'number' && Number.isFinite(e))) throw new DataError(`${where}.${k}`, 'an array of finite numbers', JSON.stringify(x));
      out[k] = x as number[];
    } else if (k === 'targetMean' || k === 'targetStd') {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new DataError(`${where}.${k}`, 'a finite number', JSON.stringify(x));
      out[k] = x;
    } else throw new DataError(where, 'only inputMean, inputStd, targetMean, targetStd', `field ${JSON.stringify(k)}`);
  }
  return out;
}

/** Installs a checkpoint into a model (and optimizer) of the same architecture. */
export function restoreCheckpoint(file: SafetensorsFile, model: Module, optimizer: Optimizer | null, source = 'checkpoint', opts: LoadOptions = {}): CheckpointMetadata {
  const meta = readCheckpointMetadata(file, source);
  const toTensor = (name: string, want: readonly number[], dtype: DType) => {
    const e = file.tensors[name];
    if (!e) throw new DataError(source, `a tensor named ${name}`, 'none');
    if (e.dtype !== dtype || e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i]))
      throw new DataError(source, `${name} of ${dtype} [${want}]`, `${e.dtype} [${e.shape}]`);
    const bad = opts.allowNonFinite ? null : firstNonFinite(e.data, e.dtype);
    if (bad) throw new DataError(source, `finite values in tensor ${name}`, bad, 'a diverged or corrupt checkpoint; pass allowNonFinite to inspect it anyway');
    return e;
  };
  const params = model.namedParameters();
  // check everything first: a bad file leaves the model untouched
  const next = params.map(([name, t]) => toTensor(`param.${name}`, t.shape, t.dtype));
  let slots: SafetensorsEntry[] = [];
  if (optimizer) {
    if (meta.rule !== optimizer.options.rule) throw new DataError(source, `optimizer rule ${optimizer.options.rule}`, String(meta.rule));
    slots = optimizer.slots.map((t, i) => toTensor(`optim.slot${i}`, [optimizer.total], t.dtype));
  }
  const asTensor = (e: SafetensorsEntry) => tensor(e.data.slice(), e.shape, { dtype: e.dtype });
  params.forEach(([name], i) => model.setParameter(name, asTensor(next[i]!)));
  if (optimizer) {
    optimizer.importSlots(slots.map(asTensor));
    optimizer.step = meta.step;
  }
  return meta;
}

/**
 * Rebuilds the model a checkpoint describes, from the file alone. `architecture` replaces
 * the file's (e.g. another dropout rate; the tensors must still fit it).
 */
export function modelFromCheckpoint(
  file: SafetensorsFile,
  source = 'checkpoint',
  opts: LoadOptions & { architecture?: Architecture } = {},
): { model: Sequential; metadata: CheckpointMetadata } {
  const metadata = readCheckpointMetadata(file, source, { requireArchitecture: true });
  const model = buildModel(opts.architecture ?? metadata.architecture!, { seed: metadata.seed });
  try {
    restoreCheckpoint(file, model, null, source, opts);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return { model, metadata };
}
