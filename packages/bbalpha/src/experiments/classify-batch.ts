// Training the paper's MNIST classifiers as a set of independent runs (α × repeats), with
// a test evaluation every `evalEvery` epochs (spec §b.2: K_test MC samples, accuracy and
// test log-likelihood, its sum over the test set being the paper's scale). Architectures
// a model batch can hold (MLPs) train as one batch, every model in one program; others
// (the CNN) train one by one through fit. Both give each run exactly what it would get
// alone (model-batch.ts), so the choice changes the time only.

import { slice, sum, tensor, type Tensor } from '@alphadrop/core';
import {
  buildModel, buildModelBatch, copyMember, dropoutRates, fit, fitBatch, Optimizer, type Architecture, type Module, type Sequential,
} from '@alphadrop/nn';
import { bbAlphaLoss } from '../loss.js';
import { bbAlphaLossBatch } from '../loss-batch.js';
import { mcForward, mcForwardBatch, mcPredictProbs } from '../mc.js';
import { classificationMetrics } from '../metrics.js';

export interface ClassifierRun {
  alpha: number;
  seed: number;
}

export interface ClassifierProtocol {
  /** K: MC samples per input in training. */
  samples: number;
  /** K_test: MC samples per test input (1 for a model without dropout). */
  testSamples: number;
  epochs: number;
  /** Evaluate on the test set after every this many epochs (and after the last). */
  evalEvery: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
}

export interface LabelledImages {
  x: Float32Array;
  y: Int32Array;
  n: number;
  /** Values per image. */
  d: number;
}

export interface CurvePoint {
  epoch: number;
  accuracy: number;
  /** Mean over test points of log p̄[y]. */
  logLikelihood: number;
  /** Σ over the test set (the paper's scale). */
  logLikelihoodSum: number;
  /** Training seconds so far (evaluations excluded). */
  trainSeconds: number;
}

const batchable = (arch: Architecture) => arch.every((l) => ['linear', 'relu', 'tanh', 'sigmoid', 'dropout'].includes(l.kind));

/** Test inputs per prediction pass: bounds the tiled activations (a CNN's widest layer is 21,632 values an input). */
const TEST_CHUNK = 500;

/**
 * Test metrics of a model by K_test MC samples, TEST_CHUNK inputs at a time (chunk c's masks
 * under derive(rootKey(seed), 'predict', pass · 2^20 + c)).
 */
export async function testMetrics(model: Module, xTest: Tensor, labels: Int32Array, testSamples: number, seed: number, pass: number): Promise<Omit<CurvePoint, 'epoch' | 'trainSeconds'>> {
  const n = labels.length;
  const parts: Float32Array[] = [];
  for (let at = 0, c = 0; at < n; at += TEST_CHUNK, c++) {
    const m = Math.min(TEST_CHUNK, n - at);
    const x = slice(xTest, [at, 0], [m, xTest.shape[1]!]);
    const p = mcPredictProbs(model, x, testSamples, { seed, pass: pass * 2 ** 20 + c });
    x.dispose();
    parts.push(Float32Array.from(await p.data()));
    p.dispose();
  }
  const probs = new Float32Array(parts.reduce((a, q) => a + q.length, 0));
  parts.reduce((off, q) => (probs.set(q, off), off + q.length), 0);
  const m = classificationMetrics(probs, labels, probs.length / labels.length);
  return { accuracy: m.accuracy, logLikelihood: m.logLikelihood, logLikelihoodSum: m.logLikelihoodSum };
}

/**
 * Trains the runs; returns each run's curve and its final model (lone, the caller's to
 * dispose). `log` gets one line per evaluation.
 */
export async function trainClassifierRuns(
  arch: Architecture,
  runs: readonly ClassifierRun[],
  train: LabelledImages,
  test: LabelledImages,
  o: ClassifierProtocol,
  log: (line: string) => void = () => {},
): Promise<{ curves: CurvePoint[][]; models: Sequential[] }> {
  const K = dropoutRates(arch).some((r) => r > 0) ? o.testSamples : 1;
  const xTrain = tensor(train.x, [train.n, train.d]);
  const yTrain = tensor(train.y, [train.n]);
  const xTest = tensor(test.x, [test.n, test.d]);
  const curves: CurvePoint[][] = runs.map(() => []);
  const due = (epoch: number) => epoch % o.evalEvery === 0 || epoch === o.epochs;
  /** Run g's test point after `epoch`, recorded and logged. */
  const evaluate = async (g: number, model: Module, epoch: number, trainSeconds: number) => {
    const r = runs[g]!;
    const m = await testMetrics(model, xTest, test.y, K, r.seed, epoch);
    curves[g]!.push({ epoch, ...m, trainSeconds });
    log(`  α=${r.alpha} seed ${r.seed} epoch ${epoch}: accuracy ${m.accuracy.toFixed(4)}, test LL ${m.logLikelihood.toFixed(4)} (${trainSeconds.toFixed(1)} s training)`);
  };
  try {
    if (batchable(arch)) {
      const seeds = runs.map((r) => r.seed);
      const alphas = runs.map((r) => r.alpha);
      const batch = buildModelBatch(arch, seeds);
      const models = runs.map(() => buildModel(arch, { seed: 0 }));
      const optimizer = new Optimizer(batch, { rule: 'sgd', lr: o.lr, weightDecay: o.weightDecay });
      let trainSeconds = 0;
      try {
        await fitBatch(batch, {
          epochs: o.epochs, batchSize: o.batchSize, seeds, optimizer, data: { x: xTrain, y: yTrain, shared: true }, lossEvery: 50,
          loss: (m, xb, yb, ctx) => sum(bbAlphaLossBatch(mcForwardBatch(m, xb, o.samples, ctx), yb, alphas)),
          onEpochEnd: async (epoch, logs) => {
            trainSeconds += logs.seconds;
            if (!due(epoch)) return;
            for (let g = 0; g < runs.length; g++) {
              copyMember(batch, g, models[g]!);
              await evaluate(g, models[g]!, epoch, trainSeconds);
            }
          },
        });
      } finally {
        optimizer.dispose();
        batch.dispose();
      }
      return { curves, models };
    }
    const models: Sequential[] = [];
    for (let g = 0; g < runs.length; g++) {
      const r = runs[g]!;
      const model = buildModel(arch, { seed: r.seed });
      const optimizer = new Optimizer(model, { rule: 'sgd', lr: o.lr, weightDecay: o.weightDecay });
      let trainSeconds = 0;
      try {
        await fit(model, {
          epochs: o.epochs, batchSize: o.batchSize, seed: r.seed, optimizer, data: { x: xTrain, y: yTrain }, log: 'silent', lossEvery: 50,
          loss: (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, o.samples, ctx), yb, r.alpha),
          callbacks: [{
            onEpochEnd: async (epoch, logs) => {
              trainSeconds += logs.seconds ?? 0;
              if (due(epoch)) await evaluate(g, model, epoch, trainSeconds);
            },
          }],
        });
      } finally {
        optimizer.dispose();
      }
      models.push(model);
    }
    return { curves, models };
  } finally {
    xTrain.dispose();
    yTrain.dispose();
    xTest.dispose();
  }
}
