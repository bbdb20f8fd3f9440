// Optimizers over one flat parameter buffer. Each step concatenates the gradients and runs
// ONE fused update primitive (optimizerUpdate: the L2 term, then SGD, momentum, Nesterov or
// Adam over every parameter at once: one kernel on the GPU), and installs the new
// parameters in the model. State (velocity, moments) lives in flat tensors.
//
// The flat layout pads every parameter to a multiple of ALIGN elements, so that each
// parameter's piece of a flat buffer starts at an aligned offset and is a view of it (core's
// views.ts; WebGPU binds storage only at multiples of minStorageBufferOffsetAlignment): the
// new parameters, and the new slots (rows of the update's packed output), are views of it,
// and the next step reads that flat buffer itself. A step copies no parameter; a parameter
// replaced from outside costs one copy into a fresh flat buffer at the next step. Gradients are concatenated with
// zeros in the padding; the decay coefficients are 0 there, so the padding stays 0.
// Checkpoints see the slots without the padding (exportSlots / importSlots).
//
// Weight decay follows the paper's code (Keras l2): λ·Σ‖W‖² added to the batch-mean loss,
// on kernels only, so the gradient gains 2λW. decayForm 'dropoutScaled' weights each layer's
// term by 1 − rate of the dropout feeding it (the paper's Σ p_i‖M_i‖² form, p_i the keep probability).

import {
  concat, keep, mul, noGrad, reshape, slice, stepBound, sum, tensor, tidy, ValueError, zeros, type Tensor, type TraceState,
} from '@alphadrop/core';
import { OPTIMIZER_SLOTS, optimizerUpdate, type OptimizerParams, type OptimizerRule } from '@alphadrop/core/backend';
import type { Module } from '../module.js';

/**
 * Parameters start at multiples of ALIGN elements in the flat buffers: 256 bytes of f32,
 * the largest minStorageBufferOffsetAlignment WebGPU allows a device to ask for.
 */
export const ALIGN = 64;
const padded = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

export type Schedule = (step: number) => number;

export interface OptimizerOptions {
  rule: OptimizerRule;
  /** A constant or a schedule of the (1-based) step. */
  lr: number | Schedule;
  momentum?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** 'uniform': λ on every weight; 'dropoutScaled': λ·(1 − rate) of the dropout feeding the layer. */
  decayForm?: 'uniform' | 'dropoutScaled';
}

export class Optimizer {
  /** Completed steps. */
  step = 0;
  /**
   * The state slots (velocity; or first and second moments), flat in the padded layout
   * (`flatSize` long, each parameter at its offset). Checkpoints use exportSlots/importSlots.
   */
  slots: Tensor[];
  private readonly sizes: number[];
  private readonly names: string[];
  private readonly decay: Tensor | null;
  /** Parameters' elements, without padding. */
  readonly total: number;
  /** Where each parameter starts in the flat buffers (multiples of ALIGN). */
  private readonly offsets: number[];
  /** Length of the flat buffers (parameters, gradients, slots): the padded parameters end to end. */
  readonly flatSize: number;
  /** Zeros that pad each flattened gradient (or parameter) to its piece of the flat buffer; null where none is needed. */
  private readonly pads: (Tensor | null)[];
  /**
   * The flat parameters (padded layout) the model's parameters are views of, and those
   * parameters (compared by identity: a parameter replaced since, by anyone, is copied into
   * a fresh flat buffer at the next step instead).
   */
  private flat: Tensor | null = null;
  private installed: Tensor[] = [];

  constructor(
    readonly model: Module,
    readonly options: OptimizerOptions,
  ) {
    const slots = OPTIMIZER_SLOTS[options.rule];
    if (slots === undefined) throw new ValueError('Optimizer', 'rule sgd/momentum/nesterov/adam', String(options.rule));
    if (typeof options.lr === 'number' && !(options.lr > 0)) throw new ValueError('Optimizer', 'a positive learning rate', String(options.lr));
    const named = model.namedParameters();
    this.names = named.map(([n]) => n);
    this.sizes = named.map(([, t]) => t.size);
    this.total = this.sizes.reduce((a, b) => a + b, 0);
    this.offsets = [];
    let end = 0;
    for (const n of this.sizes) {
      this.offsets.push(end);
      end += padded(n);
    }
    this.flatSize = end;
    const dtype = named[0]?.[1].dtype ?? 'f32';
    this.pads = this.sizes.map((n) => (padded(n) > n ? keep(zeros([padded(n) - n], { dtype })) : null));
    this.slots = Array.from({ length: slots }, () => keep(zeros([this.flatSize], { dtype })));
    const wd = options.weightDecay ?? 0;
    if (wd < 0 || !Number.isFinite(wd)) throw new ValueError('Optimizer', 'a finite weightDecay >= 0', String(wd));
    if (wd > 0) {
      const info = new Map(model.parameterInfo());
      const coef = new Float64Array(this.flatSize); // 0 in the padding
      named.forEach(([name, t], k) => {
        const i = info.get(name)!;
        const c = i.kind === 'weight' ? 2 * wd * (options.decayForm === 'dropoutScaled' ? 1 - i.inputDropoutRate : 1) : 0;
        coef.fill(c, this.offsets[k]!, this.offsets[k]! + t.size);
      });
      this.decay = keep(tensor(coef, [this.flatSize], { dtype }));
    } else this.decay = null;
  }

  learningRate(step = this.step + 1): number {
    return typeof this.options.lr === 'number' ? this.options.lr : this.options.lr(step);
  }

  /**
   * The update primitive's params at (1-based) `step`. Marked step-bound: a traced training
   * step (core's trace) rebuilds them for each replayed step, learning-rate schedule included.
   */
  private updateParams(step: number): Partial<OptimizerParams> & Pick<OptimizerParams, 'rule' | 'lr'> {
    const o = this.options;
    const params = {
      rule: o.rule,
      lr: this.learningRate(step),
      ...(o.momentum !== undefined ? { momentum: o.momentum } : {}),
      ...(o.beta1 !== undefined ? { beta1: o.beta1 } : {}),
      ...(o.beta2 !== undefined ? { beta2: o.beta2 } : {}),
      ...(o.eps !== undefined ? { eps: o.eps } : {}),
      step,
    };
    // the trace's step is the count of completed steps: this update is number step + 1
    return stepBound(params, (completed) => this.updateParams(completed + 1));
  }

  /**
   * One update with gradients in model.namedParameters() order; the gradients are not
   * disposed. With `finiteness`, also returns a scalar Σ 0·p over the updated flat
   * parameters, kept for the caller: 0 when every parameter is finite, NaN otherwise
   * (0·±Inf and 0·NaN are NaN). One reduction on the device, read whenever the caller likes.
   */
  apply(grads: readonly Tensor[]): void;
  apply(grads: readonly Tensor[], opts: { finiteness: true }): Tensor;
  apply(grads: readonly Tensor[], opts?: { finiteness: boolean }): Tensor | void {
    if (grads.length !== this.sizes.length) throw new ValueError('Optimizer.apply', `${this.sizes.length} gradients`, `${grads.length}`);
    const step = this.step + 1;
    const flatP = this.flatParameters();
    const { p, slots, finiteness } = noGrad(() =>
      tidy(() => {
        const flatG = concat(grads.flatMap((g, i) => this.padPieces(g, i)));
        const [p, ...s] = optimizerUpdate(flatP, flatG, this.slots, this.updateParams(step), this.decay);
        return { p: p!, slots: s, finiteness: opts?.finiteness ? keep(sum(mul(p!, 0))) : null };
      }),
    );
    this.install(p);
    this.slots.forEach((t) => t.dispose());
    this.slots = slots.map((t) => keep(t));
    this.step = step;
    if (finiteness) return finiteness;
  }

  /**
   * The flat parameters (padded layout) the next update reads: the buffer the model's
   * parameters are views of, or, when one of them was replaced from outside, a fresh copy of
   * them all (installed, so the parameters are views of it from then on).
   */
  private flatParameters(): Tensor {
    const params = this.model.parameters();
    if (this.flat && params.every((p, i) => p === this.installed[i])) return this.flat;
    const flat = noGrad(() => tidy(() => concat(params.flatMap((p, i) => this.padPieces(p, i)))));
    this.install(flat);
    return flat;
  }

  /** Makes `flat` (padded layout) the parameters: each model parameter a view of its piece. Takes ownership of it. */
  private install(flat: Tensor): void {
    const shapes = this.model.parameters().map((t) => t.shape);
    const next = noGrad(() => tidy(() => this.offsets.map((at, i) => reshape(slice(flat, [at], [this.sizes[i]!]), [...shapes[i]!]))));
    this.names.forEach((n, i) => this.model.setParameter(n, next[i]!));
    this.installed = next;
    if (this.flat !== flat) this.flat?.dispose();
    this.flat = keep(flat);
  }

  /**
   * The optimizer's persistent state for a traced step (core's trace): the flat parameters
   * and the slots. Writing it installs the parameters as views of the flat buffer given.
   */
  traceState(): TraceState {
    return {
      read: () => [this.flatParameters(), ...this.slots],
      write: ([flat, ...slots]) => {
        this.install(flat!);
        this.replaceSlots(slots);
      },
    };
  }

  /** `t` flattened, then the zeros that pad it to parameter i's piece of the flat buffer. */
  private padPieces(t: Tensor, i: number): Tensor[] {
    const flat = reshape(t, [-1]);
    const pad = this.pads[i];
    return pad ? [flat, pad] : [flat];
  }

  /**
   * The state slots without the padding: each flat over the parameters in
   * model.namedParameters() order (`total` long), as checkpoints store them. The caller
   * disposes them.
   */
  exportSlots(): Tensor[] {
    return noGrad(() => tidy(() => this.slots.map((s) => concat(this.offsets.map((at, i) => slice(s, [at], [this.sizes[i]!]))))));
  }

  /** Installs state slots given without padding (as exportSlots returns them); takes ownership of them. */
  importSlots(slots: readonly Tensor[]): void {
    if (slots.length !== this.slots.length) throw new ValueError('Optimizer.importSlots', `${this.slots.length} slots`, `${slots.length}`);
    for (const t of slots)
      if (t.rank !== 1 || t.size !== this.total) throw new ValueError('Optimizer.importSlots', `flat slots of ${this.total} elements`, `shape [${t.shape}]`);
    const starts = this.sizes.map((_, i) => this.sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const flat = noGrad(() => tidy(() => slots.map((s) => concat(this.sizes.flatMap((n, i) => this.padPieces(slice(s, [starts[i]!], [n]), i))))));
    slots.forEach((t) => t.dispose());
    this.replaceSlots(flat);
  }

  /**
   * Installs new state slots (same shapes, in order); takes ownership and disposes the old ones.
   */
  replaceSlots(slots: readonly Tensor[]): void {
    if (slots.length !== this.slots.length) throw new ValueError('Optimizer.replaceSlots', `${this.slots.length} slots`, `${slots.length}`);
    this.slots.forEach((t, i) => {
      if (t !== slots[i]) t.dispose();
    });
    this.slots = slots.map((t) => keep(t));
  }

  dispose(): void {
    this.slots.forEach((t) => t.dispose());
    this.flat?.dispose();
    this.flat = null;
    this.installed = [];
    this.pads.forEach((t) => t?.dispose());
    this.decay?.dispose();
  }
}

/** Learning-rate schedules (functions of the 1-based step). */
export const schedules = {
  constant: (lr: number): Schedule => () => lr,
  /** lr · factor^floor(step / every) */
  stepDecay: (lr: number, factor: number, every: number): Schedule => (s) => lr * Math.pow(factor, Math.floor(s / every)),
  /** lr · (1 + γ·step)^(−power), Keras/Caffe "inv" */
  inverseTime: (lr: number, gamma: number, power: number): Schedule => (s) => lr * Math.pow(1 + gamma * s, -power),
  /** cosine from lr to lrMin over `steps` */
  cosine: (lr: number, steps: number, lrMin = 0): Schedule => (s) => lrMin + 0.5 * (lr - lrMin) * (1 + Math.cos((Math.PI * Math.min(s, steps)) / steps)),
};
