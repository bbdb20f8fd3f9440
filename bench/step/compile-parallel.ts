// Entry: does pipeline creation run in parallel? N distinct GEMM shaders (the generator's
// tile at N different shapes, so nothing is cached) are created one after another with
// createComputePipeline, then N others at once with createComputePipelineAsync and
// Promise.all. If the async path is faster by about the core count, a step's pipelines can
// be compiled ahead of its first run concurrently (what a first epoch pays today).
//   node compile-parallel.mjs [--n 24]

import { gemm, matmulKernel, wgslUtil } from '@alphadrop/kernels/modules';
import { numberFlag, parseFlags } from '../harness/cli.js';
import { benchDevice, describeAdapter, finish, printAdapter, writeOut } from '../harness/node.js';

const flags = parseFlags(process.argv.slice(2));
const N = numberFlag(flags, 'n', 24);

function shaders(first: number): string[] {
  return Array.from({ length: N }, (_, i) => {
    const g = { M: 1280, N: first + i, K: 784, transA: false, transB: false, batchShape: [], aBatch: [], bBatch: [] };
    return wgslUtil.withPrelude(matmulKernel.matmulProgram(g, gemm.NO_FUSION).code);
  });
}

const gpu = await benchDevice();
const { device } = gpu;
printAdapter(describeAdapter(gpu));
const t0 = performance.now();
for (const code of shaders(101)) device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } });
const syncMs = performance.now() - t0;
const t1 = performance.now();
await gpu.wait(Promise.all(shaders(101 + N).map((code) => device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code }), entryPoint: 'main' } }))));
const asyncMs = performance.now() - t1;
console.log(`${N} pipelines: one after another ${syncMs.toFixed(0)} ms (${(syncMs / N).toFixed(1)} ms each); all at once async ${asyncMs.toFixed(0)} ms (×${(syncMs / asyncMs).toFixed(2)})`);
writeOut('compile-parallel.json', JSON.stringify({ n: N, syncMs, asyncMs }));
await finish(gpu, 0);
