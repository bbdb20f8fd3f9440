// The WebGPU backend. Ops encode their dispatches into one open command encoder as they
// run; nothing is submitted until flush() (called by a read-back or at the end of a
// training step), so a step is one submit. Storage buffers are pooled, pipelines cached by
// WGSL source, bind groups by buffers, and the counters let tests assert "N dispatches
// and one submit per step". Read-back is asynchronous and never blocks encoding.

import { BufferUsage, MapMode } from './constants.js';
import { DeviceError, StateError, type Backend, type DType, type HostArray } from '@alphadrop/core';
import {
  type BackendCounters, type CaptureSupport, type Recording, type BackendLimits, type Operand, type OutSpec, type Prim, type PrimParams, sizeOf,
} from '@alphadrop/core/backend';
import { BufferPool } from './buffer-pool.js';
import { PipelineCache } from './pipelines.js';
import { planKey } from './plan-key.js';
import type { GpuPlan, GpuProgram, KernelCaps, BufferRole } from './plan.js';
import type { KernelModule, KernelTable } from './kernel-module.js';
import { Profiler, type KernelProfile } from './profiler.js';
import { UniformArena } from './uniform-arena.js';
import type { CachedPipeline } from './pipelines.js';
import { CaptureLog, GpuRecording, type ReplayTarget, type UniformSource } from './capture.js';

/** A built plan with its pipelines, reused for every call with the same static key. */
interface CachedPlan {
  plan: GpuPlan;
  pipelines: CachedPipeline[];
}

export interface GpuStorage {
  readonly buffer: GPUBuffer;
  /** Logical size in bytes (the pooled buffer may be larger). */
  readonly bytes: number;
  /**
   * A view's first byte in `buffer` (view()): a multiple of minStorageBufferOffsetAlignment,
   * bound and copied from there. Absent: 0, storage that owns its buffer.
   */
  readonly offset?: number;
}

export interface WebGpuBackendOptions {
  /** Wraps every promise the backend awaits on the device (the Node layer's tick guard). */
  guardWait?: <T>(p: Promise<T>) => Promise<T>;
  adapterInfo?: GPUAdapterInfo;
  /**
   * Objects the device must not outlive, held for the backend's lifetime. In Node this is
   * the dawn.node GPU instance: if it is garbage collected while the device is in use,
   * Dawn tears the instance down under the device and the process aborts (a futex error
   * or a segfault inside a later wait).
   */
  keepAlive?: readonly unknown[];
}

/** Device storage bytes per element: bool is widened to u32. */
export function deviceBytes(dtype: DType): number {
  if (dtype === 'f64') throw new DeviceError('webgpu', 'a dtype of f32/i32/u32/bool', 'f64', 'WGSL has no f64');
  return 4;
}

export class WebGpuBackend implements Backend<GpuStorage> {
  readonly name = 'webgpu';
  readonly dtypes: readonly DType[] = ['f32', 'i32', 'u32', 'bool'];
  readonly counters: BackendCounters = { dispatches: 0, submits: 0, compiles: 0, bytesAllocated: 0, bytesTransferred: 0 };
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly profiler: Profiler;
  readonly caps: KernelCaps;
  private readonly uniforms: UniformArena;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly staging = new Map<number, GPUBuffer[]>();
  /** Plans by (primitive, static params, shapes): WGSL is generated once per shape, not per call. */
  private readonly plans = new Map<string, CachedPlan>();
  private lost: DeviceError | null = null;
  private deviceError: DeviceError | null = null;
  private readonly guardWait: <T>(p: Promise<T>) => Promise<T>;
  /** Counts per kernel name since start: which kernels a step dispatches. */
  readonly dispatchesByKernel = new Map<string, number>();
  readonly adapterInfo: GPUAdapterInfo | undefined;
  private readonly keepAlive: readonly unknown[];
  /** The open capture (trace.ts records a step through `capture`), or null. */
  private log: CaptureLog | null = null;
  readonly capture: CaptureSupport<GpuStorage> = {
    beginCapture: (own) => this.beginCapture(own),
    endCapture: () => this.endCapture(),
    copy: (src, dst) => this.copy(src, dst),
    clone: (src) => {
      const dst: GpuStorage = { buffer: this.pool.acquire(src.bytes, false), bytes: src.bytes };
      this.counters.bytesAllocated += src.bytes;
      this.copy(src, dst);
      return dst;
    },
  };

  /**
   * `kernels` is the WGSL table (table.ts's gpuKernels; init.ts's createWebGpuBackend passes
   * it), handed in as the CPU backend is handed its kernels, so the runtime depends on the
   * module interface only and not on every kernel.
   */
  constructor(
    readonly device: GPUDevice,
    private readonly kernels: KernelTable,
    opts: WebGpuBackendOptions = {},
  ) {
    this.guardWait = opts.guardWait ?? ((p) => p);
    this.adapterInfo = opts.adapterInfo;
    this.keepAlive = opts.keepAlive ?? [];
    this.pool = new BufferPool(device);
    this.pipelines = new PipelineCache(device);
    this.uniforms = new UniformArena(device, device.limits.minUniformBufferOffsetAlignment);
    this.profiler = new Profiler(device, device.features.has('timestamp-query'));
    this.caps = {
      subgroups: device.features.has('subgroups'),
      maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize,
      maxInvocations: device.limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffers: device.limits.maxStorageBuffersPerShaderStage,
    };
    void device.lost.then((info) => {
      this.lost = new DeviceError('webgpu', 'a live device', `a lost device (${info.reason})`, info.message);
    });
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.deviceError ??= new DeviceError('webgpu', 'valid GPU commands', e.constructor.name, e.message);
    });
  }

  private check(): void {
    if (this.lost) throw this.lost;
    if (this.deviceError) {
      const e = this.deviceError;
      this.deviceError = null;
      throw e;
    }
  }

  upload(values: HostArray, dtype: DType): GpuStorage {
    this.check();
    const bytes = values.length * deviceBytes(dtype);
    const buffer = this.pool.acquire(bytes, true);
    const data = dtype === 'bool' ? Uint32Array.from(values as Uint8Array) : values;
    if (bytes > 0) this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, bytes);
    if (bytes > 0) this.log?.upload(buffer, data, bytes);
    this.counters.bytesTransferred += bytes;
    this.counters.bytesAllocated += bytes;
    return { buffer, bytes };
  }

  execute<P extends Prim>(prim: P, inputs: readonly Operand<GpuStorage>[], params: PrimParams[P], out: OutSpec): GpuStorage {
    this.check();
    const bytes = sizeOf(out.shape) * deviceBytes(out.dtype);
    const result: GpuStorage = { buffer: this.pool.acquire(bytes, false), bytes };
    this.counters.bytesAllocated += bytes;
    if (bytes === 0) return result;
    const module = this.kernels[prim] as KernelModule<P>;
    // The module's problem is what specialises the WGSL: new run-time values (RNG keys,
    // learning rates) reuse the cached plan and reach it through uniforms. planKey, not
    // JSON.stringify: that writes ±Infinity and NaN as null and -0 as 0.
    const problem = module.problem({ inputs, params, out, caps: this.caps });
    const key = `${prim}|${planKey(problem)}`;
    let cached = this.plans.get(key);
    if (!cached) {
      const plan = module.plan(problem);
      const before = this.pipelines.compiles;
      cached = { plan, pipelines: plan.programs.map((p) => this.pipelines.get(p.code, p.name)) };
      this.counters.compiles += this.pipelines.compiles - before;
      if (this.plans.size > 4096) this.plans.clear();
      this.plans.set(key, cached);
    }
    const uniforms = module.uniforms?.(params);
    const temps = (cached.plan.temps ?? []).map((b) => this.pool.acquire(b, false));
    cached.plan.programs.forEach((program, i) => {
      const source: UniformSource | undefined = this.log && module.uniforms ? { uniforms: (p) => module.uniforms!(p as PrimParams[P]), params, program: i } : undefined;
      this.encode(program, cached.pipelines[i]!, uniforms?.[i] ?? program.uniform, inputs, result, temps, source);
    });
    for (const t of temps) this.pool.release(t);
    return result;
  }

  /** Encodes one program into the open compute pass (its own pass while profiling). */
  private encode(
    program: GpuProgram,
    cached: CachedPipeline,
    uniform: Uint32Array | undefined,
    inputs: readonly Operand<GpuStorage>[],
    out: GpuStorage,
    temps: GPUBuffer[],
    source?: UniformSource,
  ): void {
    const entries = program.bindings.map((role: BufferRole) => {
      if (role === 'out') return { buffer: out.buffer };
      if (role === 'uniform') {
        if (!uniform) throw new DeviceError(program.name, 'uniform data for its uniform binding', 'none');
        return this.uniforms.alloc(uniform);
      }
      if (role.startsWith('in')) {
        // a view binds from its offset to the end of the buffer: kernels index from the binding's
        // start and never ask its length, and a binding sized to the view could cut a vec4 array short
        const x = inputs[Number(role.slice(2))]!.storage;
        return x.offset ? { buffer: x.buffer, offset: x.offset } : { buffer: x.buffer };
      }
      return { buffer: temps[Number(role.slice(3))]! };
    });
    if (entries.length !== cached.bindings.length)
      throw new DeviceError(program.name, `${cached.bindings.length} buffers for the shader's bindings`, `${entries.length}`);
    const bindGroup = this.pipelines.bindGroup(cached, entries);
    this.log?.dispatch({ name: program.name, pipeline: cached, entries, workgroups: program.workgroups, uniformAt: program.bindings.indexOf('uniform'), uniform, source });
    const profiled = this.profiler.enabled ? this.profiler.passFor(program.name) : undefined;
    if (profiled) {
      this.closePass();
      const p = this.openEncoder().beginComputePass(profiled);
      p.setPipeline(cached.pipeline);
      p.setBindGroup(0, bindGroup);
      p.dispatchWorkgroups(...program.workgroups);
      p.end();
    } else {
      const p = this.openPass();
      p.setPipeline(cached.pipeline);
      p.setBindGroup(0, bindGroup);
      p.dispatchWorkgroups(...program.workgroups);
    }
    this.counters.dispatches++;
    this.dispatchesByKernel.set(program.name, (this.dispatchesByKernel.get(program.name) ?? 0) + 1);
  }

  private openEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private openPass(): GPUComputePassEncoder {
    this.pass ??= this.openEncoder().beginComputePass();
    return this.pass;
  }

  private closePass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits everything encoded so far as one command buffer. */
  flush(): void {
    this.check();
    if (this.encoder === null) return;
    this.closePass();
    const afterSubmit = this.profiler.resolve(this.encoder);
    this.uniforms.upload(this.device.queue);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.counters.submits++;
    this.pool.onSubmit();
    afterSubmit?.();
  }

  async read(storage: GpuStorage, dtype: DType, size: number): Promise<HostArray> {
    if (this.log) throw new StateError('WebGpuBackend.read', 'no read-back while a step is being recorded', 'a read', 'a traced step function must not read tensors');
    this.flush();
    const bytes = size * deviceBytes(dtype);
    if (bytes === 0) return dtype === 'bool' ? new Uint8Array(0) : dtype === 'i32' ? new Int32Array(0) : dtype === 'u32' ? new Uint32Array(0) : new Float32Array(0);
    const padded = Math.ceil(bytes / 4) * 4;
    const staging = this.staging.get(padded)?.pop() ?? this.device.createBuffer({ size: padded, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(storage.buffer, storage.offset ?? 0, staging, 0, padded);
    this.device.queue.submit([enc.finish()]);
    this.counters.submits++;
    this.pool.onSubmit();
    await this.guardWait(staging.mapAsync(MapMode.READ));
    const raw = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    let list = this.staging.get(padded);
    if (!list) this.staging.set(padded, (list = []));
    list.push(staging);
    this.counters.bytesTransferred += bytes;
    this.check();
    switch (dtype) {
      case 'f32':
        return new Float32Array(raw);
      case 'i32':
        return new Int32Array(raw);
      case 'u32':
        return new Uint32Array(raw);
      default:
        return Uint8Array.from(new Uint32Array(raw));
    }
  }

  /**
   * One storage binding must hold a whole tensor: the smaller of the device's maxBufferSize
   * and maxStorageBufferBindingSize (the Node and browser layers request the adapter's own
   * maxima). WebGPU does not report total device memory, so there is no total budget here.
   */
  limits(): BackendLimits {
    const l = this.device.limits;
    return { maxBufferBytes: Math.min(l.maxBufferSize, l.maxStorageBufferBindingSize) };
  }

  free(storage: GpuStorage): void {
    this.pool.release(storage.buffer);
  }

  /**
   * A view of elements [offset, offset + size) of `storage`, sharing its buffer, where the
   * byte offset meets minStorageBufferOffsetAlignment (256 bytes on most devices, at most
   * 256 by the spec) so that it can be bound; else null and the engine copies.
   */
  view(storage: GpuStorage, dtype: DType, offset: number, size: number): GpuStorage | null {
    const at = (storage.offset ?? 0) + offset * deviceBytes(dtype);
    const bytes = size * deviceBytes(dtype);
    if (bytes === 0 || at % this.device.limits.minStorageBufferOffsetAlignment !== 0) return null;
    return { buffer: storage.buffer, bytes, offset: at };
  }

  private beginCapture(own: boolean): void {
    if (this.log) throw new StateError('WebGpuBackend.beginCapture', 'no capture open', 'one already open');
    this.log = new CaptureLog(own);
    this.pool.track();
  }

  private endCapture(): Recording {
    const log = this.log;
    if (!log) throw new StateError('WebGpuBackend.endCapture', 'an open capture', 'none');
    this.log = null;
    return new GpuRecording(this.replayTarget(), log, this.pool.untrack());
  }

  /** Encodes a buffer copy in order with the dispatches (outside any compute pass). */
  private copy(src: GpuStorage, dst: GpuStorage): void {
    this.check();
    if (src.bytes !== dst.bytes) throw new DeviceError('copy', `a destination of ${src.bytes} bytes`, `${dst.bytes} bytes`);
    const bytes = Math.ceil(src.bytes / 4) * 4;
    if (bytes === 0) return;
    this.closePass();
    const [from, to] = [src.offset ?? 0, dst.offset ?? 0];
    this.openEncoder().copyBufferToBuffer(src.buffer, from, dst.buffer, to, bytes);
    this.log?.copy(src.buffer, from, dst.buffer, to, bytes);
  }

  /** What a recording needs of the backend to replay into the open encoder. */
  private replayTarget(): ReplayTarget {
    const profiler = this.profiler;
    return {
      device: this.device,
      pool: this.pool,
      flush: () => this.flush(),
      submits: () => this.counters.submits,
      computePass: (timedName) => {
        const profiled = timedName ? this.profiler.passFor(timedName) : undefined;
        if (!profiled) return this.openPass();
        this.closePass();
        return this.openEncoder().beginComputePass(profiled);
      },
      endTimedPass: (pass) => pass.end(),
      encoderForCopies: () => {
        this.closePass();
        return this.openEncoder();
      },
      get profiling() {
        return profiler.enabled;
      },
      countDispatches: (n) => {
        this.counters.dispatches += n;
      },
    };
  }

  /** Resolves when the device has finished all submitted work. */
  async synchronize(): Promise<void> {
    this.flush();
    await this.guardWait(this.device.queue.onSubmittedWorkDone());
    this.check();
  }

  enableProfiling(): void {
    this.profiler.enable();
  }
  async profile(): Promise<KernelProfile[]> {
    this.flush();
    return this.profiler.report();
  }

  /** Frees idle pooled buffers (after a flush). */
  trim(): number {
    this.flush();
    this.pipelines.dropBindGroups();
    return this.pool.trim();
  }

  destroy(): void {
    this.flush();
    this.pool.trim();
    this.uniforms.destroy();
    this.profiler.destroy();
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.staging.clear();
  }
}
