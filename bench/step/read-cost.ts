// Entry: what one asynchronous read-back costs the host while work keeps being encoded
// (fit reads the loss and the finiteness flags every 10 steps). N reads of an [11] tensor
// are issued back to back without awaiting, as fit's loop does, and the host time of the
// issuing loop is reported per read, split into its parts:
//   engine read, cold     tensor.data(): flush, a staging buffer (created: none is free),
//                         copy, submit, mapAsync
//   engine read, warm     the same with N staging buffers already in the backend's list
//   copy + submit         the copy into a (pre-made) staging buffer and its submit only
//   mapAsync              mapAsync on N buffers whose copies were submitted earlier
//   node read-cost.mjs [--n 100]

import { setBackend, tensor } from '@alphadrop/core';
import { createWebGpuBackend } from '@alphadrop/kernels';
import { numberFlag, parseFlags } from '../harness/cli.js';
import { benchDevice, describeAdapter, finish, printAdapter } from '../harness/node.js';

const N = numberFlag(parseFlags(process.argv.slice(2)), 'n', 100);
const gpu = await benchDevice();
const { device } = gpu;
printAdapter(describeAdapter(gpu));
const backend = createWebGpuBackend(device, { adapterInfo: gpu.adapterInfo, guardWait: (p) => gpu.wait(p) });
setBackend(backend);
const x = tensor(new Float32Array(11).fill(1), [11]);
await backend.synchronize();
const perRead = (ms: number) => `${((1000 * ms) / N).toFixed(1)} µs/read`;

async function engineReads(): Promise<number> {
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++) pending.push(x.data());
  const ms = performance.now() - t0;
  await Promise.all(pending);
  return ms;
}
console.log(`engine read, cold: ${perRead(await engineReads())}`);
console.log(`engine read, warm: ${perRead(await engineReads())}`);

const MAP_READ = 0x0001, COPY_DST = 0x0008;
const staging = Array.from({ length: N }, () => device.createBuffer({ size: 64, usage: MAP_READ | COPY_DST }));
const src = (x.storage as { buffer: GPUBuffer }).buffer;
let t0 = performance.now();
for (let i = 0; i < N; i++) {
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging[i]!, 0, 44);
  device.queue.submit([enc.finish()]);
}
console.log(`copy + submit: ${perRead(performance.now() - t0)}`);
t0 = performance.now();
const maps = staging.map((b) => b.mapAsync(MAP_READ));
console.log(`mapAsync: ${perRead(performance.now() - t0)}`);
await gpu.wait(Promise.all(maps));
staging.forEach((b) => b.destroy());
x.dispose();
backend.destroy();
await finish(gpu, 0);
