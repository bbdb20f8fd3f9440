// Entry: the reduction ladder. Sum over the shapes a training step reduces (the bias
// gradient over 1280 rows, a loss over the batch, a row-wise sum), validated against core's
// CPU oracle before timing (bench/harness/module-ladder.ts). One version so far: reduce.ts's
// two strategies chosen by shape (one invocation per output, or one workgroup per output
// for long reductions with few outputs); a new version is one more entry in `versions`.
// Flags: --quick (tiny shapes, one timing each: for lavapipe)  --min-ms 200  --tol 1e-5
// Writes $OUT/reduce-ladder.json when OUT is set.

import { Prim, type CpuOperand } from '@alphadrop/core/backend';
import { planOf, reduceKernels, type KernelModule } from '@alphadrop/kernels/modules';
import { numberFlag, parseFlags } from '../harness/cli.js';
import { runModuleLadder, type ModuleCase } from '../harness/module-ladder.js';
import { benchDevice, describeAdapter, finish, fmtG, lpad, pad, printAdapter, randomF32, writeOut } from '../harness/node.js';

const flags = parseFlags(process.argv.slice(2));
const quick = flags.quick === true;
const opts = { minMs: numberFlag(flags, 'min-ms', quick ? 0 : 200), maxReps: quick ? 1 : 65536, tol: numberFlag(flags, 'tol', 1e-5) };

function sumCase(rows: number, cols: number, axis: 0 | 1): ModuleCase<Prim.Sum> {
  const x: CpuOperand = { shape: [rows, cols], dtype: 'f32', storage: randomF32(rows * cols, rows + cols) };
  return { label: `sum axis ${axis} of [${rows}, ${cols}]`, inputs: [x], params: { axes: [axis], keepDims: false }, out: { shape: [axis === 0 ? cols : rows], dtype: 'f32' }, work: rows * cols };
}

const cases = quick ? [sumCase(300, 7, 0), sumCase(9, 500, 1)] : [sumCase(1280, 100, 0), sumCase(1280, 784, 0), sumCase(1280, 10, 1), sumCase(1, 1 << 20, 1)];
const sum: KernelModule<Prim.Sum> = reduceKernels.sumModule;
const versions = [{ name: 'v1 thread | workgroup (shipped)', plan: (call: Parameters<typeof sum.problem>[0]) => planOf(sum, call) }];

const nd = await benchDevice();
printAdapter(describeAdapter(nd));
console.log(`\n${pad('version', 32)} ${pad('shape', 28)} ${pad('status', 14)} ${lpad('max err', 10)} ${lpad('Gelem/s', 10)} ${lpad('ms/call', 10)}`);
const rows = await runModuleLadder(nd.device, sum, versions, cases, { ...opts, wait: (p) => nd.wait(p) }, (r) =>
  console.log(
    `${pad(r.version, 32)} ${pad(r.shape, 28)} ${pad(r.result.status, 14)} ${lpad(r.result.maxErr?.toExponential(2) ?? '', 10)} ${lpad(r.gPerS !== undefined ? fmtG(r.gPerS) : '', 10)} ${lpad(r.result.msPerCall?.toPrecision(4) ?? '', 10)}${r.result.note ? `  ${r.result.note}` : ''}`,
  ),
);
writeOut('reduce-ladder.json', JSON.stringify({ date: new Date().toISOString(), rows }, null, 1));
await finish(nd, rows.every((r) => r.result.status === 'ok') ? 0 : 1);
