// The playground's training engine (TrainingSession) on the CPU, against references that do
// not go through the session: models rebuilt in Node from its exported checkpoints, and the
// library's own predictive and evaluation functions under the documented keys.

import { describe, expect, it } from 'vitest';
import { argmax, DataError, memory, softmax, tensor, tidy, ValueError, type Tensor } from '@alphadrop/core';
import { decodeSafetensors, modelFromCheckpoint } from '@alphadrop/nn';
import { entropyOf, evaluateClassifier, mcPredictProbs, mcPredictSamples, predictionKey } from '@alphadrop/bbalpha';
import { loadPredictor, predictClasses } from '@alphadrop/bbalpha/infer';
import { gunzip } from '../../packages/playground/src/data.js';
import { PASSES, TrainingSession, type SessionData } from '../../packages/playground/src/session.js';
import type { CurvePoint, TrainConfig } from '../../packages/playground/src/protocol.js';
import { sessionData, tinyConfig } from './session-data.js';

const read = async (t: Tensor) => {
  const v = Array.from(await t.data());
  t.dispose();
  return v;
};

async function trained(config: TrainConfig, steps: number, data?: SessionData): Promise<{ s: TrainingSession; points: CurvePoint[] }> {
  const s = new TrainingSession(config, data ?? (await sessionData()), { pointEvery: 4 });
  for (let i = 0; i < steps; i++) await s.step();
  return { s, points: await s.drain() };
}

/** The session's model of α rebuilt in Node from its exported checkpoint. */
async function nodeModel(s: TrainingSession, alpha: number) {
  const { bytes } = await s.exportCheckpoint(alpha);
  return modelFromCheckpoint(decodeSafetensors(bytes, 'exported'), 'exported');
}

/** A digit of the test set as the page would send it. */
async function digit(i: number): Promise<Float32Array> {
  return (await sessionData()).test.images.slice(i * 784, (i + 1) * 784);
}

describe('TrainingSession training', () => {
  it('lowers the BB-α loss, with points every pointEvery steps and test metrics every evalEvery', async () => {
    const { s, points } = await trained(tinyConfig({ alphas: [0, 1], learningRate: 1e-2 }), 48);
    try {
      for (const alpha of [0, 1]) {
        const mine = points.filter((p) => p.alpha === alpha);
        expect(mine.map((p) => p.step)).toEqual([4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48]);
        expect(mine.filter((p) => p.testAccuracy !== undefined).map((p) => p.step)).toEqual([8, 16, 24, 32, 40, 48]);
        expect(mine.at(-1)!.epoch).toBe(3); // 48 steps of 16 over 256 digits
        const first = (mine[0]!.loss + mine[1]!.loss) / 2;
        const last = (mine.at(-1)!.loss + mine.at(-2)!.loss) / 2;
        expect(last).toBeLessThan(0.7 * first);
        for (const p of mine) {
          expect(Number.isFinite(p.loss)).toBe(true);
          expect(p.trainAccuracy).toBeGreaterThanOrEqual(0);
          expect(p.trainAccuracy).toBeLessThanOrEqual(1);
        }
        // well above chance after 3 epochs of 256 digits
        expect(mine.at(-1)!.testAccuracy!).toBeGreaterThan(0.5);
      }
    } finally {
      await s.dispose();
    }
  });

  it("reports the test metrics of evaluateClassifier on the model of that step (pass PASSES.evaluation)", async () => {
    const config = tinyConfig();
    const { s, points } = await trained(config, config.evalEvery);
    try {
      const { model } = await nodeModel(s, 0.5);
      const data = await sessionData();
      const m = await evaluateClassifier(model, data.test.images.subarray(0, 64 * 784), data.test.labels.subarray(0, 64), {
        samples: config.testSamples, seed: config.seed, pass: PASSES.evaluation(config.evalEvery),
      });
      const p = points.find((q) => q.step === config.evalEvery)!;
      expect(p.testAccuracy).toBe(m.accuracy);
      expect(p.testLogLikelihood).toBeCloseTo(m.logLikelihood, 6);
      model.dispose();
    } finally {
      await s.dispose();
    }
  });

  it('holds a flat tensor and buffer count over a long run', async () => {
    const { s } = await trained(tinyConfig({ alphas: [0, 1] }), 16);
    try {
      const before = memory();
      for (let i = 0; i < 32; i++) await s.step();
      await s.drain();
      const after = memory();
      expect(after.tensors).toBe(before.tensors);
      expect(after.buffers).toBe(before.buffers);
    } finally {
      await s.dispose();
    }
  });

  it('pauses, resumes, and applies a learning-rate change from the next step', async () => {
    const data = await sessionData();
    const s = new TrainingSession(tinyConfig(), data);
    try {
      s.pause();
      const idle = await s.runFor(20);
      expect(idle.steps).toBe(0);
      expect(s.stepsOf(0.5)).toBe(0);
      s.resume();
      const busy = await s.runFor(20);
      expect(busy.steps).toBeGreaterThan(0);
      expect(s.stepsOf(0.5)).toBe(busy.steps);
      expect(() => s.setLearningRate(-1)).toThrow(ValueError);
    } finally {
      await s.dispose();
    }
    // a rate set before the first step trains exactly as a session built with it
    const a = new TrainingSession(tinyConfig(), data);
    const b = new TrainingSession(tinyConfig({ learningRate: 2e-2 }), data);
    const c = new TrainingSession(tinyConfig(), data);
    try {
      a.setLearningRate(2e-2);
      for (let i = 0; i < 6; i++) for (const x of [a, b, c]) await x.step();
      const [pa, pb, pc] = await Promise.all([a, b, c].map((x) => x.predict(data.test.images.slice(0, 784))));
      expect(pa![0]!.probs).toEqual(pb![0]!.probs);
      expect(pa![0]!.probs).not.toEqual(pc![0]!.probs);
    } finally {
      await Promise.all([a, b, c].map((x) => x.dispose()));
    }
  });
});

describe('TrainingSession predictions', () => {
  it('gives probabilities summing to 1 with the entropy and mutual information of the samples', async () => {
    const config = tinyConfig({ alphas: [0, 0.5] });
    const { s } = await trained(config, 8);
    try {
      const x = await digit(3);
      const predictions = await s.predict(x);
      expect(predictions.map((p) => p.alpha)).toEqual([0, 0.5]);
      for (const p of predictions) {
        expect(p.probs).toHaveLength(10);
        expect(p.probs.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
        // independently: the K per-sample softmaxes of the Node model under the documented key
        const { model } = await nodeModel(s, p.alpha);
        const K = config.testSamples;
        const samples = await read(tidy(() => softmax(mcPredictSamples(model, tensor(x, [1, 784]), K, { key: predictionKey({ seed: config.seed, pass: 0 }) }), -1)));
        const mean = Array.from({ length: 10 }, (_, c) => samples.filter((_, i) => i % 10 === c).reduce((a, v) => a + v, 0) / K);
        const expected = Array.from({ length: K }, (_, k) => entropyOf(samples, k * 10, 10)).reduce((a, v) => a + v, 0) / K;
        expect(p.entropy).toBeCloseTo(entropyOf(mean, 0, 10), 6);
        expect(p.mutualInformation).toBeCloseTo(entropyOf(mean, 0, 10) - expected, 6);
        expect(p.mutualInformation).toBeGreaterThan(0); // dropout makes the samples differ
        model.dispose();
      }
    } finally {
      await s.dispose();
    }
  });

  it("is reproduced in Node from the exported checkpoint: mcPredictProbs and predictClasses under the documented key", async () => {
    for (const testSamples of [4, 13]) {
      const config = tinyConfig({ testSamples });
      const { s } = await trained(config, 8);
      try {
        const { bytes } = await s.exportCheckpoint(0.5);
        const { model, metadata } = modelFromCheckpoint(decodeSafetensors(bytes, 'exported'), 'exported');
        expect(metadata).toMatchObject({ alpha: 0.5, samples: config.samples, seed: config.seed, step: 8 });
        for (const i of [0, 1, 2]) {
          const x = await digit(i);
          const [session] = await s.predict(x);
          const probs = mcPredictProbs(model, tensor(x, [1, 784]), testSamples, { seed: config.seed, pass: 0, chunk: testSamples });
          const node = await read(probs);
          const nodeClass = (await read(argmax(tensor(node, [10]), 0)))[0];
          node.forEach((v, c) => expect(Math.abs(v - session!.probs[c]!)).toBeLessThan(1e-6));
          expect(session!.probs.indexOf(Math.max(...session!.probs))).toBe(nodeClass);
          const infer = await predictClasses(loadPredictor(bytes), x, { samples: testSamples, seed: config.seed, pass: 0 });
          Array.from(infer.probs).forEach((v, c) => expect(Math.abs(v - session!.probs[c]!)).toBeLessThan(1e-6));
          expect(infer.entropy[0]).toBeCloseTo(session!.entropy, 6);
          expect(infer.mutualInformation[0]).toBeCloseTo(session!.mutualInformation, 6);
        }
        model.dispose();
      } finally {
        await s.dispose();
      }
    }
  });

  it('imports a checkpoint: a fresh session predicts the same and resumes training exactly', async () => {
    const data = await sessionData();
    const { s: a } = await trained(tinyConfig(), 8);
    const fresh = new TrainingSession(tinyConfig({ seed: 7 }), data);
    try {
      const { bytes } = await a.exportCheckpoint(0.5);
      expect(fresh.importCheckpoint(bytes)).toBe(0.5);
      expect(fresh.stepsOf(0.5)).toBe(8);
      const x = await digit(5);
      expect(await fresh.predict(x)).toEqual(await a.predict(x));
      // Adam's state and the step came along: four more steps end in the same place
      for (let i = 0; i < 4; i++) {
        await a.step();
        await fresh.step();
      }
      expect(await fresh.predict(x)).toEqual(await a.predict(x));
      // a checkpoint of an α the session lacks adds a model
      const other = new TrainingSession(tinyConfig({ alphas: [1] }), data);
      try {
        other.importCheckpoint((await a.exportCheckpoint(0.5)).bytes);
        expect(other.alphas).toEqual([1, 0.5]);
        expect((await other.predict(x))[1]).toEqual((await a.predict(x))[0]);
      } finally {
        await other.dispose();
      }
    } finally {
      await a.dispose();
      await fresh.dispose();
    }
  });

  it('refuses a checkpoint of another architecture, or not a checkpoint, with a DataError and changes nothing', async () => {
    const data = await sessionData();
    const s = new TrainingSession(tinyConfig(), data);
    const wider = new TrainingSession(tinyConfig({ hidden: [24] }), data);
    const otherRate = new TrainingSession(tinyConfig({ dropout: 0.5 }), data);
    try {
      const x = await digit(0);
      const before = await s.predict(x);
      for (const other of [wider, otherRate]) {
        const { bytes } = await other.exportCheckpoint(0.5);
        expect(() => s.importCheckpoint(bytes)).toThrow(DataError);
        expect(() => s.importCheckpoint(bytes)).toThrow(/784-16-10 MLP, dropout 0.2/);
      }
      expect(() => s.importCheckpoint(new Uint8Array([1, 2, 3]))).toThrow(DataError);
      expect(await s.predict(x)).toEqual(before);
      expect(s.alphas).toEqual([0.5]);
    } finally {
      await Promise.all([s, wider, otherRate].map((x) => x.dispose()));
    }
  });
});

describe('TrainingSession attacks and out-of-distribution items', () => {
  it('FGS at η = 0 is the clean accuracy; at η = 0.3 the accuracy does not rise', async () => {
    const config = tinyConfig({ alphas: [0, 1], learningRate: 1e-2 });
    const { s } = await trained(config, 32);
    try {
      const clean = await s.fgs(0, 48);
      const attacked = await s.fgs(0.3, 48);
      const data = await sessionData();
      for (const [g, alpha] of [0, 1].entries()) {
        const { model } = await nodeModel(s, alpha);
        const m = await evaluateClassifier(model, data.test.images.subarray(0, 48 * 784), data.test.labels.subarray(0, 48), {
          samples: config.testSamples, seed: config.seed, pass: PASSES.fgs,
        });
        model.dispose();
        expect(clean.rows[g]).toEqual({ alpha, accuracy: m.accuracy, meanEntropy: m.entropy });
        expect(clean.rows[g]!.accuracy).toBeGreaterThan(0.5);
        expect(attacked.rows[g]!.accuracy).toBeLessThanOrEqual(clean.rows[g]!.accuracy);
      }
      expect(clean.images).toHaveLength(8);
      expect(clean.images[0]).toEqual(data.test.images.slice(0, 784));
      const moved = attacked.images[0]!.map((v, i) => Math.abs(v - data.test.images[i]!));
      expect(Math.max(...moved)).toBeCloseTo(0.3, 5);
      expect(attacked.images[0]!.every((v) => v >= 0 && v <= 1)).toBe(true);
    } finally {
      await s.dispose();
    }
  });

  it("gives each Fashion item's and digit's predictive entropy per α", async () => {
    const config = tinyConfig({ alphas: [0, 1] });
    const { s } = await trained(config, 16);
    try {
      const r = await s.ood();
      expect(r.fashionImages).toHaveLength(16);
      expect(r.digitImages).toHaveLength(16);
      const data = await sessionData();
      expect(r.fashionImages[3]).toEqual(data.fashion.images.slice(3 * 784, 4 * 784));
      for (const [g, alpha] of [0, 1].entries()) {
        const row = r.rows[g]!;
        expect(row.alpha).toBe(alpha);
        // independently: the Node model's MC mean under the documented ood pass, item by item
        const { model } = await nodeModel(s, alpha);
        const both = new Float32Array(32 * 784);
        both.set(data.fashion.images.subarray(0, 16 * 784));
        both.set(data.test.images.subarray(0, 16 * 784), 16 * 784);
        const p = await read(mcPredictProbs(model, tensor(both, [32, 784]), config.testSamples, { seed: config.seed, pass: PASSES.ood, chunk: config.testSamples }));
        model.dispose();
        [...row.fashionEntropy, ...row.digitEntropy].forEach((h, i) => expect(h).toBeCloseTo(entropyOf(p, i * 10, 10), 5));
      }
    } finally {
      await s.dispose();
    }
  });
});

describe('TrainingSession inputs', () => {
  it('refuses a bad config or a bad image with typed errors that name the field', async () => {
    const data = await sessionData();
    expect(() => new TrainingSession(tinyConfig({ batchSize: 512 }), data)).toThrow(/config.batchSize/);
    expect(() => new TrainingSession(tinyConfig({ alphas: [] }), data)).toThrow(ValueError);
    expect(() => new TrainingSession(tinyConfig({ alphas: [1, 1] }), data)).toThrow(/distinct/);
    expect(() => new TrainingSession(tinyConfig({ trainSize: 9000 }), data)).toThrow(/trainSize/);
    const s = new TrainingSession(tinyConfig(), data);
    await expect(s.predict(new Float32Array(10))).rejects.toThrow(/784 values/);
    await expect(s.exportCheckpoint(0.25)).rejects.toThrow(ValueError);
    await s.dispose();
  });

  it('gunzips with the platform stream and names the file of a damaged one', async () => {
    const { gzipSync } = await import('node:zlib');
    const raw = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 3, 4]);
    expect(await gunzip(gzipSync(raw), 'x.gz')).toEqual(raw);
    const cut = gzipSync(raw).subarray(0, 12);
    await expect(gunzip(cut, 'cut.gz')).rejects.toThrow(DataError);
    await expect(gunzip(cut, 'cut.gz')).rejects.toThrow(/cut\.gz/);
  });
});
