// The elementwise records (core elementwise/*.ts) themselves: the branch-free choice the
// records use, softplus's stable form against independent references where the naive
// formula overflows, the WGSL helpers each record declares, and the fast CPU loops' shared
// fallback (a page whose CSP refuses `new Function`) against the oracle. The per-primitive
// tables derived from the records are tested in grad.test.ts, nonfinite.test.ts,
// cpu-fast.test.ts and test/kernels/elementwise.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
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
