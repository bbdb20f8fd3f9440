// Model batches: G independent models of one architecture trained as one program. Every
// parameter gains a leading model axis (Linear: W [G, in, out], b [G, 1, out]); activations
// are [G, rows, features], so each layer is one batched matmul over all models, and the
// optimizer's flat update covers every model's parameters at once. Model g is the model
// `buildModel(arch, { seed: seeds[g] })` would build: the same initial weights (its init
// keys), its own dropout masks (its trainDropout key, passed per model in the forward
// context's `keys`), and, in fitBatch, its own data order (its shuffle key). Because every
// batched primitive computes each model's slice with the lone model's arithmetic, a batch
// trains each model exactly as training it alone does (bit for bit on the CPU: tested).
// Convolutions have no model axis here: an architecture with conv2d, pooling or reshapes
// is refused.

import { derive, rootKey, slice, reshape, tidy, ValueError, type Tensor } from '@alphadrop/core';
import { buildModel, parseArchitecture, sequentialOf, type Architecture } from '../arch.js';
import type { Sequential } from '../layers/sequential.js';
import type { ForwardContext, Module } from '../module.js';

const BATCHABLE = ['linear', 'relu', 'tanh', 'sigmoid', 'dropout'];

function checkSeeds(where: string, seeds: readonly number[]): void {
  if (seeds.length < 1) throw new ValueError(where, 'at least one model seed', '[]');
  seeds.forEach((s, i) => {
    if (!Number.isSafeInteger(s) || s < 0) throw new ValueError(`${where}: seeds[${i}]`, 'a non-negative integer seed', String(s));
  });
}

/** The Sequential of G = seeds.length models of `arch`, model g initialised as buildModel(arch, { seed: seeds[g] }). */
export function buildModelBatch(arch: Architecture, seeds: readonly number[]): Sequential {
  const where = 'buildModelBatch';
  checkSeeds(where, seeds);
  const layers = parseArchitecture(arch, `${where}: architecture`);
  const bad = layers.findIndex((l) => !BATCHABLE.includes(l.kind));
  if (bad >= 0) throw new ValueError(`${where}: architecture[${bad}]`, `only ${BATCHABLE.join(', ')} layers in a model batch`, layers[bad]!.kind);
  const roots = seeds.map((s) => rootKey(s));
  // model g's layer i starts from the key buildModel gives layer i under seeds[g]
  return sequentialOf(layers, (i) => ({ keys: roots.map((r) => derive(r, 'init', i)) }));
}

/** Training step `step`'s masks for a batch: model g's under derive(rootKey(seeds[g]), 'trainDropout'), as fit draws them. */
export function batchTrainingContext(seeds: readonly number[], step: number): ForwardContext {
  const keys = seeds.map((s) => derive(rootKey(s), 'trainDropout'));
  return { key: keys[0]!, keys, step };
}

/**
 * Copies model g of a batch into `lone`, a module of the same structure without the model
 * axis (e.g. buildModel(arch)): each batched parameter [G, ...] gives its slice g, reshaped
 * to the lone parameter's shape (a bias [G, 1, out] → [out]).
 */
export function copyMember(batch: Module, g: number, lone: Module): void {
  const mine = new Map(batch.namedParameters());
  for (const [name, t] of lone.namedParameters()) {
    const b = mine.get(name);
    if (!b) throw new ValueError('copyMember', `a batch parameter named ${name}`, [...mine.keys()].join(', '));
    const G = b.shape[0]!;
    if (!(Number.isInteger(g) && g >= 0 && g < G)) throw new ValueError('copyMember', `a model index in [0, ${G})`, String(g));
    const per = b.shape.slice(1).reduce((a, d) => a * d, 1);
    const size = t.shape.reduce((a, d) => a * d, 1);
    if (per !== size) throw new ValueError('copyMember', `${name} of ${size} values per model`, `[${b.shape}]`);
    const piece: Tensor = tidy(() => reshape(slice(b, [g, ...b.shape.slice(1).map(() => 0)], [1, ...b.shape.slice(1)]), [...t.shape]));
    lone.setParameter(name, piece);
  }
}

/** Model g of a batch built by buildModelBatch(arch, seeds), as a lone Sequential. */
export function memberModel(batch: Module, arch: Architecture, g: number): Sequential {
  const lone = buildModel(arch, { seed: 0 });
  copyMember(batch, g, lone);
  return lone;
}
