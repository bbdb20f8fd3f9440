// The fused primitives on the fast CPU backend, other than FusedMatmul (matmul.ts): dropout
// with its mask regenerated from Philox (random.ts, memoised), logsumexp over one axis in two passes
// over an (outer, R, inner) view, and the optimizer update over a flat parameter buffer
// (its optional weight decay added in a first pass, stored in the gradient's dtype).
// Each evaluates the oracle's expressions in the oracle's order, so results are identical.

import { allocHost, type DType, type HostArray } from '../../dtype.js';
import { OPTIMIZER_SLOTS, type Prim } from '../../prims.js';
import { keepThreshold } from '../../random/philox.js';
import type { CpuKernel } from '../reference.js';
import { maskBits } from './random.js';
import { sizeOfShape } from './strided.js';

export const dropout: CpuKernel<Prim.Dropout> = ([x], d, out) => {
  const v = x!.storage;
  const n = v.length;
  const r = allocHost(out.dtype, n);
  const keep = d.keepProb;
  if (keep === 1) {
    for (let i = 0; i < n; i++) r[i] = v[i]! / keep;
    return r;
  }
  const bits = maskBits(n, d.key, d.counter, d.keys);
  const thr = keepThreshold(keep);
  const pick = new Float64Array(2); // branch-free keep/drop: pick[+(kept)]
  for (let i = 0; i < n; i++) {
    pick[1] = v[i]! / keep;
    r[i] = pick[+(bits[i]! < thr)]!;
  }
  return r;
};

export const logSumExp: CpuKernel<Prim.LogSumExp> = ([x], { axis }, out) => {
  const v = x!.storage;
  const shape = x!.shape;
  const outer = sizeOfShape(shape.slice(0, axis));
  const R = shape[axis]!;
  const inner = sizeOfShape(shape.slice(axis + 1));
  const r = allocHost(out.dtype, outer * inner);
  const m = new Float64Array(inner);
  const s = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    const base = o * R * inner;
    m.fill(-Infinity);
    s.fill(0);
    // Math.max, as the oracle: NaN wins, +0 over −0.
    for (let k = 0, p = base; k < R; k++, p += inner) for (let j = 0; j < inner; j++) m[j] = Math.max(m[j]!, v[p + j]!);
    for (let k = 0, p = base; k < R; k++, p += inner) for (let j = 0; j < inner; j++) s[j] = s[j]! + Math.exp(v[p + j]! - m[j]!);
    // A non-finite maximum (+Inf, -Inf when all are, NaN) is the result, as in the oracle.
    for (let j = 0; j < inner; j++) r[o * inner + j] = Number.isFinite(m[j]!) ? m[j]! + Math.log(s[j]!) : m[j]!;
  }
  return r;
};

/** g + c ⊙ w (weight decay) rounded as a separate mul then add would store it: f32 after each op. */
function decayed(g: HostArray, c: HostArray, w: HostArray, dtype: DType): HostArray {
  const r = allocHost(dtype, g.length);
  for (let i = 0; i < r.length; i++) r[i] = g[i]! + (dtype === 'f32' ? Math.fround(c[i]! * w[i]!) : c[i]! * w[i]!);
  return r;
}

export const optimizerUpdate: CpuKernel<Prim.OptimizerUpdate> = (inputs, p, out) => {
  const [param, grad, s1, s2] = inputs;
  const decay = inputs[2 + OPTIMIZER_SLOTS[p.rule]];
  const w = param!.storage;
  const g = decay ? decayed(grad!.storage, decay.storage, w, out.dtype) : grad!.storage;
  const n = w.length;
  const r = allocHost(out.dtype, sizeOfShape(out.shape));
  const lr = p.lr;
  switch (p.rule) {
    case 'sgd':
      for (let i = 0; i < n; i++) r[i] = w[i]! - lr * g[i]!;
      return r;
    case 'momentum':
    case 'nesterov': {
      const v0 = s1!.storage;
      const mu = p.momentum;
      const nesterov = p.rule === 'nesterov';
      for (let i = 0; i < n; i++) {
        const gi = g[i]!;
        const v = mu * v0[i]! + gi;
        r[i] = w[i]! - lr * (nesterov ? gi + mu * v : v);
        r[n + i] = v;
      }
      return r;
    }
    case 'adam': {
      const m0 = s1!.storage;
      const v0 = s2!.storage;
      const { beta1, beta2, eps } = p;
      const c1 = 1 - Math.pow(beta1, p.step);
      const c2 = 1 - Math.pow(beta2, p.step);
      for (let i = 0; i < n; i++) {
        const gi = g[i]!;
        const m = beta1 * m0[i]! + (1 - beta1) * gi;
        const v = beta2 * v0[i]! + (1 - beta2) * gi * gi;
        const mHat = m / c1;
        const vHat = v / c2;
        r[i] = w[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
        r[n + i] = m;
        r[2 * n + i] = v;
      }
      return r;
    }
  }
};
