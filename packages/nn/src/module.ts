// Module: a tree of layers owning named parameters. Parameters are immutable tensors; an
// optimizer step produces new ones and installs them with setParameter (the old ones are
// disposed). Modes: 'train' (dropout on), 'eval' (dropout off: the deterministic
// weight-averaged net), 'mc' (dropout on at test time: Monte Carlo dropout prediction).

import { keep, StateError, type Key, type Tensor } from '@alphadrop/core';

export type Mode = 'train' | 'eval' | 'mc';

/** Per-pass facts the layers need: where the dropout masks of this pass come from. */
export interface ForwardContext {
  /**
   * The key of this pass's masks, derived for its purpose (core's `derive`: trainDropout for
   * fit, predict / attack… for evaluations), so masks of different purposes never share words.
   */
  key: Key;
  /** Training step, or batch/chunk number within an evaluation: distinct values draw fresh masks. 0 … 2^53-1. */
  step: number;
  /**
   * A model batch's keys, one per model (nn batch/): model g's masks are drawn under keys[g]
   * exactly as that model alone would draw them under its own `key`.
   */
  keys?: readonly Key[];
}

export interface ParameterInfo {
  /** 'weight' parameters (kernels) get weight decay; biases do not (as in the paper's code). */
  kind: 'weight' | 'bias';
  /** Rate of the dropout feeding this layer (0 without dropout), for the dropout-scaled decay. */
  inputDropoutRate: number;
}

export abstract class Module {
  mode: Mode = 'train';
  private readonly ownParams = new Map<string, { tensor: Tensor; info: ParameterInfo }>();
  private readonly children: [string, Module][] = [];

  abstract forward(x: Tensor, ctx: ForwardContext): Tensor;

  protected addParameter(name: string, t: Tensor, kind: ParameterInfo['kind']): Tensor {
    this.ownParams.set(name, { tensor: keep(t), info: { kind, inputDropoutRate: 0 } });
    return t;
  }

  protected addChild<M extends Module>(name: string, m: M): M {
    this.children.push([name, m]);
    return m;
  }

  /** This module's own parameter (not its children's). */
  protected param(name: string): Tensor {
    const p = this.ownParams.get(name);
    if (!p) throw new StateError(this.constructor.name, `a parameter named ${name}`, 'none');
    return p.tensor;
  }

  /** Dotted names → tensors, depth first in registration order (stable across runs). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this.ownParams) out.push([prefix + n, p.tensor]);
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix}${n}.`));
    return out;
  }

  parameterInfo(prefix = ''): [string, ParameterInfo][] {
    const out: [string, ParameterInfo][] = [];
    for (const [n, p] of this.ownParams) out.push([prefix + n, p.info]);
    for (const [n, c] of this.children) out.push(...c.parameterInfo(`${prefix}${n}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Sets the rate of the dropout feeding this module, recorded for its weights. */
  setInputDropoutRate(rate: number): void {
    for (const v of this.ownParams.values()) v.info.inputDropoutRate = rate;
  }

  /** Replaces a parameter by dotted name; the previous tensor is disposed unless `disposeOld` is false. */
  setParameter(name: string, t: Tensor, disposeOld = true): void {
    const dot = name.indexOf('.');
    if (dot >= 0) {
      const head = name.slice(0, dot);
      const child = this.children.find(([n]) => n === head);
      if (!child) throw new StateError(`${this.constructor.name}.setParameter`, `a child named ${head}`, 'none', name);
      child[1].setParameter(name.slice(dot + 1), t, disposeOld);
      return;
    }
    const p = this.ownParams.get(name);
    if (!p) throw new StateError(`${this.constructor.name}.setParameter`, `a parameter named ${name}`, 'none');
    if (p.tensor.shape.length !== t.shape.length || p.tensor.shape.some((d, i) => d !== t.shape[i]))
      throw new StateError(`${this.constructor.name}.setParameter`, `shape [${p.tensor.shape}] for ${name}`, `[${t.shape}]`);
    if (disposeOld && p.tensor !== t) p.tensor.dispose();
    p.tensor = keep(t);
  }

  setMode(mode: Mode): this {
    this.mode = mode;
    for (const [, c] of this.children) c.setMode(mode);
    return this;
  }
  train(): this {
    return this.setMode('train');
  }
  eval(): this {
    return this.setMode('eval');
  }
  /** Monte Carlo dropout: masks stay on at prediction time. */
  mc(): this {
    return this.setMode('mc');
  }

  dispose(): void {
    for (const p of this.ownParams.values()) p.tensor.dispose();
    for (const [, c] of this.children) c.dispose();
  }
}
