// Per-primitive gradient checks: every member of the Prim enum has at least one case in the
// table below (a mapped type over Prim, and a runtime test over Object.values(Prim)), and each
// case proves it exercised its primitive: the primitive's VJP rule ran, or, for primitives the
// tape must ignore (integer/bool outputs, no float inputs), the backend executed it and its
// VJP rule did not run. Central differences in float64 on the reference CPU backend
// (test/helpers/gradcheck.ts); composites and second order at the end.

import { afterAll, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import {
  StateError, Tensor, abs, add, argmax, cast, concat, conv2d, cos, cpuBackend, crossEntropy, div, exp,
  expand, floor, gather, grad, greater, less, log, log1p, logSoftmax, logsumexp, matmul, max, maxPool2d,
  maximum, memory, minimum, mse, mul, neg, oneHot, pad, permute, pow, randomBits, randomUniform, reciprocal,
  relu, reshape, scatterAdd, setBackend, sigmoid, sign, sin, slice, softmax, sqrt, stopGradient, sub, sum,
  tanh, tensor, tidy, transpose, valueAndGradsOf, where, type Shape, linear, bernoulli, keyFor,
} from '@alphadrop/core';
import {
  Prim, apply, vjpRules, type Conv2dGeometry, type Pool2dGeometry, dropout, optimizerUpdate,
  logsumexpComposite, fusedBBAlphaLoss, type DropoutParams,
} from '@alphadrop/core/backend';
import { softplus } from '@alphadrop/core';
import {
  BINARY, BINARY_PRIMS, UNARY, UNARY_PRIMS, type BinaryPrim, type TestDomain, type UnaryPrim,
} from '@alphadrop/core/backend';
import { awayFromZero, checkGrad, distinct, prng, uniform, values } from '../helpers/gradcheck.js';

const backend = cpuBackend('reference');
setBackend(backend);

// ------------------------------------------------------------------ evidence spies

const vjpSpies = new Map<Prim, MockInstance>();
let executeSpy: MockInstance;
beforeAll(() => {
  for (const p of Object.values(Prim)) vjpSpies.set(p, vi.spyOn(vjpRules[p], 'vjp'));
  executeSpy = vi.spyOn(backend, 'execute');
});
afterAll(() => vi.restoreAllMocks());
beforeEach(() => {
  for (const s of vjpSpies.values()) s.mockClear();
  executeSpy.mockClear();
});
const vjpRan = (p: Prim) => vjpSpies.get(p)!.mock.calls.length > 0;
const executed = (p: Prim) => executeSpy.mock.calls.some((c) => c[0] === p);

// ------------------------------------------------------------------ inputs

let seed = 1;
const U = (shape: Shape, lo = -1, hi = 1) => uniform(shape, seed++, lo, hi);
const A = (shape: Shape, lo = 0.2, hi = 1.5) => awayFromZero(shape, seed++, lo, hi);
const D = (shape: Shape, gap = 0.1) => distinct(shape, seed++, gap);
const f64 = (v: number[], shape?: Shape) => tensor(Float64Array.from(v), shape ?? [v.length]);
const i32 = (v: number[], shape?: Shape) => tensor(Int32Array.from(v), shape ?? [v.length]);
/** Values at least 0.2 away from every integer (floor is piecewise constant between them). */
const offInteger = (shape: Shape) => {
  const r = prng(seed++);
  const n = shape.reduce((a, d) => a * d, 1);
  return f64(Array.from({ length: n }, () => Math.floor(r() * 8) - 4 + 0.2 + 0.6 * r()), shape);
};

/** The exact gradient of sum(f(x) * R) wrt each x, straight from the tape. */
function tapeGrads(f: () => Tensor, wrt: Tensor[]): number[][] {
  const { value, grads } = valueAndGradsOf(f, wrt);
  const out = grads.map(values);
  value.dispose();
  new Set(grads).forEach((g) => g.dispose());
  return out;
}

// ------------------------------------------------------------------ the table

interface Case {
  name: string;
  run: () => void;
  /** The tape must ignore this primitive: evidence is a dispatch and no VJP call. */
  ignoredByTape?: boolean;
}
const c = (name: string, run: () => void, ignoredByTape = false): Case => ({ name, run, ignoredByTape });

const unaryCase = (name: string, f: (x: Tensor) => Tensor, x: () => Tensor): Case[] => [
  c(`${name} [3, 5]`, () => checkGrad(name, f, [x()])),
];

/** Shape pairs covering equal shapes, rank mismatch, size-1 on both sides, scalars, odd dims. */
const BROADCASTS: [Shape, Shape][] = [
  [[3, 5], [3, 5]],
  [[2, 3, 5], [5]],
  [[3, 1], [1, 4]],
  [[], [2, 3]],
  [[2, 1, 5], [3, 1]],
];
const binaryCases = (
  name: string,
  f: (a: Tensor, b: Tensor) => Tensor,
  a: (s: Shape) => Tensor,
  b: (s: Shape) => Tensor,
): Case[] =>
  BROADCASTS.map(([sa, sb]) => c(`${name} [${sa}] x [${sb}]`, () => checkGrad(`${name}${sa}${sb}`, f, [a(sa), b(sb)])));

const REDUCE_AXES: { axes: number | number[] | undefined; keepDims: boolean }[] = [
  { axes: undefined, keepDims: false },
  { axes: undefined, keepDims: true },
  { axes: 0, keepDims: false },
  { axes: 1, keepDims: true },
  { axes: -1, keepDims: false },
  { axes: [0, 2], keepDims: true },
  { axes: [0, 2], keepDims: false },
];

const matmulCase = (aShape: Shape, bShape: Shape, transA = false, transB = false): Case =>
  c(`matmul [${aShape}]${transA ? 'ᵀ' : ''} x [${bShape}]${transB ? 'ᵀ' : ''}`, () =>
    checkGrad(`mm${aShape}${bShape}${transA}${transB}`, (a, b) => matmul(a, b, { transA, transB }), [U(aShape), U(bShape)]),
  );

const geo = (stride: [number, number], padding: [number, number], dilation: [number, number]): Conv2dGeometry => ({
  stride, padding, dilation,
});
const CONVS: { x: Shape; w: Shape; g: Conv2dGeometry }[] = [
  { x: [1, 2, 5, 5], w: [3, 2, 3, 3], g: geo([1, 1], [0, 0], [1, 1]) },
  { x: [2, 3, 7, 6], w: [4, 3, 3, 2], g: geo([2, 1], [1, 0], [1, 2]) },
  // stride 3 leaves the last rows and columns out of every window: their gradient is 0
  { x: [1, 2, 8, 7], w: [2, 2, 3, 2], g: geo([3, 3], [0, 1], [1, 1]) },
  { x: [2, 1, 6, 5], w: [3, 1, 2, 3], g: geo([1, 2], [2, 1], [2, 1]) },
];
const convOut = (x: Shape, w: Shape, g: Conv2dGeometry): [number, number, number, number] => {
  const o = (i: 0 | 1) => Math.floor((x[2 + i]! + 2 * g.padding[i] - g.dilation[i] * (w[2 + i]! - 1) - 1) / g.stride[i]) + 1;
  return [x[0]!, w[0]!, o(0), o(1)];
};
const four = (s: Shape) => s as unknown as readonly [number, number, number, number];

const POOLS: { x: Shape; g: Pool2dGeometry }[] = [
  { x: [1, 2, 4, 6], g: { kernel: [2, 2], stride: [2, 2], padding: [0, 0] } },
  { x: [2, 3, 7, 8], g: { kernel: [3, 3], stride: [2, 2], padding: [1, 1] } },
  { x: [1, 2, 5, 7], g: { kernel: [2, 3], stride: [1, 2], padding: [1, 1] } },
];

/** Zero gradient exactly, through a path that only passes `f`. */
const exactlyZero = (name: string, f: (x: Tensor) => Tensor, x: () => Tensor): Case =>
  c(`${name}: the gradient through it is exactly 0`, () => {
    const xs = x();
    const R = U(f(xs).shape);
    const [g] = tapeGrads(() => sum(mul(f(xs), R)), [xs]);
    expect(g!.map(Math.abs)).toEqual(new Array(xs.size).fill(0));
  });

/** Inputs from a record's test domain (elementwise/record.ts). */
const fromDomain =
  (d: TestDomain) =>
  (shape: Shape): Tensor =>
    d.avoid === 'zero' ? A(shape, d.lo, d.hi) : d.avoid === 'integers' ? offInteger(shape) : U(shape, d.lo, d.hi);

/** One gradient check per elementwise record, on its gradient domain (binary: over BROADCASTS). */
const elementwiseCases = (): { [P in UnaryPrim | BinaryPrim]: Case[] } => ({
  ...(Object.fromEntries(
    UNARY_PRIMS.map((p) => [p, unaryCase(p, (x) => apply(p, [x], {}), () => fromDomain(UNARY[p].test.grad)([3, 5]))]),
  ) as { [P in UnaryPrim]: Case[] }),
  ...(Object.fromEntries(
    BINARY_PRIMS.map((p) => [p, binaryCases(p, (a, b) => apply(p, [a, b], {}), fromDomain(BINARY[p].test.grad.a), fromDomain(BINARY[p].test.grad.b))]),
  ) as { [P in BinaryPrim]: Case[] }),
});

/** What the records' domains do not say: zero gradients, rules that give none, exponents of a negative base. */
const elementwiseExtras: Partial<{ [P in UnaryPrim | BinaryPrim]: Case[] }> = {
  [Prim.Sign]: [
    exactlyZero('sign', sign, () => A([3, 5])),
    c('sign: its rule gives no cotangent', () => {
      const dy = U([2]);
      expect(vjpRules[Prim.Sign].vjp(dy, { x: [undefined], y: undefined, shapes: [[2]], dtypes: ['f64'] }, {}, [true])).toEqual([null]);
    }),
  ],
  [Prim.Floor]: [exactlyZero('floor', floor, () => offInteger([3, 5]))],
  [Prim.Add]: [c('add: x + x accumulates to 2', () => checkGrad('x+x', (x) => add(x, x), [U([4])]))],
  [Prim.Softplus]: [
    c('softplus: its gradient is sigmoid(x), at large |x| too', () => {
      const x = f64([-40, -3, 0, 2, 40]);
      const [g] = tapeGrads(() => sum(softplus(x)), [x]);
      [-40, -3, 0, 2, 40].forEach((v, i) => expect(g![i]).toBeCloseTo(1 / (1 + Math.exp(-v)), 14));
    }),
  ],
  [Prim.Pow]: [
    c('pow with an integer exponent of a negative base: d/da only', () =>
      checkGrad('pow-neg', (a) => pow(a, f64([3])), [U([5], -2, -0.3)]),
    ),
    c('pow: d/db is taken as 0 where a <= 0 (log a undefined), finite elsewhere', () => {
      const a = f64([-2, 0, 3]);
      const b = f64([3, 2, 2]);
      const [ga, gb] = tapeGrads(() => sum(pow(a, b)), [a, b]);
      expect(ga).toEqual([12, 0, 6]);
      expect(gb!.slice(0, 2).map(Math.abs)).toEqual([0, 0]);
      expect(gb![2]).toBeCloseTo(9 * Math.log(3), 14);
    }),
  ],
};

const withExtras = <K extends UnaryPrim | BinaryPrim>(cases: { [P in K]: Case[] }): { [P in K]: Case[] } =>
  Object.fromEntries(Object.entries<Case[]>(cases).map(([p, cs]) => [p, [...cs, ...(elementwiseExtras[p as K] ?? [])]])) as { [P in K]: Case[] };

const gradCases: { [P in Prim]: Case[] } = {
  ...withExtras(elementwiseCases()),

  [Prim.Compare]: [
    c(
      'compare: a mask from less(a, b) passes no gradient to a or b',
      () => checkGrad('cmp', (a, b) => mul(cast(less(a, b), 'f64'), a), [U([3, 4]), U([4])]),
      true,
    ),
    c(
      'compare: gradient through it is exactly 0',
      () => {
        const x = A([6]);
        const [g] = tapeGrads(() => sum(mul(cast(greater(x, 0), 'f64'), U([6]))), [x]);
        expect(g).toEqual(new Array(6).fill(0));
      },
      true,
    ),
  ],
  [Prim.Where]: [
    c('where: grads wrt both branches', () => {
      const cond = tensor([1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1], [3, 4], { dtype: 'bool' });
      checkGrad('where', (a, b) => where(cond, a, b), [U([3, 4]), U([3, 4])]);
    }),
    c('where: broadcast condition [3, 1] and branches [1, 4], [4]', () => {
      const cond = tensor([1, 0, 1], [3, 1], { dtype: 'bool' });
      checkGrad('where-bc', (a, b) => where(cond, a, b), [U([1, 4]), U([4])]);
    }),
    c('where: each branch receives dy exactly where selected', () => {
      const cond = tensor([1, 0, 1], [3], { dtype: 'bool' });
      const [a, b] = [U([3]), U([3])];
      const [ga, gb] = tapeGrads(() => sum(mul(where(cond, a, b), f64([2, 3, 5]))), [a, b]);
      expect(ga).toEqual([2, 0, 5]);
      expect(gb).toEqual([0, 3, 0]);
    }),
  ],
  [Prim.Sum]: REDUCE_AXES.map(({ axes, keepDims }) =>
    c(`sum axes ${JSON.stringify(axes)} keepDims ${keepDims}`, () =>
      checkGrad(`sum${axes}${keepDims}`, (x) => sum(x, axes, keepDims), [U([2, 3, 5])]),
    ),
  ),
  [Prim.Max]: [
    ...REDUCE_AXES.map(({ axes, keepDims }) =>
      c(`max axes ${JSON.stringify(axes)} keepDims ${keepDims}`, () =>
        checkGrad(`max${axes}${keepDims}`, (x) => max(x, axes, keepDims), [D([2, 3, 5])]),
      ),
    ),
    c('max: a tie shares the cotangent equally', () => {
      const x = f64([1, 3, 3, 2]);
      const [g] = tapeGrads(() => max(x), [x]);
      expect(g).toEqual([0, 0.5, 0.5, 0]);
    }),
  ],
  [Prim.Argmax]: [
    c('argmax: gather(x, argmax(x)) has the gradient of max', () => checkGrad('argmax', (x) => gather(x, argmax(x)), [D([7])]), true),
    exactlyZero('argmax', (x) => cast(argmax(x, 1, true), 'f64'), () => D([3, 5])),
  ].map((k) => ({ ...k, ignoredByTape: true })),

  [Prim.Matmul]: [
    matmulCase([3, 4], [4, 5]),
    matmulCase([4, 3], [4, 5], true, false),
    matmulCase([3, 4], [5, 4], false, true),
    matmulCase([4, 3], [5, 4], true, true),
    matmulCase([2, 3, 4], [2, 4, 5]),
    matmulCase([2, 1, 3, 4], [3, 4, 5]),
    matmulCase([3, 4], [2, 4, 5]),
    matmulCase([2, 4, 3], [1, 5, 4], true, true),
    matmulCase([1, 3], [3, 1]),
  ],
  [Prim.Conv2d]: CONVS.map(({ x, w, g }) =>
    c(`conv2d x [${x}] w [${w}] stride ${g.stride} pad ${g.padding} dil ${g.dilation}`, () =>
      checkGrad(`conv${x}${w}`, (xx, ww) => conv2d(xx, ww, g), [U(x), U(w)]),
    ),
  ),
  [Prim.Conv2dInputGrad]: [
    ...CONVS.slice(1).map(({ x, w, g }) =>
      c(`conv2dInputGrad directly: dy, w (x [${x}], w [${w}])`, () =>
        checkGrad(
          `cig${x}${w}`,
          (dy, ww) => apply(Prim.Conv2dInputGrad, [dy, ww], { ...g, inputShape: four(x) }),
          [U(convOut(x, w, g)), U(w)],
        ),
      ),
    ),
    c('conv2dInputGrad as second order: d/dw of grad_x <conv(x, w), R>', () => {
      const { x, w, g } = CONVS[1]!;
      const R = U(convOut(x, w, g));
      const gradX = (xx: Tensor, ww: Tensor) => grad((a) => sum(mul(conv2d(a, ww, g), R)))(xx)[0]!;
      checkGrad('cig2', gradX, [U(x), U(w)]);
    }),
  ],
  [Prim.Conv2dFilterGrad]: [
    ...CONVS.slice(1).map(({ x, w, g }) =>
      c(`conv2dFilterGrad directly: x, dy (x [${x}], w [${w}])`, () =>
        checkGrad(
          `cfg${x}${w}`,
          (xx, dy) => apply(Prim.Conv2dFilterGrad, [xx, dy], { ...g, filterShape: four(w) }),
          [U(x), U(convOut(x, w, g))],
        ),
      ),
    ),
    c('conv2dFilterGrad as second order: d/dx of grad_w <conv(x, w), R>', () => {
      const { x, w, g } = CONVS[3]!;
      const R = U(convOut(x, w, g));
      const gradW = (xx: Tensor, ww: Tensor) => grad((b) => sum(mul(conv2d(xx, b, g), R)))(ww)[0]!;
      checkGrad('cfg2', gradW, [U(x), U(w)]);
    }),
  ],
  [Prim.MaxPool2d]: POOLS.map(({ x, g }) =>
    c(`maxPool2d [${x}] kernel ${g.kernel} stride ${g.stride} pad ${g.padding}`, () =>
      checkGrad(`pool${x}`, (xx) => maxPool2d(xx, g.kernel, { stride: g.stride, padding: g.padding }), [D(x)]),
    ),
  ),
  [Prim.MaxPool2dGrad]: [
    c('maxPool2dGrad: piecewise constant in x (second order of maxPool2d is 0)', () => {
      const { x, g } = POOLS[1]!;
      const R = U([2, 3, 4, 4]);
      const gradX = (xx: Tensor) => grad((a) => sum(mul(maxPool2d(a, g.kernel, { stride: g.stride, padding: g.padding }), R)))(xx)[0]!;
      checkGrad('poolgrad', gradX, [D(x)]);
    }),
    c('maxPool2dGrad: a gradient wrt its dy is refused with a StateError', () => {
      const { x, g } = POOLS[0]!;
      const xs = D(x);
      const dy = U([1, 2, 2, 3]);
      expect(() => valueAndGradsOf(() => sum(apply(Prim.MaxPool2dGrad, [xs, dy], g)), [dy])).toThrow(StateError);
    }),
  ],

  [Prim.Reshape]: [
    c('reshape [2, 3, 4] -> [4, 6]', () => checkGrad('reshape', (x) => reshape(x, [4, 6]), [U([2, 3, 4])])),
    c('reshape [2, 3, 4] -> [-1] -> [3, 8]', () => checkGrad('reshape2', (x) => reshape(reshape(x, [-1]), [3, 8]), [U([2, 3, 4])])),
  ],
  [Prim.Permute]: [
    c('permute [2, 3, 4] by [2, 0, 1]', () => checkGrad('permute', (x) => permute(x, [2, 0, 1]), [U([2, 3, 4])])),
    c('transpose [3, 5]', () => checkGrad('transpose', (x) => transpose(x), [U([3, 5])])),
  ],
  [Prim.Expand]: [
    c('expand [3, 1] -> [2, 3, 5]', () => checkGrad('expand', (x) => expand(x, [2, 3, 5]), [U([3, 1])])),
    c('expand [] -> [2, 2]', () => checkGrad('expand0', (x) => expand(x, [2, 2]), [U([])])),
  ],
  [Prim.Slice]: [
    c('slice [5, 6] begin [1, 2] size [3, 3]', () => checkGrad('slice', (x) => slice(x, [1, 2], [3, 3]), [U([5, 6])])),
    c('slice negative begin, size -1', () => checkGrad('slice2', (x) => slice(x, [-2, 1, 0], [-1, 2, -1]), [U([4, 3, 2])])),
  ],
  [Prim.Pad]: [
    c('pad [[1, 2], [0, 1]] with 0.5', () => checkGrad('pad', (x) => pad(x, [[1, 2], [0, 1]], 0.5), [U([3, 4])])),
  ],
  [Prim.Concat]: [
    c('concat three along axis 1', () => checkGrad('concat', (a, b, d) => concat([a, b, d], 1), [U([2, 1, 3]), U([2, 4, 3]), U([2, 2, 3])])),
    c('concat along axis 0 with x twice', () => checkGrad('concat2', (a, b) => concat([a, b, a], 0), [U([2, 3]), U([1, 3])])),
  ],
  [Prim.Gather]: [
    c('gather axis 0 with repeated indices', () => {
      const idx = i32([4, 0, 4, 2]);
      checkGrad('gather', (x) => gather(x, idx, 0), [U([5, 3])]);
    }),
    c('gather axis 1 with 2-D indices', () => {
      const idx = i32([2, 0, 2, 1], [2, 2]);
      checkGrad('gather2', (x) => gather(x, idx, 1), [U([2, 3, 4])]);
    }),
  ],
  [Prim.ScatterAdd]: [
    c('scatterAdd axis 0 with repeated indices', () => {
      const idx = i32([1, 3, 1, 0]);
      checkGrad('scatter', (u) => scatterAdd(u, idx, 0, [5, 3]), [U([4, 3])]);
    }),
    c('scatterAdd axis 1', () => {
      const idx = i32([2, 2, 0]);
      checkGrad('scatter2', (u) => scatterAdd(u, idx, 1, [2, 4]), [U([2, 3])]);
    }),
  ],
  [Prim.OneHot]: [
    c('oneHot: a constant mask to the tape', () => {
      const idx = i32([3, 0, 2]);
      checkGrad('onehot', (x) => mul(oneHot(idx, 4, 'f64'), x), [U([3, 4])]);
    }),
    exactlyZero('oneHot', (x) => oneHot(cast(x, 'i32'), 4, 'f64'), () => U([5], 0, 3.9)),
  ].map((k) => ({ ...k, ignoredByTape: true })),
  [Prim.Cast]: [
    c('cast f64 -> f64 through the Cast primitive', () =>
      checkGrad('cast', (x) => apply(Prim.Cast, [x], { dtype: 'f64' }), [U([3, 4])]),
    ),
    c('cast f64 -> f32: the gradient is the f64 cast of the f32 cotangent', () => {
      const x = U([5]);
      const [g] = tapeGrads(() => sum(cast(x, 'f32')), [x]);
      expect(g).toEqual([1, 1, 1, 1, 1]);
      const r = tensor(Float32Array.from([0.5, -2, 3.25, 1, 0]));
      const { grads } = valueAndGradsOf(() => sum(mul(cast(x, 'f32'), r)), [x]);
      expect(grads[0]!.dtype).toBe('f64');
      expect(values(grads[0]!)).toEqual([0.5, -2, 3.25, 1, 0]);
    }),
    c('cast f32 -> f64 -> sum: the gradient is f32 ones', () => {
      const x = tensor(Float32Array.from([1.5, -2, 7]));
      const { grads } = valueAndGradsOf(() => sum(cast(x, 'f64')), [x]);
      expect(grads[0]!.dtype).toBe('f32');
      expect(values(grads[0]!)).toEqual([1, 1, 1]);
    }),
    { ...exactlyZero('cast to i32', (x) => cast(cast(x, 'i32'), 'f64'), () => U([5], -3, 3)), ignoredByTape: true },
  ],
  [Prim.RandomBits]: [
    c('randomBits (uniform f64): a constant to the tape', () =>
      checkGrad('random', (x) => mul(x, randomUniform([3, 4], keyFor(7, 'user'), 0, 1, 'f64')), [U([3, 4])]),
    ),
    exactlyZero('randomBits', (x) => add(mul(x, 0), cast(randomBits(x.shape, keyFor(3, 'user')), 'f64')), () => U([4])),
  ].map((k) => ({ ...k, ignoredByTape: true })),
  [Prim.FusedMatmul]: [
    c('linear: x w + b, relu', () =>
      checkGrad('lin', (x, w, b) => linear(x, w, b, { activation: 'relu' }), [U([5, 4]), U([4, 3]), U([3])])),
    c('linear with dropout on x (mask regenerated in backward)', () =>
      checkGrad('lin-drop', (x, w, b) => linear(x, w, b, { dropout: { keepProb: 0.6, key: keyFor(3, 'trainDropout'), counter: [1, 0, 0] } }), [U([6, 5]), U([5, 3]), U([3])])),
    c('linear transA with dropout, no bias', () =>
      checkGrad('lin-tA', (x, w) => linear(x, w, null, { transA: true, dropout: { keepProb: 0.5, key: keyFor(9, 'trainDropout'), counter: [2, 4, 0] } }), [U([5, 6]), U([5, 3])])),
    c('linear transB with dropout and relu, batched', () =>
      checkGrad('lin-tB', (x, w) => linear(x, w, null, { transB: true, activation: 'relu', dropout: { keepProb: 0.7, key: keyFor(1, 'trainDropout'), counter: [0, 0, 0] } }), [U([2, 4, 5]), U([3, 5])])),
  ],
  [Prim.Dropout]: [
    c('dropout', () => checkGrad('drop', (x) => dropout(x, { keepProb: 0.5, key: keyFor(5, 'trainDropout'), counter: [3, 7, 0] }), [U([4, 7])])),
  ],
  [Prim.LogSumExp]: [
    c('logsumexp axis 0 keepDims, axis -1', () => {
      checkGrad('lse0', (x) => logsumexp(x, 0, true), [U([4, 3], -3, 3)]);
      checkGrad('lse1', (x) => logsumexp(x, -1), [U([2, 3, 5], -3, 3)]);
    }),
  ],
  [Prim.BBAlphaLoss]: [
    ...[0, 5e-4, 0.5, 1, -0.7].map((alpha) =>
      c(`fusedBBAlphaLoss α=${alpha} (mean and per point)`, () => {
        const labels = tensor(Int32Array.from([2, 0, 1]), [3]);
        checkGrad(`bb${alpha}`, (l) => fusedBBAlphaLoss(l, labels, alpha), [U([3, 4, 5], -2, 2)]);
        checkGrad(`bbn${alpha}`, (l) => fusedBBAlphaLoss(l, labels, alpha, 'none'), [U([3, 2, 4], -2, 2)]);
      }),
    ),
  ],
  [Prim.BBAlphaLossGrad]: [
    c('bbAlphaLossGrad refuses a second derivative with a typed error', () => {
      const labels = tensor(Int32Array.from([1, 0]), [2]);
      const l = U([2, 3, 4]);
      expect(() => grad((x) => sum(grad((y) => fusedBBAlphaLoss(y, labels, 0.5))(x)[0]!))(l)).toThrow(StateError);
      expect(vjpRan(Prim.BBAlphaLossGrad)).toBe(true);
    }),
  ],
  [Prim.OptimizerUpdate]: [
    exactlyZero('optimizerUpdate', (x) => mul(optimizerUpdate(x, x, [], { rule: 'sgd', lr: 0.1 })[0]!, 0), () => U([4])),
  ].map((k) => ({ ...k, ignoredByTape: false })),
};

describe('fused primitives equal their compositions', () => {
  const close = (a: Tensor, b: Tensor) => {
    const x = values(a), y = values(b);
    expect(x.length).toBe(y.length);
    x.forEach((v, i) => expect(v).toBeCloseTo(y[i]!, 12));
  };
  const d: DropoutParams = { keepProb: 0.6, key: keyFor(11, 'trainDropout'), counter: [4, 5, 2] }; // layer 4, step 2^33 + 5
  it('linear = relu(matmul(dropout(x), w) + b)', () => {
    const x = U([7, 5]), w = U([5, 4]), b = U([4]);
    close(linear(x, w, b, { activation: 'relu', dropout: d }), relu(add(matmul(dropout(x, d), w), b)));
    close(linear(x, w, null, { transA: false }), matmul(x, w));
  });
  it('dropout = x * bernoulli mask / keep, from the same Philox words', () => {
    const x = U([3, 9]);
    const mask = cast(bernoulli(x.shape, d.keepProb, d), 'f64');
    close(dropout(x, d), div(mul(x, mask), d.keepProb));
  });
  it('logsumexp (fused) = logsumexpComposite', () => {
    const x = U([4, 6], -50, 50);
    close(logsumexp(x, 1), logsumexpComposite(x, 1));
    close(logsumexp(x, 0, true), logsumexpComposite(x, 0, true));
  });
  it('optimizerUpdate = the elementwise rules (sgd, momentum, nesterov, adam)', () => {
    const p = U([6]), g = U([6]), v = U([6]), m2 = U([6], 0.1, 1); // a second moment is positive
    close(optimizerUpdate(p, g, [], { rule: 'sgd', lr: 0.1 })[0]!, sub(p, mul(g, 0.1)));
    const [pm, vm] = optimizerUpdate(p, g, [v], { rule: 'momentum', lr: 0.1, momentum: 0.9 });
    const vNew = add(mul(v, 0.9), g);
    close(vm!, vNew);
    close(pm!, sub(p, mul(vNew, 0.1)));
    close(optimizerUpdate(p, g, [v], { rule: 'nesterov', lr: 0.1, momentum: 0.9 })[0]!, sub(p, mul(add(g, mul(vNew, 0.9)), 0.1)));
    const [pa, ma, va] = optimizerUpdate(p, g, [v, m2], { rule: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3 });
    const mNew = add(mul(v, 0.9), mul(g, 0.1));
    const v2 = add(mul(m2, 0.999), mul(mul(g, g), 0.001));
    close(ma!, mNew);
    close(va!, v2);
    const mHat = div(mNew, 1 - 0.9 ** 3), vHat = div(v2, 1 - 0.999 ** 3);
    close(pa!, sub(p, div(mul(mHat, 0.01), add(sqrt(vHat), 1e-8))));
  });
});

describe('gradient checks, one table row per primitive', () => {
  it('every member of Prim has at least one gradient case', () => {
    const missing = Object.values(Prim).filter((p) => !((gradCases as Partial<Record<string, Case[]>>)[p]?.length ?? 0));
    expect(missing).toEqual([]);
    expect(Object.keys(gradCases).sort()).toEqual([...Object.values(Prim)].sort());
  });

  for (const p of Object.values(Prim)) {
    describe(p, () => {
      for (const k of gradCases[p] ?? []) {
        it(k.name, () => {
          const before = memory().tensors;
          tidy(() => {
            k.run();
          });
          if (k.ignoredByTape) {
            expect(executed(p), `${p} was never executed`).toBe(true);
            expect(vjpRan(p), `the tape recorded ${p}`).toBe(false);
          } else {
            expect(vjpRan(p), `the VJP of ${p} never ran`).toBe(true);
          }
          expect(memory().tensors - before, 'tensors leaked by the case').toBe(0);
        });
      }
    });
  }
});

describe('checkGrad itself', () => {
  it('rejects a wrong gradient (x * stopGradient(x) has tape gradient x, true gradient 2x)', () => {
    expect(() => checkGrad('wrong', (x) => mul(x, stopGradient(x)), [U([4], 0.5, 1)])).toThrow(/analytic .* vs numeric/);
  });
  it('rejects inputs that are not f64', () => {
    expect(() => checkGrad('f32', (x) => x, [tensor([1, 2])])).toThrow(/f64/);
  });
  it('checks every element of every input', () => {
    const r = checkGrad('count', (a, b) => mul(a, b), [U([2, 3]), U([3])]);
    expect(r.checked).toBe(9);
    expect(r.maxAbsError).toBeLessThan(1e-7);
  });
});

// ------------------------------------------------------------------ composites

describe('composites', () => {
  it('softmax over the last axis and over axis 0', () => {
    checkGrad('softmax', (x) => softmax(x), [U([3, 5], -2, 2)]);
    checkGrad('softmax0', (x) => softmax(x, 0), [U([3, 5], -2, 2)]);
  });
  it('softmax rows sum to 1 and match exp(x)/Σexp(x)', () => {
    const x = f64([0.5, -1, 2, 0]);
    const s = values(softmax(x));
    const e = [0.5, -1, 2, 0].map(Math.exp);
    const z = e.reduce((a, b) => a + b);
    s.forEach((v, i) => expect(v).toBeCloseTo(e[i]! / z, 14));
  });
  it('logSoftmax', () => checkGrad('logSoftmax', (x) => logSoftmax(x), [U([4, 3], -3, 3)]));
  it('logsumexp, keepDims false and true', () => {
    checkGrad('lse', (x) => logsumexp(x), [U([3, 5], -3, 3)]);
    checkGrad('lse-keep', (x) => logsumexp(x, 0, true), [U([3, 5], -3, 3)]);
  });
  it('logsumexp of extreme logits is finite and exact', () => {
    const x = f64([1000, 1000.5, -1000, 999], [1, 4]);
    const v = values(logsumexp(x));
    const expected = 1000.5 + Math.log(Math.exp(-0.5) + 1 + Math.exp(-1.5));
    expect(v).toHaveLength(1);
    expect(Math.abs(v[0]! - expected)).toBeLessThan(1e-12);
    const neg = values(logsumexp(f64([-1000, -1001], [2])));
    expect(Math.abs(neg[0]! - (-1000 + Math.log1p(Math.exp(-1))))).toBeLessThan(1e-12);
    checkGrad('lse-extreme', (t) => logsumexp(t), [f64([1000, 1000.5, -1000, 999], [1, 4])], { atol: 1e-5 });
  });
  it('softmax and logSoftmax of extreme logits have no NaN or infinity', () => {
    const x = f64([1000, -1000, 0]);
    const s = values(softmax(x));
    expect(s[0]).toBeCloseTo(1, 14);
    expect(s.every(Number.isFinite)).toBe(true);
    const ls = values(logSoftmax(x));
    expect(ls).toEqual([0, -2000, -1000]);
    const { grads } = valueAndGradsOf(() => sum(mul(logSoftmax(x), f64([1, 2, 3]))), [x]);
    expect(values(grads[0]!).every(Number.isFinite)).toBe(true);
  });
  it('crossEntropy with integer labels: value and gradient', () => {
    const labels = i32([2, 0, 1]);
    const logits = U([3, 4], -2, 2);
    const lv = values(logits);
    let expected = 0;
    for (let r = 0; r < 3; r++) {
      const row = lv.slice(r * 4, r * 4 + 4);
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      expected -= row[values(labels)[r]!]! - lse;
    }
    expect(values(crossEntropy(logits, labels))[0]).toBeCloseTo(expected / 3, 12);
    checkGrad('ce-int', (l) => crossEntropy(l, labels), [logits]);
    // d/dlogits = (softmax - onehot) / batch
    const [g] = tapeGrads(() => crossEntropy(logits, labels), [logits]);
    const sm = values(softmax(logits));
    const oh = values(oneHot(labels, 4, 'f64'));
    g!.forEach((v, i) => expect(v).toBeCloseTo((sm[i]! - oh[i]!) / 3, 12));
  });
  it('crossEntropy with soft labels: gradient wrt logits and probabilities', () => {
    const p = softmax(U([3, 4], -1, 1));
    checkGrad('ce-soft', (l, q) => crossEntropy(l, q), [U([3, 4], -2, 2), p]);
  });
  it('mse: value and gradient', () => {
    const a = U([3, 4]);
    const b = U([3, 4]);
    const av = values(a);
    const bv = values(b);
    const expected = av.reduce((s, v, i) => s + (v - bv[i]!) ** 2, 0) / 12;
    expect(values(mse(a, b))[0]).toBeCloseTo(expected, 14);
    checkGrad('mse', (x, y) => mse(x, y), [a, b]);
  });
});

// ------------------------------------------------------------------ second order

describe('second order', () => {
  it('d²/dx² x³ = 6x', () => {
    const x = f64([-1.5, 0.5, 2, 3]);
    const d1 = (t: Tensor) => grad((u) => sum(mul(mul(u, u), u)))(t)[0]!;
    const [d2] = grad((t) => sum(d1(t)))(x);
    expect(values(d2!)).toEqual([-9, 3, 12, 18]);
    expect(values(d1(x))).toEqual([6.75, 0.75, 12, 27]);
    checkGrad('x3-second', d1, [U([4], -2, 2)]);
  });
  it('d²/dx² tanh = -2 tanh (1 - tanh²)', () => {
    const xv = [-1.2, -0.3, 0.4, 2];
    const x = f64(xv);
    const d1 = (t: Tensor) => grad((u) => sum(tanh(u)))(t)[0]!;
    const [d2] = grad((t) => sum(d1(t)))(x);
    values(d2!).forEach((v, i) => {
      const t = Math.tanh(xv[i]!);
      expect(v).toBeCloseTo(-2 * t * (1 - t * t), 14);
    });
    checkGrad('tanh-second', d1, [U([4], -2, 2)]);
  });
  it('third order: d³/dx³ x⁴ = 24x', () => {
    const x = f64([0.5, -2]);
    const d = (f: (t: Tensor) => Tensor) => (t: Tensor) => grad((u) => sum(f(u)))(t)[0]!;
    const d3 = d(d(d((u) => mul(mul(u, u), mul(u, u)))));
    expect(values(d3(x))).toEqual([12, -48]);
  });
});
