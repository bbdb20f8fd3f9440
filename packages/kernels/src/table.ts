// The WGSL table: one kernel builder per core primitive. A mapped type over the Prim enum,
// so a primitive without a GPU kernel does not compile.

import { DeviceError, Prim, type PrimParams } from '@alphadrop/core';
import type { GpuKernel } from './runtime/plan.js';
import { binaryPlan, castPlan, comparePlan, copyPlan, unaryPlan, wherePlan } from './kernels/elementwise.js';
import { reducePlan } from './kernels/reduce.js';
import { matmulPlan } from './kernels/matmul.js';
import { randomBitsPlan } from './kernels/random.js';

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
  [Prim.Conv2d]: pending(Prim.Conv2d),
  [Prim.Conv2dInputGrad]: pending(Prim.Conv2dInputGrad),
  [Prim.Conv2dFilterGrad]: pending(Prim.Conv2dFilterGrad),
  [Prim.MaxPool2d]: pending(Prim.MaxPool2d),
  [Prim.MaxPool2dGrad]: pending(Prim.MaxPool2dGrad),
  [Prim.Reshape]: copyPlan('reshape'),
  [Prim.Permute]: pending(Prim.Permute),
  [Prim.Expand]: copyPlan('expand'),
  [Prim.Slice]: pending(Prim.Slice),
  [Prim.Pad]: pending(Prim.Pad),
  [Prim.Concat]: pending(Prim.Concat),
  [Prim.Gather]: pending(Prim.Gather),
  [Prim.ScatterAdd]: pending(Prim.ScatterAdd),
  [Prim.OneHot]: pending(Prim.OneHot),
  [Prim.Cast]: castPlan,
  [Prim.RandomBits]: randomBitsPlan,
};
