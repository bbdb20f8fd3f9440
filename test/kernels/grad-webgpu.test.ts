// The engine's gradients on WebGPU against the CPU float64 backward (DESIGN.md, "Tests":
// WGSL has no f64, so the GPU's f32 backward is compared with the oracle's f64 one at f32
// tolerances). Each case evaluates a composite function and its gradients with
// valueAndGradsOf on both backends from the same f32 input values, and compares the value
// and every gradient. The composites reach the VJPs of most primitives: matmul with
// transposes, relu, logsumexp/logSoftmax, oneHot/crossEntropy, where/compare/maximum,
// sum/max reductions, slice/concat/pad, gather/scatterAdd, permute/expand.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  add, concat, crossEntropy, exp, expand, gather, getBackend, greater, logSoftmax, logsumexp, matmul, max, maximum, mean,
  mul, pad, permute, relu, setBackend, sigmoid, slice, softmax, sub, sum, tanh, tensor, valueAndGradsOf, where,
  type Backend, type Tensor,
} from '@alphadrop/core';
import { firstMismatch, getTestBackend, rand, randInt, reference } from '../helpers/webgpu.js';

let gpu: Backend;
beforeAll(async () => {
  gpu = await getTestBackend();
});

/** An argument: float values (differentiated) or integer indices (constant). */
type Arg = { shape: number[]; lo?: number; hi?: number } | { shape: number[]; int: [number, number] };

interface Result {
  value: number;
  grads: Float64Array[];
}

/** Runs f and its gradients on `backend`; floats as `dtype`, from the given host values. */
async function gradsOn(backend: Backend, dtype: 'f32' | 'f64', args: readonly Arg[], values: readonly ArrayLike<number>[], f: (...xs: Tensor[]) => Tensor): Promise<Result> {
  const prev = getBackend();
  setBackend(backend);
  try {
    const xs = args.map((a, i) => tensor(Array.from(values[i]!), a.shape, { dtype: 'int' in a ? 'i32' : dtype }));
    const wrt = xs.filter((_, i) => !('int' in args[i]!));
    const { value, grads } = valueAndGradsOf(() => f(...xs), wrt);
    const out = { value: (await value.data())[0]!, grads: await Promise.all(grads.map(async (g) => Float64Array.from(await g.data()))) };
    for (const t of [...xs, value, ...grads]) t.dispose();
    return out;
  } finally {
    setBackend(prev);
  }
}

/**
 * One case: the GPU's f32 value and gradients against the CPU's f64 ones, rtol 1e-3 with an
 * absolute floor of 1e-4 of each gradient's largest magnitude (entries near 0 carry f32
 * cancellation error on the scale of the whole gradient, not of themselves).
 */
function gradCase(name: string, args: readonly Arg[], f: (...xs: Tensor[]) => Tensor): void {
  it(name, async () => {
    const prev = getBackend();
    setBackend(reference);
    const values = args.map((a, i) =>
      ('int' in a ? randInt(a.shape, 100 + i, a.int[0], a.int[1]) : rand(a.shape, 100 + i, a.lo ?? -1, a.hi ?? 1)).dataSync(),
    );
    setBackend(prev);
    const want = await gradsOn(reference, 'f64', args, values, f);
    const got = await gradsOn(gpu, 'f32', args, values, f);
    expect(Math.abs(got.value - want.value), `${name}: value ${got.value} vs ${want.value}`).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(want.value));
    expect(got.grads.length).toBe(want.grads.length);
    want.grads.forEach((w, k) => {
      const scale = w.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(scale, `${name}: gradient ${k} is identically zero (the case cannot fail)`).toBeGreaterThan(0);
      const bad = firstMismatch(got.grads[k]!, w, false, { rtol: 1e-3, atol: 1e-4 * scale });
      expect(bad, `${name}: gradient ${k}`).toBeNull();
    });
  });
}

describe('gradients on WebGPU ≡ CPU float64 backward', () => {
  gradCase(
    'MLP layer: relu, logSoftmax, crossEntropy through oneHot',
    [{ shape: [16, 10] }, { shape: [10, 12] }, { shape: [12] }, { shape: [12, 5] }, { shape: [5] }, { shape: [16], int: [0, 4] }],
    (x, w1, b1, w2, b2, labels) => crossEntropy(add(matmul(relu(add(matmul(x!, w1!), b1!)), w2!), b2!), labels!),
  );
  gradCase('softmax, projected', [{ shape: [7, 9], lo: -3, hi: 3 }, { shape: [7, 9] }], (x, r) => sum(mul(softmax(x!, -1), r!)));
  gradCase('logSoftmax along axis 0', [{ shape: [6, 5], lo: -4, hi: 4 }, { shape: [6, 5] }], (x, r) => sum(mul(logSoftmax(x!, 0), r!)));
  gradCase('logsumexp over a long axis, large values', [{ shape: [3, 300], lo: -30, hi: 30 }, { shape: [3] }], (x, r) => sum(mul(logsumexp(x!, 1), r!)));
  gradCase(
    'where(x > y, x·y, maximum(x, y)²)',
    [{ shape: [5, 7] }, { shape: [7] }],
    (x, y) => sum(where(greater(x!, y!), mul(x!, y!), mul(maximum(x!, y!), maximum(x!, y!)))),
  );
  gradCase('sum and max reductions over several axes', [{ shape: [4, 6, 5] }, { shape: [4, 5] }], (x, r) =>
    add(sum(mul(max(x!, 1), r!)), add(sum(mul(sum(x!, [0, 2]), sum(x!, [0, 2]))), mean(max(x!, [0, 1])))),
  );
  gradCase('matmul transposed, then batched with a broadcast operand', [{ shape: [9, 13] }, { shape: [11, 9] }, { shape: [2, 11, 7] }], (a, b, c) => {
    const ab = matmul(a!, b!, { transA: true, transB: true }); // (13x9)·(9x11) = 13x11
    const abc = matmul(ab, c!); // broadcast batch: [2, 13, 7]
    return add(sum(tanh(abc)), mean(mul(abc, abc)));
  });
  gradCase('slice, concat and pad', [{ shape: [6, 8] }, { shape: [6, 3] }, { shape: [9, 14] }], (x, y, r) => {
    const parts = concat([slice(x!, [1, 2], [4, 5]), slice(y!, [0, 0], [4, 3]), slice(x!, [2, 0], [4, 1])], 1); // [4, 9]
    const padded = pad(parts, [[2, 3], [1, 4]], 0.5); // [9, 14]
    return sum(mul(sigmoid(padded), r!));
  });
  gradCase('gather (scatterAdd backward) with repeated indices, permute and expand', [{ shape: [7, 4] }, { shape: [12], int: [0, 6] }, { shape: [4, 1] }], (x, idx, s) => {
    const g = gather(x!, idx!, 0); // [12, 4]
    const t = permute(g, [1, 0]); // [4, 12]
    return sum(exp(mul(sub(t, expand(s!, [4, 12])), 0.5)));
  });
});
