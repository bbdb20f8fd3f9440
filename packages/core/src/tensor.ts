// Tensor: an immutable n-d array on a backend. Storage is reference-counted so reshape can
// share it and contiguous slices and concatenations can view it (views.ts); dispose() drops
// this tensor's reference now, tidy() scopes do it in bulk (memory.ts), and a
// FinalizationRegistry reports tensors that were garbage collected without being disposed.
// The live counts and the stack of open scopes live here, beside the constructor and
// dispose() that update them, so memory.ts depends on this file and not the other way round.
//
// A view's handle holds one reference on its root handle (the one that owns the storage),
// so the root is freed exactly once, when its last tensor and its last view are gone, in
// whatever order they are disposed. Live bytes count roots only: a view allocates nothing.

import type { Backend } from './backend.js';
import { bytesPerElement, type DType, type HostArray } from './dtype.js';
import { StateError } from './errors.js';
import { sizeOf, fmtShape, type Shape } from './shape.js';

/** Shared, reference-counted backend storage: a root that owns it, or a view into a root's. */
export class DataHandle {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly storage: unknown,
    readonly bytes: number,
    /** The handle whose storage this one aliases; null for a root (it owns its storage). */
    readonly root: DataHandle | null = null,
    /** Where this view starts in the root's storage, in elements (0 for a root). */
    readonly offset = 0,
  ) {}
}

/**
 * A handle on elements [offset, offset + size) of `root`'s storage (a root handle; `dtype`
 * its elements'): the root itself when the range is all of it, else a view holding one
 * reference on the root. Null where the backend cannot alias the range (no Backend.view,
 * an unaligned offset, an empty range): the caller copies instead.
 */
export function viewOf(root: DataHandle, dtype: DType, offset: number, size: number): DataHandle | null {
  if (root.root !== null) throw new StateError('viewOf', 'a root handle', 'a view', 'views are made of roots only');
  const bytes = size * bytesPerElement(dtype);
  if (offset === 0 && bytes === root.bytes) {
    root.refs++;
    return root;
  }
  const backend = root.backend;
  if (size === 0 || !backend.view) return null;
  const storage = backend.view(root.storage, dtype, offset, size);
  if (storage === null) return null;
  root.refs++;
  return new DataHandle(backend, storage, bytes, root, offset);
}

/** The open tidy scopes, innermost last (memory.ts pushes and pops them). */
export const scopes: Set<Tensor>[] = [];
let liveTensors = 0;
let liveBytes = 0;
let leaked = 0;
const liveHandles = new Set<DataHandle>();

/**
 * Drops one reference to `handle`. The last reference to a root frees its storage; the last
 * to a view drops the view's reference on its root (a view's storage is never freed itself).
 */
function release(handle: DataHandle): void {
  if (--handle.refs > 0) return;
  if (handle.root !== null) {
    release(handle.root);
    return;
  }
  if (liveHandles.delete(handle)) liveBytes -= handle.bytes;
  handle.backend.free(handle.storage);
}

/** A tensor garbage collected while still live: count it as leaked and drop its reference. */
const leakRegistry = new FinalizationRegistry<DataHandle>((handle) => {
  leaked++;
  liveTensors--;
  release(handle);
});

function trackNew(t: Tensor, handle: DataHandle): void {
  liveTensors++;
  // a view's bytes are its root's, counted once (the root is live while the view is)
  if (handle.root === null && !liveHandles.has(handle)) {
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

/** Live tensors, their distinct storage buffers (roots: views share them) and bytes, and tensors leaked so far (memory()). */
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
    release(h);
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.isDisposed ? ', disposed' : ''})`;
  }
}
