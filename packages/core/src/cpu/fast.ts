// The optimised CPU kernels: typed-array loops with fast paths for the shapes that matter
// (contiguous elementwise, same-shape and row/column broadcasts, last-axis reductions,
// register-blocked matmul, im2col convolution). Tested against the oracle (reference.ts)
// in test/core/cpu-fast.test.ts. Primitives missing here run the oracle's implementation:
// reshape (the engine never sends it to a backend), oneHot (already one O(n) pass), and the
// fused BB-α loss and its gradient (bbAlphaLoss, bbAlphaLossGrad: one pass over the
// [M, K, C] logits, small beside the matmuls that produce them).
//
//   fast/gemm.ts        packed-panel GEMM over gemm-tiles.ts's 4×4 register-blocked micro-kernel
//   fast/workers.ts     optional worker threads for large GEMMs (opt-in, Node only)
//   fast/matmul.ts      batched/broadcast matmul with transA/transB over the GEMM
//   fast/conv.ts        im2col convolution and both gradients, max-pooling
//   fast/elementwise.ts unary and broadcast binary (loops compiled per record), compare, where
//   fast/reduce.ts      sum / max / argmax
//   fast/movement.ts    permute, expand, slice, pad, concat, gather, scatterAdd, cast
//   fast/random.ts      Philox random bits (bit-identical to random/philox.ts)
//   fast/fused.ts       dropout, logsumexp, optimizer update (FusedMatmul is in matmul.ts)
//
// Measured on the 2-vCPU AMD EPYC (Zen 4) dev machine, Node 20, f32, one thread, quiet
// machine: the GEMM runs at 4.2-4.6 GFLOP/s on 128..1024 squares and on the MLP's
// 1280×784·784×100 shapes (forward and both transposed backward forms), 2.8-3.5 where K or
// N is 10 or 100. That is about the ceiling of plain JS here: V8 re-checks the map, bounds
// and base pointer of every typed-array load, and other tile shapes (2×4 … 8×8), unrolling
// and single-buffer panels measured the same. Threads did not pay on that machine (its two
// vCPUs share roughly one core's FP throughput: two compute-bound processes each run 1.9×
// slower), so the pool is off unless ALPHADROP_CPU_WORKERS or configureFastCpuThreads
// turns it on.
//
// Two V8 lessons the kernels follow: data-dependent selections (dropout masks, ReLU) are
// written branch-free (elementwise.ts header), and hot loops read constants from locals,
// not module-level bindings (random.ts).

import { Prim } from '../prims.js';
import type { CpuKernelTable } from './backend.js';
import { conv2d, conv2dFilterGrad, conv2dInputGrad, maxPool2d, maxPool2dGrad } from './fast/conv.js';
import { binaryKernels, compare, unaryKernels, where } from './fast/elementwise.js';
import { fusedMatmul, matmul } from './fast/matmul.js';
import { dropout, logSumExp, optimizerUpdate } from './fast/fused.js';
import { randomBits } from './fast/random.js';
import { cast, concat, expand, gather, pad, permute, scatterAdd, slice } from './fast/movement.js';
import { argmax, max, sum } from './fast/reduce.js';

export { configureFastCpuThreads, fastCpuThreadStats, fastCpuThreadsReady } from './fast/workers.js';
export type { FastCpuThreadOptions, FastCpuThreadStats } from './fast/workers.js';

export const fastKernels: Partial<CpuKernelTable> = {
  ...unaryKernels,
  ...binaryKernels,
  [Prim.Compare]: compare,
  [Prim.Where]: where,
  [Prim.Sum]: sum,
  [Prim.Max]: max,
  [Prim.Argmax]: argmax,
  [Prim.Matmul]: matmul,
  [Prim.Conv2d]: conv2d,
  [Prim.Conv2dInputGrad]: conv2dInputGrad,
  [Prim.Conv2dFilterGrad]: conv2dFilterGrad,
  [Prim.MaxPool2d]: maxPool2d,
  [Prim.MaxPool2dGrad]: maxPool2dGrad,
  [Prim.Permute]: permute,
  [Prim.Expand]: expand,
  [Prim.Slice]: slice,
  [Prim.Pad]: pad,
  [Prim.Concat]: concat,
  [Prim.Gather]: gather,
  [Prim.ScatterAdd]: scatterAdd,
  [Prim.Cast]: cast,
  [Prim.RandomBits]: randomBits,
  [Prim.FusedMatmul]: fusedMatmul,
  [Prim.Dropout]: dropout,
  [Prim.LogSumExp]: logSumExp,
  [Prim.OptimizerUpdate]: optimizerUpdate,
};
