// Tensor: an immutable n-d array on a backend. Storage is reference-counted so reshape can
// share it; dispose() drops this tensor's reference now, tidy() scopes do it in bulk
// (memory.ts), and a FinalizationRegistry reports tensors that were garbage collected
// without being disposed. The live counts and the stack of open scopes live here, beside the
// constructor and dispose() that update them, so memory.ts depends on this file and not the
// other way round.

import type { Backend } from './backend.js';
import type { DType, HostArray } from './dtype.js';
import { StateError } from './errors.js';
import { sizeOf, fmtShape, type Shape } from './shape.js';

/** Shared, reference-counted backend storage. */
export class DataHandle {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly storage: unknown,
    readonly bytes: number,
  ) {}
}

/** The open tidy scopes, innermost last (memory.ts pushes and pops them). */
export const scopes: Set<Tensor>[] = [];
let liveTensors = 0;
let liveBytes = 0;
let leaked = 0;
const liveHandles = new Set<DataHandle>();

/** A tensor garbage collected while still live: count it as leaked and drop its reference. */
const leakRegistry = new FinalizationRegistry<DataHandle>((handle) => {
  leaked++;
  liveTensors--;
  if (--handle.refs === 0) {
    handle.backend.free(handle.storage);
    liveHandles.delete(handle);
    liveBytes -= handle.bytes;
  }
});

function trackNew(t: Tensor, handle: DataHandle): void {
  liveTensors++;
  if (!liveHandles.has(handle)) {
    liveHandles.add(handle);
    liveBytes += handle.bytes;
  }
  leakRegistry.register(t, handle, t);
  const scope = scopes[scopes.length - 1];
  if (scope) scope.add(t);
}

function untrack(t: Tensor): void {
  liveTensors--;
  for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i]!.delete(t)) break;
}

/** Called when a handle's last reference goes away through dispose(). */
function releaseHandle(handle: DataHandle): void {
  if (liveHandles.delete(handle)) liveBytes -= handle.bytes;
}

/** Live tensors, their distinct storage buffers and bytes, and tensors leaked so far (memory()). */
export function liveCounts(): { tensors: number; buffers: number; bytes: number; leaked: number } {
  return { tensors: liveTensors, buffers: liveHandles.size, bytes: liveBytes, leaked };
}

let nextId = 1;

export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  private _handle: DataHandle | null;

  constructor(
    readonly shape: Shape,
    readonly dtype: DType,
    handle: DataHandle,
  ) {
    this.size = sizeOf(shape);
    this._handle = handle;
    trackNew(this, handle);
  }

  get rank(): number {
    return this.shape.length;
  }
  get backend(): Backend {
    return this.handle.backend;
  }
  get isDisposed(): boolean {
    return this._handle === null;
  }
  /** The storage handle; throws if the tensor was disposed. */
  get handle(): DataHandle {
    if (this._handle === null)
      throw new StateError(`tensor #${this.id}`, 'a live tensor', 'a disposed tensor', `shape ${fmtShape(this.shape)}`);
    return this._handle;
  }
  get storage(): unknown {
    return this.handle.storage;
  }

  /** Copies the values to the host (flushes pending GPU work first). */
  async data(): Promise<HostArray> {
    const h = this.handle;
    h.backend.flush();
    return h.backend.read(h.storage, this.dtype, this.size);
  }

  /** Synchronous read-back; only backends that hold host memory (the CPU) support it. */
  dataSync(): HostArray {
    const h = this.handle;
    if (!h.backend.readSync)
      throw new StateError('Tensor.dataSync', 'a backend with synchronous read-back (cpu)', h.backend.name, 'use await tensor.data()');
    return h.backend.readSync(h.storage, this.dtype, this.size);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new StateError('Tensor.item', 'a tensor with one element', `shape ${fmtShape(this.shape)}`);
    return (await this.data())[0]!;
  }

  /** Nested JS arrays, for printing and small tests. */
  async array(): Promise<unknown> {
    const flat = Array.from(await this.data());
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return flat[offset];
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** Releases this tensor's reference to its storage now. Idempotent. */
  dispose(): void {
    const h = this._handle;
    if (h === null) return;
    this._handle = null;
    untrack(this);
    leakRegistry.unregister(this);
    if (--h.refs === 0) {
      releaseHandle(h);
      h.backend.free(h.storage);
    }
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.isDisposed ? ', disposed' : ''})`;
  }
}
