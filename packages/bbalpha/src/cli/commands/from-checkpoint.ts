// What eval, predict and attack share: the model comes from the checkpoint alone. The
// file is read and its metadata checked before anything else runs; a flag that
// contradicts it (--dropout 0.2 on a model trained at 0.5) is refused unless --override.

import { ValueError } from '@alphadrop/core';
import {
  describeArchitecture, dropoutRates, modelFromCheckpoint, readCheckpointMetadata, withDropoutRate,
  type Architecture, type CheckpointMetadata, type SafetensorsFile, type Sequential,
} from '@alphadrop/nn';
import { loadSafetensors } from '@alphadrop/nn/node';
import { flag } from '../common.js';
import type { Flag } from '../flags.js';
import type { ParsedArgs } from '../parse.js';
import { checkInputFile } from '../paths.js';

export function checkpointFlags(): Flag[] {
  return [
    flag.model(),
    flag.dropout(),
    flag.override(),
    { kind: 'number', name: 'seed', meta: 'S', integer: true, min: 0, max: Number.MAX_SAFE_INTEGER, help: "seed of the MC masks (default: the checkpoint's)" },
  ];
}

export interface OpenedCheckpoint {
  path: string;
  metadata: CheckpointMetadata;
  architecture: Architecture;
  seed: number;
  /** Builds the model (needs the backend); refuses non-finite weights. */
  build(): Sequential;
}

/** The architecture to run: the file's, or with --dropout's rate when --override allows it. */
function reconcile(args: ParsedArgs, path: string, arch: Architecture): Architecture {
  if (!args.given('dropout')) return arch;
  const rate = args.number('dropout');
  const rates = dropoutRates(arch);
  if (rates.every((r) => r === rate) && (rates.length > 0 || rate === 0)) return arch;
  const theirs = rates.length === 0 ? 'no dropout layers' : `dropout rate ${[...new Set(rates)].join('/')}`;
  if (!args.boolean('override'))
    throw new ValueError('--dropout', `the checkpoint's ${theirs} (${path}), or --override to run at another rate`, String(rate));
  if (rates.length === 0) throw new ValueError('--dropout', `a rate for the checkpoint's dropout layers`, String(rate), `${path} has no dropout layers to set`);
  return withDropoutRate(arch, rate);
}

export function openCheckpoint(args: ParsedArgs): OpenedCheckpoint {
  const path = args.string('model');
  if (path === undefined) throw new ValueError('--model', 'a checkpoint file (--model FILE)', 'none');
  checkInputFile('--model', path);
  const file: SafetensorsFile = loadSafetensors(path);
  const metadata = readCheckpointMetadata(file, path, { requireArchitecture: true });
  const architecture = reconcile(args, path, metadata.architecture!);
  return {
    path,
    metadata,
    architecture,
    seed: args.optionalNumber('seed') ?? metadata.seed,
    build: () => modelFromCheckpoint(file, path, { architecture }).model,
  };
}

export function describeCheckpoint(c: OpenedCheckpoint): string {
  const m = c.metadata;
  const bb = m.alpha !== undefined ? `, trained with α=${m.alpha}${m.samples !== undefined ? `, K=${m.samples}` : ''}` : '';
  return `${c.path}: ${describeArchitecture(c.architecture)}${bb}, step ${m.step}, alphadrop ${m.version}`;
}
