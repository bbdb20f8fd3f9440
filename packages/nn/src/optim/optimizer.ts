// Optimizers over one flat parameter buffer. Each step concatenates the gradients, adds
// the L2 term, runs ONE fused update primitive (optimizerUpdate: SGD, momentum, Nesterov or
// Adam over every parameter at once: one kernel on the GPU), and installs the new
// parameters in the model. State (velocity, moments) lives in flat tensors.
//
// Weight decay follows the paper's code (Keras l2): λ·Σ‖W‖² added to the batch-mean loss,
// on kernels only, so the gradient gains 2λW. decayForm 'dropoutScaled' weights each layer's
// term by 1 − rate of the dropout feeding it (the paper's Σ p_i‖M_i‖² form, p_i the keep probability).

import {
  add, concat, keep, mul, noGrad, reshape, slice, stepBound, sum, tensor, tidy, ValueError, zeros, type Tensor,
} from '@alphadrop/core';
import { OPTIMIZER_SLOTS, optimizerUpdate, type OptimizerParams, type OptimizerRule } from '@alphadrop/core/backend';
import type { Module } from '../module.js';

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
  slots: Tensor[];
  private readonly sizes: number[];
  private readonly names: string[];
  private readonly decay: Tensor | null;
  readonly total: number;

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
    const dtype = named[0]?.[1].dtype ?? 'f32';
    this.slots = Array.from({ length: slots }, () => keep(zeros([this.total], { dtype })));
    const wd = options.weightDecay ?? 0;
    if (wd < 0 || !Number.isFinite(wd)) throw new ValueError('Optimizer', 'a finite weightDecay >= 0', String(wd));
    if (wd > 0) {
      const info = new Map(model.parameterInfo());
      const coef = new Float64Array(this.total);
      let at = 0;
      named.forEach(([name, t]) => {
        const i = info.get(name)!;
        const c = i.kind === 'weight' ? 2 * wd * (options.decayForm === 'dropoutScaled' ? 1 - i.inputDropoutRate : 1) : 0;
        coef.fill(c, at, at + t.size);
        at += t.size;
      });
      this.decay = keep(tensor(coef, [this.total], { dtype }));
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
    const params = this.model.parameters();
    const step = this.step + 1;
    const o = this.options;
    const { next, slots, finiteness } = noGrad(() =>
      tidy(() => {
        const flatP = concat(params.map((p) => reshape(p, [-1])));
        let flatG = concat(grads.map((g) => reshape(g, [-1])));
        if (this.decay) flatG = add(flatG, mul(this.decay, flatP));
        const [p, ...s] = optimizerUpdate(flatP, flatG, this.slots, this.updateParams(step));
        let at = 0;
        const next = params.map((old, i) => {
          const t = reshape(slice(p!, [at], [this.sizes[i]!]), [...old.shape]);
          at += this.sizes[i]!;
          return t;
        });
        return { next, slots: s, finiteness: opts?.finiteness ? keep(sum(mul(p!, 0))) : null };
      }),
    );
    this.names.forEach((n, i) => this.model.setParameter(n, next[i]!));
    this.slots.forEach((t) => t.dispose());
    this.slots = slots.map((t) => keep(t));
    this.step = step;
    if (finiteness) return finiteness;
  }

  /** Installs new state slots (same shapes, in order); takes ownership and disposes the old ones. */
  replaceSlots(slots: readonly Tensor[]): void {
    if (slots.length !== this.slots.length) throw new ValueError('Optimizer.replaceSlots', `${this.slots.length} slots`, `${slots.length}`);
    this.slots.forEach((t, i) => {
      if (t !== slots[i]) t.dispose();
    });
    this.slots = slots.map((t) => keep(t));
  }

  dispose(): void {
    this.slots.forEach((t) => t.dispose());
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
