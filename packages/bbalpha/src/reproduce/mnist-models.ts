// The models the adversarial, out-of-distribution and calibration reproductions share
// (spec §b.4): the 784-1000-1000-1000-10 MLP with dropout 0.5 trained by BB-α for each α,
// and the deterministic MLP of the same architecture trained by maximum likelihood (no
// dropout, K = 1, α = 0: plain softmax cross-entropy; SGD, batch, weight decay and epochs as
// the BB-α models). They are trained once and kept as checkpoints in a models directory;
// a later run (or another of the three experiments) loads them instead of training again.

import { existsSync, readFileSync } from 'node:fs';
import { ValueError } from '@alphadrop/core';
import { canonicalJson } from '../runs/journal.js';
import { join } from 'node:path';
import { mlpArchitecture, withDropoutRate, type Architecture, type MnistSplit, type Sequential } from '@alphadrop/nn';
import { loadModelFromCheckpoint, saveCheckpoint } from '@alphadrop/nn/node';
import { createOutputDirs, writeTextFile } from '../cli/paths.js';
import { trainClassifierRuns, type ClassifierProtocol } from '../experiments/classify-batch.js';

export interface SharedModelsPlan {
  alphas: number[];
  dropout: number;
  protocol: ClassifierProtocol;
  seed: number;
  train: MnistSplit;
  test: MnistSplit;
  /** Where the checkpoints live. */
  models: string;
}

export interface NamedModel {
  /** "α = 0.5" or "deterministic". */
  name: string;
  /** File stem: alpha-0.5, deterministic. */
  id: string;
  alpha: number | null;
  model: Sequential;
  /** MC dropout at test time (false for the deterministic model). */
  mc: boolean;
}

export const adversarialArchitecture = (dropout: number): Architecture => mlpArchitecture([784, 1000, 1000, 1000, 10], { dropout });

const asImages = (s: MnistSplit) => ({ x: s.images, y: s.labels, n: s.labels.length, d: s.images.length / s.labels.length });

/** The shared models' names, α order then the deterministic MLP. */
export function sharedModelSpecs(alphas: readonly number[]): { id: string; name: string; alpha: number | null }[] {
  return [...alphas.map((a) => ({ id: `alpha-${a}`, name: `α = ${a}`, alpha: a as number | null })), { id: 'deterministic', name: 'deterministic', alpha: null }];
}

/** The models (checkpoints loaded where present, the rest trained and saved), α order then deterministic. */
export async function sharedModels(p: SharedModelsPlan, log: (line: string) => void): Promise<NamedModel[]> {
  const specs = sharedModelSpecs(p.alphas);
  const path = (id: string) => join(p.models, `${id}.safetensors`);
  // models.json: the options the checkpoints were trained with; other options are refused, not mixed
  const manifest = join(p.models, 'models.json');
  const options = { architecture: '784-1000-1000-1000-10', dropout: p.dropout, ...p.protocol, evalEvery: undefined, seed: p.seed, trainImages: p.train.labels.length };
  if (existsSync(manifest)) {
    const old: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
    if (canonicalJson(old) !== canonicalJson(JSON.parse(JSON.stringify(options))))
      throw new ValueError(`models ${p.models}`, `checkpoints trained with these options (${canonicalJson(old)})`, canonicalJson(JSON.parse(JSON.stringify(options))), 'use another --models directory');
  }
  const missing = specs.filter((s) => !existsSync(path(s.id)));
  const bayes = missing.filter((s) => s.alpha !== null);
  const groups: { arch: Architecture; specs: typeof specs; samples: number }[] = [];
  if (bayes.length > 0) groups.push({ arch: adversarialArchitecture(p.dropout), specs: bayes, samples: p.protocol.samples });
  if (missing.some((s) => s.alpha === null)) groups.push({ arch: withDropoutRate(adversarialArchitecture(p.dropout), 0), specs: missing.filter((s) => s.alpha === null), samples: 1 });
  for (const g of groups) {
    log(`training ${g.specs.map((s) => s.name).join(', ')} (${p.protocol.epochs} epochs)`);
    const { models } = await trainClassifierRuns(g.arch, g.specs.map((s) => ({ alpha: s.alpha ?? 0, seed: p.seed })), asImages(p.train), asImages(p.test),
      { ...p.protocol, samples: g.samples, evalEvery: p.protocol.epochs }, log);
    createOutputDirs(p.models);
    writeTextFile(manifest, JSON.stringify(options, null, 2) + '\n');
    for (let i = 0; i < models.length; i++) {
      const s = g.specs[i]!;
      await saveCheckpoint(path(s.id), models[i]!, null, { seed: p.seed, ...(s.alpha !== null ? { alpha: s.alpha } : {}), samples: g.samples, step: 0 });
      models[i]!.dispose();
    }
  }
  return specs.map((s) => {
    const { model } = loadModelFromCheckpoint(path(s.id));
    return { ...s, model, mc: s.alpha !== null };
  });
}
