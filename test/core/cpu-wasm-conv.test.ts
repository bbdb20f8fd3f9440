// The f32 convolution kernels on the WebAssembly SIMD GEMM (packages/core/src/cpu/wasm/conv.ts),
// merged over the fast kernels as the 'wasm' CPU kind merges them, against the oracle
// (cpu/reference.ts) within the f32 rounding bound of their sums: |Δ| ≤ (R + 3)·2⁻²⁴·Σ|terms|
// + 2·2⁻²⁴·|result|, R the longest f32 sum (forward: C·KH·KW; input gradient: O·KH·KW;
// filter gradient: one sample's HO·WO), Σ|terms| computed by the oracle itself on the
// absolute values. Geometries cover stride 1 and 2, padding, dilation, odd sizes, 1×1
// filters, C = 1 and C > 1, batch 1 and > 1, and both column layouts (wide: CKK > O with unit
// stride; compact otherwise) and both input-gradient forms (flipped filter: unit stride and
// C ≥ 4; col2im otherwise). f64 operands must give the fast kernels' bits; non-finite values
// the oracle's NaN/Inf pattern; results are deterministic, and per-sample results do not
// depend on the batch they came in.

import { beforeAll, describe, expect, it } from 'vitest';
import type { DType, HostArray } from '@alphadrop/core';
import { Prim, allocHost, fastKernels, referenceKernels, shapeRules, type CpuKernel, type CpuOperand, type PrimParams } from '@alphadrop/core/backend';
import { prng } from '../helpers/gradcheck.js';
import { ensureWasmKernels, expectClose } from '../helpers/wasm.js';

type ConvPrim = Prim.Conv2d | Prim.Conv2dInputGrad | Prim.Conv2dFilterGrad;
type Geo = PrimParams[Prim.Conv2d];
type Dims4 = [number, number, number, number];

let table: { [P in ConvPrim]: CpuKernel<P> };

beforeAll(async () => {
  ensureWasmKernels();
  const { wasmConvKernels } = await import('../../packages/core/src/cpu/wasm/conv.js');
  const merged = { ...fastKernels, ...wasmConvKernels };
  table = {
    [Prim.Conv2d]: merged[Prim.Conv2d]!,
    [Prim.Conv2dInputGrad]: merged[Prim.Conv2dInputGrad]!,
    [Prim.Conv2dFilterGrad]: merged[Prim.Conv2dFilterGrad]!,
  };
  expect(table[Prim.Conv2d]).not.toBe(fastKernels[Prim.Conv2d]);
}, 120_000);

const U = 2 ** -24;

/** Seeded values in [-2, 2) stored in `dtype`, with `specials` written at the given flat indices. */
function operand(shape: readonly number[], dtype: DType, seed: number, specials: [number, number][] = []): CpuOperand {
  const r = prng(seed);
  const storage = allocHost(dtype, shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < storage.length; i++) storage[i] = 4 * r() - 2;
  for (const [at, v] of specials) storage[at] = v;
  return { storage, shape: [...shape], dtype };
}

const absOf = (o: CpuOperand): CpuOperand => ({ ...o, storage: o.storage.map(Math.abs) as HostArray });

function run<P extends ConvPrim>(kernel: CpuKernel<P>, prim: P, ops: CpuOperand[], params: PrimParams[P]): HostArray {
  return kernel(ops, params, shapeRules[prim](ops, params));
}

/** The wasm table's result against the oracle within the f32 bound for a longest sum of R terms. */
function checkF32<P extends ConvPrim>(prim: P, ops: CpuOperand[], params: PrimParams[P], R: number, what: string): HostArray {
  const got = run(table[prim], prim, ops, params);
  const want = run(referenceKernels[prim], prim, ops, params);
  const scale = run(referenceKernels[prim], prim, ops.map(absOf), params);
  const tol = Float64Array.from(scale, (s, i) => (R + 3) * U * s + 2 * U * Math.abs(want[i]!));
  expectClose(got, want, tol, what);
  return got;
}

/** The three primitives of one geometry: x [N, C, H, W], w [O, C, KH, KW]. */
function geometry(x: Dims4, w: Dims4, g: Geo) {
  const yShape = shapeRules[Prim.Conv2d]([{ shape: x, dtype: 'f32' }, { shape: w, dtype: 'f32' }], g).shape as Dims4;
  const [O, C, KH, KW] = w;
  return {
    yShape,
    input: { ...g, inputShape: x } as PrimParams[Prim.Conv2dInputGrad],
    filter: { ...g, filterShape: w } as PrimParams[Prim.Conv2dFilterGrad],
    R: { forward: C * KH * KW, input: O * KH * KW, filter: yShape[2] * yShape[3] },
  };
}

const geo = (stride: [number, number], padding: [number, number], dilation: [number, number] = [1, 1]): Geo => ({ stride, padding, dilation });

// [x, w, geometry, what the kernels do with it]
const CASES: [Dims4, Dims4, Geo, string][] = [
  [[2, 3, 9, 11], [4, 3, 3, 3], geo([1, 1], [0, 0]), 'wide columns, col2im (C < 4)'],
  [[1, 2, 10, 7], [3, 2, 3, 2], geo([2, 1], [1, 2]), 'strided, padded: compact, col2im'],
  [[2, 1, 13, 13], [5, 1, 5, 5], geo([3, 2], [2, 2]), 'C = 1, strides 3 and 2'],
  [[1, 3, 12, 9], [2, 3, 3, 3], geo([1, 2], [2, 1], [2, 3]), 'dilated, mixed strides'],
  [[3, 5, 6, 7], [4, 5, 1, 1], geo([1, 1], [0, 0]), '1×1: wide, flipped'],
  [[2, 6, 7, 9], [5, 6, 3, 2], geo([1, 1], [1, 0], [2, 1]), 'unit stride, padded, dilated: wide, flipped'],
  [[1, 2, 5, 5], [3, 2, 2, 2], geo([1, 1], [2, 2]), 'padding beyond the filter: col2im'],
  [[3, 6, 11, 10], [7, 6, 3, 3], geo([2, 2], [1, 1]), 'strided: compact, col2im, ragged panels'],
  [[2, 4, 9, 8], [40, 4, 2, 2], geo([1, 1], [1, 0]), 'O > CKK: compact into y, flipped with C = 4'],
  [[2, 8, 7, 7], [4, 8, 3, 3], geo([1, 1], [1, 1]), 'same padding: wide, flipped'],
  [[3, 1, 28, 28], [32, 1, 3, 3], geo([1, 1], [0, 0]), 'the paper\'s conv1'],
  [[2, 32, 26, 26], [32, 32, 3, 3], geo([1, 1], [0, 0]), 'the paper\'s conv2'],
];

describe('wasm conv kernels against the oracle (f32)', () => {
  CASES.forEach(([x, w, g, what], i) =>
    it(`x ${x} w ${w} ${JSON.stringify(g)}: ${what}`, () => {
      const { yShape, input, filter, R } = geometry(x, w, g);
      const xs = operand(x, 'f32', 10 * i + 1);
      const ws = operand(w, 'f32', 10 * i + 2);
      const dy = operand(yShape, 'f32', 10 * i + 3);
      const y = checkF32(Prim.Conv2d, [xs, ws], g, R.forward, 'forward');
      expect(y.length).toBe(yShape.reduce((a, b) => a * b, 1));
      checkF32(Prim.Conv2dInputGrad, [dy, ws], input, R.input, 'input gradient');
      checkF32(Prim.Conv2dFilterGrad, [xs, dy], filter, R.filter, 'filter gradient');
    }),
  );
});

describe('wasm conv kernels: f64, non-finite values, determinism', () => {
  it('f64 operands give the fast kernels\' bits', () => {
    for (const [x, w, g] of CASES.slice(0, 10)) {
      const { yShape, input, filter } = geometry(x, w, g);
      const xs = operand(x, 'f64', 7);
      const ws = operand(w, 'f64', 8);
      const dy = operand(yShape, 'f64', 9);
      const pairs: [ConvPrim, CpuOperand[], PrimParams[ConvPrim]][] = [
        [Prim.Conv2d, [xs, ws], g],
        [Prim.Conv2dInputGrad, [dy, ws], input],
        [Prim.Conv2dFilterGrad, [xs, dy], filter],
      ];
      for (const [prim, ops, params] of pairs) {
        const got = run(table[prim] as CpuKernel<ConvPrim>, prim, ops, params);
        expect(got).toBeInstanceOf(Float64Array);
        expectClose(got, run(fastKernels[prim] as CpuKernel<ConvPrim>, prim, ops, params), null, `${prim} f64 ${x} ${w}`);
      }
    }
  });

  it('an Inf or NaN input gives the oracle\'s pattern (the wide filter gradient steps aside)', () => {
    // Unit stride, CKK > O: the wide layout. Inf in the last column is read by the dropped
    // columns of the wide matrix (paired with zeros there); NaN in another sample's last channel.
    const x: Dims4 = [2, 3, 8, 9];
    const w: Dims4 = [4, 3, 3, 3];
    const g = geo([1, 1], [0, 0]);
    const { yShape, input, filter, R } = geometry(x, w, g);
    const xs = operand(x, 'f32', 21, [[8, Infinity], [216 + 2 * 72 + 40, NaN]]);
    const ws = operand(w, 'f32', 22);
    const dy = operand(yShape, 'f32', 23);
    checkF32(Prim.Conv2d, [xs, ws], g, R.forward, 'forward, non-finite x');
    const dW = checkF32(Prim.Conv2dFilterGrad, [xs, dy], filter, R.filter, 'filter gradient, non-finite x');
    expect(dW.some((v) => v === Infinity || v === -Infinity)).toBe(true);
    // A non-finite filter on the col2im input gradient (C < 4): the oracle's rule, where the
    // zeros beyond dy's edge meet it too (0·Inf = NaN), which col2im alone would not produce.
    const wInf = operand(w, 'f32', 24, [[5, -Infinity]]);
    const dx = checkF32(Prim.Conv2dInputGrad, [dy, wInf], input, R.input, 'input gradient, non-finite filter');
    expect(dx.some((v) => Number.isNaN(v))).toBe(true);
    // A non-finite filter on the flipped input gradient: the padding zeros meet it (0·Inf = NaN).
    const x8: Dims4 = [1, 4, 6, 6];
    const w8: Dims4 = [3, 4, 3, 3];
    const g8 = geometry(x8, w8, g);
    const dy8 = operand(g8.yShape, 'f32', 25);
    checkF32(Prim.Conv2dInputGrad, [dy8, operand(w8, 'f32', 26, [[0, Infinity]])], g8.input, g8.R.input, 'flipped input gradient, non-finite filter');
  });

  it('the same bits twice, and per sample whatever the batch (forward and input gradient)', () => {
    const cases: [Dims4, Dims4, Geo][] = [
      [[4, 32, 12, 12], [32, 32, 3, 3], geo([1, 1], [0, 0])], // wide, flipped
      [[4, 1, 14, 14], [32, 1, 3, 3], geo([1, 1], [0, 0])], // compact, col2im
      [[4, 5, 9, 8], [6, 5, 3, 3], geo([2, 1], [1, 1])], // strided, padded
    ];
    for (const [x, w, g] of cases) {
      const { yShape, input, filter } = geometry(x, w, g);
      const xs = operand(x, 'f32', 31);
      const ws = operand(w, 'f32', 32);
      const dy = operand(yShape, 'f32', 33);
      const twice = <P extends ConvPrim>(prim: P, ops: CpuOperand[], params: PrimParams[P]) =>
        expectClose(run(table[prim], prim, ops, params), run(table[prim], prim, ops, params), null, `${prim} twice ${x}`);
      twice(Prim.Conv2d, [xs, ws], g);
      twice(Prim.Conv2dInputGrad, [dy, ws], input);
      twice(Prim.Conv2dFilterGrad, [xs, dy], filter);
      // Halves of the batch on their own give the whole batch's bits.
      const half = (o: CpuOperand, part: 0 | 1): CpuOperand => {
        const n = o.storage.length / 2;
        return { ...o, shape: [o.shape[0]! / 2, ...o.shape.slice(1)], storage: o.storage.slice(part * n, (part + 1) * n) as HostArray };
      };
      const whole = run(table[Prim.Conv2d], Prim.Conv2d, [xs, ws], g);
      const halves = [0, 1].map((p) => run(table[Prim.Conv2d], Prim.Conv2d, [half(xs, p as 0 | 1), ws], g));
      expectClose(whole, Float32Array.from([...halves[0]!, ...halves[1]!]), null, `forward 2N = N + N ${x}`);
      const halfInput = { ...input, inputShape: [x[0] / 2, x[1], x[2], x[3]] as Dims4 };
      const dxWhole = run(table[Prim.Conv2dInputGrad], Prim.Conv2dInputGrad, [dy, ws], input);
      const dxHalves = [0, 1].map((p) => run(table[Prim.Conv2dInputGrad], Prim.Conv2dInputGrad, [half(dy, p as 0 | 1), ws], halfInput));
      expectClose(dxWhole, Float32Array.from([...dxHalves[0]!, ...dxHalves[1]!]), null, `input gradient 2N = N + N ${x}`);
    }
  });
});
