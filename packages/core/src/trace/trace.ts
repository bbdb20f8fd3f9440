// Traced steps: run a step function eagerly once while the backend records its dispatches,
// then replay the recording at later steps with no tensor, tape, shape rule or plan lookup
// on the way: what jax.jit gives a training loop, for a backend that can replay (WebGPU).
//
// The contract of a traced function fn(step, inputs) → outputs:
//   - it reads and replaces `state` (a model's parameters, an optimizer's slots) and nothing
//     else that persists; the state's values are updated in place by a replay, in the same
//     storage every step;
//   - everything it does that depends on the step goes through step-bound params
//     (step-bound.ts): dropout coordinates, the optimizer's learning rate and step;
//   - it uploads only constants, and reads nothing back.
// The second call is recorded too and compared with the first one's replay at that step:
// a dispatch, dispatch size, uniform value or upload that differs means the function breaks
// the contract, and the trace falls back to eager for good, saying why (`reason`). A call
// whose input or state shapes or dtypes differ from the recorded ones runs eagerly.

import type { Backend, CaptureSupport, Recording } from '../backend.js';
import { bytesPerElement } from '../dtype.js';
import { StateError } from '../errors.js';
import { keep } from '../memory.js';
import { fmtShape, sizeOf } from '../shape.js';
import { DataHandle, Tensor } from '../tensor.js';

/** The persistent tensors a traced function reads and replaces. */
export interface TraceState {
  /** The current state tensors, in a fixed order. */
  read(): readonly Tensor[];
  /** Installs new state tensors in the same order; takes ownership and disposes the old ones. */
  write(tensors: readonly Tensor[]): void;
}

export type StepFunction = (step: number, inputs: readonly Tensor[]) => readonly Tensor[];

export interface TraceResult {
  /** The function's outputs (fresh tensors, the caller's to dispose). */
  outputs: Tensor[];
  /** Whether this call replayed the recording (false: it ran the JavaScript). */
  replayed: boolean;
}

type Mode = 'record' | 'verify' | 'replay' | 'eager';

/** A view of `t`'s storage that the trace owns (its own reference on the handle). */
function share(t: Tensor): Tensor {
  const h = t.handle;
  h.refs++;
  return keep(new Tensor(t.shape, t.dtype, h));
}

function signatureOf(ts: readonly Tensor[]): string {
  return ts.map((t) => `${t.dtype}${fmtShape(t.shape)}`).join(',');
}

export class TracedStep {
  private mode: Mode = 'record';
  private why: string | null = null;
  private recording: Recording | null = null;
  private signature = '';
  /** Where recorded inputs, state and outputs live; a replay reads and writes these. */
  private inputs: Tensor[] = [];
  private state: Tensor[] = [];
  private outputs: Tensor[] = [];
  /** The handles last copied into `inputs`: tensors are immutable, so the same handle needs no copy. */
  private copiedFrom: (DataHandle | null)[] = [];

  constructor(
    private readonly fn: StepFunction,
    private readonly stateAccess: TraceState,
  ) {}

  /** Why the trace runs eagerly, or null while it records or replays. */
  get reason(): string | null {
    return this.why;
  }

  /** Whether later calls replay (after the first two calls agreed). */
  get replaying(): boolean {
    return this.mode === 'replay';
  }

  /** Dispatches per replayed step (0 before a recording exists). */
  get dispatches(): number {
    return this.recording?.dispatches ?? 0;
  }

  run(step: number, inputs: readonly Tensor[]): TraceResult {
    const backend = inputs[0]?.backend;
    if (!backend) throw new StateError('TracedStep.run', 'at least one input tensor', 'none');
    const capture = backend.capture as CaptureSupport | undefined;
    if (this.mode !== 'eager' && !capture) this.fallBack(`the ${backend.name} backend cannot record dispatches`);
    if (this.mode === 'eager' || !capture) return this.eager(backend, step, inputs);
    const signature = `${signatureOf(inputs)}|${signatureOf(this.stateAccess.read())}`;
    if (this.mode !== 'record' && signature !== this.signature) return this.detour(backend, capture, step, inputs);
    if (this.mode !== 'record' && !this.stateIsOurs()) {
      // The state was replaced from outside (e.g. a checkpoint loaded): record again.
      this.release();
      this.mode = 'record';
    }
    if (this.mode === 'replay') return this.replay(backend, capture, step, inputs);
    this.signature = signature;
    return this.record(backend, capture, step, inputs);
  }

  /** Releases the recording and the storage it holds. */
  dispose(): void {
    this.release();
    this.mode = 'record';
  }

  private fallBack(reason: string): void {
    this.release();
    this.mode = 'eager';
    this.why = reason;
  }

  private release(): void {
    this.recording?.dispose();
    this.recording = null;
    for (const t of [...this.inputs, ...this.state, ...this.outputs]) t.dispose();
    this.inputs = [];
    this.state = [];
    this.outputs = [];
    this.copiedFrom = [];
  }

  private stateIsOurs(): boolean {
    const now = this.stateAccess.read();
    return now.length === this.state.length && now.every((t, i) => t.handle === this.state[i]!.handle);
  }

  private eager(backend: Backend, step: number, inputs: readonly Tensor[]): TraceResult {
    const outputs = [...this.fn(step, inputs)];
    backend.flush();
    return { outputs, replayed: false };
  }

  /**
   * A call with other shapes (a last, smaller batch): runs fn eagerly and copies the new
   * state back into the trace's storage, so the recording stays valid for the next call.
   */
  private detour(backend: Backend, capture: CaptureSupport, step: number, inputs: readonly Tensor[]): TraceResult {
    const outputs = [...this.fn(step, inputs)];
    this.copyStateHome(capture);
    this.stateAccess.write(this.state.map(share));
    backend.flush();
    return { outputs, replayed: false };
  }

  /** Encodes copies of the state tensors the function replaced into the trace's storage. */
  private copyStateHome(capture: CaptureSupport): void {
    this.stateAccess.read().forEach((t, i) => {
      const home = this.state[i]!;
      if (t.handle !== home.handle) capture.copy(t.storage, home.storage);
    });
  }

  /**
   * Runs fn on the trace's own input storage while the backend records; the new state is
   * copied back into the state's storage (recorded too), so the state never moves.
   * The first call keeps the recording; the second checks it against its own.
   */
  private record(backend: Backend, capture: CaptureSupport, step: number, inputs: readonly Tensor[]): TraceResult {
    const first = this.mode === 'record';
    if (first) {
      this.inputs = inputs.map((x) => keep(wrap(backend, capture.clone(x.storage), x)));
      this.copiedFrom = inputs.map((x) => x.handle);
      // the state moves into storage of the trace's own (roots, not views of someone's buffer)
      this.state = this.stateAccess.read().map((t) => keep(wrap(backend, capture.clone(t.storage), t)));
      this.stateAccess.write(this.state.map(share));
    } else this.copyInputs(capture, inputs);
    capture.beginCapture(first);
    let outputs: Tensor[];
    try {
      outputs = [...this.fn(step, this.inputs)];
      this.copyStateHome(capture);
    } catch (e) {
      // nothing recorded survives a failed step: the next call starts over
      capture.endCapture().dispose();
      this.release();
      this.mode = 'record';
      throw e;
    }
    const recording = capture.endCapture();
    // The state's values are back in the trace's storage: hand the owner views of it.
    this.stateAccess.write(this.state.map(share));
    if (first) {
      this.recording = recording;
      this.outputs = outputs.map(keep);
      this.mode = 'verify';
      const fresh = this.outputs.map((o) => wrap(backend, capture.clone(o.storage), o));
      backend.flush();
      return { outputs: fresh, replayed: false };
    }
    const why = this.recording!.mismatch(recording, step);
    recording.dispose();
    backend.flush();
    if (why) this.fallBack(`the step function is not replayable: ${why}`);
    else this.mode = 'replay';
    return { outputs, replayed: false };
  }

  private replay(backend: Backend, capture: CaptureSupport, step: number, inputs: readonly Tensor[]): TraceResult {
    this.copyInputs(capture, inputs);
    this.recording!.replay(step);
    const fresh = this.outputs.map((o) => wrap(backend, capture.clone(o.storage), o));
    backend.flush();
    return { outputs: fresh, replayed: true };
  }

  private copyInputs(capture: CaptureSupport, inputs: readonly Tensor[]): void {
    inputs.forEach((x, i) => {
      // the state is the one thing a replay changes in place: never trust its handle
      if (x.handle === this.copiedFrom[i] && !this.state.some((s) => s.handle === x.handle)) return;
      capture.copy(x.storage, this.inputs[i]!.storage);
      this.copiedFrom[i] = x.handle;
    });
  }
}

function byteSize(t: Tensor): number {
  return sizeOf(t.shape) * bytesPerElement(t.dtype);
}

function wrap(backend: Backend, storage: unknown, like: Tensor): Tensor {
  return new Tensor(like.shape, like.dtype, new DataHandle(backend, storage, byteSize(like)));
}

/**
 * Traces a step function over `state`: see the contract above. Call run(step, inputs)
 * once per step; the first two calls run eagerly (recording, then checking the recording),
 * later ones replay where the backend can, and run eagerly where it cannot.
 */
export function trace(fn: StepFunction, state: TraceState): TracedStep {
  return new TracedStep(fn, state);
}
