// The WGSL table: one kernel module (runtime/kernel-module.ts) per core primitive. A mapped
// type over the Prim enum, so a primitive without a GPU kernel does not compile.

import { Prim } from '@alphadrop/core/backend';
import { specModule, type KernelTable } from './runtime/kernel-module.js';
import { binaryModules, castPlan, comparePlan, copyPlan, unaryModules, wherePlan } from './kernels/elementwise.js';
import { argmaxModule, maxModule, sumModule } from './kernels/reduce.js';
import { matmulModule } from './kernels/matmul.js';
import { randomBitsModule } from './kernels/random.js';
import { bbAlphaLossGradModule, bbAlphaLossModule } from './kernels/bbalpha.js';
import { dropoutModule, fusedMatmulModule, logSumExpModule, optimizerModule } from './kernels/fused.js';
import { conv2dFilterGradModule, conv2dInputGradModule, conv2dModule } from './kernels/conv.js';
import { maxPool2dGradModule, maxPool2dModule } from './kernels/pool.js';
import { concatModule, padModule, permuteModule, sliceModule } from './kernels/movement.js';
import { gatherModule, oneHotModule, scatterAddModule } from './kernels/gather.js';

export const gpuKernels: KernelTable = {
  ...unaryModules,
  ...binaryModules,
  [Prim.Compare]: specModule(Prim.Compare, comparePlan),
  [Prim.Where]: specModule(Prim.Where, wherePlan),
  [Prim.Sum]: sumModule,
  [Prim.Max]: maxModule,
  [Prim.Argmax]: argmaxModule,
  [Prim.Matmul]: matmulModule,
  [Prim.Conv2d]: conv2dModule,
  [Prim.Conv2dInputGrad]: conv2dInputGradModule,
  [Prim.Conv2dFilterGrad]: conv2dFilterGradModule,
  [Prim.MaxPool2d]: maxPool2dModule,
  [Prim.MaxPool2dGrad]: maxPool2dGradModule,
  [Prim.Reshape]: specModule(Prim.Reshape, copyPlan('reshape')),
  [Prim.Permute]: permuteModule,
  [Prim.Expand]: specModule(Prim.Expand, copyPlan('expand')),
  [Prim.Slice]: sliceModule,
  [Prim.Pad]: padModule,
  [Prim.Concat]: concatModule,
  [Prim.Gather]: gatherModule,
  [Prim.ScatterAdd]: scatterAddModule,
  [Prim.OneHot]: oneHotModule,
  [Prim.Cast]: specModule(Prim.Cast, castPlan),
  [Prim.RandomBits]: randomBitsModule,
  [Prim.FusedMatmul]: fusedMatmulModule,
  [Prim.Dropout]: dropoutModule,
  [Prim.LogSumExp]: logSumExpModule,
  [Prim.OptimizerUpdate]: optimizerModule,
  [Prim.BBAlphaLoss]: bbAlphaLossModule,
  [Prim.BBAlphaLossGrad]: bbAlphaLossGradModule,
};
