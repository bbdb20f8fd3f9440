// The optimizer's padded flat layout (optim/optimizer.ts): every parameter starts at a
// multiple of ALIGN elements, so the new parameters and slots are views of the update's
// output and the next step's concatenation of the installed parameters is a view again:
// after the first step an update is two kernels (the gradients' concatenation and the fused
// update, weight decay inside it). The numbers are those of the unpadded composition, bit
// for bit; exportSlots/importSlots give and take the slots without the padding; a parameter
// replaced from outside is copied in once. On the CPU backend (views by subarray).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  add, concat, cpuBackend, getBackend, memory, mul, reshape, setBackend, slice, tensor, tidy, type Backend, type Tensor,
} from '@alphadrop/core';
import { optimizerUpdate, type OptimizerRule } from '@alphadrop/core/backend';
import { mlp, Optimizer } from '@alphadrop/nn';
import { ALIGN } from '../../packages/nn/src/optim/optimizer.js';

let prev: Backend;
let cpu: ReturnType<typeof cpuBackend>;
beforeEach(() => {
  prev = getBackend();
  cpu = cpuBackend('fast');
  setBackend(cpu);
});
afterEach(() => setBackend(prev));

const WD = 1e-3;
const sizesOf = (ts: readonly Tensor[]) => ts.map((t) => t.size);
const host = (ts: readonly Tensor[]) => ts.map((t) => Array.from(t.dataSync()));
/** Gradients of the parameters' shapes, different each step. */
const gradsFor = (ps: readonly Tensor[], step: number) =>
  ps.map((p, i) => tensor(Array.from({ length: p.size }, (_, j) => Math.sin(0.3 * j + i + 1.7 * step)), [...p.shape]));

/**
 * The unpadded reference: concat, decay added by mul then add, the fused update without its
 * decay input, split back. What the optimizer computed before the padded layout.
 */
function referenceStep(params: Tensor[], slots: Tensor[], grads: Tensor[], coef: Tensor, rule: OptimizerRule, step: number): { params: Tensor[]; slots: Tensor[] } {
  return tidy(() => {
    const flatP = concat(params.map((p) => reshape(p, [-1])));
    const flatG = add(concat(grads.map((g) => reshape(g, [-1]))), mul(coef, flatP));
    const [p, ...s] = optimizerUpdate(flatP, flatG, slots, { rule, lr: 0.05, step });
    let at = 0;
    const next = params.map((old) => {
      const t = reshape(slice(p!, [at], [old.size]), [...old.shape]);
      at += old.size;
      return t;
    });
    return { params: next, slots: s };
  });
}

describe('the padded flat layout (CPU)', () => {
  for (const rule of ['sgd', 'adam'] as const)
    it(`${rule}: views after the first step, two kernels per update, the unpadded composition's numbers bit for bit`, () => {
      const model = mlp([5, 7, 3], { dropout: 0, seed: 3 }); // sizes 35, 7, 21, 3: all need padding
      const opt = new Optimizer(model, { rule, lr: 0.05, weightDecay: WD });
      expect(opt.flatSize).toBe(4 * ALIGN);
      // the reference's state, unpadded
      const info = new Map(model.parameterInfo());
      const coef = tensor(model.namedParameters().flatMap(([n, t]) => Array<number>(t.size).fill(info.get(n)!.kind === 'weight' ? 2 * WD : 0)), [opt.total]);
      let refParams = model.parameters().map((p) => tensor(p.dataSync(), [...p.shape]));
      let refSlots = Array.from({ length: rule === 'adam' ? 2 : 0 }, () => tensor(new Float32Array(opt.total), [opt.total]));
      const counts: number[] = [];
      let flat: { tensors: number; buffers: number; bytes: number } | null = null;
      for (let step = 1; step <= 4; step++) {
        const grads = gradsFor(model.parameters(), step);
        const before = cpu.counters.dispatches;
        opt.apply(grads);
        counts.push(cpu.counters.dispatches - before);
        const ref = referenceStep(refParams, refSlots, grads, coef, rule, step);
        [...refParams, ...refSlots].forEach((t) => t.dispose());
        ({ params: refParams, slots: refSlots } = ref);
        grads.forEach((g) => g.dispose());
        expect(host(model.parameters())).toEqual(host(refParams));
        const exported = opt.exportSlots();
        expect(host(exported)).toEqual(host(refSlots));
        exported.forEach((t) => t.dispose());
        // every parameter and slot is a view of the update's one output buffer
        const roots = new Set([...model.parameters(), ...opt.slots].map((t) => t.handle.root));
        expect(roots.size).toBe(1);
        expect([...roots][0]).not.toBeNull();
        const m = memory();
        if (step === 2) flat = { tensors: m.tensors, buffers: m.buffers, bytes: m.bytes };
        if (step > 2) expect({ tensors: m.tensors, buffers: m.buffers, bytes: m.bytes }).toEqual(flat);
      }
      // step 1 copies the initial parameters in (concat), later steps do not: concat(grads) + update
      expect(counts).toEqual([3, 2, 2, 2]);
      [...refParams, ...refSlots, coef].forEach((t) => t.dispose());
      opt.dispose();
      model.dispose();
    });

  it('a parameter replaced from outside is copied in once; slots installed from outside cost nothing', () => {
    const model = mlp([5, 7, 3], { dropout: 0, seed: 4 });
    const opt = new Optimizer(model, { rule: 'momentum', lr: 0.1 });
    const step = (k: number) => {
      const g = gradsFor(model.parameters(), k);
      const before = cpu.counters.dispatches;
      opt.apply(g);
      g.forEach((t) => t.dispose());
      return cpu.counters.dispatches - before;
    };
    expect([step(1), step(2)]).toEqual([3, 2]);
    const [name, w] = model.namedParameters()[0]!;
    const replaced = tensor(Array.from(w.dataSync(), (v) => v + 1), [...w.shape]);
    model.setParameter(name, replaced);
    const wantFirst = Array.from(replaced.dataSync());
    expect(step(3)).toBe(3); // the concatenation of the parameters is a copy again
    // the replaced values took part: momentum from step 3's gradient moved them, not the old ones
    const moved = Array.from(model.parameters()[0]!.dataSync());
    expect(moved.every((v, i) => Math.abs(v - wantFirst[i]!) < 0.5)).toBe(true); // |lr·v| ≤ 0.1·2.71; stale values would be 1 away
    expect(step(4)).toBe(2);
    opt.importSlots(opt.exportSlots()); // a round trip through the unpadded form
    expect(step(5)).toBe(2); // new slots leave the parameters views of the flat buffer: no copy
    opt.dispose();
    model.dispose();
  });

  it('exportSlots/importSlots: unpadded in and out, the padding back to zeros; wrong sizes refused', () => {
    const model = mlp([5, 7, 3], { dropout: 0, seed: 5 });
    const opt = new Optimizer(model, { rule: 'adam', lr: 0.01 });
    const g = gradsFor(model.parameters(), 1);
    opt.apply(g);
    g.forEach((t) => t.dispose());
    const out = opt.exportSlots();
    expect(out.map((t) => t.shape)).toEqual([[opt.total], [opt.total]]);
    const values = host(out);
    const padded = host(opt.slots);
    // the padded slots: each parameter's run at its offset, zeros between
    let at = 0;
    let offset = 0;
    for (const n of sizesOf(model.parameters())) {
      expect(padded[1]!.slice(offset, offset + n)).toEqual(values[1]!.slice(at, at + n));
      expect(padded[1]!.slice(offset + n, offset + Math.ceil(n / ALIGN) * ALIGN).every((v) => v === 0)).toBe(true);
      at += n;
      offset += Math.ceil(n / ALIGN) * ALIGN;
    }
    opt.importSlots(out);
    expect(host(opt.slots)).toEqual(padded);
    expect(() => opt.importSlots([tensor([1, 2]), tensor([1, 2])])).toThrow(/flat slots of/);
    opt.dispose();
    model.dispose();
  });
});
