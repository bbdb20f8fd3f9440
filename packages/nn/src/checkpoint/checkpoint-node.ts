// Checkpoint files on disk (Node). Saving computes and checks every entry (finite values,
// valid metadata) before the file system is touched, then writes atomically (temp file +
// rename, safetensors-node.ts): a refused or interrupted save leaves no file behind.
import type { Architecture } from '../arch.js';
import type { Sequential } from '../layers/sequential.js';
import type { Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import {
  checkpointEntries, modelFromCheckpoint, readCheckpointMetadata, restoreCheckpoint,
  type CheckpointMetadata, type LoadOptions, type TrainingState,
} from './checkpoint.js';
import { loadSafetensors, saveSafetensors } from './safetensors-node.js';

export async function saveCheckpoint(path: string, model: Module, optimizer: Optimizer | null, state: TrainingState): Promise<void> {
  const { tensors, metadata } = await checkpointEntries(model, optimizer, state);
  saveSafetensors(path, tensors, metadata);
}

export function loadCheckpoint(path: string, model: Module, optimizer: Optimizer | null, opts: LoadOptions = {}): CheckpointMetadata {
  return restoreCheckpoint(loadSafetensors(path), model, optimizer, path, opts);
}

/** The model a checkpoint file describes, rebuilt from the file alone, and its metadata. */
export function loadModelFromCheckpoint(path: string, opts: LoadOptions & { architecture?: Architecture } = {}): { model: Sequential; metadata: CheckpointMetadata } {
  return modelFromCheckpoint(loadSafetensors(path), path, opts);
}

/** A checkpoint's metadata only (the tensors are read and dropped): for checks before any work. */
export function readCheckpointMetadataFile(path: string, opts: { requireArchitecture?: boolean } = {}): CheckpointMetadata {
  return readCheckpointMetadata(loadSafetensors(path), path, opts);
}
