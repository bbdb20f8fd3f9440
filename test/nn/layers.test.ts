// Layers, modes, Sequential's fusion (must equal the unfused composition, values and
// gradients), the paper's dropout placements, and the flat-buffer optimizers against
// hand-written updates.
import { describe, expect, it } from 'vitest';
import {
  add, cpuBackend, crossEntropy, matmul, memory, mul, relu, setBackend, sub, tensor, tidy, valueAndGradsOf,
  randomUniform, keyFor, derive, rootKey, ValueError, type Tensor,
} from '@alphadrop/core';
import { dropout, paramsAtStep, type DropoutParams } from '@alphadrop/core/backend';
import {
  Conv2d, Dropout, Flatten, Linear, MaxPool2d, Optimizer, ReLU, Sequential, dropoutCoordinates, fit, mlp,
  schedules, type ForwardContext,
} from '@alphadrop/nn';

setBackend(cpuBackend('fast'));
const ctx: ForwardContext = { key: keyFor(7, 'trainDropout'), step: 3 };
const vals = (t: Tensor) => Array.from(t.dataSync());
const close = (a: number[], b: number[], tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]!))));
};

describe('Sequential fuses Dropout → Linear → ReLU and equals the composition', () => {
  it('forward and gradients match the unfused layers', () => {
    const model = mlp([6, 5, 3], { dropout: 0.5, seed: 1 });
    const x = randomUniform([4, 6], keyFor(2, 'user'));
    const [l1, l2] = model.layers.filter((l): l is Linear => l instanceof Linear);
    const d = model.layers.filter((l): l is Dropout => l instanceof Dropout);
    const unfused = () => {
      const h = relu(add(matmul(dropout(x, d[0]!.coordinates(ctx)), l1!.weight), l1!.bias!));
      return add(matmul(dropout(h, d[1]!.coordinates(ctx)), l2!.weight), l2!.bias!);
    };
    close(vals(model.forward(x, ctx)), vals(unfused()));
    const labels = tensor(Int32Array.from([0, 1, 2, 1]), [4]);
    const a = valueAndGradsOf(() => crossEntropy(model.forward(x, ctx), labels), model.parameters());
    const b = valueAndGradsOf(() => crossEntropy(unfused(), labels), model.parameters());
    close(vals(a.value), vals(b.value));
    a.grads.forEach((g, i) => close(vals(g), vals(b.grads[i]!)));
  });
  it('places dropout before every Linear (input included) and numbers the masks', () => {
    const model = mlp([784, 100, 100, 10], { dropout: 0.5 });
    const kinds = model.layers.map((l) => l.constructor.name);
    expect(kinds).toEqual(['Dropout', 'Linear', 'ReLU', 'Dropout', 'Linear', 'ReLU', 'Dropout', 'Linear']);
    expect(model.layers.filter((l) => l instanceof Dropout).map((l) => (l as Dropout).layerIndex)).toEqual([0, 1, 2]);
    expect(model.parameterInfo().map(([n, i]) => `${n}:${i.kind}:${i.inputDropoutRate}`)).toEqual([
      '1.weight:weight:0.5', '1.bias:bias:0.5', '4.weight:weight:0.5', '4.bias:bias:0.5', '7.weight:weight:0.5', '7.bias:bias:0.5',
    ]);
  });
  it('the CNN placement: dropout before the dense layers only', () => {
    const cnn = new Sequential([
      new Conv2d(1, 4, 3, { index: 0 }), new ReLU(), new Conv2d(4, 4, 3, { index: 1 }), new ReLU(), new MaxPool2d(2), new Flatten(),
      new Dropout(0.5), new Linear(4 * 12 * 12, 10, { index: 2 }), new ReLU(), new Dropout(0.5), new Linear(10, 10, { index: 3 }),
    ]);
    const y = cnn.forward(randomUniform([2, 1, 28, 28], keyFor(1, 'user')), ctx);
    expect(y.shape).toEqual([2, 10]);
  });
});

describe('modes and masks', () => {
  it('eval turns dropout off, mc keeps it on; masks depend on step and key (purpose, seed)', () => {
    const model = mlp([8, 8], { dropout: 0.5 });
    const x = randomUniform([3, 8], keyFor(4, 'user'));
    const train1 = vals(model.forward(x, ctx));
    expect(vals(model.forward(x, ctx))).toEqual(train1); // same coordinates, same mask
    expect(vals(model.forward(x, { ...ctx, step: 4 }))).not.toEqual(train1);
    expect(vals(model.forward(x, { ...ctx, step: 3 + 2 ** 32 }))).not.toEqual(train1); // the step's high word counts
    expect(vals(model.forward(x, { ...ctx, key: keyFor(7, 'predict', 0) }))).not.toEqual(train1);
    expect(vals(model.forward(x, { ...ctx, key: keyFor(8, 'trainDropout') }))).not.toEqual(train1);
    model.eval();
    const lin = model.layers[1] as Linear;
    close(vals(model.forward(x, ctx)), vals(add(matmul(x, lin.weight), lin.bias!)));
    model.mc();
    expect(vals(model.forward(x, ctx))).toEqual(train1);
  });
  it('documents the mask coordinates: key = ctx.key, counter = (layer, step lo, step hi)', () => {
    const key = keyFor(9, 'predict', 1);
    // the fields only: the params also carry their step-bound mark (core trace/step-bound.ts)
    const fields = ({ keepProb, key, counter }: DropoutParams) => ({ keepProb, key, counter });
    expect(fields(dropoutCoordinates(0.5, 2, { key, step: 5 }))).toEqual({ keepProb: 0.5, key, counter: [2, 5, 0] });
    expect(fields(dropoutCoordinates(0.5, 7, { key, step: 3 * 2 ** 32 + 11 }))).toEqual({ keepProb: 0.5, key, counter: [7, 11, 3] });
    // rebuilt at another step, it is the coordinates of that step
    expect(fields(paramsAtStep(dropoutCoordinates(0.5, 7, { key, step: 5 }), 3 * 2 ** 32 + 11))).toEqual({ keepProb: 0.5, key, counter: [7, 11, 3] });
    expect(() => dropoutCoordinates(0.5, 0, { key, step: -1 })).toThrow(ValueError);
    expect(() => dropoutCoordinates(0.5, 0, { key, step: 2 ** 53 })).toThrow(ValueError);
  });
});

describe('weight initialisation keys', () => {
  const weight = (l: Linear) => vals(l.weight);
  it('mlp(): the layer at position i gets derive(rootKey(seed), init, i); the same seed builds the same model', () => {
    const a = mlp([6, 5, 3], { dropout: 0.5, seed: 4 });
    const b = mlp([6, 5, 3], { dropout: 0.5, seed: 4 });
    a.parameters().forEach((p, i) => expect(vals(p)).toEqual(vals(b.parameters()[i]!)));
    expect(vals(mlp([6, 5, 3], { dropout: 0.5, seed: 5 }).parameters()[0]!)).not.toEqual(vals(a.parameters()[0]!));
    const linears = a.layers.filter((l): l is Linear => l instanceof Linear);
    expect(linears.map((l) => a.layers.indexOf(l))).toEqual([1, 4]); // Dropout, Linear, ReLU, Dropout, Linear
    for (const l of linears)
      expect(weight(l)).toEqual(weight(new Linear(l.inFeatures, l.outFeatures, { key: derive(rootKey(4), 'init', a.layers.indexOf(l)) })));
  });
  it('hand-built layers: seed and index pick the key, an explicit key wins', () => {
    const w = weight(new Linear(4, 4, { seed: 3, index: 1 }));
    expect(weight(new Linear(4, 4, { seed: 3, index: 1 }))).toEqual(w);
    expect(weight(new Linear(4, 4, { key: keyFor(3, 'init', 1) }))).toEqual(w);
    expect(weight(new Linear(4, 4, { seed: 3, index: 2 }))).not.toEqual(w);
    expect(weight(new Linear(4, 4, { seed: 4, index: 1 }))).not.toEqual(w);
    expect(weight(new Linear(4, 4, { seed: 3, index: 1, key: keyFor(3, 'init', 2) }))).toEqual(weight(new Linear(4, 4, { seed: 3, index: 2 })));
    expect(weight(new Linear(4, 4))).toEqual(weight(new Linear(4, 4, { seed: 0, index: 0 }))); // documented defaults
  });
});

describe('flat-buffer optimizers', () => {
  const oneStep = (rule: 'sgd' | 'momentum' | 'nesterov' | 'adam', wd = 0) => {
    const model = new Sequential([new Dropout(0.5), new Linear(3, 2, { seed: 1, index: 0 })]);
    const opt = new Optimizer(model, { rule, lr: 0.1, momentum: 0.9, weightDecay: wd, decayForm: 'dropoutScaled' });
    const before = model.parameters().map(vals);
    const g = [tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]), tensor(Float32Array.from([0.5, -0.5]), [2])];
    opt.apply(g);
    opt.apply(g);
    return { before, after: model.parameters().map(vals), g: g.map(vals), opt };
  };
  it('sgd: w -= lr g (twice)', () => {
    const { before, after, g } = oneStep('sgd');
    after.forEach((a, i) => close(a, before[i]!.map((w, j) => w - 0.2 * g[i]![j]!)));
  });
  it('momentum: v = 0.9 v + g twice → w -= lr (g + 1.9 g)', () => {
    const { before, after, g } = oneStep('momentum');
    after.forEach((a, i) => close(a, before[i]!.map((w, j) => w - 0.1 * g[i]![j]! - 0.1 * 1.9 * g[i]![j]!)));
  });
  it('adam: the first steps move each weight by about lr', () => {
    const { before, after } = oneStep('adam');
    after.forEach((a, i) => close(a.map((w, j) => Math.abs(before[i]![j]! - w)), a.map(() => 0.2), 1e-4));
  });
  it('weight decay on kernels only, keep-probability weighted', () => {
    const { before, after, g } = oneStep('sgd', 0.01);
    // kernel: w1 = w0 - lr (g + 2 wd p w0) applied twice; bias without decay
    const c = 2 * 0.01 * 0.5;
    close(after[0]!, before[0]!.map((w, j) => { let v = w; for (let s = 0; s < 2; s++) v = v - 0.1 * (g[0]![j]! + c * v); return v; }));
    close(after[1]!, before[1]!.map((w, j) => w - 0.2 * g[1]![j]!));
  });
  it('schedules', () => {
    expect(schedules.stepDecay(1, 0.5, 10)(25)).toBe(0.25);
    expect(schedules.cosine(1, 100)(100)).toBeCloseTo(0);
    expect(schedules.inverseTime(0.01, 1e-4, 0.75)(0)).toBe(0.01);
  });
});

describe('fit', () => {
  it('learns a separable problem, logs JSON epochs, holds memory flat, stops early', async () => {
    const n = 256;
    const xs = new Float32Array(n * 2), ys = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      xs[2 * i] = Math.cos(i * 2.4); xs[2 * i + 1] = Math.sin(i * 1.7);
      ys[i] = xs[2 * i]! + xs[2 * i + 1]! > 0 ? 1 : 0;
    }
    const model = mlp([2, 16, 2], { dropout: 0.1 });
    const optimizer = new Optimizer(model, { rule: 'adam', lr: 0.05 });
    const data = { x: tensor(xs, [n, 2]), y: tensor(ys, [n]) };
    const counts: number[] = [];
    const result = await fit(model, {
      epochs: 40, batchSize: 32, seed: 1, optimizer, data, log: 'silent',
      loss: (m, x, y, c) => crossEntropy(m.forward(x, c), y),
      evaluate: () => tidy(() => {
        model.eval();
        const logits = model.forward(data.x, ctx).dataSync();
        let ok = 0;
        for (let i = 0; i < n; i++) ok += (logits[2 * i + 1]! > logits[2 * i]! ? 1 : 0) === ys[i] ? 1 : 0;
        return { accuracy: ok / n };
      }),
      callbacks: [{ onEpochEnd: () => void counts.push(memory().tensors) }],
      earlyStopping: { monitor: 'accuracy', mode: 'max', patience: 5 },
    });
    const last = result.history[result.history.length - 1]!;
    expect(Math.max(...result.history.map((h) => h.accuracy!))).toBeGreaterThan(0.95);
    expect(last.loss).toBeLessThan(result.history[0]!.loss!);
    expect(result.stoppedEarly).toBe(true);
    expect(counts.slice(1), String(counts)).toEqual(counts.slice(1).map(() => counts[1]));
    void sub; void mul;
  });
});
