// Tensor: an immutable n-d array on a backend. Storage is reference-counted so reshape can
// share it; dispose() drops this tensor's reference now, tidy() scopes do it in bulk
// (memory.ts), and a FinalizationRegistry reports tensors that were garbage collected
// without being disposed.

import type { Backend } from './backend.js';
import type { DType, HostArray } from './dtype.js';
import { StateError } from './errors.js';
import { sizeOf, fmtShape, type Shape } from './shape.js';
import { trackNew, untrack, leakRegistry, releaseHandle } from './memory.js';

/** Shared, reference-counted backend storage. */
export class DataHandle {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly storage: unknown,
    readonly bytes: number,
  ) {}
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
