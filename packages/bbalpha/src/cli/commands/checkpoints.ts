// What the commands that compare several checkpoints share (ood, calibration):
// --checkpoint FILE[,FILE...], each file read and its metadata checked before any work, each
// model rebuilt from its own file (architecture, dropout rates, seed). A checkpoint without
// active dropout (no dropout layer, or only rate 0) is evaluated deterministically.

import { ValueError } from '@alphadrop/core';
import {
  describeArchitecture, dropoutRates, modelFromCheckpoint, readCheckpointMetadata,
  type Architecture, type CheckpointMetadata, type Sequential,
} from '@alphadrop/nn';
import { loadSafetensors } from '@alphadrop/nn/node';
import type { Flag } from '../flags.js';
import type { ParsedArgs } from '../parse.js';
import { checkInputFile, type NamedPath } from '../paths.js';

export function checkpointListFlags(): Flag[] {
  return [
    { kind: 'strings', name: 'checkpoint', meta: 'FILE[,FILE...]', help: 'checkpoints to evaluate, comma-separated (required)' },
    { kind: 'number', name: 'seed', meta: 'S', integer: true, min: 0, max: Number.MAX_SAFE_INTEGER, help: "seed of the MC masks (default: each checkpoint's)" },
  ];
}

export interface ListedCheckpoint {
  path: string;
  metadata: CheckpointMetadata;
  architecture: Architecture;
  seed: number;
  /** MC dropout prediction; false when the model has no active dropout. */
  mc: boolean;
  /** Builds the model (needs the backend); refuses non-finite weights. */
  build(): Sequential;
}

/** Every --checkpoint file, read and checked (refusals name the flag and the file). */
export function openCheckpoints(args: ParsedArgs): ListedCheckpoint[] {
  if (!args.given('checkpoint')) throw new ValueError('--checkpoint', 'one or more checkpoint files (--checkpoint FILE[,FILE...])', 'none');
  const paths = args.strings('checkpoint');
  const dup = paths.find((p, i) => paths.indexOf(p) !== i);
  if (dup !== undefined) throw new ValueError('--checkpoint', 'distinct files', paths.join(','), `${dup} twice`);
  const seed = args.optionalNumber('seed');
  return paths.map((path) => {
    checkInputFile('--checkpoint', path);
    const file = loadSafetensors(path);
    const metadata = readCheckpointMetadata(file, path, { requireArchitecture: true });
    const architecture = metadata.architecture!;
    return {
      path, metadata, architecture,
      seed: seed ?? metadata.seed,
      mc: dropoutRates(architecture).some((r) => r > 0),
      build: () => modelFromCheckpoint(file, path).model,
    };
  });
}

/** The checkpoints as inputs of the run (an output must not overwrite one). */
export const checkpointInputs = (cks: readonly ListedCheckpoint[]): NamedPath[] => cks.map((c) => ({ flag: '--checkpoint', path: c.path }));

/** "784-100-10 MLP, dropout 0.5, α=0.5" */
export function modelSummary(c: ListedCheckpoint): string {
  return `${describeArchitecture(c.architecture)}${c.metadata.alpha !== undefined ? `, α=${c.metadata.alpha}` : ''}`;
}

/** "MC K=10" or "deterministic". */
export const predictionMode = (c: ListedCheckpoint, samples: number): string => (c.mc ? `MC K=${samples}` : 'deterministic');

/** A Markdown table (the format the other commands print). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly number[] = []): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (rightAligned.includes(i) ? '---:' : '---'))), ...rows.map(line)].join('\n');
}
