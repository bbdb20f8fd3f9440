// Entry: what a dispatch costs when the work is trivial, split into Dawn's share and our
// runtime's. N (default 1000) one-element adds are encoded into one compute pass and
// submitted once; reported per dispatch: the CPU time to encode, and the wall time of
// encode + submit + wait. Also the round trip of one submit-and-wait (empty, and with one
// dispatch), the cost the engine pays at each flush or read-back.
//
//   raw Dawn, same bind group    setPipeline/setBindGroup/dispatch with one bind group
//   raw Dawn, per-op bind group  a fresh output buffer and bind group per dispatch, made
//                                ahead (what the engine's cache hands back in steady state)
//   raw Dawn, per-op creation    buffer + bind group created while encoding
//   engine add(x, y)             N independent `add(x, y)` on [1] tensors through the
//                                WebGpuBackend (results disposed), one synchronize()
//   engine chain z = add(z, y)   N dependent adds, then one synchronize(); result checked
//   replayed chain               the same chain as a traced step (core's trace): recorded
//                                once, then replayed (encode includes the replay's submit)
// Each row: --reps (default 7) repetitions after a warm-up; the median is reported.
// Writes $OUT/dispatch-overhead.json when OUT is set.

import { add, setBackend, tensor, trace, type Tensor } from '@alphadrop/core';
import { createWebGpuBackend } from '@alphadrop/kernels';
import { median, numberFlag, parseFlags } from '../harness/cli.js';
import { compilePipeline, readBuffer, Usage } from '../harness/ladder.js';
import { benchDevice, describeAdapter, finish, printAdapter, writeOut } from '../harness/node.js';

const flags = parseFlags(process.argv.slice(2));
const N = numberFlag(flags, 'n', 1000);
const REPS = numberFlag(flags, 'reps', 7);
const ROUND_TRIPS = numberFlag(flags, 'round-trips', 100);

const ADD_WGSL = `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(1)
fn main() { c[0] = a[0] + b[0]; }`;

interface Row {
  name: string;
  /** Per dispatch, µs (medians over repetitions). */
  encodeUs: number;
  wallUs: number;
  /** submit → done for the whole batch, ms. */
  waitMs: number;
  reps: number[];
  dispatches?: number;
  submits?: number;
}

const us = (ms: number) => ms * 1000;

async function measure(name: string, once: () => Promise<{ encodeMs: number; waitMs: number }>, extra: Partial<Row> = {}): Promise<Row> {
  await once(); // warm-up: pipeline compiles, pool fills
  const enc: number[] = [];
  const wait: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t = await once();
    enc.push(t.encodeMs);
    wait.push(t.waitMs);
    wall.push(t.encodeMs + t.waitMs);
  }
  const row: Row = { name, encodeUs: us(median(enc)) / N, wallUs: us(median(wall)) / N, waitMs: median(wait), reps: wall.map((w) => us(w) / N), ...extra };
  console.log(`${name.padEnd(34)} encode ${row.encodeUs.toFixed(2).padStart(8)} µs/dispatch   wall ${row.wallUs.toFixed(2).padStart(8)} µs/dispatch   (submit→done ${row.waitMs.toFixed(2)} ms for ${N})`);
  return row;
}

async function main(): Promise<void> {
  const gpu = await benchDevice();
  const { device } = gpu;
  const desc = describeAdapter(gpu);
  printAdapter(desc);
  console.log(`\n${N} one-element adds in one compute pass, one submit; median of ${REPS} repetitions\n`);

  const S = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;
  const mkBuf = (v: number) => {
    const b = device.createBuffer({ size: 16, usage: S });
    device.queue.writeBuffer(b, 0, new Float32Array([v, 0, 0, 0]));
    return b;
  };
  const a = mkBuf(1);
  const b = mkBuf(2);
  const c = mkBuf(0);
  const pipeline = await compilePipeline(device, ADD_WGSL, 'add1', (p) => gpu.wait(p));
  const layout = pipeline.getBindGroupLayout(0);
  const group = (x: GPUBuffer, y: GPUBuffer, z: GPUBuffer) =>
    device.createBindGroup({ layout, entries: [x, y, z].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const same = group(a, b, c);
  const outs = Array.from({ length: N }, () => mkBuf(0));
  const perOp = outs.map((o) => group(a, b, o));

  const rows: Row[] = [];
  const submitWait = async (cb: GPUCommandBuffer, t0: number) => {
    const t1 = performance.now();
    device.queue.submit([cb]);
    await gpu.wait(device.queue.onSubmittedWorkDone());
    return { encodeMs: t1 - t0, waitMs: performance.now() - t1 };
  };

  rows.push(await measure('raw Dawn, same bind group', async () => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < N; i++) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, same);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    return submitWait(enc.finish(), t0);
  }));

  rows.push(await measure('raw Dawn, per-op bind group', async () => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < N; i++) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, perOp[i]!);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    return submitWait(enc.finish(), t0);
  }));

  rows.push(await measure('raw Dawn, per-op creation', async () => {
    const made: GPUBuffer[] = [];
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < N; i++) {
      const o = device.createBuffer({ size: 16, usage: S });
      made.push(o);
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group(a, b, o));
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    const r = await submitWait(enc.finish(), t0);
    for (const o of made) o.destroy();
    return r;
  }));

  // The engine: ops recorded into the backend's open encoder, one flush at synchronize().
  const backend = createWebGpuBackend(device, { adapterInfo: gpu.adapterInfo, guardWait: (p) => gpu.wait(p) });
  setBackend(backend);
  const x = tensor([1], [1]);
  const y = tensor([2], [1]);
  await backend.synchronize();
  const engineRun = (chain: boolean) => async () => {
    const d0 = backend.counters.dispatches;
    const s0 = backend.counters.submits;
    const t0 = performance.now();
    let z: Tensor = x;
    for (let i = 0; i < N; i++) {
      if (chain) {
        const next = add(z, y);
        if (z !== x) z.dispose();
        z = next;
      } else add(x, y).dispose();
    }
    const t1 = performance.now();
    await backend.synchronize();
    const t2 = performance.now();
    const dispatches = backend.counters.dispatches - d0;
    const submits = backend.counters.submits - s0;
    if (dispatches !== N || submits !== 1) throw new Error(`engine run: ${dispatches} dispatches and ${submits} submits, expected ${N} and 1`);
    if (chain) {
      const v = (await z.data())[0]!;
      z.dispose();
      if (v !== 1 + 2 * N) throw new Error(`engine chain: got ${v}, expected ${1 + 2 * N}`);
    }
    return { encodeMs: t1 - t0, waitMs: t2 - t1 };
  };
  rows.push(await measure('engine add(x, y), results disposed', engineRun(false), { dispatches: N, submits: 1 }));
  rows.push(await measure('engine chain z = add(z, y)', engineRun(true), { dispatches: N, submits: 1 }));
  const chain = trace((_step, [x0]) => {
    let z: Tensor = x0!;
    for (let i = 0; i < N; i++) {
      const next = add(z, y);
      if (z !== x0) z.dispose();
      z = next;
    }
    return [z];
  }, { read: () => [], write: () => {} });
  let replayStep = 0;
  const replayRun = async () => {
    const d0 = backend.counters.dispatches;
    const t0 = performance.now();
    const { outputs, replayed } = chain.run(replayStep++, [x]);
    const t1 = performance.now();
    await backend.synchronize();
    const t2 = performance.now();
    const v = (await outputs[0]!.data())[0]!;
    outputs[0]!.dispose();
    if (v !== 1 + 2 * N) throw new Error(`replayed chain: got ${v}, expected ${1 + 2 * N}`);
    if (replayStep > 2 && (!replayed || backend.counters.dispatches - d0 !== N)) throw new Error(`replayed chain: replayed ${replayed}, ${backend.counters.dispatches - d0} dispatches (${chain.reason})`);
    return { encodeMs: t1 - t0, waitMs: t2 - t1 };
  };
  await replayRun(); // recorded
  rows.push(await measure('replayed chain (traced)', replayRun, { dispatches: N, submits: 1 }));
  chain.dispose();

  // Round trips: the cost of one submit-and-wait (what every flush + wait pays).
  const rt = async (withDispatch: boolean) => {
    const ts: number[] = [];
    for (let i = 0; i < ROUND_TRIPS + 5; i++) {
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      if (withDispatch) {
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, same);
        pass.dispatchWorkgroups(1);
        pass.end();
      }
      device.queue.submit([enc.finish()]);
      await gpu.wait(device.queue.onSubmittedWorkDone());
      if (i >= 5) ts.push(performance.now() - t0);
    }
    return { medianUs: us(median(ts)), minUs: us(Math.min(...ts)) };
  };
  const rtEmpty = await rt(false);
  const rtOne = await rt(true);
  console.log(`\nsubmit-and-wait round trip (median of ${ROUND_TRIPS}): empty ${rtEmpty.medianUs.toFixed(0)} µs (min ${rtEmpty.minUs.toFixed(0)}), one dispatch ${rtOne.medianUs.toFixed(0)} µs (min ${rtOne.minUs.toFixed(0)})`);
  // A read-back through the engine: flush + copy + mapAsync.
  const rb: number[] = [];
  for (let i = 0; i < 25; i++) {
    const t0 = performance.now();
    const z = add(x, y);
    await z.data();
    z.dispose();
    if (i >= 5) rb.push(performance.now() - t0);
  }
  const readUs = us(median(rb));
  console.log(`engine add + await data() (one dispatch, flush, copy, mapAsync): ${readUs.toFixed(0)} µs (median of 20)`);

  const rawSame = rows[0]!;
  const engine = rows[3]!;
  const replay = rows[5]!;
  console.log(`\nruntime overhead: engine ${engine.wallUs.toFixed(2)} µs/op vs raw Dawn ${rawSame.wallUs.toFixed(2)} µs/dispatch ` +
    `(×${(engine.wallUs / rawSame.wallUs).toFixed(2)}); engine encode ${engine.encodeUs.toFixed(2)} vs Dawn encode ${rawSame.encodeUs.toFixed(2)} µs`);
  const rawPerOp = rows[1]!;
  console.log(`replay overhead: ${replay.wallUs.toFixed(2)} µs/op vs raw Dawn per-op bind group ${rawPerOp.wallUs.toFixed(2)} µs/dispatch (+${(replay.wallUs - rawPerOp.wallUs).toFixed(2)} µs); ` +
    `eager engine +${(engine.wallUs - rawPerOp.wallUs).toFixed(2)} µs over the same`);
  // Sanity: the raw adds really ran.
  const check = new Float32Array(await readBuffer(device, c, 4, (p) => gpu.wait(p)));
  if (check[0] !== 3) throw new Error(`raw add wrote ${check[0]}, expected 3`);

  const path = writeOut('dispatch-overhead.json', JSON.stringify({ date: new Date().toISOString(), adapter: desc, n: N, reps: REPS, rows, roundTrip: { empty: rtEmpty, oneDispatch: rtOne, engineReadUs: readUs } }, null, 1));
  if (path) console.log(`wrote ${path}`);
  x.dispose();
  y.dispose();
  backend.destroy();
  for (const buf of [a, b, c, ...outs]) buf.destroy();
  await finish(gpu, 0);
}

await main();
