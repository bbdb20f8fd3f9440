// The fast CPU kernels (cpu/fast.ts) against the oracle (cpu/reference.ts), one line per
// case through `check`: awkward shapes (1, primes, non-multiples of the 4×4 GEMM tile),
// every broadcast pattern the fast paths special-case and the generic fallbacks, all matmul
// transposes, batched and broadcast batches, conv geometry, f32 and f64, NaN rules.
// Kernels that sum in the oracle's order must match it bit for bit (`exact`, the default);
// the rest (convolution, multi-pass sums) within a relative 1e-6 of f32 rounding.
import { afterAll, describe, expect, it } from 'vitest';
import { ValueError, keyFor, type DType, type HostArray, type Key } from '@alphadrop/core';
import {
  Prim, fastKernels, referenceKernels, shapeRules, allocHost, UNARY_PRIMS, BINARY_PRIMS,
  configureFastCpuThreads, fastCpuThreadStats, fastCpuThreadsReady, splitU64, type DropoutParams,
  type PrimParams, type CpuOperand,
} from '@alphadrop/core/backend';

/** An input: a shape with a dtype (random values), or explicit values. */
type In = [shape: number[], dtype?: DType, values?: ArrayLike<number>];

let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);

function values(shape: number[], dtype: DType): HostArray {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = allocHost(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === 'bool') r[i] = rand() < 0.5 ? 1 : 0;
    else if (dtype === 'i32' || dtype === 'u32') r[i] = Math.floor(rand() * 7) - (dtype === 'i32' ? 3 : 0);
    else r[i] = rand() * 4 - 2;
  }
  return r;
}

function operand([shape, dtype = 'f32', vals]: In): CpuOperand {
  const storage = vals ? allocHost(dtype, vals.length) : values(shape, dtype);
  if (vals) storage.set(Array.from(vals));
  return { storage, shape, dtype };
}

/** Runs `prim` on the oracle and the fast table; exact (Object.is per element) unless `tol`. */
function check<P extends Prim>(prim: P, inputs: In[], params: PrimParams[P], tol = 0): HostArray {
  const ops = inputs.map(operand);
  const out = shapeRules[prim](ops, params);
  const want = referenceKernels[prim](ops, params, out);
  const fast = fastKernels[prim];
  expect(fast, `fast kernel for ${prim}`).toBeDefined();
  const got = fast!(ops, params, out);
  expect(got.constructor).toBe(want.constructor);
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    const ok = Object.is(g, w) || (tol > 0 && Math.abs(g - w) <= tol * (1 + Math.abs(w)));
    if (!ok) expect.fail(`${prim} ${JSON.stringify(inputs.map((x) => x[0]))} ${JSON.stringify(params)}: element ${i} is ${g}, oracle ${w}`);
  }
  return got;
}

const F32_TOL = 1e-6;
const SPECIAL = [NaN, 0, -0, Infinity, -Infinity, 1.5, -1.5, 2, -3, 0.25, 1e-30, -1e30];

describe('unary', () => {
  for (const p of UNARY_PRIMS) {
    it(`${p} f32 / f64 / special values`, () => {
      check(p, [[[7, 13]]], {});
      check(p, [[[5, 1, 3], 'f64']], {});
      check(p, [[[SPECIAL.length], 'f32', SPECIAL]], {});
      check(p, [[[0, 3]]], {});
    });
  }
  for (const p of [Prim.Neg, Prim.Abs, Prim.Sign, Prim.Relu] as const)
    it(`${p} i32`, () => check(p, [[[11, 3], 'i32', [...Array(33).keys()].map((i) => (i - 16) * 1e8)]], {}));
});

describe('binary broadcasting', () => {
  const prims = BINARY_PRIMS;
  const patterns: [number[], number[]][] = [
    [[5, 7], [5, 7]], // same shape: one flat loop
    [[37, 29], [29]], // bias add: rows + a row
    [[29], [37, 29]],
    [[37, 29], [37, 1]], // column broadcast: stride-0 rows
    [[37, 1], [37, 29]],
    [[], [5, 7]], // scalar operand
    [[5, 7], []],
    [[1, 7], [5, 1]], // both broadcast
    [[2, 1, 3, 4], [5, 1, 1]], // rank 4, generic counters
    [[3, 1, 5], [1, 4, 1]],
    [[2, 3, 1, 5], [2, 1, 4, 5]],
    [[0, 3], [3]], // empty
    [[1], [1]],
  ];
  for (const p of prims)
    it(`${p} over ${patterns.length} patterns, f32 and f64`, () => {
      for (const [a, b] of patterns) {
        check(p, [[a], [b]], {});
        check(p, [[a, 'f64'], [b, 'f64']], {});
      }
    });
  for (const p of [Prim.Add, Prim.Sub, Prim.Mul, Prim.Div, Prim.Maximum, Prim.Minimum] as const)
    it(`${p} i32 / u32`, () => {
      check(p, [[[37, 29], 'i32'], [[29], 'i32']], {});
      check(p, [[[6, 5], 'u32'], [[6, 1], 'u32']], {});
      check(p, [[[3], 'i32', [2147483647, -2147483648, 7]], [[], 'i32', [3]]], {}); // wrap-around and truncation
    });
  it('NaN, ±0 and infinities', () => {
    for (const p of prims) {
      check(p, [[[SPECIAL.length], 'f32', SPECIAL], [[SPECIAL.length], 'f32', [...SPECIAL].reverse()]], {});
      check(p, [[[SPECIAL.length, 1], 'f64', SPECIAL], [[1, SPECIAL.length], 'f64', SPECIAL]], {});
    }
  });
  it('pow with a scalar exponent (x² fast path) and a negative base', () => {
    check(Prim.Pow, [[[37, 29]], [[], 'f32', [2]]], {});
    check(Prim.Pow, [[[37, 29], 'f64'], [[], 'f64', [3]]], {});
    check(Prim.Pow, [[[4], 'f32', [-2, -0.5, 0, NaN]], [[], 'f32', [2]]], {});
  });
});

describe('compare and where', () => {
  for (const op of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const)
    it(`compare ${op}`, () => {
      check(Prim.Compare, [[[37, 29], 'i32'], [[29], 'i32']], { op });
      check(Prim.Compare, [[[5, 1], 'f32'], [[1, 6], 'f32']], { op });
      check(Prim.Compare, [[[2, 3, 4], 'f64'], [[], 'f64', [0.5]]], { op });
      check(Prim.Compare, [[[SPECIAL.length], 'f32', SPECIAL], [[SPECIAL.length], 'f32', [...SPECIAL].reverse()]], { op });
    });
  it('where over broadcasts', () => {
    check(Prim.Where, [[[37, 29], 'bool'], [[37, 29]], [[37, 29]]], {});
    check(Prim.Where, [[[37, 29], 'bool'], [[29]], [[]]], {});
    check(Prim.Where, [[[37, 29], 'bool'], [[], 'f32', [2]], [[], 'f32', [0]]], {}); // a dropout scale
    check(Prim.Where, [[[4, 3], 'bool', [0, 1, 2, 255, 0, 7, 1, 0, 128, 0, 0, 1]], [[4, 3]], [[]]], {}); // any non-zero byte is true
    check(Prim.Where, [[[37, 1], 'bool'], [[1, 29], 'f64'], [[37, 29], 'f64']], {});
    check(Prim.Where, [[[2, 1, 4], 'bool'], [[3, 1], 'i32'], [[1, 3, 4], 'i32']], {});
    check(Prim.Where, [[[], 'bool'], [[5]], [[5]]], {});
    check(Prim.Where, [[[0, 4], 'bool'], [[4]], [[4]]], {});
  });
});

describe('reductions', () => {
  const axesOf3 = [[], [0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]];
  it('sum and max over every axis set of [4, 5, 6], keepDims both ways', () => {
    for (const axes of axesOf3)
      for (const keepDims of [false, true]) {
        const tol = axes.length === 2 && axes[0] === 0 && axes[1] === 2 ? F32_TOL : 0; // two passes: another order
        check(Prim.Sum, [[[4, 5, 6]]], { axes, keepDims }, tol);
        check(Prim.Sum, [[[4, 5, 6], 'f64']], { axes, keepDims }, tol && 1e-14);
        check(Prim.Max, [[[4, 5, 6]]], { axes, keepDims });
        check(Prim.Max, [[[4, 5, 6], 'i32']], { axes, keepDims });
      }
  });
  it('the MLP shapes: bias gradient (rows), softmax (last axis), sums over K', () => {
    check(Prim.Sum, [[[1280, 100]]], { axes: [0], keepDims: false });
    check(Prim.Sum, [[[1280, 10]]], { axes: [1], keepDims: true });
    check(Prim.Max, [[[1280, 10]]], { axes: [1], keepDims: true });
    check(Prim.Sum, [[[128, 10, 7]]], { axes: [1], keepDims: false });
    check(Prim.Max, [[[128, 10, 7]]], { axes: [1], keepDims: true });
  });
  it('size-1 dims, alternating groups, empty tensors, integers', () => {
    check(Prim.Sum, [[[3, 1, 5]]], { axes: [1], keepDims: false });
    check(Prim.Sum, [[[1, 7, 1]]], { axes: [0, 2], keepDims: true });
    check(Prim.Sum, [[[2, 3, 4, 5]]], { axes: [0, 2], keepDims: false }, F32_TOL);
    check(Prim.Sum, [[[2, 3, 4, 5]]], { axes: [1, 3], keepDims: false }, F32_TOL);
    check(Prim.Max, [[[2, 3, 4, 5]]], { axes: [1, 3], keepDims: true });
    check(Prim.Sum, [[[0, 3]]], { axes: [0], keepDims: false });
    check(Prim.Sum, [[[3, 0]]], { axes: [0], keepDims: false });
    check(Prim.Sum, [[[5, 3], 'i32']], { axes: [1], keepDims: false });
    check(Prim.Sum, [[[5, 3], 'u32']], { axes: [0, 1], keepDims: false });
  });
  it('max propagates NaN wherever it sits; -0 against 0 as the oracle', () => {
    const v = [1, NaN, 3, -0, 0, -Infinity, 2, 5, NaN, -0];
    check(Prim.Max, [[[10], 'f32', v]], { axes: [0], keepDims: false });
    check(Prim.Max, [[[5, 2], 'f32', v]], { axes: [0], keepDims: false });
    check(Prim.Max, [[[2, 5], 'f64', v]], { axes: [1], keepDims: false });
  });
  it('argmax on every axis, ties and NaN pick as the oracle', () => {
    for (const axis of [0, 1, 2]) {
      check(Prim.Argmax, [[[4, 5, 6]]], { axis, keepDims: false });
      check(Prim.Argmax, [[[4, 5, 6], 'i32']], { axis, keepDims: true }); // many ties
    }
    check(Prim.Argmax, [[[2, 5], 'f32', [NaN, 1, 2, 2, 0, 3, NaN, 3, 1, 3]]], { axis: 1, keepDims: false });
    check(Prim.Argmax, [[[5, 2], 'f32', [NaN, 1, 2, 2, 0, 3, NaN, 3, 1, 3]]], { axis: 0, keepDims: false });
  });
});

describe('matmul', () => {
  const shapes: [number, number, number][] = [
    [1, 1, 1], [7, 5, 3], [13, 17, 19], [33, 1, 9], [1, 29, 31], [4, 4, 4], [64, 64, 64], [65, 63, 67], [5, 3, 0], [0, 3, 5],
  ];
  const mat = (r: number, c: number, t: boolean) => (t ? [c, r] : [r, c]);
  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const)
    it(`every shape, transA=${tA} transB=${tB}, f32 and f64 (bit-identical)`, () => {
      for (const [M, N, K] of shapes)
        for (const dtype of ['f32', 'f64'] as const)
          check(Prim.Matmul, [[mat(M, K, tA), dtype], [mat(K, N, tB), dtype]], { transA: tA, transB: tB });
    });
  it('the MLP shapes, forward and backward', () => {
    check(Prim.Matmul, [[[1280, 784]], [[784, 100]]], { transA: false, transB: false });
    check(Prim.Matmul, [[[1280, 100]], [[100, 10]]], { transA: false, transB: false });
    check(Prim.Matmul, [[[1280, 784]], [[1280, 100]]], { transA: true, transB: false }); // Xᵀ·dY
    check(Prim.Matmul, [[[1280, 10]], [[100, 10]]], { transA: false, transB: true }); // dY·Wᵀ
  });
  it('batched, broadcast batch dims, shared B folded into rows', () => {
    check(Prim.Matmul, [[[3, 5, 7]], [[3, 7, 4]]], { transA: false, transB: false });
    check(Prim.Matmul, [[[2, 1, 5, 7]], [[3, 7, 6]]], { transA: false, transB: false });
    check(Prim.Matmul, [[[2, 3, 5, 7]], [[7, 6]]], { transA: false, transB: false }); // fold into one GEMM
    check(Prim.Matmul, [[[2, 3, 7, 5]], [[6, 7]]], { transA: true, transB: true }); // shared packed B
    check(Prim.Matmul, [[[5, 7], 'f64'], [[4, 7, 3], 'f64']], { transA: false, transB: false }); // A broadcast
    check(Prim.Matmul, [[[1, 3, 9, 2]], [[4, 1, 9, 5]]], { transA: true, transB: false });
    check(Prim.Matmul, [[[3, 1, 2]], [[3, 2, 1]]], { transA: false, transB: false });
  });
  it('specials propagate as in the oracle', () => {
    check(Prim.Matmul, [[[2, 3], 'f32', [NaN, 1, 2, 3, Infinity, -1]], [[3, 2], 'f32', [1, 0, 0, 1, 2, 2]]], { transA: false, transB: false });
  });
});

describe('conv2d and its gradients (im2col + GEMM)', () => {
  type Geo = { stride: [number, number]; padding: [number, number]; dilation: [number, number] };
  const cases: [number[], number[], Geo][] = [
    [[2, 3, 9, 11], [4, 3, 3, 3], { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }],
    [[1, 2, 10, 7], [3, 2, 3, 2], { stride: [2, 1], padding: [1, 2], dilation: [1, 1] }],
    [[2, 1, 13, 13], [5, 1, 5, 5], { stride: [3, 2], padding: [2, 2], dilation: [1, 1] }],
    [[1, 3, 12, 9], [2, 3, 3, 3], { stride: [1, 2], padding: [2, 1], dilation: [2, 3] }],
    [[3, 5, 6, 7], [4, 5, 1, 1], { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }], // 1×1: the image is its own columns
    [[2, 5, 6, 7], [4, 5, 1, 1], { stride: [2, 2], padding: [1, 0], dilation: [1, 1] }],
    [[1, 1, 1, 1], [1, 1, 1, 1], { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }],
    [[1, 2, 4, 4], [3, 2, 3, 3], { stride: [5, 5], padding: [3, 3], dilation: [1, 1] }], // windows all padding
    [[3, 1, 28, 28], [32, 1, 3, 3], { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }], // MNIST conv1, batch blocks
    [[3, 32, 26, 26], [32, 32, 3, 3], { stride: [1, 1], padding: [0, 0], dilation: [1, 1] }], // MNIST conv2
    [[2, 3, 7, 9], [5, 3, 3, 2], { stride: [1, 1], padding: [1, 0], dilation: [2, 1] }], // unit stride, dilated: flipped-filter dx
    [[1, 2, 5, 5], [3, 2, 2, 2], { stride: [1, 1], padding: [2, 2], dilation: [1, 1] }], // padding > (K−1)·d: col2im dx
    [[3, 6, 11, 10], [7, 6, 3, 3], { stride: [2, 2], padding: [1, 1], dilation: [1, 1] }], // strided: col2im dx, ragged panels
  ];
  for (const [x, w, g] of cases)
    it(`x ${x} w ${w} ${JSON.stringify(g)}`, () => {
      for (const dtype of ['f32', 'f64'] as const) {
        const tol = dtype === 'f32' ? F32_TOL : 1e-13;
        const y = check(Prim.Conv2d, [[x, dtype], [w, dtype]], g, tol);
        const yShape = shapeRules[Prim.Conv2d]([{ shape: x, dtype }, { shape: w, dtype }], g).shape as number[];
        expect(y.length).toBe(yShape.reduce((a, b) => a * b, 1));
        const inputShape = x as [number, number, number, number];
        const filterShape = w as [number, number, number, number];
        check(Prim.Conv2dInputGrad, [[yShape, dtype], [w, dtype]], { ...g, inputShape }, tol);
        check(Prim.Conv2dFilterGrad, [[x, dtype], [yShape, dtype]], { ...g, filterShape }, tol);
      }
    });
});

describe('max-pooling', () => {
  type Geo = { kernel: [number, number]; stride: [number, number]; padding: [number, number] };
  const cases: [number[], Geo][] = [
    [[2, 3, 8, 8], { kernel: [2, 2], stride: [2, 2], padding: [0, 0] }],
    [[1, 2, 9, 7], { kernel: [3, 3], stride: [2, 2], padding: [1, 1] }],
    [[2, 1, 7, 11], { kernel: [3, 2], stride: [1, 3], padding: [1, 1] }], // overlapping windows: gradients add
    [[1, 1, 5, 5], { kernel: [5, 5], stride: [1, 1], padding: [2, 2] }],
  ];
  for (const [x, g] of cases)
    it(`x ${x} ${JSON.stringify(g)}`, () => {
      for (const dtype of ['f32', 'f64'] as const) {
        check(Prim.MaxPool2d, [[x, dtype]], g);
        const yShape = shapeRules[Prim.MaxPool2d]([{ shape: x, dtype }], g).shape as number[];
        check(Prim.MaxPool2dGrad, [[x, dtype], [yShape, dtype]], g);
      }
    });
  it('ties and NaN: the first maximum of the window wins', () => {
    const v = [1, 1, 0, NaN, 2, 2, 2, 1, NaN, 0, 3, 3, 1, 1, 1, 1];
    const g = { kernel: [2, 2] as [number, number], stride: [1, 1] as [number, number], padding: [0, 0] as [number, number] };
    check(Prim.MaxPool2d, [[[1, 1, 4, 4], 'f32', v]], g);
    check(Prim.MaxPool2dGrad, [[[1, 1, 4, 4], 'f32', v], [[1, 1, 3, 3]]], g);
  });
});

describe('movement', () => {
  it('permute: 2-D transposes (tiled), 3-D and 4-D perms, identity', () => {
    check(Prim.Permute, [[[70, 45]]], { perm: [1, 0] });
    check(Prim.Permute, [[[1, 33]]], { perm: [1, 0] });
    for (const perm of [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]) check(Prim.Permute, [[[3, 5, 7], 'i32']], { perm });
    check(Prim.Permute, [[[2, 3, 4, 5], 'f64']], { perm: [0, 2, 3, 1] });
    check(Prim.Permute, [[[2, 1, 4, 5], 'bool']], { perm: [3, 1, 0, 2] });
    check(Prim.Permute, [[[]]], { perm: [] });
  });
  it('expand: rows, columns, scalars, leading dims', () => {
    check(Prim.Expand, [[[3, 1]]], { shape: [3, 5] });
    check(Prim.Expand, [[[1, 40]]], { shape: [6, 40] });
    check(Prim.Expand, [[[]]], { shape: [2, 3] });
    check(Prim.Expand, [[[1, 4], 'i32']], { shape: [2, 3, 4] });
    check(Prim.Expand, [[[2, 1, 3], 'bool']], { shape: [2, 5, 3] });
    check(Prim.Expand, [[[2, 3]]], { shape: [2, 3] });
  });
  it('slice', () => {
    check(Prim.Slice, [[[7, 9]]], { begin: [2, 3], size: [4, 5] });
    check(Prim.Slice, [[[7, 90]]], { begin: [1, 10], size: [5, 70] }); // long rows: TypedArray.set
    check(Prim.Slice, [[[3, 4, 5], 'i32']], { begin: [1, 0, 2], size: [2, 4, 3] });
    check(Prim.Slice, [[[3, 4]]], { begin: [1, 1], size: [0, 2] });
    check(Prim.Slice, [[[]]], { begin: [], size: [] });
  });
  it('pad', () => {
    check(Prim.Pad, [[[3, 4]]], { pads: [[1, 2], [0, 3]], value: 0 });
    check(Prim.Pad, [[[2, 3, 4], 'f64']], { pads: [[0, 0], [2, 1], [1, 1]], value: -7.5 });
    check(Prim.Pad, [[[2, 2], 'bool']], { pads: [[1, 1], [1, 1]], value: 1 });
    check(Prim.Pad, [[[0, 2]]], { pads: [[1, 0], [0, 1]], value: 3 });
  });
  it('concat on each axis', () => {
    check(Prim.Concat, [[[2, 3]], [[4, 3]], [[1, 3]]], { axis: 0 });
    check(Prim.Concat, [[[2, 3, 4], 'i32'], [[2, 1, 4], 'i32']], { axis: 1 });
    check(Prim.Concat, [[[2, 3, 4]], [[2, 3, 50]]], { axis: 2 });
    check(Prim.Concat, [[[2, 0]], [[2, 3]]], { axis: 1 });
  });
  it('gather and scatterAdd, repeated indices, index arrays of rank 2', () => {
    const idx = (shape: number[], vals: number[]): In => [shape, 'i32', vals];
    check(Prim.Gather, [[[5, 40]], idx([4], [4, 0, 0, 2])], { axis: 0 });
    check(Prim.Gather, [[[3, 5, 2], 'f64'], idx([2, 3], [4, 1, 1, 0, 3, 2])], { axis: 1 });
    check(Prim.Gather, [[[3, 5], 'i32'], idx([2], [1, 4])], { axis: 1 });
    check(Prim.Gather, [[[3, 5], 'bool'], idx([], [2])], { axis: 1 }); // a scalar index drops the axis
    check(Prim.ScatterAdd, [[[4, 40]], idx([4], [4, 0, 0, 2])], { axis: 0, shape: [5, 40] });
    check(Prim.ScatterAdd, [[[3, 2, 3, 2], 'f64'], idx([2, 3], [4, 1, 1, 0, 1, 2])], { axis: 1, shape: [3, 5, 2] });
    check(Prim.ScatterAdd, [[[3, 6], 'i32'], idx([6], [0, 0, 0, 1, 1, 2])], { axis: 1, shape: [3, 3] });
  });
  it('gather and scatterAdd reject out-of-range indices as the oracle does', () => {
    for (const prim of [Prim.Gather, Prim.ScatterAdd] as const) {
      const x: CpuOperand = { storage: new Float32Array(6), shape: [2, 3], dtype: 'f32' };
      const i: CpuOperand = { storage: new Int32Array([0, 3]), shape: [2], dtype: 'i32' };
      const params = prim === Prim.Gather ? { axis: 1 } : { axis: 1, shape: [2, 3] };
      const run = (k: typeof fastKernels[typeof prim]) => () =>
        (k as (i: CpuOperand[], p: unknown, o: unknown) => HostArray)([prim === Prim.Gather ? x : { ...x, shape: [2, 2], storage: new Float32Array(4) }, i], params, { shape: [2, 2], dtype: 'f32' });
      expect(run(fastKernels[prim])).toThrow(ValueError);
      let message = '';
      try {
        run(referenceKernels[prim])();
      } catch (e) {
        message = (e as Error).message;
      }
      expect(run(fastKernels[prim])).toThrow(message);
    }
  });
  it('cast between every pair of dtypes, NaN, negatives and fractions', () => {
    const dtypes: DType[] = ['f32', 'f64', 'i32', 'u32', 'bool'];
    const vals = [NaN, -0, 0, 1.7, -1.7, -3, 4e9, -2.5e9, 1, 255, 256];
    for (const from of dtypes)
      for (const to of dtypes) if (from !== to) check(Prim.Cast, [[[vals.length], from, vals]], { dtype: to });
  });
});

describe('random bits (Philox, bit-identical to the reference)', () => {
  const cases: [number[], Key, [number, number, number]][] = [
    [[1280, 784], keyFor(2024, 'user'), [0, 0, 0]],
    [[7], keyFor(1, 'user'), [2, 3, 0]], // a partial block
    [[1, 1], [0, 0], [0, 0, 0]],
    [[5, 3], [0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff, 0xffffffff]], // every word at its maximum
    [[9], keyFor(123, 'trainDropout'), [4, 0, 8192]],
    [[0], keyFor(1, 'user'), [1, 1, 1]],
  ];
  for (const [shape, key, counter] of cases)
    it(`shape ${shape} key ${key} counter ${counter}`, () => {
      check(Prim.RandomBits, [], { shape, key, counter, kind: 'bits', dtype: 'u32' });
      check(Prim.RandomBits, [], { shape, key, counter, kind: 'uniform', dtype: 'f32' });
      check(Prim.RandomBits, [], { shape, key, counter, kind: 'uniform', dtype: 'f64' });
    });
});

describe('fused primitives (bit-identical to the oracle)', () => {
  // dropout layer 2 of a run with seed 7, at `step` (counter words: layer, step lo, step hi)
  const drop = (keepProb: number, step = 0): DropoutParams => ({ keepProb, key: keyFor(7, 'trainDropout'), counter: [2, ...splitU64('test', 'step', step)] });
  const fm = (transA: boolean, transB: boolean, bias: boolean, activation: 'none' | 'relu', dropout: DropoutParams | null) =>
    ({ transA, transB, bias, activation, dropout });
  it('fusedMatmul: dropout while packing A, bias + ReLU epilogue, every transpose', () => {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const)
      for (const [M, N, K] of [[13, 17, 19], [1, 5, 3], [33, 10, 1]] as const) {
        const a: In = [tA ? [K, M] : [M, K]];
        const b: In = [tB ? [N, K] : [K, N]];
        check(Prim.FusedMatmul, [a, b, [[N]]], fm(tA, tB, true, 'relu', drop(0.5, 3)));
        check(Prim.FusedMatmul, [a, b], fm(tA, tB, false, 'none', drop(0.8)));
        check(Prim.FusedMatmul, [[a[0], 'f64'], [b[0], 'f64'], [[N], 'f64']], fm(tA, tB, true, 'none', null));
        check(Prim.FusedMatmul, [a, b], fm(tA, tB, false, 'relu', drop(1)));
      }
  });
  it('fusedMatmul: the MLP layer shapes, batched and broadcast batches, K = 0', () => {
    check(Prim.FusedMatmul, [[[1280, 784]], [[784, 100]], [[100]]], fm(false, false, true, 'relu', drop(0.5, 2 ** 32 + 250880)));
    check(Prim.FusedMatmul, [[[1280, 784]], [[1280, 100]]], fm(true, false, false, 'none', drop(0.5, 250880))); // dW of the first layer
    check(Prim.FusedMatmul, [[[3, 5, 7]], [[3, 7, 4]], [[4]]], fm(false, false, true, 'relu', drop(0.5)));
    check(Prim.FusedMatmul, [[[2, 3, 5, 7]], [[7, 4]], [[4]]], fm(false, false, true, 'none', drop(0.5)));
    check(Prim.FusedMatmul, [[[2, 1, 7, 5]], [[3, 7, 4]]], fm(true, false, false, 'relu', drop(0.5)));
    check(Prim.FusedMatmul, [[[4, 0]], [[0, 3]], [[3]]], fm(false, false, true, 'relu', null));
  });
  it('dropout', () => {
    check(Prim.Dropout, [[[1280, 100]]], drop(0.5, 12));
    check(Prim.Dropout, [[[7, 3], 'f64']], drop(0.9));
    check(Prim.Dropout, [[[5]]], drop(1));
  });
  it('logSumExp on every axis, with infinities and NaN', () => {
    for (const axis of [0, 1, 2]) for (const keepDims of [false, true]) check(Prim.LogSumExp, [[[4, 5, 6]]], { axis, keepDims });
    check(Prim.LogSumExp, [[[128, 10], 'f64']], { axis: 1, keepDims: false });
    check(Prim.LogSumExp, [[[3, 4], 'f32', [-Infinity, -Infinity, -Infinity, -Infinity, 1, NaN, 2, 3, Infinity, 0, 1, -0]]], { axis: 1, keepDims: false });
    check(Prim.LogSumExp, [[[4, 3], 'f32', [-Infinity, -Infinity, -Infinity, -Infinity, 1, NaN, 2, 3, Infinity, 0, 1, -0]]], { axis: 0, keepDims: true });
  });
  it('optimizerUpdate: sgd, momentum, nesterov, adam', () => {
    const base = { lr: 0.01, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3 };
    check(Prim.OptimizerUpdate, [[[784, 100]], [[784, 100]]], { ...base, rule: 'sgd' });
    check(Prim.OptimizerUpdate, [[[7, 3]], [[7, 3]], [[7, 3]]], { ...base, rule: 'momentum' });
    check(Prim.OptimizerUpdate, [[[7, 3], 'f64'], [[7, 3], 'f64'], [[7, 3], 'f64']], { ...base, rule: 'nesterov' });
    check(Prim.OptimizerUpdate, [[[11]], [[11]], [[11]], [[11]]], { ...base, rule: 'adam' });
  });
  it('optimizerUpdate with a weight-decay input last, every rule, f32 and f64', () => {
    const base = { lr: 0.01, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: 3 };
    check(Prim.OptimizerUpdate, [[[784, 100]], [[784, 100]], [[784, 100]]], { ...base, rule: 'sgd' });
    check(Prim.OptimizerUpdate, [[[7, 3]], [[7, 3]], [[7, 3]], [[7, 3]]], { ...base, rule: 'momentum' });
    check(Prim.OptimizerUpdate, [[[7, 3], 'f64'], [[7, 3], 'f64'], [[7, 3], 'f64'], [[7, 3], 'f64']], { ...base, rule: 'nesterov' });
    check(Prim.OptimizerUpdate, [[[11]], [[11]], [[11]], [[11]], [[11]]], { ...base, rule: 'adam' });
    check(Prim.OptimizerUpdate, [[[12]], [[12], 'f32', SPECIAL], [[12], 'f32', [...SPECIAL].reverse()]], { ...base, rule: 'sgd' });
  });
});

describe('worker threads (opt-in): bit-identical to one thread', () => {
  afterAll(() => configureFastCpuThreads({ workers: 0, minParallelFlops: 8e6 }));
  it('a worker takes chunks of large GEMMs, results equal the oracle exactly', async () => {
    configureFastCpuThreads({ workers: 1, minParallelFlops: 0 });
    const ready = await fastCpuThreadsReady();
    expect(ready).toBe(1);
    const before = fastCpuThreadStats();
    // On a loaded machine the worker may be starved for a while: keep going (every round is
    // checked exactly) until it has taken chunks, within a bound.
    for (let rep = 0; rep < 40 && (rep < 4 || fastCpuThreadStats().workerChunks === before.workerChunks); rep++) {
      check(Prim.Matmul, [[[600, 257]], [[257, 130]]], { transA: false, transB: false });
      check(Prim.Matmul, [[[129, 301], 'f64'], [[77, 129], 'f64']], { transA: true, transB: true });
      check(Prim.Matmul, [[[3, 41, 37]], [[3, 37, 43]]], { transA: false, transB: false });
    }
    check(Prim.Conv2d, [[[2, 3, 20, 20]], [[8, 3, 3, 3]]], { stride: [1, 1], padding: [1, 1], dilation: [1, 1] }, F32_TOL);
    const after = fastCpuThreadStats();
    expect(after.disabled).toBe(false);
    expect(after.parallelJobs).toBeGreaterThan(before.parallelJobs);
    expect(after.workerChunks).toBeGreaterThan(before.workerChunks);
  });
});
