// Elementwise WGSL kernels against the CPU oracle on real WebGPU: every unary and binary
// primitive (one case per record of core's elementwise/*.ts, on the record's test domain),
// compare, where and cast, over awkward shapes (odd sizes, size-1 dims, rank mismatch,
// scalars) and the edge values where f32 implementations usually break.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  abs, add, cast, compare, div, exp, floor, greater, log, log1p, maximum, minimum, mul, neg, pow, reciprocal, relu, reluGrad,
  sigmoid, sign, softplus, sqrt, sub, tanh, tensor, where, type CompareOp, type DType, type Tensor,
} from '@alphadrop/core';
import { BINARY, BINARY_PRIMS, UNARY, UNARY_PRIMS, apply } from '@alphadrop/core/backend';
import { coversItsPrimitives, firstMismatch, getTestBackend, gpuCase, rand, randBool, randInt, runOn } from '../helpers/webgpu.js';

beforeAll(async () => {
  await getTestBackend();
});

describe('unary f32 over [37, 5], on each record\'s value domain', () => {
  for (const p of UNARY_PRIMS) {
    const { lo, hi } = UNARY[p].test.values;
    gpuCase(p, () => apply(p, [rand([37, 5], 11, lo, hi)], {}), { rtol: 2e-6, atol: 1e-6 });
  }
});

describe('unary edge values', () => {
  const edge = (vs: number[]) => tensor(vs, [vs.length]);
  gpuCase('tanh at ±30, ±90, ±1e4 and near 0', () => tanh(edge([30, -30, 90, -90, 1e4, -1e4, 1e-6, -1e-6, 0, 9.5, -9.5, 0.3])), { rtol: 1e-6, atol: 0 });
  gpuCase('log1p keeps precision for small x', () => log1p(edge([1e-7, -1e-7, 3e-6, 1e-5, -2e-4, 1e-3, 0, 5e-9, 1e-30, -0.5, 1, 1e6])), { rtol: 2e-6, atol: 0 });
  gpuCase('sigmoid saturates without NaN', () => sigmoid(edge([-100, -30, 30, 100, 0, 88, -88, 1e-3, 5, -5, 17, -17])), { rtol: 2e-6, atol: 1e-30 });
  gpuCase('exp overflow/underflow, log/sqrt of 0 and negatives, 1/0', () =>
    add(add(exp(edge([100, -120, 0, 1])), log(edge([0, 1, 2.5, -1]))), add(sqrt(edge([0, -4, 9, 2])), reciprocal(edge([1, 2, 4, 0])))),
  );
  gpuCase('softplus far out on both sides (exp(-|x|) never overflows) and near 0', () =>
    softplus(edge([-100, -30, -17, -1e-6, 0, 1e-6, 0.5, 17, 30, 88, 100, 1e4])), { rtol: 2e-6, atol: 1e-30 });
  gpuCase('sign and floor at 0, negatives and halves', () => add(sign(edge([0, -0, 2, -3, 0.5, -0.5])), floor(edge([-0.5, 0.5, -2, 2.9, -2.1, 1e6 + 0.5]))), { rtol: 0, atol: 0 });
  gpuCase('neg/abs/sign/relu i32', () => add(add(neg(randInt([41], 1, -50, 50)), abs(randInt([41], 2, -50, 50))), add(sign(randInt([41], 3, -2, 2)), relu(randInt([41], 4, -50, 50)))));
});

describe('binary f32 with broadcasting, on each record\'s value domain', () => {
  const shapes: [string, number[], number[]][] = [
    ['size-1 dims', [3, 1, 5], [4, 1]],
    ['rank mismatch', [7], [2, 3, 7]],
    ['odd same shape', [13, 17], [13, 17]],
    ['scalar', [], [5, 3]],
    ['both sides broadcast', [1, 6], [5, 1]],
  ];
  for (const p of BINARY_PRIMS) {
    const { a, b } = BINARY[p].test;
    for (const [label, sa, sb] of shapes)
      gpuCase(`${p} ${label} ${JSON.stringify(sa)}·${JSON.stringify(sb)}`, () => apply(p, [rand(sa, 1, a.lo, a.hi), rand(sb, 2, b.lo, b.hi)], {}), { rtol: 1e-5 });
  }
  gpuCase('pow, negative base with integral and fractional exponents', () =>
    pow(tensor([-2, -2, -2, -0.5, -3, -1, -4, 2, 0, 0, -8, -1.5], [12]), tensor([2, 3, -1, 3, 0.5, 7, 0, 0.5, 2, 0, 1 / 3, -2], [12])),
    { rtol: 1e-6 },
  );
  gpuCase('pow scalar exponent broadcast', () => pow(rand([3, 11], 5, -3, 3), tensor(2)));
  gpuCase('maximum/minimum propagate NaN and keep ±0', () =>
    add(maximum(tensor([NaN, 1, -0, 0, 3, NaN]), tensor([1, NaN, 0, -0, -Infinity, NaN])), minimum(tensor([NaN, 1, 2, -Infinity, 0, 5]), tensor([0, NaN, 2, 1, 0, 6]))),
  );
});

describe('binary integer', () => {
  gpuCase('add/sub/mul i32 with broadcast and wraparound', () =>
    add(mul(randInt([9, 1], 1, -300, 300), randInt([1, 11], 2, -300, 300)), sub(tensor([2147483647], [1], { dtype: 'i32' }), randInt([11], 3, -5, -1))),
  );
  gpuCase('div i32 truncates toward zero', () => div(randInt([5, 9], 4, -100, 100), randInt([9], 5, 1, 7)));
  gpuCase('sub u32 wraps', () => sub(randInt([17], 6, 0, 10, 'u32'), randInt([17], 7, 0, 20, 'u32')));
  gpuCase('maximum/minimum i32 and u32', () =>
    add(cast(maximum(randInt([4, 6], 8, -9, 9), randInt([6], 9, -9, 9)), 'f32'), cast(minimum(randInt([4, 6], 10, 0, 4e9, 'u32'), randInt([6], 11, 0, 4e9, 'u32')), 'f32')),
  );
});

describe('compare (-> bool) and where', () => {
  const ops: CompareOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
  // small integers as floats: plenty of ties
  for (const op of ops) gpuCase(`compare ${op} f32 broadcast`, () => compare(randInt([7, 1, 3], 1, -2, 2, 'f32'), randInt([5, 1], 2, -2, 2, 'f32'), op));
  for (const op of ops) gpuCase(`compare ${op} i32 odd`, () => compare(randInt([29], 3, -2, 2), randInt([29], 4, -2, 2), op));
  gpuCase('compare lt u32 beyond 2^31', () => compare(randInt([33], 5, 0, 4294967295, 'u32'), tensor(2147483648, [], { dtype: 'u32' }), 'lt'));
  gpuCase('compare with NaN', () => compare(tensor([NaN, 1, NaN]), tensor([NaN, NaN, 2]), 'ne'));
  gpuCase('where f32, all three broadcast', () => where(randBool([3, 1, 5], 6), rand([4, 1], 7), rand([5], 8)));
  gpuCase('where i32 scalar branches', () => where(randBool([19], 9), tensor(7, [], { dtype: 'i32' }), randInt([19], 10, -9, 9)));
  gpuCase('where bool', () => where(randBool([2, 9], 11), randBool([9], 12), randBool([2, 1], 13)));
});

describe('reluGrad: where(greater(x, 0), dy, 0) in one kernel', () => {
  const S = [NaN, Infinity, -Infinity, 0, -0, 1.5, -2, 0.25, -1, 1e-30, -1e30, 40, -40];
  // every pair of special values: dy [13, 1] against x [1, 13]
  const pairs = () => reluGrad(tensor(S, [S.length, 1]), tensor([...S].reverse(), [1, S.length]));
  gpuCase('special values, every pair, against the oracle', pairs, { rtol: 0, atol: 0 });
  gpuCase('i32 with a broadcast dy', () => reluGrad(randInt([11], 1, -9, 9), randInt([7, 11], 2, -3, 3)));
  it('equals the compare-then-where composition on the GPU, bit for bit', async () => {
    const gpu = await getTestBackend();
    const one = await runOn(gpu, pairs);
    const two = await runOn(gpu, () => where(greater(tensor([...S].reverse(), [1, S.length]), 0), tensor(S, [S.length, 1]), 0));
    expect(firstMismatch(one.values, two.values, true)).toBeNull();
    const x = () => rand([37, 5], 3);
    const dy = () => rand([37, 5], 4);
    const a = await runOn(gpu, () => reluGrad(dy(), x()));
    const b = await runOn(gpu, () => where(greater(x(), 0), dy(), 0));
    expect(firstMismatch(a.values, b.values, true)).toBeNull();
  });
});

describe('cast among f32, i32, u32, bool', () => {
  const dtypes: DType[] = ['f32', 'i32', 'u32', 'bool'];
  const source: Record<string, () => Tensor> = {
    // in range of every target; negatives wrap for u32 as in the oracle's typed-array conversion
    f32: () => tensor([0, -0, 1.5, -1.5, 2.99, -2.99, 1e6 + 0.5, -7, 0.25, 123456.7, 3e9, -1e-9], [12]),
    i32: () => tensor([0, 1, -1, 2147483647, -2147483648, 16777217, -16777217, 42, -3, 8, 100, 7], [12], { dtype: 'i32' }),
    u32: () => tensor([0, 1, 4294967295, 2147483648, 16777217, 3, 5, 7, 9, 2147483647, 65536, 100], [12], { dtype: 'u32' }),
    bool: () => randBool([12], 1),
  };
  for (const from of dtypes)
    for (const to of dtypes) {
      if (from === to) continue;
      // f32 → i32 beyond 2^31 is implementation-defined in WGSL (saturates) but wraps in the oracle
      const build = from === 'f32' && to === 'i32' ? () => cast(mul(source.f32!(), tensor(1e-3)), to) : () => cast(source[from]!(), to);
      gpuCase(`${from} -> ${to}`, build, { rtol: 1e-7, atol: 0 });
    }
  gpuCase('f32 -> bool: -0 is false, NaN is true (x != 0, as numpy)', () => cast(tensor([NaN, -0, 0, 1e-30, -Infinity]), 'bool'));
});

coversItsPrimitives('elementwise');
