// Memory scopes. Every tensor made inside tidy(fn) is disposed when fn returns, except the
// tensors fn returns (they move to the enclosing scope) and those passed to keep().
// memory() reports live tensors and bytes; tensor.ts's FinalizationRegistry frees and counts
// tensors that were garbage collected while still live (a leak: GPU memory would have been
// held until the collector ran, which may be never under memory pressure on the device).

import { StateError } from './errors.js';
import { liveCounts, scopes, Tensor } from './tensor.js';

const kept = new WeakSet<Tensor>();

/** Exempts `t` from disposal by the enclosing tidy scopes. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  for (const s of scopes) s.delete(t);
  return t;
}

type TensorContainer = Tensor | readonly TensorContainer[] | { readonly [k: string]: TensorContainer } | number | string | boolean | null | undefined | void;

function collect(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    for (const v of Object.values(value)) collect(v, into);
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
  collect(result, returned);
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
  collect(value, all);
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
  return liveCounts();
}
