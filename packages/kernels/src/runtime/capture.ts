// Recording and replaying a step's GPU work (core's trace.ts drives it). While a capture is
// open the backend reports every dispatch (pipeline, buffers, dispatch size, uniform block
// and the params that built it), every upload and every copy. A recording then replays
// them with nothing but WebGPU calls: one writeBuffer for all uniform blocks (the
// step-bound ones rebuilt for the new step from their params), the recorded uploads, and
// setPipeline / setBindGroup / dispatchWorkgroups per dispatch over bind groups made once.
//
// Buffers: those allocated while recording belong to the recording (BufferPool.claim), so
// no other tensor can be handed one and be overwritten by a replay; those it reads from
// outside (parameters, inputs, constants made earlier) are pinned while it lives.

import { DeviceError, StateError } from '@alphadrop/core';
import { isStepBound, paramsAtStep, type Recording } from '@alphadrop/core/backend';
import { BufferUsage } from './constants.js';
import type { BufferPool, PoolClaim } from './buffer-pool.js';
import type { CachedPipeline } from './pipelines.js';

/** One bind-group entry as the backend built it. */
export interface BoundBuffer {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/** Where a dispatch's uniform block came from, to rebuild it at another step. */
export interface UniformSource {
  uniforms(params: unknown): readonly (Uint32Array | undefined)[];
  params: unknown;
  program: number;
}

interface RecordedDispatch {
  kind: 'dispatch';
  name: string;
  pipeline: CachedPipeline;
  entries: BoundBuffer[];
  workgroups: readonly [number, number, number];
  /** Index of the uniform entry, or -1. */
  uniformAt: number;
  uniform: Uint32Array | undefined;
  source: UniformSource | undefined;
}

interface RecordedCopy {
  kind: 'copy';
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  bytes: number;
}

type Item = RecordedDispatch | RecordedCopy;

/** A copy, or a run of dispatches encoded in one compute pass. */
interface ReplayRun {
  copy: RecordedCopy | null;
  pipelines: GPUComputePipeline[];
  groups: GPUBindGroup[];
  x: number[];
  /** y and z workgroup counts, undefined where both are 1. */
  yz: (readonly [number, number] | undefined)[];
}

interface RecordedUpload {
  buffer: GPUBuffer;
  data: Uint8Array<ArrayBuffer>;
}

/** What the backend lends a replay: its open encoder and pass, and its counters. */
export interface ReplayTarget {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  /** Submits everything encoded so far. */
  flush(): void;
  /** Submissions so far (to tell whether an earlier replay is still in the open encoder). */
  submits(): number;
  /** The open compute pass (opened on demand); `timed` gives a pass of its own with timestamps. */
  computePass(timedName?: string): GPUComputePassEncoder;
  /** Ends the open compute pass, if any, and returns the encoder (for copies). */
  encoderForCopies(): GPUCommandEncoder;
  /** Ends a pass opened with computePass(name). */
  endTimedPass(pass: GPUComputePassEncoder): void;
  /** Whether replayed passes should carry timestamps (the profiler is on). */
  readonly profiling: boolean;
  countDispatches(n: number): void;
}

/** The log of an open capture. */
export class CaptureLog {
  readonly items: Item[] = [];
  readonly uploads: RecordedUpload[] = [];

  constructor(readonly own: boolean) {}

  dispatch(d: Omit<RecordedDispatch, 'kind'>): void {
    this.items.push({ kind: 'dispatch', ...d, entries: d.entries.map((e) => ({ ...e })), uniform: d.uniform?.slice() });
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.items.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes });
  }

  upload(buffer: GPUBuffer, data: ArrayBufferView, bytes: number): void {
    this.uploads.push({ buffer, data: new Uint8Array(data.buffer, data.byteOffset, bytes).slice() });
  }
}

const sameBytes = (a: Uint32Array | undefined, b: Uint32Array | undefined): boolean =>
  a === b || (!!a && !!b && a.length === b.length && a.every((v, i) => v === b[i]));

/** A dispatch's uniform block at `step`: rebuilt from its params when they are step-bound. */
function uniformAtStep(d: RecordedDispatch, step: number): Uint32Array | undefined {
  if (!d.source || !isStepBound(d.source.params)) return d.uniform;
  return rebuildUniform(d.source, step);
}

/** The block of a step-bound source at `step` (the caller knows it is step-bound). */
function rebuildUniform(source: UniformSource, step: number, memo?: Map<Function, unknown>): Uint32Array {
  return source.uniforms(paramsAtStep(source.params, step, memo))[source.program]!;
}

export class GpuRecording implements Recording {
  readonly dispatches: number;
  private uniformBuffer: GPUBuffer | null = null;
  private uniformHost: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  /** (item index, byte offset in the uniform buffer) of every step-bound uniform block. */
  private readonly stepBound: { item: number; at: number }[] = [];
  private claim: PoolClaim | null = null;
  private pinned: GPUBuffer[] = [];
  private disposed = false;
  /** The backend's submit count when this recording was last encoded (-1: never). */
  private encodedAt = -1;
  /** The replay's commands: runs of dispatches as flat arrays, and the copies between them. */
  private readonly runs: ReplayRun[] = [];

  constructor(
    private readonly target: ReplayTarget,
    private readonly log: CaptureLog,
    acquired: ReadonlySet<GPUBuffer>,
  ) {
    this.dispatches = log.items.filter((i) => i.kind === 'dispatch').length;
    if (log.own) this.own(acquired);
  }

  /** Makes the recording replayable: its own uniform buffer and bind groups, its buffers kept. */
  private own(acquired: ReadonlySet<GPUBuffer>): void {
    const { device, pool } = this.target;
    const align = device.limits.minUniformBufferOffsetAlignment;
    const slots = new Map<number, number>();
    let bytes = 0;
    this.log.items.forEach((item, i) => {
      if (item.kind !== 'dispatch' || item.uniformAt < 0) return;
      if (!item.uniform) throw new DeviceError(item.name, 'a recorded uniform block', 'none');
      slots.set(i, bytes);
      if (item.source && isStepBound(item.source.params)) this.stepBound.push({ item: i, at: bytes });
      bytes += Math.ceil(Math.max(16, item.uniform.byteLength) / align) * align;
    });
    if (bytes > 0) {
      this.uniformBuffer = device.createBuffer({ size: bytes, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST, label: 'replay uniforms' });
      this.uniformHost = new Uint8Array(bytes);
    }
    const outside = new Set<GPUBuffer>();
    const note = (b: GPUBuffer) => {
      if (!acquired.has(b)) outside.add(b);
    };
    this.log.items.forEach((item, i) => {
      if (item.kind === 'copy') {
        note(item.src);
        note(item.dst);
        this.runs.push({ copy: item, pipelines: [], groups: [], x: [], yz: [] });
        return;
      }
      const entries = item.entries.map((e, j) => {
        if (j !== item.uniformAt) {
          note(e.buffer);
          return e;
        }
        const at = slots.get(i)!;
        this.uniformHost.set(new Uint8Array(item.uniform!.buffer, item.uniform!.byteOffset, item.uniform!.byteLength), at);
        return { buffer: this.uniformBuffer!, offset: at, size: Math.max(16, Math.ceil(item.uniform!.byteLength / 16) * 16) };
      });
      // consecutive dispatches share one run (one compute pass)
      let run = this.runs[this.runs.length - 1];
      if (!run || run.copy) this.runs.push((run = { copy: null, pipelines: [], groups: [], x: [], yz: [] }));
      const [x, y, z] = item.workgroups;
      run.pipelines.push(item.pipeline.pipeline);
      run.groups.push(
        device.createBindGroup({
          layout: item.pipeline.layout,
          entries: item.pipeline.bindings.map(({ binding }, j) => ({ binding, resource: { buffer: entries[j]!.buffer, offset: entries[j]!.offset ?? 0, size: entries[j]!.size } })),
        }),
      );
      run.x.push(x);
      run.yz.push(y === 1 && z === 1 ? undefined : [y, z]);
    });
    for (const u of this.log.uploads) note(u.buffer);
    this.claim = pool.claim(acquired);
    this.pinned = [...outside];
    pool.pin(this.pinned);
  }

  mismatch(next: Recording, step: number): string | null {
    if (!(next instanceof GpuRecording)) return 'a recording of another backend';
    const a = this.log.items;
    const b = next.log.items;
    if (a.length !== b.length) return `${b.length} commands recorded at step ${step}, ${a.length} at step ${step - 1}`;
    for (let i = 0; i < a.length; i++) {
      const x = a[i]!;
      const y = b[i]!;
      const where = `command ${i} (${x.kind === 'dispatch' ? x.name : 'copy'})`;
      if (x.kind !== y.kind) return `${where} became a ${y.kind}`;
      if (x.kind === 'copy' && y.kind === 'copy') {
        if (x.bytes !== y.bytes) return `${where} copies ${y.bytes} bytes instead of ${x.bytes}`;
        continue;
      }
      const dx = x as RecordedDispatch;
      const dy = y as RecordedDispatch;
      if (dx.pipeline !== dy.pipeline) return `${where} runs ${dy.name} at step ${step}`;
      if (dx.workgroups.join() !== dy.workgroups.join()) return `${where} dispatches ${dy.workgroups.join('×')} instead of ${dx.workgroups.join('×')}`;
      if (!sameBytes(uniformAtStep(dx, step), dy.uniform))
        return `${where} has a uniform value at step ${step} that its params do not derive from the step (mark them with stepBound)`;
    }
    if (this.log.uploads.length !== next.log.uploads.length) return `${next.log.uploads.length} uploads at step ${step}, ${this.log.uploads.length} before`;
    for (let i = 0; i < this.log.uploads.length; i++) {
      const u = this.log.uploads[i]!.data;
      const v = next.log.uploads[i]!.data;
      if (u.length !== v.length || u.some((x, j) => x !== v[j])) return `upload ${i} holds other values at step ${step} (only constants may be uploaded)`;
    }
    return null;
  }

  replay(step: number): void {
    if (this.disposed) throw new StateError('GpuRecording.replay', 'a live recording', 'a disposed one');
    if (!this.claim) throw new StateError('GpuRecording.replay', 'a recording made to be replayed (own = true)', 'a check-only recording');
    const t = this.target;
    // Writes land on the queue at once: if the previous replay is still in the open
    // encoder, submit it first, so it does not see this step's uniforms.
    if (this.encodedAt === t.submits()) t.flush();
    const items = this.log.items;
    const memo = new Map<Function, unknown>();
    for (const { item, at } of this.stepBound) {
      const u = rebuildUniform((items[item] as RecordedDispatch).source!, step, memo);
      this.uniformHost.set(new Uint8Array(u.buffer, u.byteOffset, u.byteLength), at);
    }
    const queue = t.device.queue;
    if (this.uniformBuffer) queue.writeBuffer(this.uniformBuffer, 0, this.uniformHost);
    for (const u of this.log.uploads) queue.writeBuffer(u.buffer, 0, u.data);
    const timed = t.profiling;
    // runs of dispatches (one compute pass each) between copies, from flat arrays: the loop
    // below is what a step costs on the host, so it does nothing but the WebGPU calls
    for (const run of this.runs) {
      if (run.copy) {
        const c = run.copy;
        t.encoderForCopies().copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
        continue;
      }
      const pass = t.computePass(timed ? 'replay/step' : undefined);
      const { pipelines, groups, x, yz } = run;
      let last: GPUComputePipeline | null = null;
      for (let i = 0; i < pipelines.length; i++) {
        const p = pipelines[i]!;
        if (p !== last) pass.setPipeline((last = p));
        pass.setBindGroup(0, groups[i]!);
        const w = yz[i];
        if (w === undefined) pass.dispatchWorkgroups(x[i]!);
        else pass.dispatchWorkgroups(x[i]!, w[0], w[1]);
      }
      if (timed) t.endTimedPass(pass);
    }
    t.countDispatches(this.dispatches);
    this.encodedAt = t.submits();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const pool = this.target.pool;
    if (this.claim) pool.unclaim(this.claim);
    pool.unpin(this.pinned);
    this.uniformBuffer?.destroy();
  }
}
