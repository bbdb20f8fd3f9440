// Checkpoint files on disk (Node).
import type { Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { checkpointEntries, restoreCheckpoint, type TrainingState } from './checkpoint.js';
import { loadSafetensors, saveSafetensors } from './safetensors-node.js';

export async function saveCheckpoint(path: string, model: Module, optimizer: Optimizer | null, state: TrainingState): Promise<void> {
  const { tensors, metadata } = await checkpointEntries(model, optimizer, state);
  saveSafetensors(path, tensors, metadata);
}

export function loadCheckpoint(path: string, model: Module, optimizer: Optimizer | null): TrainingState {
  return restoreCheckpoint(loadSafetensors(path), model, optimizer, path);
}
