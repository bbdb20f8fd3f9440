// Reverse mode by tape. While a gradient is being taken, every primitive whose inputs
// depend on a watched tensor is recorded with the tensors its VJP rule asks to save
// (rules-vjp.ts). The backward pass walks the tape in reverse and *accumulates* each
// input's cotangent (g += vjp), zeroing nowhere but at the start: the micrograd contract.
// Backward ops are ordinary primitives, so they are themselves recorded on any enclosing
// tape: grad of grad works. The engine calls each open tape's record() after every
// primitive (engine.ts `recorders`).

import { recorders, type Recorder } from './engine.js';
import { ShapeError, DTypeError } from './errors.js';
import { isFloat } from './dtype.js';
import type { Prim, PrimParams } from './prims.js';
import { vjpRules, type SavedValues } from './rules-vjp.js';
import { fmtShape } from './shape.js';
import { Tensor } from './tensor.js';
import { keep, tidy } from './memory.js';
import { add, onesLike, reshape, zerosLike } from './ops.js';
import { noGradDepth } from './grad-mode.js';

interface TapeEntry {
  prim: Prim;
  params: PrimParams[Prim];
  inputIds: number[];
  needs: boolean[];
  saved: SavedValues;
  outputId: number;
}

class Tape implements Recorder {
  readonly watched = new Set<number>();
  readonly entries: TapeEntry[] = [];
  /** The tape's own references to saved tensors (by saved tensor id), released after backward. */
  readonly retained = new Map<number, Tensor>();
  /** noGrad hides ops from the tapes opened outside it, not from a gradient taken inside it. */
  constructor(readonly noGradDepth: number) {}

  /**
   * A view of `t` sharing its storage that no tidy scope disposes: a scope inside the
   * differentiated function may dispose `t` before the backward pass reads it.
   */
  retain(t: Tensor): Tensor {
    const id = idOf(t);
    let view = this.retained.get(id);
    if (view === undefined) {
      const h = t.handle;
      h.refs++;
      view = keep(new Tensor(t.shape, t.dtype, h));
      origin.set(view, id);
      this.retained.set(id, view);
    }
    return view;
  }

  /** Called by engine.apply after every primitive while this tape is open. */
  record<P extends Prim>(prim: P, inputs: readonly Tensor[], params: PrimParams[P], out: Tensor): void {
    if (this.noGradDepth !== noGradDepth() || !isFloat(out.dtype)) return;
    const needs = inputs.map((t) => isFloat(t.dtype) && this.watched.has(idOf(t)));
    if (!needs.some(Boolean)) return;
    const rule = vjpRules[prim];
    const saved: SavedValues = {
      x: inputs.map((t, i) =>
        rule.saves.inputs === 'all' || (rule.saves.inputs as readonly number[]).includes(i) ? this.retain(t) : undefined,
      ),
      y: rule.saves.output ? this.retain(out) : undefined,
      shapes: inputs.map((t) => t.shape),
      dtypes: inputs.map((t) => t.dtype),
    };
    this.entries.push({ prim, params, inputIds: inputs.map(idOf), needs, saved, outputId: out.id });
    this.watched.add(out.id);
  }

  release(): void {
    for (const view of this.retained.values()) view.dispose();
    this.retained.clear();
  }
}

/** A retained view stands for the tensor it was made from, on every tape (grad of grad). */
const origin = new WeakMap<Tensor, number>();
const idOf = (t: Tensor): number => origin.get(t) ?? t.id;

/** Open tapes are engine.ts's `recorders`; every recorder is a Tape. */
const tapes = recorders;

function backward(tape: Tape, y: Tensor, dy: Tensor): Map<number, Tensor> {
  const grads = new Map<number, Tensor>([[y.id, dy]]);
  for (let e = tape.entries.length - 1; e >= 0; e--) {
    const entry = tape.entries[e]!;
    const g = grads.get(entry.outputId);
    if (g === undefined) continue;
    const rule = vjpRules[entry.prim] as (typeof vjpRules)[Prim];
    const inGrads = (rule.vjp as (g: Tensor, s: SavedValues, p: unknown, needs: boolean[]) => (Tensor | null)[])(
      g,
      entry.saved,
      entry.params,
      entry.needs,
    );
    entry.needs.forEach((need, i) => {
      const gi = inGrads[i];
      if (!need || gi === null || gi === undefined) return;
      const id = entry.inputIds[i]!;
      const prev = grads.get(id);
      grads.set(id, prev === undefined ? gi : add(prev, gi));
    });
  }
  return grads;
}

export interface ValueAndGrads {
  value: Tensor;
  grads: Tensor[];
}

/**
 * Evaluates fn() and the gradients of its (scalar, float) result with respect to `wrt`.
 * Intermediates are disposed on return; value and grads are the caller's to dispose.
 * Pass `dy` for a non-scalar result (the vector in the vector-Jacobian product).
 */
export function valueAndGradsOf(fn: () => Tensor, wrt: readonly Tensor[], dy?: Tensor): ValueAndGrads {
  for (const t of wrt)
    if (!isFloat(t.dtype)) throw new DTypeError('valueAndGrad', 'float tensors to differentiate with respect to', t.dtype);
  const run = (): ValueAndGrads => {
    const tape = new Tape(noGradDepth());
    for (const t of wrt) tape.watched.add(t.id);
    tapes.push(tape);
    try {
      let y: Tensor;
      try {
        y = fn();
      } finally {
        tapes.pop();
      }
      if (!isFloat(y.dtype)) throw new DTypeError('valueAndGrad', 'a float result', y.dtype);
      if (dy === undefined && y.size !== 1)
        throw new ShapeError('valueAndGrad', 'a scalar result (or an explicit dy)', fmtShape(y.shape));
      if (dy !== undefined && (dy.shape.length !== y.shape.length || dy.shape.some((d, i) => d !== y.shape[i])))
        throw new ShapeError('valueAndGrad', `dy of the result's shape ${fmtShape(y.shape)}`, fmtShape(dy.shape));
      const grads = backward(tape, y, dy ?? onesLike(y));
      // Each result is a tensor of its own: never an input, dy, or another result (one
      // cotangent can serve several operands), so disposing one leaves the rest alive.
      const taken = new Set<Tensor>(dy ? [...wrt, dy] : wrt);
      const own = (t: Tensor): Tensor => {
        const r = taken.has(t) ? reshape(t, [...t.shape]) : t;
        taken.add(r);
        return r;
      };
      const value = own(y);
      return { value, grads: wrt.map((t) => own(grads.get(t.id) ?? zerosLike(t))) };
    } finally {
      tape.release();
    }
  };
  // Inside an enclosing gradient, the enclosing tape holds references to our
  // intermediates: leave them to the enclosing scope instead of disposing them here.
  if (tapes.length > 0) return run();
  return tidy(() => {
    const r = run();
    return { value: r.value, grads: r.grads };
  }) as ValueAndGrads;
}

/** JAX-style: valueAndGrad(f)(...xs) → { value, grads } with one gradient per argument. */
export function valueAndGrad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => ValueAndGrads {
  return (...xs) => valueAndGradsOf(() => f(...xs), xs);
}

/** JAX-style: grad(f)(...xs) → one gradient per argument (the value is disposed). */
export function grad(f: (...xs: Tensor[]) => Tensor): (...xs: Tensor[]) => Tensor[] {
  return (...xs) => {
    const { value, grads } = valueAndGradsOf(() => f(...xs), xs);
    if (tapes.length === 0) value.dispose();
    return grads;
  };
}
