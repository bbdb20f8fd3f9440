// The tape's contract (micrograd's): cotangents accumulate over every use of a tensor, an
// unused input gets zeros, noGrad hides ops from the tapes opened outside it, explicit dy for
// non-scalar results, gradients through tidy scopes, and the memory accounting of
// valueAndGradsOf and of tidy/keep/dispose. Exact values on the reference CPU backend in f64.

import { beforeEach, describe, expect, it } from 'vitest';
import {
  ShapeError, DTypeError, Tensor, add, cos, cpuBackend, dispose, exp, grad, keep, memory, mul, noGrad, ones, reshape,
  setBackend, sin, sum, tanh, tensor, tidy, valueAndGrad, valueAndGradsOf, where,
} from '@alphadrop/core';
import { values } from '../helpers/gradcheck.js';

setBackend(cpuBackend('reference'));

const f64 = (v: number[], shape?: number[]) => tensor(Float64Array.from(v), shape ?? [v.length]);
const close = (got: number[], want: number[], digits = 13) => {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, digits));
};

let live: Tensor[] = [];
/** Test inputs, disposed before the next test so the memory counts start from a known state. */
const input = (v: number[], shape?: number[]) => {
  const t = f64(v, shape);
  live.push(t);
  return t;
};
beforeEach(() => {
  dispose(live);
  live = [];
});

describe('accumulation', () => {
  it('x used twice: d(x·x) = 2x', () => {
    const x = input([-1.5, 0.25, 3]);
    const [g] = grad((t) => sum(mul(t, t)))(x);
    expect(values(g!)).toEqual([-3, 0.5, 6]);
  });
  it('x used in two branches: d(Σ sin x + Σ 3x) = cos x + 3', () => {
    const xv = [0.1, -2, 1.3];
    const x = input(xv);
    const [g] = grad((t) => add(sum(sin(t)), sum(mul(t, 3))))(x);
    close(values(g!), xv.map((v) => Math.cos(v) + 3));
  });
  it('x in both branches of where and in the product: contributions add up', () => {
    const x = input([2, -1, 0.5]);
    const cond = tensor([1, 0, 1], [3], { dtype: 'bool' });
    // f = Σ where(c, x², 5x) + Σ x  → f' = c ? 2x + 1 : 6
    const [g] = grad((t) => add(sum(where(cond, mul(t, t), mul(t, 5))), sum(t)))(x);
    expect(values(g!)).toEqual([5, 6, 2]);
  });
  it('the same tensor as both operands of several ops over a chain', () => {
    const x = input([0.7]);
    // f = (x·x)·x + x → 3x² + 1
    const [g] = grad((t) => sum(add(mul(mul(t, t), t), t)))(x);
    expect(values(g!)[0]).toBeCloseTo(3 * 0.49 + 1, 14);
  });
});

describe('inputs and results', () => {
  it('grad wrt an unused input is zeros of its shape and dtype', () => {
    const a = input([1, 2]);
    const b = input([1, 2, 3, 4, 5, 6], [2, 3]);
    const [ga, gb] = grad((p) => sum(mul(p, p)))(a, b);
    expect(values(ga!)).toEqual([2, 4]);
    expect(gb!.shape).toEqual([2, 3]);
    expect(gb!.dtype).toBe('f64');
    expect(values(gb!)).toEqual([0, 0, 0, 0, 0, 0]);
  });
  it('valueAndGrad returns the value with the gradients', () => {
    const a = input([1, 2, 3]);
    const b = input([4, -5, 6]);
    const { value, grads } = valueAndGrad((p, q) => sum(mul(p, q)))(a, b);
    expect(values(value)).toEqual([4 - 10 + 18]);
    expect(values(grads[0]!)).toEqual([4, -5, 6]);
    expect(values(grads[1]!)).toEqual([1, 2, 3]);
  });
  it('explicit dy for a non-scalar result (a vector-Jacobian product)', () => {
    const x = input([1, -2, 3]);
    const dy = input([10, 20, 30]);
    const { value, grads } = valueAndGradsOf(() => mul(x, x), [x], dy);
    expect(values(value)).toEqual([1, 4, 9]);
    expect(values(grads[0]!)).toEqual([20, -80, 180]);
  });
  it('a non-scalar result without dy, or a dy of the wrong shape, is a ShapeError', () => {
    const x = input([1, 2, 3]);
    expect(() => valueAndGradsOf(() => mul(x, x), [x])).toThrow(ShapeError);
    expect(() => valueAndGradsOf(() => mul(x, x), [x], input([1, 2]))).toThrow(ShapeError);
  });
  it('differentiating with respect to an integer tensor is a DTypeError', () => {
    const k = tensor([1, 2], [2], { dtype: 'i32' });
    expect(() => valueAndGradsOf(() => sum(input([1])), [k])).toThrow(DTypeError);
    k.dispose();
  });
  it('the identity: grad(x => x) neither returns nor disposes the input', () => {
    const x = input([2.5]);
    const [g] = grad((t) => t)(x);
    expect(x.isDisposed).toBe(false);
    expect(values(x)).toEqual([2.5]);
    expect(values(g!)).toEqual([1]);
  });
  it('results are distinct tensors: disposing one gradient leaves the others (and the inputs) alive', () => {
    const a = input([1, 2]);
    const b = input([3, 4]);
    const dy = input([5, 6]);
    // d(a + b) = (dy, dy): one cotangent tensor serves both operands inside the tape
    const { value, grads } = valueAndGradsOf(() => add(a, b), [a, b], dy);
    expect(new Set([value, ...grads, a, b, dy]).size).toBe(6);
    grads[0]!.dispose();
    expect(values(grads[1]!)).toEqual([5, 6]);
    expect(values(dy)).toEqual([5, 6]);
    value.dispose();
    grads[1]!.dispose();
  });
});

describe('noGrad', () => {
  it('stops recording: ops inside it are constants to the gradient', () => {
    const x = input([1.5, -2]);
    // f = Σ x + Σ stop(x²): f' = 1, not 2x + 1
    const [g] = grad((t) => add(sum(t), noGrad(() => sum(mul(t, t)))))(x);
    expect(values(g!)).toEqual([1, 1]);
  });
  it('a gradient taken inside noGrad is still computed', () => {
    const x = input([0.5, 2]);
    const [g] = noGrad(() => grad((t) => sum(mul(t, t)))(x));
    expect(values(g!)).toEqual([1, 4]);
  });
  it('...and is hidden from the gradient taken outside it', () => {
    const x = input([0.5, 2]);
    const [g] = grad((t) => add(sum(t), sum(noGrad(() => grad((u) => sum(mul(mul(u, u), u)))(t)[0]!))))(x);
    expect(values(g!)).toEqual([1, 1]);
  });
});

describe('scopes inside gradients', () => {
  it('a tidy inside the differentiated function does not dispose what the tape saved', () => {
    const xv = [0.3, -1.1, 2];
    const x = input(xv);
    // f = Σ x·exp(x): exp(x) is an intermediate of the inner scope, saved by mul for the backward pass
    const [g] = grad((t) => tidy(() => sum(mul(t, exp(t)))))(x);
    close(values(g!), xv.map((v) => Math.exp(v) * (1 + v)));
  });
  it('a gradient inside tidy inside a gradient (second order through scopes)', () => {
    const xv = [0.4, -0.9];
    const x = input(xv);
    const inner = (t: Tensor) => tidy(() => grad((u) => sum(tanh(u)))(t)[0]!);
    const [g2] = grad((t) => sum(inner(t)))(x);
    close(values(g2!), xv.map((v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)));
  });
  it('tidy around a gradient keeps the returned gradients and frees the rest', () => {
    const x = input([1, 2, 3]);
    const before = memory().tensors;
    const g = tidy(() => grad((t) => sum(cos(mul(t, t))))(x)[0]!);
    expect(memory().tensors).toBe(before + 1);
    close(values(g), [1, 2, 3].map((v) => -Math.sin(v * v) * 2 * v));
    g.dispose();
    expect(memory().tensors).toBe(before);
  });
});

describe('memory of valueAndGradsOf', () => {
  it('disposes every intermediate: live tensors grow by exactly the value and the gradients', () => {
    const a = input([0.1, 0.2, 0.3]);
    const b = input([1, -1, 2]);
    const c = input([4]);
    const before = memory();
    const { value, grads } = valueAndGradsOf(() => sum(mul(mul(a, exp(b)), tanh(b))), [a, b, c]);
    const after = memory();
    expect(after.tensors).toBe(before.tensors + 1 + 3);
    expect(after.buffers).toBe(before.buffers + 1 + 3);
    dispose([value, grads]);
    expect(memory().tensors).toBe(before.tensors);
    expect(memory().buffers).toBe(before.buffers);
    expect(memory().bytes).toBe(before.bytes);
  });
  it('...also when the function throws', () => {
    const a = input([1, 2]);
    const before = memory().tensors;
    expect(() =>
      valueAndGradsOf(() => {
        mul(a, a);
        throw new Error('boom');
      }, [a]),
    ).toThrow('boom');
    expect(memory().tensors).toBe(before);
  });
  it('...and through a tidy inside the function', () => {
    const x = input([0.5, 1.5]);
    const before = memory().tensors;
    const { value, grads } = valueAndGradsOf(() => tidy(() => sum(mul(x, exp(x)))), [x]);
    expect(memory().tensors).toBe(before + 2);
    dispose([value, grads]);
    expect(memory().tensors).toBe(before);
  });
  it('grad() disposes the value too', () => {
    const x = input([0.5, 1.5]);
    const before = memory().tensors;
    const [g] = grad((t) => sum(exp(t)))(x);
    expect(memory().tensors).toBe(before + 1);
    g!.dispose();
  });
});

describe('memory scopes', () => {
  it('tidy disposes the tensors it made and did not return', () => {
    const before = memory().tensors;
    let inner: Tensor | undefined;
    const r = tidy(() => {
      inner = ones([3]);
      return add(inner, inner);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(r.isDisposed).toBe(false);
    expect(memory().tensors).toBe(before + 1);
    r.dispose();
    expect(memory().tensors).toBe(before);
  });
  it('tidy disposes its tensors when fn throws', () => {
    const before = memory().tensors;
    let inner: Tensor | undefined;
    expect(() =>
      tidy(() => {
        inner = ones([2]);
        throw new Error('x');
      }),
    ).toThrow('x');
    expect(inner!.isDisposed).toBe(true);
    expect(memory().tensors).toBe(before);
  });
  it('keep() survives the scope', () => {
    const before = memory().tensors;
    let kept: Tensor | undefined;
    let dropped: Tensor | undefined;
    tidy(() => {
      kept = keep(ones([2]));
      dropped = ones([2]);
    });
    expect(kept!.isDisposed).toBe(false);
    expect(dropped!.isDisposed).toBe(true);
    expect(memory().tensors).toBe(before + 1);
    kept!.dispose();
  });
  it('returned nested arrays and objects survive, at any depth, into the parent scope', () => {
    const before = memory().tensors;
    let scratch: Tensor | undefined;
    const outer = tidy(() => {
      const r = tidy(() => {
        scratch = ones([1]);
        return { a: [ones([1]), { b: ones([2]) }], n: 3, s: 'x' };
      });
      expect(scratch!.isDisposed).toBe(true);
      expect(r.a[0]).toBeInstanceOf(Tensor);
      return [r.a[0] as Tensor];
    });
    // the parent scope kept what it returned and freed what it dropped (b)
    expect(outer[0]!.isDisposed).toBe(false);
    expect(memory().tensors).toBe(before + 1);
    outer[0]!.dispose();
  });
  it('dispose() is idempotent, on tensors and on containers with repeats', () => {
    const t = ones([4]);
    const u = ones([4]);
    const before = memory().tensors;
    t.dispose();
    t.dispose();
    expect(memory().tensors).toBe(before - 1);
    dispose([u, { again: u }, [t]]);
    dispose(u);
    expect(memory().tensors).toBe(before - 2);
    expect(t.isDisposed && u.isDisposed).toBe(true);
  });
  it('reshape shares the buffer: memory().buffers counts it once until both are gone', () => {
    const before = memory();
    const x = ones([2, 6], { dtype: 'f64' });
    const y = reshape(x, [3, 4]);
    const mid = memory();
    expect(mid.tensors).toBe(before.tensors + 2);
    expect(mid.buffers).toBe(before.buffers + 1);
    expect(mid.bytes).toBe(before.bytes + 12 * 8);
    x.dispose();
    expect(memory().buffers).toBe(before.buffers + 1);
    expect(values(y)).toEqual(new Array(12).fill(1));
    y.dispose();
    expect(memory().buffers).toBe(before.buffers);
    expect(memory().bytes).toBe(before.bytes);
  });
});
