// Entry: the convolution ladder. The three implicit-GEMM products (forward, input gradient,
// filter gradient) on the MNIST CNN's layers, each version validated against core's CPU
// oracle before it is timed (bench/harness/module-ladder.ts):
//   v1  the generator's scalar tile with accumulators blocked per invocation (matmul's layout)
//   v2  the same tile, accumulators strided by the invocation grid, invocations running along
//       output pixels (contiguous in NCHW): the version conv.ts ships
// Flags: --quick (tiny shapes, one timing each: for lavapipe)  --min-ms 200  --tol 1e-5
// Writes $OUT/conv-ladder.json when OUT is set.

import { Prim, windowOut, type CpuOperand, type PrimParams } from '@alphadrop/core/backend';
import { convKernels, gemm, type KernelCall } from '@alphadrop/kernels/modules';
import { numberFlag, parseFlags } from '../harness/cli.js';
import { runModuleLadder, type ModuleCase, type ModuleVersion } from '../harness/module-ladder.js';
import { benchDevice, describeAdapter, finish, fmtG, lpad, pad, printAdapter, randomF32, writeOut } from '../harness/node.js';

const flags = parseFlags(process.argv.slice(2));
const quick = flags.quick === true;
const opts = { minMs: numberFlag(flags, 'min-ms', quick ? 0 : 200), maxReps: quick ? 1 : 65536, tol: numberFlag(flags, 'tol', 1e-5) };

type Quad = [number, number, number, number];
const f32 = (shape: Quad, seed: number): CpuOperand => ({ shape, dtype: 'f32', storage: randomF32(shape[0] * shape[1] * shape[2] * shape[3], seed) });

/** The forward conv of x [N, C, H, W] with w [O, C, kh, kw], stride 1, no padding. */
function forwardCase(label: string, x: Quad, w: Quad): ModuleCase<Prim.Conv2d> {
  const params: PrimParams[Prim.Conv2d] = { stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
  const y: Quad = [x[0], w[0], windowOut(x[2], w[2], 1, 0, 1), windowOut(x[3], w[3], 1, 0, 1)];
  return { label, inputs: [f32(x, 1), f32(w, 2)], params, out: { shape: y, dtype: 'f32' }, work: 2 * y[0] * y[1] * y[2] * y[3] * w[1] * w[2] * w[3] };
}

/** A version: conv.ts's GEMM with the tiling adjusted by `tweak`. */
function version(name: string, tweak: (t: gemm.ScalarTiling) => gemm.ScalarTiling): ModuleVersion<Prim.Conv2d> {
  return {
    name,
    plan: ({ inputs, params, out }: KernelCall<Prim.Conv2d>) => {
      const spec = convKernels.gemmOf(convKernels.convProblem(Prim.Conv2d, inputs, params, out));
      const t = convKernels.tiling(spec.M, spec.N, spec.K);
      const p = gemm.scalarGemm(spec, tweak(convKernels.scalarTiling(t)));
      return { programs: [{ name, code: p.code, workgroups: p.workgroups, bindings: ['in0', 'in1', 'out'] }] };
    },
  };
}

const versions = [
  version('v1 blocked', (t) => ({ ...t, layout: 'blocked', fastOut: 'cols' })),
  version('v2 strided (shipped)', (t) => t),
];

const cases = quick
  ? [forwardCase('x [2,3,9,9] w [5,3,3,3]', [2, 3, 9, 9], [5, 3, 3, 3])]
  : [forwardCase('MNIST conv1 x [128,1,28,28] w [32,1,3,3]', [128, 1, 28, 28], [32, 1, 3, 3]), forwardCase('MNIST conv2 x [128,32,26,26] w [64,32,3,3]', [128, 32, 26, 26], [64, 32, 3, 3])];

const nd = await benchDevice();
printAdapter(describeAdapter(nd));
console.log(`\n${pad('version', 22)} ${pad('shape', 44)} ${pad('status', 14)} ${lpad('max err', 10)} ${lpad('GFLOP/s', 10)} ${lpad('ms/call', 10)}`);
const rows = await runModuleLadder(nd.device, convKernels.conv2dModule, versions, cases, { ...opts, wait: (p) => nd.wait(p) }, (r) =>
  console.log(
    `${pad(r.version, 22)} ${pad(r.shape, 44)} ${pad(r.result.status, 14)} ${lpad(r.result.maxErr?.toExponential(2) ?? '', 10)} ${lpad(r.gPerS !== undefined ? fmtG(r.gPerS) : '', 10)} ${lpad(r.result.msPerCall?.toPrecision(4) ?? '', 10)}${r.result.note ? `  ${r.result.note}` : ''}`,
  ),
);
writeOut('conv-ladder.json', JSON.stringify({ date: new Date().toISOString(), rows }, null, 1));
await finish(nd, rows.every((r) => r.result.status === 'ok') ? 0 : 1);
