// The optimizer update's weight-decay input (the optional last input of Prim.OptimizerUpdate):
// g' = g + c ⊙ p inside the update must equal add(g, mul(c, p)) followed by the plain update,
// bit for bit on the CPU oracle and the fast CPU backend, for every rule, in f32 and f64 (the
// product rounded to the dtype before the sum, as the separate mul stores it). Also the
// Optimizer's step with weightDecay against the same composition, and the shape rule.
import { describe, expect, it } from 'vitest';
import {
  ShapeError, add, cpuBackend, getBackend, mul, setBackend, tensor, tidy, type DType, type Tensor,
} from '@alphadrop/core';
import { OPTIMIZER_SLOTS, optimizerUpdate, type OptimizerRule } from '@alphadrop/core/backend';

const RULES: OptimizerRule[] = ['sgd', 'momentum', 'nesterov', 'adam'];
const N = 257;

let seed = 99;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
/** Values of mixed magnitude, so that rounding c·p before the sum matters somewhere. */
const values = (n: number, scale: number) => Array.from({ length: n }, () => (rand() * 2 - 1) * scale * 10 ** Math.floor(rand() * 6 - 3));

function onBackend<T>(kind: 'fast' | 'reference', fn: () => T): T {
  const prev = getBackend();
  setBackend(cpuBackend(kind));
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

const sameBits = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++)
    if (!(Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])))) expect.fail(`${what}: element ${i} is ${got[i]}, composition ${want[i]}`);
};

describe('optimizerUpdate with decay = add(g, mul(c, p)) then the update, bit for bit', () => {
  const P = values(N, 3), G = values(N, 1), C = values(N, 1e-2).map((v, i) => (i % 5 === 0 ? 0 : Math.abs(v)));
  const S = [values(N, 1), values(N, 1).map(Math.abs)];

  it('the data exercises the rounding: g + c·p in one f64 expression differs from the f32 mul-then-add somewhere', () => {
    const f = Math.fround;
    const p = P.map(f), g = G.map(f), c = C.map(f);
    const differs = p.filter((_, i) => f(g[i]! + c[i]! * p[i]!) !== f(g[i]! + f(c[i]! * p[i]!))).length;
    expect(differs).toBeGreaterThan(0);
  });

  for (const kind of ['reference', 'fast'] as const)
    for (const dtype of ['f32', 'f64'] as DType[])
      for (const rule of RULES)
        it(`${kind} ${dtype} ${rule}`, () =>
          onBackend(kind, () =>
            tidy(() => {
              const t = (v: number[]) => tensor(v, [N], { dtype });
              const [p, g, c] = [t(P), t(G), t(C)];
              const slots = S.slice(0, OPTIMIZER_SLOTS[rule]).map(t);
              const hyper = { rule, lr: 0.05, momentum: 0.9, beta1: 0.9, beta2: 0.99, eps: 1e-7, step: 4 };
              const fused = optimizerUpdate(p, g, slots, hyper, c);
              const composed = optimizerUpdate(p, add(g, mul(c, p)), slots, hyper);
              expect(fused.length).toBe(1 + slots.length);
              fused.forEach((f: Tensor, j) => sameBits(f.dataSync(), composed[j]!.dataSync(), `output ${j}`));
            }),
          ),
        );

  it('a decay of the wrong shape or dtype is refused', () =>
    tidy(() => {
      const p = tensor([1, 2, 3]), g = tensor([1, 1, 1]);
      expect(() => optimizerUpdate(p, g, [], { rule: 'sgd', lr: 0.1 }, tensor([1, 2]))).toThrow(ShapeError);
      expect(() => optimizerUpdate(p, g, [], { rule: 'sgd', lr: 0.1 }, tensor([1, 2, 3], [3], { dtype: 'f64' }))).toThrow();
    }));
});
