// The messages between the page (main.ts) and the training worker (worker.ts). Training runs
// in a Web Worker so that the page stays responsive; WebGPU is available in workers. Every
// request that wants an answer carries an id, and its reply carries the same id.

/** What the worker trains: one MLP per α, side by side, on the embedded MNIST sample. */
export interface TrainConfig {
  /** One model per α (the paper's α ∈ {0, 0.5, 1} by default). */
  alphas: number[];
  /** K: MC samples per input in the BB-α loss. */
  samples: number;
  /** Dropout rate p (the probability of dropping a unit), before every Linear. */
  dropout: number;
  learningRate: number;
  /** M: inputs per minibatch. */
  batchSize: number;
  /** Hidden widths of the MLP 784-…-10 (the paper's: [100, 100]; the browser tests use smaller). */
  hidden: number[];
  /** How many of the embedded training digits to use (at most 8,000). */
  trainSize: number;
  /** How many held-out digits the test curves use (at most 1,000). */
  testSize: number;
  /** MC samples at test time (curves, predictions, FGS, Fashion-MNIST). */
  testSamples: number;
  /** Evaluate the test curves every this many steps. */
  evalEvery: number;
  seed: number;
  /** 'auto': WebGPU when an adapter is found, else the CPU (announced in 'ready'). */
  backend: 'auto' | 'webgpu' | 'cpu';
}

export const DEFAULT_CONFIG: TrainConfig = {
  alphas: [0, 0.5, 1],
  samples: 10,
  dropout: 0.5,
  learningRate: 1e-3,
  batchSize: 64,
  hidden: [100, 100],
  trainSize: 8000,
  testSize: 1000,
  testSamples: 10,
  evalEvery: 50,
  seed: 1,
  backend: 'auto',
};

/**
 * Where the worker fetches the data from: gzipped IDX files. A relative URL resolves against
 * the worker script's URL (the page's too when both are served from one folder).
 */
export interface DataUrls {
  mnistTrainImages: string;
  mnistTrainLabels: string;
  mnistTestImages: string;
  mnistTestLabels: string;
  fashionImages: string;
  fashionLabels: string;
}

/**
 * The MC predictive distribution of one input under one model: K = config.testSamples
 * samples in one forward pass, masks under predictionKey({ seed: config.seed, pass: 0 }).
 * Node reproduces it from the model's exported checkpoint (same masks, probabilities within
 * 1e-5, same argmax on every backend):
 *   const { model } = modelFromCheckpoint(decodeSafetensors(bytes));
 *   mcPredictProbs(model, tensor(pixels, [1, 784]), K, { seed, pass: 0, chunk: K });
 * or predictClasses(loadPredictor(bytes), pixels, { samples: K, seed, pass: 0 }) of
 * @alphadrop/bbalpha/infer. (`chunk: K` matters only for K > 10: mcPredictProbs draws
 * 10 samples per pass by default, and each pass its own masks.)
 */
export interface Prediction {
  alpha: number;
  /** Mean of the K softmax outputs, 10 classes. */
  probs: number[];
  /** Predictive entropy H[mean p] (nats). */
  entropy: number;
  /** Mutual information H[mean p] − mean H[p] (nats). */
  mutualInformation: number;
}

export type Request =
  | { type: 'start'; config: TrainConfig; data: DataUrls }
  | { type: 'pause' }
  | { type: 'resume' }
  /** Changes that apply without a restart. */
  | { type: 'set'; learningRate: number }
  /** A 28×28 image, row-major, values in [0, 1] (white digit on black, as MNIST). */
  | { type: 'predict'; id: number; pixels: Float32Array }
  /** FGS at step size η on the first `count` test digits: accuracy and mean entropy per α. */
  | { type: 'fgs'; id: number; eta: number; count: number }
  /** The shipped Fashion-MNIST items and as many test digits: entropy per item per α. */
  | { type: 'ood'; id: number }
  /** The model of one α as a checkpoint (safetensors, the format `alphadrop` reads in Node). */
  | { type: 'export'; id: number; alpha: number }
  /**
   * Replaces the model of the checkpoint's α (or adds it) with the checkpoint's weights (and
   * Adam's state and step count, when the file holds them). A checkpoint of another
   * architecture (hidden widths, dropout rate) is refused: 'failed' with a DataError message.
   */
  | { type: 'import'; id: number; bytes: Uint8Array };

export interface CurvePoint {
  alpha: number;
  /** Optimizer steps this model has taken (models restored from a checkpoint keep its count). */
  step: number;
  /** Epochs done, fractional: step / ⌊trainSize / batchSize⌋. */
  epoch: number;
  /** Mean BB-α training loss since the previous point. */
  loss: number;
  /** MC test accuracy and mean test log-likelihood, when this point has an evaluation. */
  testAccuracy?: number;
  testLogLikelihood?: number;
  /** MC training accuracy (mean of the K softmax samples) on the minibatch of the point's last step, after that step. */
  trainAccuracy: number;
}

export type Reply =
  | { type: 'ready'; backend: 'webgpu' | 'cpu'; adapter: string; fallbackReason?: string; config: TrainConfig }
  /**
   * After every training slice (~75 ms) the points it completed, and the slice's session
   * steps (one step of every model) per second; once with paused: true when training pauses.
   */
  | { type: 'progress'; points: CurvePoint[]; stepsPerSecond: number; paused: boolean }
  | { type: 'predicted'; id: number; predictions: Prediction[] }
  | {
      type: 'fgsDone';
      id: number;
      eta: number;
      rows: { alpha: number; accuracy: number; meanEntropy: number }[];
      /** The first few attacked images (784 values each; attacked against the first α's model), for display. */
      images: Float32Array[];
    }
  | {
      type: 'oodDone';
      id: number;
      /** Per α: entropy of each Fashion item, and of each digit beside it. */
      rows: { alpha: number; fashionEntropy: number[]; digitEntropy: number[] }[];
      fashionImages: Float32Array[];
      digitImages: Float32Array[];
    }
  | { type: 'exported'; id: number; alpha: number; bytes: Uint8Array; fileName: string }
  | { type: 'imported'; id: number; alpha: number }
  | { type: 'failed'; id?: number; message: string };
