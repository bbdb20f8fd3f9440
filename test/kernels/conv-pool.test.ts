// Convolution (implicit GEMM: forward, input gradient, filter gradient) and max pooling
// (forward, first-maximum gradient) WGSL kernels against the CPU oracle on real WebGPU:
// 1x1 filters, the MNIST CNN's two 3x3 layers, stride, padding, dilation, odd sizes, more
// than one column tile, split reductions, and pooling inputs with and without ties.
// Each geometry is one pipeline per primitive (~0.3 s to compile on lavapipe), so the
// geometries are few and each one exercises several features.
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2d, maxPool2d, type Tensor } from '@alphadrop/core';
import { Prim, apply, sizeOf, windowOut } from '@alphadrop/core/backend';
import { convProblem, gemmOf, tiling } from '../../packages/kernels/src/kernels/conv.js';
import { coversItsPrimitives, getTestBackend, gpuCase, rand, randInt, type Tolerance } from '../helpers/webgpu.js';

beforeAll(async () => {
  await getTestBackend();
});

type Quad = [number, number, number, number];
type Pair = [number, number];

interface ConvCase {
  name: string;
  x: Quad;
  w: Quad;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

const convCases: ConvCase[] = [
  { name: '1x1 filter, stride 2', x: [2, 7, 9, 9], w: [10, 7, 1, 1], stride: [2, 2] },
  { name: 'MNIST conv1: x [4,1,28,28], w [32,1,3,3]', x: [4, 1, 28, 28], w: [32, 1, 3, 3] },
  { name: 'MNIST conv2: x [2,32,26,26], w [32,32,3,3]', x: [2, 32, 26, 26], w: [32, 32, 3, 3] },
  { name: 'odd sizes: N 3, C 5, 11x7, O 6, 3x2 filter, stride 2, padding 1', x: [3, 5, 11, 7], w: [6, 5, 3, 2], stride: [2, 2], padding: [1, 1] },
  // O = 70: two column tiles of 64, the last one ragged; stride 3 along W only
  { name: 'dilation 2, padding 2x1, stride 1x3, O = 70', x: [2, 3, 12, 11], w: [70, 3, 3, 3], stride: [1, 3], padding: [2, 1], dilation: [2, 2] },
];

function geometry(c: ConvCase) {
  return { stride: c.stride ?? [1, 1], padding: c.padding ?? [0, 0], dilation: c.dilation ?? [1, 1] } as const;
}

function dyShape(c: ConvCase): Quad {
  const g = geometry(c);
  return [
    c.x[0],
    c.w[0],
    windowOut(c.x[2], c.w[2], g.stride[0], g.padding[0], g.dilation[0]),
    windowOut(c.x[3], c.w[3], g.stride[1], g.padding[1], g.dilation[1]),
  ];
}

/** f32 accumulation against the float64 oracle: the error grows with the reduction length. */
const tolFor = (terms: number): Tolerance => ({ rtol: 1e-4, atol: 2e-6 * Math.sqrt(terms) + 1e-6 });

describe('conv2d family (implicit GEMM) vs the CPU oracle', () => {
  for (const [k, c] of convCases.entries()) {
    const g = geometry(c);
    const dy = dyShape(c);
    const taps = c.w[1] * c.w[2] * c.w[3];
    gpuCase(`conv2d: ${c.name}`, () => conv2d(rand(c.x, 10 + k), rand(c.w, 20 + k), g), tolFor(taps));
    gpuCase(`conv2dInputGrad: ${c.name}`, () =>
      apply(Prim.Conv2dInputGrad, [rand(dy, 30 + k), rand(c.w, 20 + k)], { ...g, inputShape: c.x }),
      tolFor(c.w[0] * c.w[2] * c.w[3]),
    );
    gpuCase(`conv2dFilterGrad: ${c.name}`, () =>
      apply(Prim.Conv2dFilterGrad, [rand(c.x, 10 + k), rand(dy, 30 + k)], { ...g, filterShape: c.w }),
      tolFor(dy[0] * dy[2] * dy[3]),
    );
  }

  it('the cases reach the tiling paths they are meant to test', () => {
    const tile = (c: ConvCase, prim: Prim.Conv2d | Prim.Conv2dInputGrad | Prim.Conv2dFilterGrad) => {
      const x = { shape: c.x, dtype: 'f32' as const };
      const w = { shape: c.w, dtype: 'f32' as const };
      const y = { shape: dyShape(c), dtype: 'f32' as const };
      const g = geometry(c);
      const p =
        prim === Prim.Conv2d
          ? convProblem(prim, [x, w], g, y)
          : prim === Prim.Conv2dInputGrad
            ? convProblem(prim, [y, w], { ...g, inputShape: c.x }, x)
            : convProblem(prim, [x, y], { ...g, filterShape: c.w }, w);
      const m = gemmOf(p);
      return tiling(m.M, m.N, m.K);
    };
    const mnist1 = convCases[1]!;
    const mnist2 = convCases[2]!;
    // many workgroups: 4·26·26 output pixels in 64-row tiles
    expect(tile(mnist1, Prim.Conv2d).rowTiles).toBeGreaterThan(40);
    // the filter gradients reduce over N·Ho·Wo in several parts, the last one ragged
    const split1 = tile(mnist1, Prim.Conv2dFilterGrad);
    expect(split1.split).toBeGreaterThan(1);
    expect(sizeOf(dyShape(mnist1).filter((_, i) => i !== 1)) % split1.chunk).not.toBe(0);
    expect(tile(mnist2, Prim.Conv2dFilterGrad).split).toBeGreaterThan(1);
    // more than one column tile
    expect(tile(convCases[4]!, Prim.Conv2d).colTiles).toBe(2);
    // narrow column layouts: 128x8 (O = 6), 128x4 (C = 3), 128x2 (C = 1)
    expect(tile(convCases[3]!, Prim.Conv2d).SY).toBe(8);
    expect(tile(convCases[4]!, Prim.Conv2dInputGrad).SY).toBe(4);
    expect(tile(mnist1, Prim.Conv2dInputGrad).SY).toBe(2);
  });
});

describe('maxPool2d and its gradient vs the CPU oracle', () => {
  const pools: { name: string; x: Quad; kernel: Pair; stride: Pair; padding: Pair }[] = [
    { name: '2x2 stride 2 on odd 7x9', x: [2, 3, 7, 9], kernel: [2, 2], stride: [2, 2], padding: [0, 0] },
    { name: '3x3 stride 1 padding 1 on 8x7', x: [2, 3, 8, 7], kernel: [3, 3], stride: [1, 1], padding: [1, 1] },
  ];
  const pool = (x: Tensor, p: (typeof pools)[number]) => maxPool2d(x, p.kernel, { stride: p.stride, padding: p.padding });
  const grad = (x: Tensor, p: (typeof pools)[number], seed: number) => {
    const y = pool(x, p);
    return apply(Prim.MaxPool2dGrad, [x, rand(y.shape, seed)], { kernel: p.kernel, stride: p.stride, padding: p.padding });
  };
  const exact: Tolerance = { rtol: 0, atol: 0 };
  for (const p of pools) {
    // distinct values (no ties), negative ones included so padding must read as -inf
    gpuCase(`maxPool2d ${p.name}`, () => pool(rand(p.x, 1), p), exact);
    gpuCase(`maxPool2dGrad ${p.name}`, () => grad(rand(p.x, 1), p, 2), { rtol: 1e-6, atol: 1e-7 });
    // values in {0, 1, 2}: most windows hold ties, and dy must go to each window's first maximum
    gpuCase(`maxPool2d ${p.name}, ties`, () => pool(randInt(p.x, 3, 0, 2, 'f32'), p), exact);
    gpuCase(`maxPool2dGrad ${p.name}, ties`, () => grad(randInt(p.x, 3, 0, 2, 'f32'), p, 4), { rtol: 1e-6, atol: 1e-7 });
  }
  // All equal: every window's maximum is its first element inside the input.
  gpuCase('maxPool2dGrad 3x3 stride 1 padding 1, all ties', () => grad(randInt(pools[1]!.x, 5, 1, 1, 'f32'), pools[1]!, 6), { rtol: 1e-6, atol: 1e-7 });
});

coversItsPrimitives('conv-pool');
