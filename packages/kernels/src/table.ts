// The WGSL table: one kernel builder per core primitive. A mapped type over the Prim enum,
// so a primitive without a GPU kernel does not compile.

import { DeviceError, Prim, type PrimParams } from '@alphadrop/core';
import type { GpuKernel } from './runtime/plan.js';
import { binaryPlan, castPlan, comparePlan, copyPlan, unaryPlan, wherePlan } from './kernels/elementwise.js';
import { reducePlan } from './kernels/reduce.js';
import { matmulPlan } from './kernels/matmul.js';
import { randomBitsPlan, randomUniformBlock } from './kernels/random.js';
import { bbAlphaLossGradPlan, bbAlphaLossPlan } from './kernels/bbalpha.js';
import { dropoutBlock, dropoutPlan, fusedMatmulPlan, logSumExpPlan, optimizerBlock, optimizerPlan } from './kernels/fused.js';
import { conv2dFilterGradPlan, conv2dInputGradPlan, conv2dPlan } from './kernels/conv.js';
import { maxPool2dGradPlan, maxPool2dPlan } from './kernels/pool.js';
import { concatPlan, padPlan, permutePlan, slicePlan } from './kernels/movement.js';
import { gatherPlan, oneHotPlan, scatterAddPlan } from './kernels/gather.js';

const pending =
  (prim: Prim): GpuKernel<Prim> =>
  () => {
    throw new DeviceError(`webgpu ${prim}`, 'a WGSL kernel', 'none yet');
  };

export const gpuKernels: { [P in Prim]: GpuKernel<P> } = {
  [Prim.Neg]: unaryPlan(Prim.Neg),
  [Prim.Exp]: unaryPlan(Prim.Exp),
  [Prim.Log]: unaryPlan(Prim.Log),
  [Prim.Log1p]: unaryPlan(Prim.Log1p),
  [Prim.Sqrt]: unaryPlan(Prim.Sqrt),
  [Prim.Abs]: unaryPlan(Prim.Abs),
  [Prim.Sign]: unaryPlan(Prim.Sign),
  [Prim.Floor]: unaryPlan(Prim.Floor),
  [Prim.Relu]: unaryPlan(Prim.Relu),
  [Prim.Sigmoid]: unaryPlan(Prim.Sigmoid),
  [Prim.Tanh]: unaryPlan(Prim.Tanh),
  [Prim.Reciprocal]: unaryPlan(Prim.Reciprocal),
  [Prim.Sin]: unaryPlan(Prim.Sin),
  [Prim.Cos]: unaryPlan(Prim.Cos),
  [Prim.Add]: binaryPlan(Prim.Add),
  [Prim.Sub]: binaryPlan(Prim.Sub),
  [Prim.Mul]: binaryPlan(Prim.Mul),
  [Prim.Div]: binaryPlan(Prim.Div),
  [Prim.Pow]: binaryPlan(Prim.Pow),
  [Prim.Maximum]: binaryPlan(Prim.Maximum),
  [Prim.Minimum]: binaryPlan(Prim.Minimum),
  [Prim.Compare]: comparePlan,
  [Prim.Where]: wherePlan,
  [Prim.Sum]: (inputs, p: PrimParams[Prim.Sum], out) => reducePlan('sum', inputs[0]!, p.axes, out),
  [Prim.Max]: (inputs, p: PrimParams[Prim.Max], out) => reducePlan('max', inputs[0]!, p.axes, out),
  [Prim.Argmax]: (inputs, p: PrimParams[Prim.Argmax], out) => reducePlan('argmax', inputs[0]!, [p.axis], out),
  [Prim.Matmul]: matmulPlan,
  [Prim.Conv2d]: conv2dPlan,
  [Prim.Conv2dInputGrad]: conv2dInputGradPlan,
  [Prim.Conv2dFilterGrad]: conv2dFilterGradPlan,
  [Prim.MaxPool2d]: maxPool2dPlan,
  [Prim.MaxPool2dGrad]: maxPool2dGradPlan,
  [Prim.Reshape]: copyPlan('reshape'),
  [Prim.Permute]: permutePlan,
  [Prim.Expand]: copyPlan('expand'),
  [Prim.Slice]: slicePlan,
  [Prim.Pad]: padPlan,
  [Prim.Concat]: concatPlan,
  [Prim.Gather]: gatherPlan,
  [Prim.ScatterAdd]: scatterAddPlan,
  [Prim.OneHot]: oneHotPlan,
  [Prim.Cast]: castPlan,
  [Prim.RandomBits]: randomBitsPlan,
  [Prim.FusedMatmul]: fusedMatmulPlan,
  [Prim.Dropout]: dropoutPlan,
  [Prim.LogSumExp]: logSumExpPlan,
  [Prim.OptimizerUpdate]: optimizerPlan,
  [Prim.BBAlphaLoss]: bbAlphaLossPlan,
  [Prim.BBAlphaLossGrad]: bbAlphaLossGradPlan,
};

/**
 * Primitives whose parameters include run-time values (RNG coordinates, learning rates):
 * `key` is the part that shapes the WGSL (the plan cache key) and `uniforms` rebuilds just
 * the per-program uniform blocks, so a new step reuses the cached plan and pipeline.
 * Keys are serialised by planKey (runtime/plan-key.ts), which tells ±0, ±Infinity and NaN
 * apart: any plain value may go in a key.
 */
export const gpuDynamic: { [P in Prim]?: { key(p: PrimParams[P]): unknown; uniforms(p: PrimParams[P]): (Uint32Array | undefined)[] } } = {
  [Prim.RandomBits]: { key: (p) => [p.shape, p.kind, p.dtype], uniforms: (p) => [randomUniformBlock(p)] },
  [Prim.Dropout]: { key: (p) => p.keepProb, uniforms: (p) => [dropoutBlock(p)] },
  [Prim.FusedMatmul]: {
    key: (p) => [p.transA, p.transB, p.bias, p.activation, p.dropout ? p.dropout.keepProb : null],
    uniforms: (p) => [p.dropout ? dropoutBlock(p.dropout) : undefined],
  },
  [Prim.OptimizerUpdate]: { key: (p) => p.rule, uniforms: (p) => [optimizerBlock(p)] },
};
