// Memory scopes. Every tensor made inside tidy(fn) is disposed when fn returns, except the
// tensors fn returns (they move to the enclosing scope) and those passed to keep().
// memory() reports live tensors and bytes; a FinalizationRegistry frees and counts tensors
// that were garbage collected while still live (a leak: GPU memory would have been held
// until the collector ran, which may be never under memory pressure on the device).

import { StateError } from './errors.js';
import type { DataHandle, Tensor } from './tensor.js';

const scopes: Set<Tensor>[] = [];
const kept = new WeakSet<Tensor>();
let liveTensors = 0;
let liveBytes = 0;
let leaked = 0;
const liveHandles = new Set<DataHandle>();

export const leakRegistry = new FinalizationRegistry<DataHandle>((handle) => {
  leaked++;
  liveTensors--;
  if (--handle.refs === 0) {
    handle.backend.free(handle.storage);
    liveHandles.delete(handle);
    liveBytes -= handle.bytes;
  }
});

/** Called by the Tensor constructor. */
export function trackNew(t: Tensor, handle: DataHandle): void {
  liveTensors++;
  if (!liveHandles.has(handle)) {
    liveHandles.add(handle);
    liveBytes += handle.bytes;
  }
  leakRegistry.register(t, handle, t);
  const scope = scopes[scopes.length - 1];
  if (scope) scope.add(t);
}

/** Called by Tensor.dispose(). */
export function untrack(t: Tensor): void {
  liveTensors--;
  for (let i = scopes.length - 1; i >= 0; i--) if (scopes[i]!.delete(t)) break;
}

/** Called when a handle's last reference goes away through dispose(). */
export function releaseHandle(handle: DataHandle): void {
  if (liveHandles.delete(handle)) liveBytes -= handle.bytes;
}

/** Exempts `t` from disposal by the enclosing tidy scopes. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.delete(t);
  return t;
}

type TensorContainer = Tensor | readonly TensorContainer[] | { readonly [k: string]: TensorContainer } | number | string | boolean | null | undefined | void;

function collect(value: unknown, into: Set<Tensor>, isTensor: (v: unknown) => v is Tensor): void {
  if (isTensor(value)) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, into, isTensor);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collect(v, into, isTensor);
}

let tensorCheck: ((v: unknown) => v is Tensor) | null = null;
/** tensor.ts cannot be imported here (cycle); index.ts installs the instanceof check. */
export function setTensorCheck(check: (v: unknown) => v is Tensor): void {
  tensorCheck = check;
}

/**
 * Runs fn in a memory scope. Tensors made inside and not returned (in an array or plain
 * object, at any depth) nor kept are disposed when fn returns or throws.
 */
export function tidy<T extends TensorContainer>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new StateError('tidy', 'a synchronous function', 'a function returning a Promise', 'tidy cannot track tensors across await');
  }
  const returned = new Set<Tensor>();
  collect(result, returned, tensorCheck!);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (returned.has(t)) parent?.add(t);
    else if (!kept.has(t)) t.dispose();
  }
  return result;
}

/** Disposes every tensor in a container (arrays and plain objects, any depth). */
export function dispose(value: TensorContainer): void {
  const all = new Set<Tensor>();
  collect(value, all, tensorCheck!);
  for (const t of all) t.dispose();
}

export interface MemoryInfo {
  /** Tensors not yet disposed. */
  tensors: number;
  /** Distinct storage buffers those tensors hold (reshapes share one). */
  buffers: number;
  bytes: number;
  /** Tensors garbage collected without dispose() since start. */
  leaked: number;
}

export function memory(): MemoryInfo {
  return { tensors: liveTensors, buffers: liveHandles.size, bytes: liveBytes, leaked };
}
