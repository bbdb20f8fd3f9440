// The engine: the one path every primitive takes. apply() validates and infers the output
// through the shape rules, runs the primitive on the operands' backend (or, for a reshape
// and a contiguous slice or concatenation, shares the input's storage), and records it on
// the active gradient tapes. Also holds the current default backend. The tapes are
// autodiff.ts's, pushed on `recorders` while a gradient is being taken: the engine only
// knows the Recorder interface, so autodiff (which needs the ops, which need apply) sits
// above it and nothing here imports back up.

import type { Backend } from './backend.js';
import { bytesPerElement, type DType, type HostArray } from './dtype.js';
import { DeviceError, DTypeError } from './errors.js';
import { Prim, type PrimParams } from './prims.js';
import { shapeRules } from './rules-shape.js';
import { sizeOf, type Shape } from './shape.js';
import { DataHandle, Tensor } from './tensor.js';
import { concatView, sliceView } from './views.js';

/** Something that sees every primitive run: autodiff.ts's gradient tapes. */
export interface Recorder {
  record<P extends Prim>(prim: P, inputs: readonly Tensor[], params: PrimParams[P], out: Tensor): void;
}

/** The open tapes, outermost first; autodiff.ts pushes and pops them. */
export const recorders: Recorder[] = [];

let current: Backend | null = null;
let defaultFactory: (() => Backend) | null = null;

/** Installs the backend used for tensors created without an explicit one. */
export function setBackend(backend: Backend): void {
  current = backend;
}

/** core/index.ts registers the CPU backend as the fallback (no import cycle this way). */
export function setDefaultBackendFactory(factory: () => Backend): void {
  defaultFactory = factory;
}

export function getBackend(): Backend {
  if (current === null) {
    if (defaultFactory === null) throw new DeviceError('getBackend', 'a registered backend', 'none');
    current = defaultFactory();
  }
  return current;
}

/** Wraps host values (ownership passes to the backend) as a tensor. */
export function fromHost(values: HostArray, shape: Shape, dtype: DType, backend: Backend = getBackend()): Tensor {
  if (!backend.dtypes.includes(dtype))
    throw new DTypeError(`${backend.name} backend`, `a dtype of ${backend.dtypes.join('/')}`, dtype);
  const storage = backend.upload(values, dtype);
  return new Tensor(shape, dtype, new DataHandle(backend, storage, values.length * bytesPerElement(dtype)));
}

/**
 * The storage a primitive's result can share instead of running: a reshape shares its
 * input's handle (contiguous storage); a contiguous slice or concatenation views its
 * input's storage where the backend can (views.ts). Null: the primitive runs.
 */
function viewFor<P extends Prim>(prim: P, inputs: readonly Tensor[], params: PrimParams[P], shape: Shape, dtype: DType): DataHandle | null {
  if (prim === Prim.Reshape) {
    const h = inputs[0]!.handle;
    h.refs++;
    return h;
  }
  if (prim === Prim.Slice) {
    const p = params as PrimParams[Prim.Slice];
    return sliceView(inputs[0]!, p.begin, p.size);
  }
  if (prim === Prim.Concat) return concatView(inputs, (params as PrimParams[Prim.Concat]).axis, shape, dtype);
  return null;
}

/** Runs one primitive. The only place where tensors are made from other tensors. */
export function apply<P extends Prim>(prim: P, inputs: readonly Tensor[], params: PrimParams[P]): Tensor {
  const backend = inputs.length > 0 ? inputs[0]!.backend : getBackend();
  for (const t of inputs)
    if (t.backend !== backend)
      throw new DeviceError(prim, `all operands on the ${backend.name} backend`, `one on ${t.backend.name}`, 'move it with toBackend()');
  const spec = shapeRules[prim](inputs, params);
  if (!backend.dtypes.includes(spec.dtype))
    throw new DTypeError(prim, `a result dtype the ${backend.name} backend stores (${backend.dtypes.join('/')})`, spec.dtype);
  let out: Tensor;
  const view = viewFor(prim, inputs, params, spec.shape, spec.dtype);
  if (view !== null) {
    out = new Tensor(spec.shape, spec.dtype, view);
  } else {
    const operands = inputs.map((t) => ({ storage: t.storage, shape: t.shape, dtype: t.dtype }));
    const storage = backend.execute(prim, operands, params, spec);
    const bytes = sizeOf(spec.shape) * bytesPerElement(spec.dtype);
    out = new Tensor(spec.shape, spec.dtype, new DataHandle(backend, storage, bytes));
  }
  for (let i = 0; i < recorders.length; i++) recorders[i]!.record(prim, inputs, params, out);
  return out;
}
