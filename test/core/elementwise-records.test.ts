// The elementwise records (core elementwise/*.ts) themselves: the branch-free choice the
// records use, softplus's stable form against independent references where the naive
// formula overflows, reluGrad against the composition it replaces, the WGSL helpers each record declares, and the fast CPU loops' shared
// fallback (a page whose CSP refuses `new Function`) against the oracle. The per-primitive
// tables derived from the records are tested in grad.test.ts, nonfinite.test.ts,
// cpu-fast.test.ts and test/kernels/elementwise.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  cpuBackend, greater, linear, reluGrad, relu, setBackend, getBackend, sum, tensor, tidy, valueAndGradsOf, where, type DType, type Tensor,
} from '@alphadrop/core';
import {
  BINARY, BINARY_PRIMS, UNARY, UNARY_PRIMS, allocHost, referenceKernels, shapeRules, type CpuOperand,
} from '@alphadrop/core/backend';
import { pick } from '../../packages/core/src/elementwise/record.js';

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1.5, -2, 0.25, -1, 1e-30, -1e30, 40, -40];

describe('records', () => {
  it('pick(bit, yes, no) is the choice, both arms NaN-transparent', () => {
    expect(pick(1, 3, 4)).toBe(3);
    expect(pick(0, 3, 4)).toBe(4);
    expect(pick(1, NaN, 4)).toBeNaN();
    expect(pick(0, 3, -Infinity)).toBe(-Infinity);
  });

  it('softplus: the stable form where log(1 + eˣ) overflows or rounds to 0', () => {
    const f = UNARY.softplus.f;
    // x + log1p(e^-x) for large x, e^x for very negative x (the series' first term), ln 2 at 0
    for (const x of [30, 100, 709, 710, 1e4, 1e300]) expect(f(x)).toBeCloseTo(x + Math.exp(-x), 12);
    for (const x of [-40, -100, -700]) expect(f(x) / Math.exp(x)).toBeCloseTo(1, 12);
    expect(f(0)).toBe(Math.LN2);
    expect(f(1e-20)).toBeCloseTo(Math.LN2 + 0.5e-20, 15);
  });

  it('every WGSL helper a record declares is called by its expression or by another of its helpers', () => {
    for (const r of [...Object.values(UNARY), ...Object.values(BINARY)]) {
      const helpers = r.wgslHelpers ?? {};
      const text = r.wgsl.length === 2 ? (r.wgsl as (x: string, t: 'f32') => string)('x', 'f32') : (r.wgsl as (a: string, b: string, t: 'f32') => string)('a', 'b', 'f32');
      const all = text + Object.values(helpers).join('\n');
      for (const [name, code] of Object.entries(helpers)) {
        expect(code.startsWith(`fn ${name}(`), `${name}: its code defines it`).toBe(true);
        expect(all.split(`${name}(`).length - 1, `${name} is called`).toBeGreaterThan(1);
      }
    }
  });
});

describe('reluGrad is where(greater(x, 0), dy, 0), bit for bit', () => {
  /** Runs `fn` on a fresh CPU backend of `kind`, returning the host values of its result. */
  const on = (kind: 'fast' | 'reference', fn: () => Tensor): number[] => {
    const prev = getBackend();
    const be = cpuBackend(kind);
    setBackend(be);
    try {
      return tidy(() => Array.from(fn().dataSync()));
    } finally {
      setBackend(prev);
    }
  };
  /** Same numbers, NaN equal to NaN, and the same sign of zero (Object.is). */
  const sameBits = (got: number[], want: number[]) => {
    expect(got.length).toBe(want.length);
    want.forEach((w, i) => expect(Object.is(got[i], w) || (Number.isNaN(got[i]) && Number.isNaN(w)), `element ${i}: ${got[i]} vs ${w}`).toBe(true));
  };
  for (const kind of ['reference', 'fast'] as const)
    for (const dtype of ['f32', 'f64', 'i32'] as DType[])
      it(`${kind} ${dtype}: every pair of special values (dy [n, 1] against x [1, n]), and dy broadcast against x`, () => {
        const vals = dtype === 'i32' ? [0, 3, -3, 7, -1, 2] : SPECIAL;
        const dy = () => tensor(vals, [vals.length, 1], { dtype });
        const x = () => tensor([...vals].reverse(), [1, vals.length], { dtype });
        sameBits(on(kind, () => reluGrad(dy(), x())), on(kind, () => where(greater(x(), 0), dy(), 0)));
        const row = () => tensor(vals, [vals.length], { dtype });
        const grid = () => tensor(vals.flatMap((v) => vals.map((w) => v - w)), [vals.length, vals.length], { dtype });
        sameBits(on(kind, () => reluGrad(row(), grid())), on(kind, () => where(greater(grid(), 0), row(), 0)));
        // and the two backends agree with each other
        sameBits(on(kind, () => reluGrad(dy(), x())), on('reference', () => where(greater(x(), 0), dy(), 0)));
      });

  it('relu and the fused linear ReLU take their gradient through one reluGrad, equal to the composition', () => {
    const prev = getBackend();
    const be = cpuBackend('reference');
    setBackend(be);
    try {
      tidy(() => {
        const x = tensor([[0.5, -1, 2], [NaN, 3, -0.25]]);
        const w = tensor([[1, -2], [0.5, 1], [-1, 0.25]]);
        const b = tensor([0.1, -0.3]);
        const before = be.counters.dispatches;
        const { grads } = valueAndGradsOf(() => sum(linear(x, w, b, { activation: 'relu' })), [w, b]);
        const backward = be.counters.dispatches - before;
        // the composed form: matmul + add + relu, its gradient by the composition
        const composed = valueAndGradsOf(() => {
          const z = linear(x, w, b);
          return sum(where(greater(z, 0), z, 0));
        }, [w, b]).grads;
        for (let i = 0; i < 2; i++) sameBits(Array.from(grads[i]!.dataSync()), Array.from(composed[i]!.dataSync()));
        // forward linear, sum, then the backward: sum's broadcast, ONE reluGrad, dW, dbias (its sum): no compare, no where
        expect(backward).toBe(6);
        const r = valueAndGradsOf(() => sum(relu(x)), [x]).grads[0]!;
        sameBits(Array.from(r.dataSync()), [1, 0, 1, 0, 1, 0]);
      });
    } finally {
      setBackend(prev);
    }
  });
});

describe('fast CPU loops without new Function (CSP): the shared fallback equals the oracle', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('every unary and binary record, f32 and f64, special values', async () => {
    vi.resetModules();
    const real = globalThis.Function;
    // A Function constructor that refuses, as eval under a strict CSP does.
    let refused = 0;
    const refusing = function () {
      refused++;
      throw new EvalError('refused by the test (Content-Security-Policy)');
    } as unknown as FunctionConstructor;
    vi.stubGlobal('Function', refusing);
    let fast: typeof import('../../packages/core/src/cpu/fast/elementwise.js');
    try {
      fast = await import('../../packages/core/src/cpu/fast/elementwise.js');
    } finally {
      vi.stubGlobal('Function', real);
    }
    expect(refused, 'every record asked for its compiled loop, and was refused').toBe(UNARY_PRIMS.length + BINARY_PRIMS.length);
    const op = (dtype: 'f32' | 'f64', values: readonly number[], shape = [values.length]): CpuOperand => {
      const storage = allocHost(dtype, values.length);
      storage.set(values);
      return { storage, shape, dtype };
    };
    for (const dtype of ['f32', 'f64'] as const) {
      for (const p of UNARY_PRIMS) {
        const x = [op(dtype, SPECIAL)];
        const out = shapeRules[p](x, {});
        expect(Array.from(fast.unaryKernels[p](x, {}, out)), p).toEqual(Array.from(referenceKernels[p](x, {}, out)));
      }
      for (const p of BINARY_PRIMS) {
        const ab = [op(dtype, SPECIAL, [SPECIAL.length, 1]), op(dtype, [...SPECIAL].reverse(), [1, SPECIAL.length])];
        const out = shapeRules[p](ab, {});
        expect(Array.from(fast.binaryKernels[p](ab, {}, out)), p).toEqual(Array.from(referenceKernels[p](ab, {}, out)));
      }
    }
  });
});
