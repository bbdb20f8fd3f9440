// Gradient checking in float64 on the CPU oracle, in the spirit of tinygrad's helper_test_op:
// one call per case. checkGrad compares the tape's gradient of <f(xs), R> (R a fixed random
// projection, so non-scalar outputs are checked in every direction at once) with central
// differences, perturbing every element of every input. Also the seeded input generators the
// gradient suites share.

import {
  Tensor, getBackend, mul, noGrad, sum, tensor, tidy, valueAndGradsOf, type Shape,
} from '@alphadrop/core';
import { prng } from '../../bench/harness/data.js';

/** mulberry32 (bench/harness/data.ts): inputs are the same on every run and machine. */
export { prng };

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const sizeOf = (shape: Shape) => shape.reduce((n, d) => n * d, 1);

/** Uniform f64 values in [lo, hi). */
export function uniform(shape: Shape, seed: number, lo = -1, hi = 1): Tensor {
  const r = prng(seed);
  const v = new Float64Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = lo + (hi - lo) * r();
  return tensor(v, shape);
}

/** Uniform f64 magnitudes in [lo, hi) with random signs: keeps away from 0 (relu, abs, sign). */
export function awayFromZero(shape: Shape, seed: number, lo = 0.2, hi = 1.5): Tensor {
  const r = prng(seed);
  const v = new Float64Array(sizeOf(shape));
  for (let i = 0; i < v.length; i++) v[i] = (r() < 0.5 ? -1 : 1) * (lo + (hi - lo) * r());
  return tensor(v, shape);
}

/**
 * Distinct f64 values spaced `gap` apart, shuffled, plus a small jitter: no ties anywhere, and a
 * perturbation of eps cannot change which element is the maximum (max, maxPool, argmax).
 */
export function distinct(shape: Shape, seed: number, gap = 0.1): Tensor {
  const r = prng(seed);
  const n = sizeOf(shape);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = (i - n / 2) * gap + 0.3 * gap * r();
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return tensor(v, shape);
}

/** f64 values of a tensor as a plain array (sync: the CPU backend). */
export const values = (t: Tensor): number[] => Array.from(t.dataSync());

export interface GradCheckOptions {
  /** Central-difference step (default 1e-6). */
  eps?: number;
  /** Relative tolerance (default 1e-6). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
  /** Indices of the inputs to check (default all); the others are held constant. */
  wrt?: number[];
}

export interface GradCheckReport {
  /** Largest |analytic - numeric| over all checked elements. */
  maxAbsError: number;
  /** Number of elements compared. */
  checked: number;
}

/**
 * Checks d/dxs of sum(f(...xs) * R) against central differences in float64, for every element
 * of every input in `wrt`. Throws an Error naming the worst element on a mismatch. All inputs
 * must be f64; tensors made here are disposed here.
 */
export function checkGrad(
  name: string,
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  opts: GradCheckOptions = {},
): GradCheckReport {
  const eps = opts.eps ?? 1e-6;
  const rtol = opts.rtol ?? 1e-6;
  const atol = opts.atol ?? 1e-6;
  const wrt = opts.wrt ?? inputs.map((_, i) => i);
  for (const i of wrt) {
    const x = inputs[i];
    if (x === undefined) throw new Error(`checkGrad(${name}): no input ${i}`);
    if (x.dtype !== 'f64') throw new Error(`checkGrad(${name}): input ${i} is ${x.dtype}, expected f64`);
  }
  const backend = getBackend();
  if (inputs.some((x) => x.backend !== backend)) throw new Error(`checkGrad(${name}): inputs not on the current backend`);

  // The projection: fixed per case name, of the output's shape and dtype.
  const outShape = noGrad(() => tidy(() => [...f(...inputs).shape]));
  for (const t of inputs) if (t.isDisposed) throw new Error(`checkGrad(${name}): f disposed an input`);
  const rand = prng(hash(name));
  const rv = new Float64Array(sizeOf(outShape));
  for (let i = 0; i < rv.length; i++) rv[i] = rand() * 2 - 1;
  const R = tensor(rv, outShape);
  const objective = (...xs: Tensor[]) => sum(mul(f(...xs), R));

  try {
    const wrtTensors = wrt.map((i) => inputs[i]!);
    const { value, grads } = valueAndGradsOf(() => objective(...inputs), wrtTensors);
    const analytic = grads.map(values);
    const base = value.dataSync()[0]!;
    value.dispose();
    grads.forEach((g, k) => {
      const x = wrtTensors[k]!;
      if (g.dtype !== x.dtype || g.shape.length !== x.shape.length || g.shape.some((d, j) => d !== x.shape[j]))
        throw new Error(`checkGrad(${name}): gradient ${wrt[k]} is ${g.dtype}[${g.shape}], input is ${x.dtype}[${x.shape}]`);
    });
    new Set(grads).forEach((g) => g.dispose());

    let maxAbsError = 0;
    let checked = 0;
    const evalAt = (k: number, j: number, v: number): number =>
      noGrad(() =>
        tidy(() => {
          const xv = new Float64Array(inputs[k]!.dataSync());
          xv[j] = v;
          const xs = inputs.map((t, i) => (i === k ? tensor(xv, t.shape) : t));
          return objective(...xs).dataSync()[0]!;
        }) as number,
      );
    wrt.forEach((k, gi) => {
      const x0 = inputs[k]!.dataSync();
      for (let j = 0; j < x0.length; j++) {
        const numeric = (evalAt(k, j, x0[j]! + eps) - evalAt(k, j, x0[j]! - eps)) / (2 * eps);
        const a = analytic[gi]![j]!;
        const err = Math.abs(a - numeric);
        checked++;
        if (!(err <= atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)))) {
          throw new Error(
            `checkGrad(${name}): d/d input ${k} [flat ${j}] analytic ${a} vs numeric ${numeric} (|err| ${err.toExponential(2)}, objective ${base})`,
          );
        }
        maxAbsError = Math.max(maxAbsError, err);
      }
    });
    return { maxAbsError, checked };
  } finally {
    R.dispose();
  }
}
