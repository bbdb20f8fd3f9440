// The benchmarked problem: one BB-α dropout training step of an MLP, as the peer harness
// (../shared/peers) defines it, plus a float64 reference of that step in plain JS.
//
//   x [M, D] uniform in [0, 1), labels y [M] in [0, C); x tiled K times → [M·K, D], row n·K + k
//   for l = 0 .. L-1:  u_l = h_l ⊙ mask_l / keep          (inverted dropout, input included)
//                      z_l = u_l · W_l + b_l              (W_l [fanIn, fanOut])
//                      h_{l+1} = relu(z_l)                (not after the last layer)
//   ll[n, k] = log_softmax(z_{L-1})[n·K + k, y_n]
//   loss = mean_n −(1/α)·(logsumexp_k(α·ll[n, k]) − log K) + wd·Σ_l ‖W_l‖²
//   W ← W − lr·∂loss/∂W, b ← b − lr·∂loss/∂b
//
// Masks are 0/1 keep masks [M·K, fanIn_l], one per layer; the timed steps draw fresh ones
// every step, the correctness check fixes them (makeProblem(..., withMasks = true)).

import type { Backend } from '@alphadrop/core';

export const ALPHA = 0.5;
export const KEEP = 0.5;
export const WEIGHT_DECAY = 1e-6;
export const LEARNING_RATE = 0.01;

export interface MlpConfig {
  /** Distinct inputs per minibatch. */
  M: number;
  /** Monte Carlo samples (dropout masks) per input. */
  K: number;
  /** Layer widths, input first, classes last. */
  sizes: readonly number[];
}

export const MODELS: Record<'small' | 'large' | 'tiny', MlpConfig> = {
  small: { M: 128, K: 10, sizes: [784, 100, 100, 10] },
  large: { M: 128, K: 10, sizes: [784, 1000, 1000, 1000, 10] },
  /** For the float64 comparison of loss, gradients and update. */
  tiny: { M: 5, K: 3, sizes: [7, 6, 5, 4] },
};

export interface MlpProblem {
  cfg: MlpConfig;
  x: Float32Array; // [M, D]
  y: Int32Array; // [M]
  Ws: Float32Array[]; // W_l [fanIn, fanOut], row-major
  bs: Float32Array[]; // b_l [fanOut]
  /** 0/1 keep masks [M·K, fanIn_l] when fixed masks were asked for. */
  masks: Float32Array[] | null;
}

/** xorshift32 after a splitmix-style scramble of the seed: deterministic floats in [0, 1). */
export function seededUniform(seed: number): () => number {
  let s = Math.imul((seed >>> 0) ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  s = (s ^ (s >>> 13)) >>> 0 || 0x6d2b79f5;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Glorot-uniform kernels, biases uniform in ±0.1, data uniform in [0, 1). */
export function makeProblem(cfg: MlpConfig, seed: number, withMasks: boolean): MlpProblem {
  const rnd = seededUniform(seed);
  const { M, K, sizes } = cfg;
  const D = sizes[0]!;
  const C = sizes[sizes.length - 1]!;
  const x = Float32Array.from({ length: M * D }, () => rnd());
  const y = Int32Array.from({ length: M }, () => Math.min(C - 1, Math.floor(rnd() * C)));
  const Ws: Float32Array[] = [];
  const bs: Float32Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l]!;
    const fanOut = sizes[l + 1]!;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    Ws.push(Float32Array.from({ length: fanIn * fanOut }, () => (2 * rnd() - 1) * limit));
    bs.push(Float32Array.from({ length: fanOut }, () => (2 * rnd() - 1) * 0.1));
  }
  const masks = withMasks
    ? sizes.slice(0, -1).map((fanIn) => Float32Array.from({ length: M * K * fanIn }, () => (rnd() < KEEP ? 1 : 0)))
    : null;
  return { cfg, x, y, Ws, bs, masks };
}

/** Parameters in any precision (the gradient self-check perturbs float64 copies). */
export interface MlpParamsLike {
  Ws: readonly ArrayLike<number>[];
  bs: readonly ArrayLike<number>[];
}

export interface ReferenceStep {
  loss: number;
  gW: Float64Array[];
  gb: Float64Array[];
  newWs: Float64Array[];
  newbs: Float64Array[];
}

/** out[r, o] = Σ_i a[r, i]·w[i, o] + bias[o]   (a [rows, n], w [n, m]) */
function affine(a: Float64Array, w: ArrayLike<number>, bias: ArrayLike<number>, rows: number, n: number, m: number): Float64Array {
  const out = new Float64Array(rows * m);
  for (let r = 0; r < rows; r++) {
    const o = r * m;
    for (let j = 0; j < m; j++) out[o + j] = bias[j]!;
    for (let i = 0; i < n; i++) {
      const av = a[r * n + i]!;
      if (av === 0) continue;
      const wi = i * m;
      for (let j = 0; j < m; j++) out[o + j]! += av * w[wi + j]!;
    }
  }
  return out;
}

/**
 * The step above in float64 with the problem's fixed masks: loss, gradients (by hand,
 * layer by layer) and the SGD-updated parameters.
 */
export function referenceStep(p: MlpProblem, lr = LEARNING_RATE, params: MlpParamsLike = p): ReferenceStep {
  if (p.masks === null) throw new Error('referenceStep needs fixed masks (makeProblem(..., true))');
  const { M, K, sizes } = p.cfg;
  const L = sizes.length - 1;
  const N = M * K;
  const C = sizes[L]!;
  const D = sizes[0]!;

  // forward, keeping the dropped inputs u_l and pre-activations z_l
  let h = new Float64Array(N * D);
  for (let r = 0; r < N; r++) for (let j = 0; j < D; j++) h[r * D + j] = p.x[Math.floor(r / K) * D + j]!;
  const us: Float64Array[] = [];
  const zs: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    const mask = p.masks[l]!;
    const u = h.map((v, i) => (v * mask[i]!) / KEEP);
    const z = affine(u, params.Ws[l]!, params.bs[l]!, N, sizes[l]!, sizes[l + 1]!);
    us.push(u);
    zs.push(z);
    if (l < L - 1) h = z.map((v) => (v > 0 ? v : 0));
  }

  // log-softmax rows, per-sample log-likelihood of the label
  const logits = zs[L - 1]!;
  const softmax = new Float64Array(N * C);
  const ll = new Float64Array(N);
  for (let r = 0; r < N; r++) {
    let mx = -Infinity;
    for (let c = 0; c < C; c++) mx = Math.max(mx, logits[r * C + c]!);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(logits[r * C + c]! - mx);
    const lse = mx + Math.log(s);
    for (let c = 0; c < C; c++) softmax[r * C + c] = Math.exp(logits[r * C + c]! - lse);
    ll[r] = logits[r * C + p.y[Math.floor(r / K)]!]! - lse;
  }

  // BB-α per input; d loss / d ll[n, k] = −(1/M)·softmax_k(α·ll[n, ·])
  let dataTerm = 0;
  const dll = new Float64Array(N);
  for (let n = 0; n < M; n++) {
    let mx = -Infinity;
    for (let k = 0; k < K; k++) mx = Math.max(mx, ALPHA * ll[n * K + k]!);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(ALPHA * ll[n * K + k]! - mx);
    const lse = mx + Math.log(s);
    dataTerm += -(lse - Math.log(K)) / ALPHA;
    for (let k = 0; k < K; k++) dll[n * K + k] = -Math.exp(ALPHA * ll[n * K + k]! - lse) / M;
  }
  let sq = 0;
  for (const W of params.Ws) for (let i = 0; i < W.length; i++) sq += W[i]! * W[i]!;
  const loss = dataTerm / M + WEIGHT_DECAY * sq;

  // backward: d z_{L-1} = dll ⊙ (onehot − softmax), then layer by layer
  let dz = new Float64Array(N * C);
  for (let r = 0; r < N; r++) {
    const label = p.y[Math.floor(r / K)]!;
    for (let c = 0; c < C; c++) dz[r * C + c] = dll[r]! * ((c === label ? 1 : 0) - softmax[r * C + c]!);
  }
  const gW: Float64Array[] = new Array(L);
  const gb: Float64Array[] = new Array(L);
  for (let l = L - 1; l >= 0; l--) {
    const fanIn = sizes[l]!;
    const fanOut = sizes[l + 1]!;
    const u = us[l]!;
    const W = params.Ws[l]!;
    const dW = new Float64Array(fanIn * fanOut);
    const db = new Float64Array(fanOut);
    for (let r = 0; r < N; r++) {
      for (let o = 0; o < fanOut; o++) db[o]! += dz[r * fanOut + o]!;
      for (let i = 0; i < fanIn; i++) {
        const ui = u[r * fanIn + i]!;
        if (ui === 0) continue;
        for (let o = 0; o < fanOut; o++) dW[i * fanOut + o]! += ui * dz[r * fanOut + o]!;
      }
    }
    for (let i = 0; i < dW.length; i++) dW[i]! += 2 * WEIGHT_DECAY * W[i]!;
    gW[l] = dW;
    gb[l] = db;
    if (l === 0) break; // the input needs no gradient
    const mask = p.masks[l]!;
    const zPrev = zs[l - 1]!;
    const dPrev = new Float64Array(N * fanIn);
    for (let r = 0; r < N; r++)
      for (let i = 0; i < fanIn; i++) {
        if (mask[r * fanIn + i] === 0 || zPrev[r * fanIn + i]! <= 0) continue;
        let s = 0;
        for (let o = 0; o < fanOut; o++) s += dz[r * fanOut + o]! * W[i * fanOut + o]!;
        dPrev[r * fanIn + i] = s / KEEP;
      }
    dz = dPrev;
  }
  const newWs = params.Ws.map((W, l) => Float64Array.from(W, (w, i) => w - lr * gW[l]![i]!));
  const newbs = params.bs.map((b, l) => Float64Array.from(b, (v, i) => v - lr * gb[l]![i]!));
  return { loss, gW, gb, newWs, newbs };
}

/**
 * Central differences of the reference loss on a few parameters of the tiny problem:
 * the largest |numeric − analytic| gradient difference (a check of the checker).
 */
export function referenceGradientSelfCheck(seed = 11): number {
  const prob = makeProblem(MODELS.tiny, seed, true);
  const ref = referenceStep(prob);
  const h = 1e-5;
  let worst = 0;
  const lossAt = (kind: 'W' | 'b', l: number, i: number, delta: number): number => {
    // perturb float64 copies so that the step h is exact
    const Ws = prob.Ws.map((w) => Float64Array.from(w));
    const bs = prob.bs.map((b) => Float64Array.from(b));
    (kind === 'W' ? Ws : bs)[l]![i]! += delta;
    return referenceStep(prob, LEARNING_RATE, { Ws, bs }).loss;
  };
  for (let l = 0; l < prob.Ws.length; l++)
    for (const kind of ['W', 'b'] as const) {
      const n = (kind === 'W' ? prob.Ws : prob.bs)[l]!.length;
      for (const i of new Set([0, Math.floor(n / 3), Math.floor((2 * n) / 3), n - 1])) {
        const numeric = (lossAt(kind, l, i, h) - lossAt(kind, l, i, -h)) / (2 * h);
        const analytic = (kind === 'W' ? ref.gW : ref.gb)[l]![i]!;
        worst = Math.max(worst, Math.abs(numeric - analytic));
      }
    }
  return worst;
}

// ---------------------------------------------------------------- what each library provides

export interface StepParams {
  Ws: Float32Array[];
  bs: Float32Array[];
}

/** One library's training loop on one problem (see harness.ts for TimedLoop). */
export interface StepRunner {
  /** One full step: forward, loss, gradients, SGD update. */
  step(): void;
  /** Loss of the latest step (before its update); waits for all issued work. */
  readLoss(): Promise<number>;
  /** The current parameters, copied to the host. */
  params(): Promise<StepParams>;
  /** The library's own count of live tensors/arrays, to show that memory stays flat. */
  liveTensors(): number;
  dispose(): void;
}

export interface StepLibrary {
  /** Short name for the tables: 'alphadrop', 'tfjs-cpu', 'jax-js wasm'. */
  name: string;
  /** Version and backend details. */
  detail: string;
  /** fixedMasks: use the problem's masks (correctness check) instead of random dropout. */
  build(p: MlpProblem, fixedMasks: boolean, lr?: number): StepRunner;
  /**
   * Where the library's random masks are reproducible outside it: the 0/1 masks its first
   * step on `cfg` draws, so that the random path can be checked against float64 too.
   */
  firstStepMasks?(cfg: MlpConfig): Float32Array[];
  /** Where the library installs a backend of its own: the same library on wrap(that backend) (profiling). */
  rebase?(wrap: (inner: Backend) => Backend): StepLibrary;
}
