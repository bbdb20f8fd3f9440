// The kernel ladder's harness, after llm.c's dev/cuda: run one rung (a GpuPlan: the programs a
// kernel module or a bench version builds) on a GPUDevice, VALIDATE its output against a
// reference computed on the host, and only then time it: R dispatches of the plan encoded in
// one compute pass, one submit; R doubled until one such window lasts minMs, then `windows`
// more windows at that R, reporting the median and the best. A window's time is the GPU's
// own (timestamps written at the pass's start and end) where the device has
// 'timestamp-query', else submit-to-done on the host clock. The host clock also counts the
// wait for the queue (about 1 ms with Dawn's tick in Node) and any delay in noticing it: on an
// H200 (bench/results/h200-gemm-1) one kernel timed twice in one run by the host clock gave
// 31 and 43 TFLOP/s. Plain TypeScript over the WebGPU API with no Node imports, so the same
// code runs the Node entries (bench/matmul, bench/conv, bench/reduce) and a kernel benchmark
// in a browser page. Node passes its device layer's tick-guarded `wait`.

import { wgslUtil, type GpuPlan } from '@alphadrop/kernels/modules';

/** WebGPU's GPUBufferUsage / GPUMapMode bits (spec constants: the globals exist only after a device layer installs them). */
const STORAGE = 0x80;
const UNIFORM = 0x40;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const MAP_READ = 0x01;
const QUERY_RESOLVE = 0x200;
const MODE_READ = 0x01;

export type HostData = Float32Array | Int32Array | Uint32Array;

/** What a rung runs on: host inputs bound as in0.., the output's length (4-byte words), uniform blocks per program. */
export interface LadderData {
  inputs: readonly HostData[];
  outWords: number;
  uniforms?: readonly (Uint32Array | undefined)[];
}

/** The expected output at some flat indices, with the scale of its rounding error (Σ|a·b| for a dot product). */
export interface Expected {
  idx: Uint32Array;
  want: Float64Array;
  scale: Float64Array;
}

export interface HarnessOptions {
  /** Awaits a device promise (Node: the device layer's tick-guarded wait). */
  wait?: <T>(p: Promise<T>) => Promise<T>;
  /** Timing: at least this long per measurement, at most this many repetitions. */
  minMs?: number;
  maxReps?: number;
  /** Measured windows once R is found (default 3): the median is reported, and the best. */
  windows?: number;
  /** Time windows by the host clock even where the device has GPU timestamps. */
  hostClock?: boolean;
  /** |got − want| ≤ tol · (scale + tiny). */
  tol?: number;
}

export interface RungResult {
  status: 'ok' | 'invalid' | 'compile-error' | 'unfit';
  note?: string;
  maxErr?: number;
  compileMs?: number;
  reps?: number;
  /** Median over the measured windows, ms per call of the plan. */
  msPerCall?: number;
  /** The best window, ms per call. */
  msBest?: number;
  /** Which clock timed the windows. */
  clock?: 'gpu' | 'host';
}

const pad16 = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);

/** Why a plan cannot run on this device, or null. */
export function unfit(device: GPUDevice, threads: number, workgroupBytes: number, workgroups: readonly number[]): string | null {
  const l = device.limits;
  if (threads > l.maxComputeInvocationsPerWorkgroup) return `needs ${threads} invocations per workgroup`;
  if (workgroupBytes > l.maxComputeWorkgroupStorageSize) return `needs ${workgroupBytes} B of workgroup memory`;
  if (workgroups.some((w) => w > l.maxComputeWorkgroupsPerDimension)) return 'too many workgroups';
  return null;
}

/** A plan bound to buffers on a device: compiled, with its bind groups. */
export interface BoundPlan {
  plan: GpuPlan;
  pipelines: GPUComputePipeline[];
  groups: GPUBindGroup[];
  out: GPUBuffer;
  outBytes: number;
  destroy(): void;
}

/**
 * Compiles one compute shader into a pipeline with an 'auto' layout; a validation error
 * becomes an exception carrying the compiler's messages (line:column text).
 */
export async function compileProgram(device: GPUDevice, code: string, label: string, wait: <T>(p: Promise<T>) => Promise<T> = (p) => p, entryPoint = 'main'): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint }, label });
  const err = await wait(device.popErrorScope());
  if (!err) return pipeline;
  const info = await wait(module.getCompilationInfo());
  const msgs = info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ');
  throw new Error(`${label}: ${err.message}${msgs ? ` (${msgs})` : ''}`);
}

/** Compiles every program (validation errors become exceptions) and binds the data. */
export async function bindPlan(device: GPUDevice, plan: GpuPlan, data: LadderData, wait: <T>(p: Promise<T>) => Promise<T> = (p) => p): Promise<BoundPlan> {
  const owned: GPUBuffer[] = [];
  const upload = (d: ArrayBufferView, usage: number) => {
    const b = device.createBuffer({ size: pad16(d.byteLength), usage: usage | COPY_DST });
    device.queue.writeBuffer(b, 0, d.buffer, d.byteOffset, d.byteLength);
    owned.push(b);
    return b;
  };
  const inputs = data.inputs.map((x) => upload(x, STORAGE | COPY_SRC));
  const outBytes = data.outWords * 4;
  const out = device.createBuffer({ size: pad16(outBytes), usage: STORAGE | COPY_SRC | COPY_DST });
  owned.push(out);
  const temps = (plan.temps ?? []).map((bytes) => {
    const b = device.createBuffer({ size: pad16(bytes), usage: STORAGE });
    owned.push(b);
    return b;
  });
  const pipelines: GPUComputePipeline[] = [];
  const groups: GPUBindGroup[] = [];
  for (const [i, p] of plan.programs.entries()) {
    let pipeline: GPUComputePipeline;
    try {
      // the helpers generated code calls (is_nan, f32_bits), appended as the backend's pipeline cache does
      pipeline = await compileProgram(device, wgslUtil.withPrelude(p.code), p.name, wait);
    } catch (e) {
      for (const b of owned) b.destroy();
      throw e;
    }
    const uniform = data.uniforms?.[i] ?? p.uniform;
    const entries = p.bindings.map((role, binding) => {
      if (role === 'out') return { binding, resource: { buffer: out } };
      if (role === 'uniform') {
        if (!uniform) throw new Error(`${p.name}: no data for its uniform binding`);
        return { binding, resource: { buffer: upload(uniform, UNIFORM) } };
      }
      if (role.startsWith('in')) return { binding, resource: { buffer: inputs[Number(role.slice(2))]! } };
      return { binding, resource: { buffer: temps[Number(role.slice(3))]! } };
    });
    pipelines.push(pipeline);
    groups.push(device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
  }
  return { plan, pipelines, groups, out, outBytes, destroy: () => owned.forEach((b) => b.destroy()) };
}

function encode(pass: GPUComputePassEncoder, b: BoundPlan): void {
  b.plan.programs.forEach((p, i) => {
    pass.setPipeline(b.pipelines[i]!);
    pass.setBindGroup(0, b.groups[i]!);
    pass.dispatchWorkgroups(...p.workgroups);
  });
}

/** Runs the plan once on a cleared output and reads the output back. */
export async function runOnce(device: GPUDevice, b: BoundPlan, wait: <T>(p: Promise<T>) => Promise<T> = (p) => p): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: pad16(b.outBytes), usage: MAP_READ | COPY_DST });
  const enc = device.createCommandEncoder();
  enc.clearBuffer(b.out);
  const pass = enc.beginComputePass();
  encode(pass, b);
  pass.end();
  enc.copyBufferToBuffer(b.out, 0, staging, 0, pad16(b.outBytes));
  device.queue.submit([enc.finish()]);
  await wait(staging.mapAsync(MODE_READ));
  const raw = staging.getMappedRange(0, b.outBytes).slice(0);
  staging.unmap();
  staging.destroy();
  return raw;
}

/** The first checked entry outside the tolerance: its flat index, the value read back and the one expected. */
export interface BadEntry {
  index: number;
  got: number;
  want: number;
  scale: number;
}

/** Largest |got − want| / (scale + tiny) over the checked entries, and the first failure (as text and as an entry). */
export function compare(got: ArrayLike<number>, ref: Expected, tol: number): { maxErr: number; bad: string | null; first: BadEntry | null } {
  let maxErr = 0;
  let first: BadEntry | null = null;
  for (let t = 0; t < ref.idx.length; t++) {
    const i = ref.idx[t]!;
    const g = got[i]!;
    const w = ref.want[t]!;
    // identical values pass, non-finite ones included (NaN where NaN is expected)
    const err = Object.is(g, w) || g === w ? 0 : Math.abs(g - w) / (ref.scale[t]! + 1e-30);
    if (!(err <= tol)) {
      first ??= { index: i, got: g, want: w, scale: ref.scale[t]! };
      maxErr = Number.isFinite(err) ? Math.max(maxErr, err) : Infinity;
      continue;
    }
    maxErr = Math.max(maxErr, err);
  }
  const bad = first && `entry ${first.index}: got ${first.got}, want ${first.want} (scale ${first.scale.toExponential(2)})`;
  return { maxErr, bad, first };
}

const pow2ceil = (x: number) => 2 ** Math.max(0, Math.ceil(Math.log2(Math.max(1, x))));

/** Timestamps of one compute pass's start and end, read back after the submit. */
class PassTimer {
  private readonly set: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly staging: GPUBuffer;
  constructor(device: GPUDevice) {
    this.set = device.createQuerySet({ type: 'timestamp', count: 2 });
    this.resolved = device.createBuffer({ size: 16, usage: QUERY_RESOLVE | COPY_SRC });
    this.staging = device.createBuffer({ size: 16, usage: MAP_READ | COPY_DST });
  }
  passDescriptor(): GPUComputePassDescriptor {
    return { timestampWrites: { querySet: this.set, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } };
  }
  resolve(enc: GPUCommandEncoder): void {
    enc.resolveQuerySet(this.set, 0, 2, this.resolved, 0);
    enc.copyBufferToBuffer(this.resolved, 0, this.staging, 0, 16);
  }
  /** Milliseconds between the two timestamps (after the submit's work is done). */
  async ms(wait: <T>(p: Promise<T>) => Promise<T>): Promise<number> {
    await wait(this.staging.mapAsync(MODE_READ));
    const t = new BigUint64Array(this.staging.getMappedRange(0, 16).slice(0));
    this.staging.unmap();
    return Number(t[1]! - t[0]!) / 1e6;
  }
  destroy(): void {
    this.set.destroy();
    this.resolved.destroy();
    this.staging.destroy();
  }
}

/** What time() measured: R calls per window, the median and best ms per call, and the clock. */
export interface Timing {
  reps: number;
  msPerCall: number;
  msBest: number;
  /** 'host' where the device has no timestamps, or they were implausible. */
  clock: 'gpu' | 'host';
}

/**
 * R dispatches of the plan per submit, R doubled until one window lasts minMs (host clock),
 * then `windows` windows at that R: median and best ms per call, on the GPU's clock where it
 * has timestamps. The windows before the measured ones also warm the GPU up from idle clocks.
 * The one timing implementation of the bench: the ladders and the kernel benchmark call it.
 */
export async function time(device: GPUDevice, b: BoundPlan, opts: HarnessOptions = {}): Promise<Timing> {
  const wait = opts.wait ?? ((p) => p);
  const minMs = opts.minMs ?? 200;
  const maxReps = opts.maxReps ?? 65536;
  const windows = Math.max(1, opts.windows ?? 3);
  const timer = !opts.hostClock && device.features.has('timestamp-query') ? new PassTimer(device) : null;
  let gpuClock = timer !== null;
  const run = async (reps: number) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass(timer?.passDescriptor());
    for (let r = 0; r < reps; r++) encode(pass, b);
    pass.end();
    timer?.resolve(enc);
    const cb = enc.finish();
    const t1 = performance.now();
    device.queue.submit([cb]);
    await wait(device.queue.onSubmittedWorkDone());
    const host = performance.now() - t1;
    const gpu = timer ? await timer.ms(wait) : NaN;
    return { host, gpu };
  };
  try {
    // R is searched on the host clock, an upper bound of the GPU's: searched on the GPU's
    // timestamps, R reached 16384 for 20–40 µs kernels on the H200 (h200-gemm-2: windows of
    // 300–700 ms where 20 ms were asked), so the sweep ran out of its time budget
    const warm = await run(1);
    // one call's host time includes a wait's overhead, so this first guess of R is low; then double
    let reps = Math.min(maxReps, pow2ceil((minMs * 0.5) / Math.max(warm.host, 1e-3)));
    let res = await run(reps);
    while (res.host < minMs && reps < maxReps) {
      reps = Math.min(maxReps, reps * Math.max(2, pow2ceil((minMs * 1.1) / Math.max(res.host, 1e-3))));
      res = await run(reps);
    }
    const per: { host: number; gpu: number }[] = [];
    for (let w = 0; w < windows; w++) {
      const t = await run(reps);
      // a GPU time that is not positive or exceeds the host's cannot be right: the whole run falls back to the host clock
      if (gpuClock && !(t.gpu > 0 && t.gpu <= t.host)) gpuClock = false;
      per.push(t);
    }
    const ms = per.map((t) => (gpuClock ? t.gpu : t.host) / reps).sort((x, y) => x - y);
    return { reps, msPerCall: ms[Math.floor((ms.length - 1) / 2)]!, msBest: ms[0]!, clock: gpuClock ? 'gpu' : 'host' };
  } finally {
    timer?.destroy();
  }
}

/** The ladder's protocol for one rung on one case: compile, validate, then (only if valid) time. */
export async function validateAndTime(
  device: GPUDevice,
  plan: GpuPlan,
  data: LadderData,
  expected: Expected,
  read: (raw: ArrayBuffer) => ArrayLike<number>,
  opts: HarnessOptions = {},
): Promise<RungResult> {
  const t0 = performance.now();
  let bound: BoundPlan;
  try {
    bound = await bindPlan(device, plan, data, opts.wait);
  } catch (e) {
    return { status: 'compile-error', note: String(e).slice(0, 2000) };
  }
  try {
    const got = read(await runOnce(device, bound, opts.wait));
    const compileMs = performance.now() - t0;
    const { maxErr, bad } = compare(got, expected, opts.tol ?? 1e-5);
    if (bad) return { status: 'invalid', maxErr, compileMs, note: bad };
    const t = await time(device, bound, opts);
    return { status: 'ok', maxErr, compileMs, reps: t.reps, msPerCall: t.msPerCall, msBest: t.msBest, clock: t.clock };
  } finally {
    bound.destroy();
  }
}

/** Buffer usage bits for entries that create their own buffers. */
export const Usage = { MAP_READ, COPY_SRC, COPY_DST, UNIFORM, STORAGE } as const;

/** Compiles a compute pipeline (with the WGSL helpers' prelude), failing with the compiler's messages on error. */
export async function compilePipeline(device: GPUDevice, code: string, label: string, wait: <T>(p: Promise<T>) => Promise<T> = (p) => p): Promise<GPUComputePipeline> {
  return compileProgram(device, wgslUtil.withPrelude(code), label, wait);
}

/** Reads a buffer's first `bytes` back (one submit, one wait). */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, bytes: number, wait: <T>(p: Promise<T>) => Promise<T> = (p) => p): Promise<ArrayBuffer> {
  const size = pad16(bytes);
  const staging = device.createBuffer({ size, usage: MAP_READ | COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await wait(staging.mapAsync(MODE_READ));
  const out = staging.getMappedRange(0, bytes).slice(0);
  staging.unmap();
  staging.destroy();
  return out;
}
