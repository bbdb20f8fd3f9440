// The playground's training engine, free of the worker and of the DOM (Node tests drive it
// directly; worker.ts drives it in the page). One MLP per α, trained side by side on the
// same minibatches with the BB-α energy (K samples per input, Adam), step by step, so that
// the caller can interleave its own work (messages, pause/resume, a learning-rate change)
// between steps. It runs on the engine's current backend (install one with kernels' init()
// before constructing a session).
//
// A step of one model is nn's TracedTrainStep: on WebGPU it is recorded once and replayed,
// one submit per step, nothing read back inside it. The losses and finiteness flags stay on
// the device until a curve point closes (every `pointEvery` steps, and at every evaluation),
// when they go to the host in ONE asynchronous read; the host waits for those reads only at
// the end of runFor or when too many are in flight, so the device never waits for the host.
//
// Data order: the minibatches of epoch e are nn's epochPermutation(trainSize, seed, e) in
// consecutive slices of M (a last partial slice is dropped, so every step has M inputs and
// the traced step replays); a model's step s therefore takes the same inputs whatever
// happened before, and a model restored from a checkpoint at step s resumes exactly.
//
// Randomness: training masks are fit's (derive(rootKey(seed), 'trainDropout'), counter
// (layer, step)); every MC prediction draws under keyFor(seed, 'predict', pass) with the
// passes of PASSES below, so the page's numbers can be reproduced in Node from a checkpoint.

import {
  argmax, cast, concat, DataError, equal, gather, keep, mean, NonFiniteError, reshape, tensor, tidy, ValueError, ShapeError,
  type Tensor,
} from '@alphadrop/core';
import {
  decodeSafetensors, describeArchitecture, encodeSafetensors, epochPermutation, checkpointEntries, mlp, mlpArchitecture,
  Optimizer, readCheckpointMetadata, restoreCheckpoint, TracedTrainStep, type Architecture, type MnistSplit, type SafetensorsFile, type Sequential,
} from '@alphadrop/nn';
import {
  bbAlphaLoss, entropyOf, evaluateClassifier, fgsm, mcForward, mcPredictProbs, mcSampleProbs, meanOverSamples,
} from '@alphadrop/bbalpha';
import type { CurvePoint, Prediction, TrainConfig } from './protocol.js';

/** Images in [0, 1], [n, 784] row-major, and their labels. */
export type LabelledImages = Pick<MnistSplit, 'images' | 'labels'>;

export interface SessionData {
  train: LabelledImages;
  test: LabelledImages;
  /** The Fashion-MNIST items shown beside digits (out of distribution). */
  fashion: LabelledImages;
}

export interface SessionOptions {
  /** Close a curve point every this many steps (and at every evaluation); default min(10, evalEvery). */
  pointEvery?: number;
}

/** Pixels per image and classes: the MLP is 784-…-10. */
export const IMAGE_SIZE = 784;
export const CLASSES = 10;

/**
 * The prediction passes (keyFor(seed, 'predict', pass)) of every MC prediction a session
 * makes; distinct uses never share masks.
 */
export const PASSES = {
  /** predict(): the drawn digit (the Prediction comment in protocol.ts). */
  predict: 0,
  /** ood(): Fashion items and digits. */
  ood: 1,
  /** fgs(): accuracy and entropy of the attacked digits. */
  fgs: 2,
  /** The test curves' evaluation after step s. */
  evaluation: (step: number) => 3 + 2 * step,
  /** The training accuracy of a point closed after step s. */
  trainAccuracy: (step: number) => 4 + 2 * step,
} as const;

/** Attacked images sent back for display. */
const FGS_IMAGES = 8;
/** Curve-point reads in flight per model before the host waits for the oldest (bounds the queued device work). */
const READS_IN_FLIGHT = 2;

interface Member {
  alpha: number;
  model: Sequential;
  optimizer: Optimizer;
  traced: TracedTrainStep;
  /** Losses and finiteness flags of the steps since the last point (device tensors, ours). */
  losses: Tensor[];
  flags: Tensor[];
}

interface PendingPoint {
  alpha: number;
  step: number;
  read: Promise<ArrayLike<number>>;
  /** Whether the read has come back (the host waits only on reads still in flight). */
  settled: boolean;
  evaluation?: { accuracy: number; logLikelihood: number };
}

/** What runFor did. */
export interface Slice {
  /** Points completed (their reads settled), in order. */
  points: CurvePoint[];
  /** Session steps taken (one optimizer step of every model each). */
  steps: number;
  seconds: number;
}

function check(ok: boolean, field: string, expected: string, got: unknown): void {
  if (!ok) throw new ValueError(`TrainingSession: config.${field}`, expected, JSON.stringify(got) ?? String(got));
}

const positiveInt = (v: number) => Number.isSafeInteger(v) && v >= 1;

function checkData(where: string, set: LabelledImages): number {
  const n = set.labels.length;
  if (set.images.length !== n * IMAGE_SIZE) throw new ShapeError(`TrainingSession: ${where}`, `${n} images of ${IMAGE_SIZE} pixels (${n * IMAGE_SIZE} values)`, `${set.images.length} values`);
  return n;
}

/** Validates a config against the data it trains on; returns a copy. */
export function checkConfig(c: TrainConfig, data: SessionData): TrainConfig {
  const nTrain = checkData('train', data.train);
  const nTest = checkData('test', data.test);
  checkData('fashion', data.fashion);
  check(Array.isArray(c.alphas) && c.alphas.length > 0, 'alphas', 'at least one α', c.alphas);
  c.alphas.forEach((a, i) => check(Number.isFinite(a) && a >= 0, `alphas[${i}]`, 'a finite α ≥ 0', a));
  check(new Set(c.alphas).size === c.alphas.length, 'alphas', 'distinct values (one model each)', c.alphas);
  check(positiveInt(c.samples), 'samples', 'an integer K ≥ 1', c.samples);
  check(c.dropout >= 0 && c.dropout < 1, 'dropout', 'a rate in [0, 1)', c.dropout);
  check(Number.isFinite(c.learningRate) && c.learningRate > 0, 'learningRate', 'a finite rate > 0', c.learningRate);
  check(Array.isArray(c.hidden) && c.hidden.every(positiveInt), 'hidden', 'positive integer widths', c.hidden);
  check(positiveInt(c.trainSize) && c.trainSize <= nTrain, 'trainSize', `an integer in [1, ${nTrain}] (the training digits given)`, c.trainSize);
  check(positiveInt(c.batchSize) && c.batchSize <= c.trainSize, 'batchSize', `an integer in [1, trainSize = ${c.trainSize}]`, c.batchSize);
  check(positiveInt(c.testSize) && c.testSize <= nTest, 'testSize', `an integer in [1, ${nTest}] (the test digits given)`, c.testSize);
  check(positiveInt(c.testSamples), 'testSamples', 'an integer ≥ 1', c.testSamples);
  check(positiveInt(c.evalEvery), 'evalEvery', 'an integer ≥ 1', c.evalEvery);
  check(Number.isSafeInteger(c.seed) && c.seed >= 0, 'seed', 'a non-negative integer', c.seed);
  check(['auto', 'webgpu', 'cpu'].includes(c.backend), 'backend', "'auto', 'webgpu' or 'cpu'", c.backend);
  return { ...c, alphas: [...c.alphas], hidden: [...c.hidden] };
}

export class TrainingSession {
  readonly config: TrainConfig;
  /** The architecture every model has (and every imported checkpoint must have). */
  readonly architecture: Architecture;
  readonly stepsPerEpoch: number;
  readonly pointEvery: number;
  private readonly members: Member[] = [];
  private readonly xTrain: Tensor;
  private readonly yTrain: Tensor;
  private readonly xTest: Tensor;
  private readonly testLabels: Int32Array;
  private readonly data: SessionData;
  private learningRate: number;
  private pending: PendingPoint[] = [];
  private order: { epoch: number; perm: Int32Array } | null = null;
  private paused = false;
  private disposed = false;

  constructor(config: TrainConfig, data: SessionData, opts: SessionOptions = {}) {
    this.config = checkConfig(config, data);
    const c = this.config;
    this.data = data;
    this.pointEvery = opts.pointEvery ?? Math.min(10, c.evalEvery);
    check(positiveInt(this.pointEvery), 'pointEvery', 'an integer ≥ 1', this.pointEvery);
    this.architecture = mlpArchitecture([IMAGE_SIZE, ...c.hidden, CLASSES], { dropout: c.dropout });
    this.stepsPerEpoch = Math.floor(c.trainSize / c.batchSize);
    this.learningRate = c.learningRate;
    // the data go to the device once; minibatches are gathered there by index
    this.xTrain = keep(tensor(data.train.images.subarray(0, c.trainSize * IMAGE_SIZE), [c.trainSize, IMAGE_SIZE]));
    this.yTrain = keep(tensor(data.train.labels.subarray(0, c.trainSize), [c.trainSize]));
    this.xTest = keep(tensor(data.test.images.subarray(0, c.testSize * IMAGE_SIZE), [c.testSize, IMAGE_SIZE]));
    this.testLabels = data.test.labels.slice(0, c.testSize);
    for (const alpha of c.alphas) this.members.push(this.newMember(alpha, null));
  }

  /** A fresh model of α (the config's seed), or one restored from a checkpoint. */
  private newMember(alpha: number, checkpoint: { file: SafetensorsFile; source: string; withSlots: boolean } | null): Member {
    const c = this.config;
    const model = mlp([IMAGE_SIZE, ...c.hidden, CLASSES], { dropout: c.dropout, seed: c.seed });
    // a schedule reading the session's rate: a replayed step rebuilds its update with the rate of the moment
    const optimizer = new Optimizer(model, { rule: 'adam', lr: () => this.learningRate });
    try {
      if (checkpoint) restoreCheckpoint(checkpoint.file, model, checkpoint.withSlots ? optimizer : null, checkpoint.source);
    } catch (err) {
      optimizer.dispose();
      model.dispose();
      throw err;
    }
    model.train();
    const K = c.samples;
    const traced = new TracedTrainStep(
      model,
      optimizer,
      (m, xb, yb, ctx) => bbAlphaLoss(mcForward(m, xb, K, ctx), yb, alpha),
      c.seed,
      ([i]) => ({ x: gather(this.xTrain, i!, 0), y: gather(this.yTrain, i!, 0) }),
    );
    return { alpha, model, optimizer, traced, losses: [], flags: [] };
  }

  get alphas(): number[] {
    return this.members.map((m) => m.alpha);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  get currentLearningRate(): number {
    return this.learningRate;
  }

  /** Applies from the next step on, to every model. */
  setLearningRate(lr: number): void {
    if (!(Number.isFinite(lr) && lr > 0)) throw new ValueError('TrainingSession.setLearningRate', 'a finite rate > 0', String(lr));
    this.learningRate = lr;
  }

  /** Optimizer steps the model of α has taken. */
  stepsOf(alpha: number): number {
    return this.member(alpha).optimizer.step;
  }

  private member(alpha: number): Member {
    const m = this.members.find((x) => x.alpha === alpha);
    if (!m) throw new ValueError('TrainingSession', `one of the session's α (${this.alphas.join(', ')})`, String(alpha));
    return m;
  }

  /** The minibatch indices of (0-based) step s. */
  private batchOf(s: number): Int32Array {
    const epoch = Math.floor(s / this.stepsPerEpoch);
    if (this.order?.epoch !== epoch) this.order = { epoch, perm: epochPermutation(this.config.trainSize, this.config.seed, epoch) };
    const b = s % this.stepsPerEpoch;
    const M = this.config.batchSize;
    return this.order.perm.subarray(b * M, (b + 1) * M);
  }

  /** One optimizer step of every model; evaluates the test curves when one is due. */
  async step(): Promise<void> {
    if (this.disposed) throw new ValueError('TrainingSession.step', 'a live session', 'a disposed one');
    for (const m of this.members) {
      const s = m.optimizer.step;
      const idx = this.batchOf(s);
      const i = tensor(idx, [idx.length]);
      const { loss, finite } = m.traced.run(i);
      m.losses.push(loss);
      m.flags.push(finite);
      const done = s + 1;
      const evaluate = done % this.config.evalEvery === 0;
      if (evaluate || done % this.pointEvery === 0) await this.closePoint(m, i, done, evaluate);
      i.dispose();
    }
    // bound the device work queued ahead of the host
    const inFlight = this.pending.filter((p) => !p.settled);
    if (inFlight.length > READS_IN_FLIGHT * this.members.length) await inFlight[inFlight.length - READS_IN_FLIGHT * this.members.length - 1]!.read;
  }

  /**
   * Ends model m's point after step `done`: its losses, flags and the MC accuracy on the
   * step's minibatch in one asynchronous read, and the test evaluation when due (awaited:
   * the next step updates the weights in place).
   */
  private async closePoint(m: Member, idx: Tensor, done: number, evaluate: boolean): Promise<void> {
    const c = this.config;
    const accuracy = tidy(() => {
      const xb = gather(this.xTrain, idx, 0);
      const probs = mcPredictProbs(m.model, xb, c.samples, { seed: c.seed, pass: PASSES.trainAccuracy(done) });
      const hits = cast(equal(argmax(probs, -1), gather(this.yTrain, idx, 0)), 'f32');
      probs.dispose();
      return reshape(mean(hits), [1]);
    });
    const readout = tidy(() => concat([...m.losses.map((l) => reshape(l, [1])), ...m.flags, accuracy]));
    accuracy.dispose();
    m.losses.forEach((t) => t.dispose());
    m.flags.forEach((t) => t.dispose());
    m.losses = [];
    m.flags = [];
    const read = readout.data().finally(() => {
      readout.dispose();
      point.settled = true;
    });
    read.catch(() => {}); // awaited in drain; this only keeps an early rejection from going unhandled
    const point: PendingPoint = { alpha: m.alpha, step: done, read, settled: false };
    this.pending.push(point);
    if (evaluate) {
      const metrics = await evaluateClassifier(m.model, this.xTest, this.testLabels, { samples: c.testSamples, seed: c.seed, pass: PASSES.evaluation(done) });
      point.evaluation = { accuracy: metrics.accuracy, logLikelihood: metrics.logLikelihood };
    }
  }

  /** Awaits every point read so far; a non-finite loss or parameter is a NonFiniteError. */
  async drain(): Promise<CurvePoint[]> {
    const pending = this.pending;
    this.pending = [];
    const points: CurvePoint[] = [];
    for (const p of pending) {
      const values = await p.read;
      const steps = (values.length - 1) / 2;
      let loss = 0;
      for (let k = 0; k < steps; k++) {
        const flag = values[steps + k]!;
        if (!Number.isFinite(values[k]!) || flag !== 0) {
          const at = p.step - steps + k + 1;
          throw new NonFiniteError('TrainingSession', 'a finite loss and finite parameters after every step', `a non-finite value at step ${at} of α = ${p.alpha}`, Number.isFinite(values[k]!) ? 'parameters' : 'loss', at, 'lower the learning rate, or restart');
        }
        loss += values[k]! / steps;
      }
      const point: CurvePoint = { alpha: p.alpha, step: p.step, epoch: p.step / this.stepsPerEpoch, loss, trainAccuracy: values[values.length - 1]! };
      if (p.evaluation) {
        point.testAccuracy = p.evaluation.accuracy;
        point.testLogLikelihood = p.evaluation.logLikelihood;
      }
      points.push(point);
    }
    return points;
  }

  /** Steps for about `ms` (at least one step unless paused), then drains the points. */
  async runFor(ms: number): Promise<Slice> {
    const t0 = performance.now();
    let steps = 0;
    while (!this.paused && (steps === 0 || performance.now() - t0 < ms)) {
      await this.step();
      steps++;
    }
    const points = await this.drain();
    return { points, steps, seconds: (performance.now() - t0) / 1000 };
  }

  /** MC predictive mean p̄ [n, C] and per-sample probabilities [n, K, C] of images [n, 784] under model m, at `pass`. */
  private async predictive(m: Member, images: Float32Array, pass: number): Promise<{ mean: Float64Array; perSample: Float32Array; n: number }> {
    const n = images.length / IMAGE_SIZE;
    const x = tensor(images, [n, IMAGE_SIZE]);
    try {
      // one pass of all K samples (mcPasses): the masks of mcPredictProbs(…, { chunk: K }) and of mcPredictSamples
      const { probs, C } = await mcSampleProbs(m.model, x, { samples: this.config.testSamples, seed: this.config.seed, pass, batch: Math.max(1, n) });
      return { mean: meanOverSamples(probs, n, this.config.testSamples, C), perSample: probs, n };
    } finally {
      x.dispose();
    }
  }

  /** The MC predictive distribution of one 28×28 image under every model (pass PASSES.predict). */
  async predict(pixels: Float32Array): Promise<Prediction[]> {
    if (pixels.length !== IMAGE_SIZE) throw new ShapeError('TrainingSession.predict', `one 28×28 image (${IMAGE_SIZE} values)`, `${pixels.length} values`);
    const K = this.config.testSamples;
    const out: Prediction[] = [];
    for (const m of this.members) {
      const { mean: p, perSample } = await this.predictive(m, pixels, PASSES.predict);
      let expected = 0;
      for (let k = 0; k < K; k++) expected += entropyOf(perSample, k * CLASSES, CLASSES) / K;
      const entropy = entropyOf(p, 0, CLASSES);
      out.push({ alpha: m.alpha, probs: Array.from(p), entropy, mutualInformation: entropy - expected });
    }
    return out;
  }

  /**
   * FGS at step size η on the first `count` test digits, per model: the attack (bbalpha's
   * fgsm, attack pass 0) then MC accuracy and mean predictive entropy of the attacked
   * digits (pass PASSES.fgs). `images`: the first few digits attacked against the first model.
   */
  async fgs(eta: number, count: number): Promise<{ rows: { alpha: number; accuracy: number; meanEntropy: number }[]; images: Float32Array[] }> {
    const n = this.data.test.labels.length;
    if (!(Number.isSafeInteger(count) && count >= 1 && count <= n)) throw new ValueError('TrainingSession.fgs', `a count in [1, ${n}]`, String(count));
    const c = this.config;
    const x = tensor(this.data.test.images.subarray(0, count * IMAGE_SIZE), [count, IMAGE_SIZE]);
    const labels = this.data.test.labels.subarray(0, count);
    const rows: { alpha: number; accuracy: number; meanEntropy: number }[] = [];
    let images: Float32Array[] = [];
    try {
      for (const [g, m] of this.members.entries()) {
        const [attacked] = fgsm(m.model, x, [eta], { samples: c.testSamples, seed: c.seed, pass: 0 });
        try {
          const metrics = await evaluateClassifier(m.model, attacked!, labels, { samples: c.testSamples, seed: c.seed, pass: PASSES.fgs });
          rows.push({ alpha: m.alpha, accuracy: metrics.accuracy, meanEntropy: metrics.entropy });
          if (g === 0) {
            const values = (await attacked!.data()) as Float32Array;
            images = Array.from({ length: Math.min(FGS_IMAGES, count) }, (_, i) => values.slice(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE));
          }
        } finally {
          attacked!.dispose();
        }
      }
    } finally {
      x.dispose();
    }
    return { rows, images };
  }

  /** Entropy of each Fashion item and of as many test digits, per model (pass PASSES.ood). */
  async ood(): Promise<{ rows: { alpha: number; fashionEntropy: number[]; digitEntropy: number[] }[]; fashionImages: Float32Array[]; digitImages: Float32Array[] }> {
    const count = Math.min(this.data.fashion.labels.length, this.data.test.labels.length);
    const fashion = this.data.fashion.images.subarray(0, count * IMAGE_SIZE);
    const digits = this.data.test.images.subarray(0, count * IMAGE_SIZE);
    const both = new Float32Array(2 * count * IMAGE_SIZE);
    both.set(fashion);
    both.set(digits, fashion.length);
    const rows: { alpha: number; fashionEntropy: number[]; digitEntropy: number[] }[] = [];
    for (const m of this.members) {
      const { mean: p } = await this.predictive(m, both, PASSES.ood);
      const h = Array.from({ length: 2 * count }, (_, i) => entropyOf(p, i * CLASSES, CLASSES));
      rows.push({ alpha: m.alpha, fashionEntropy: h.slice(0, count), digitEntropy: h.slice(count) });
    }
    const split = (a: Float32Array) => Array.from({ length: count }, (_, i) => a.slice(i * IMAGE_SIZE, (i + 1) * IMAGE_SIZE));
    return { rows, fashionImages: split(fashion), digitImages: split(digits) };
  }

  /**
   * The model of α as a safetensors checkpoint (nn's format: parameters, Adam's slots, and
   * the architecture, α, K and seed in the metadata, so Node's modelFromCheckpoint rebuilds it).
   */
  async exportCheckpoint(alpha: number): Promise<{ bytes: Uint8Array; fileName: string }> {
    const m = this.member(alpha);
    const file = await checkpointEntries(m.model, m.optimizer, { seed: this.config.seed, alpha, samples: this.config.samples, architecture: this.architecture });
    const bytes = encodeSafetensors(file.tensors, file.metadata);
    return { bytes, fileName: `bbalpha-alpha${alpha}-step${m.optimizer.step}.safetensors` };
  }

  /**
   * Replaces the model of the checkpoint's α (or adds one) with the checkpoint's weights,
   * and Adam's state when the file holds it. A checkpoint of another architecture (widths or
   * dropout rate), without α, or not a checkpoint at all, is a DataError; the session is
   * then unchanged. Returns the α.
   */
  importCheckpoint(bytes: Uint8Array, source = 'uploaded checkpoint'): number {
    const file = decodeSafetensors(bytes, source);
    const meta = readCheckpointMetadata(file, source, { requireArchitecture: true });
    if (JSON.stringify(meta.architecture) !== JSON.stringify(this.architecture))
      throw new DataError(source, `the session's architecture, ${describeArchitecture(this.architecture)}`, describeArchitecture(meta.architecture!), 'start a session with its hidden widths and dropout rate to load it');
    if (meta.alpha === undefined) throw new DataError(`${source}: metadata`, 'an α (a BB-α checkpoint)', 'no alpha field');
    const withSlots = meta.rule === 'adam' && Object.keys(file.tensors).some((k) => k.startsWith('optim.slot'));
    const next = this.newMember(meta.alpha, { file, source, withSlots });
    const at = this.members.findIndex((m) => m.alpha === meta.alpha);
    if (at >= 0) {
      this.disposeMember(this.members[at]!);
      this.members[at] = next;
      // points of the replaced model still in flight describe a model that is gone
      this.pending = this.pending.filter((p) => p.alpha !== meta.alpha);
    } else {
      this.members.push(next);
      this.config.alphas.push(meta.alpha);
    }
    return meta.alpha;
  }

  private disposeMember(m: Member): void {
    m.traced.dispose();
    m.losses.forEach((t) => t.dispose());
    m.flags.forEach((t) => t.dispose());
    m.optimizer.dispose();
    m.model.dispose();
  }

  /** Frees every tensor the session holds (after the reads in flight settle). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled(this.pending.map((p) => p.read));
    this.pending = [];
    this.members.forEach((m) => this.disposeMember(m));
    this.members.length = 0;
    this.xTrain.dispose();
    this.yTrain.dispose();
    this.xTest.dispose();
  }
}
