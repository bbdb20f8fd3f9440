// Independence of every random draw by construction (core random/keys.ts): a structural test
// that records the Philox coordinates of every random op a training run and its evaluations
// execute, and statistical tests that the draws of different purposes are unrelated.
import { describe, expect, it } from 'vitest';
import {
  cpuBackend, derive, getBackend, keyFor, ones, rootKey, setBackend, tensor, ValueError, type Backend,
} from '@alphadrop/core';
import { dropout, Prim, type PhiloxCoords, type PrimParams } from '@alphadrop/core/backend';
import { dropoutCoordinates, mlp } from '@alphadrop/nn';
import { evaluateClassifier, fgsm, trainClassifier } from '@alphadrop/bbalpha';

setBackend(cpuBackend('fast'));

/** Wraps the current backend, recording the coordinates of every random op under a phase name. */
function recordRandomOps(): { phase(name: string): void; ops: Map<string, PhiloxCoords[]>; restore(): void } {
  const inner = getBackend();
  const ops = new Map<string, PhiloxCoords[]>();
  let current = 'none';
  const spy: Backend = Object.create(inner);
  spy.execute = (prim, inputs, params, out) => {
    const p = params as PrimParams[Prim];
    let c: PhiloxCoords | null = null;
    if (prim === Prim.RandomBits || prim === Prim.Dropout) c = p as PhiloxCoords;
    else if (prim === Prim.FusedMatmul) c = (p as PrimParams[Prim.FusedMatmul]).dropout;
    if (c) ops.set(current, [...(ops.get(current) ?? []), { key: c.key, counter: c.counter }]);
    return inner.execute(prim, inputs, params, out);
  };
  setBackend(spy);
  return { phase: (n) => void (current = n), ops, restore: () => setBackend(inner) };
}

const keyId = (c: PhiloxCoords) => `${c.key[0]}:${c.key[1]}`;
const coordId = (c: PhiloxCoords) => `${keyId(c)}/${c.counter.join(',')}`;

function data(n: number, d: number, classes: number, seed: number) {
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  let s = seed;
  for (let i = 0; i < x.length; i++) x[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) / 2 ** 24;
  for (let i = 0; i < n; i++) y[i] = i % classes;
  return { x, y };
}

describe('key derivation', () => {
  it('gives pairwise distinct keys for every (purpose, index) of a long run', () => {
    const root = rootKey(1);
    const keys = new Set<string>([root.join(':')]);
    let count = 1;
    const add = (k: readonly number[]) => {
      keys.add(k.join(':'));
      count++;
    };
    for (let i = 0; i < 64; i++) add(derive(root, 'init', i));
    add(derive(root, 'trainDropout'));
    for (let e = 0; e < 5000; e++) add(derive(root, 'shuffle', e));
    for (let p = 0; p < 2000; p++) add(derive(root, 'predict', p));
    for (let p = 0; p < 200; p++) {
      add(derive(root, 'attackPredict', p));
      for (let s = 0; s < 20; s++) add(derive(root, 'attackGradient', p, s));
    }
    for (let i = 0; i < 100; i++) add(derive(root, 'noise', i));
    for (let i = 0; i < 100; i++) add(derive(root, 'split', i));
    // other seeds' roots and the purposes' bare keys
    for (let s = 0; s < 1000; s++) if (s !== 1) add(rootKey(s));
    for (const p of ['init', 'shuffle', 'predict', 'attackPredict', 'attackGradient', 'noise', 'split', 'user'] as const) add(derive(root, p));
    expect(keys.size).toBe(count);
  });

  it('puts a dropout layer and a 64-bit step in separate counter words, up to the documented limits', () => {
    const key = keyFor(3, 'trainDropout');
    const seen = new Set<string>();
    const steps = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 1_000_003 * 2 ** 20, 2 ** 53 - 1];
    for (const layer of [0, 1, 2, 65535, 65536, 2 ** 32 - 1])
      for (const step of steps) seen.add(dropoutCoordinates(0.5, layer, { key, step }).counter.join(','));
    expect(seen.size).toBe(6 * steps.length);
    expect(() => dropoutCoordinates(0.5, 0, { key, step: 2 ** 53 })).toThrow(ValueError);
    expect(() => dropoutCoordinates(0.5, 0, { key, step: -1 })).toThrow(ValueError);
    // the masks of step 0 and step 2^32 differ (a 32-bit counter would wrap onto the same words)
    const m0 = dropout(ones([64]), dropoutCoordinates(0.5, 0, { key, step: 0 })).dataSync();
    const m1 = dropout(ones([64]), dropoutCoordinates(0.5, 0, { key, step: 2 ** 32 })).dataSync();
    expect(Array.from(m0)).not.toEqual(Array.from(m1));
  });

  it('a training run, its evaluations and an attack use disjoint keys, and each step and layer its own counter', async () => {
    const rec = recordRandomOps();
    try {
      const { x, y } = data(48, 12, 3, 5);
      rec.phase('init');
      const model = mlp([12, 16, 16, 3], { dropout: 0.5, seed: 7 });
      rec.phase('train');
      const epochs = 2, batch = 16, steps = epochs * 3;
      await trainClassifier(model, x, y, { alpha: 0.5, samples: 3, epochs, batchSize: batch, seed: 7, log: 'silent' });
      rec.phase('clean');
      await evaluateClassifier(model, x, y, { samples: 4, seed: 7, pass: 0 });
      rec.phase('noisy');
      await evaluateClassifier(model, x, y, { samples: 4, seed: 7, pass: 1 });
      rec.phase('attack');
      const xt = tensor(x, [48, 12]);
      const [adv] = fgsm(model, xt, [0.1], { samples: 4, seed: 7, pass: 0 });
      rec.phase('attacked');
      await evaluateClassifier(model, adv!, y, { samples: 4, seed: 7, pass: 2 });
      adv!.dispose();
      xt.dispose();
      rec.restore();

      const phases = [...rec.ops.keys()];
      expect(phases).toEqual(['init', 'train', 'clean', 'noisy', 'attack', 'attacked']);
      const keysOf = (p: string) => new Set(rec.ops.get(p)!.map(keyId));
      for (let i = 0; i < phases.length; i++)
        for (let j = i + 1; j < phases.length; j++) {
          const a = keysOf(phases[i]!), b = keysOf(phases[j]!);
          expect([...a].filter((k) => b.has(k)), `${phases[i]} vs ${phases[j]}`).toEqual([]);
        }
      // init: three weight tensors, three keys; the attack: a prediction key and a gradient key
      expect(keysOf('init').size).toBe(3);
      expect(keysOf('attack').size).toBe(2);
      // training: one key; 3 dropout layers × 6 steps distinct counters (forward and backward regenerate)
      expect(keysOf('train').size).toBe(1);
      expect(new Set(rec.ops.get('train')!.map(coordId)).size).toBe(3 * steps);
    } finally {
      rec.restore();
    }
  });
});

describe('independence of draws of different purposes', () => {
  const pearson = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    const n = a.length;
    let ma = 0, mb = 0;
    for (let i = 0; i < n; i++) (ma += a[i]! / n), (mb += b[i]! / n);
    let sab = 0, saa = 0, sbb = 0;
    for (let i = 0; i < n; i++) {
      const da = a[i]! - ma, db = b[i]! - mb;
      sab += da * db;
      saa += da * da;
      sbb += db * db;
    }
    return sab / Math.sqrt(saa * sbb);
  };

  it('the first layer’s initial weights and its first dropout mask are uncorrelated', () => {
    const model = mlp([784, 100, 10], { dropout: 0.5, seed: 1 });
    const w = model.namedParameters().find(([n]) => n.endsWith('weight'))!;
    const weights = w[1].dataSync(); // [784, 100], 78,400 values
    const n = weights.length;
    const key = derive(rootKey(1), 'trainDropout');
    const mask = dropout(ones([n / 784, 784]), dropoutCoordinates(0.5, 0, { key, step: 0 })).dataSync();
    const r = pearson(weights, mask);
    // under independence r ~ N(0, 1/n): within 4 standard errors
    expect(Math.abs(r)).toBeLessThan(4 / Math.sqrt(n));
    model.dispose();
  });

  it('masks of different purposes and passes differ (agreement ≈ keep² + drop², not 1)', () => {
    const n = 20000;
    const coords = [
      dropoutCoordinates(0.5, 0, { key: keyFor(1, 'trainDropout'), step: 0 }),
      dropoutCoordinates(0.5, 0, { key: keyFor(1, 'predict', 0), step: 0 }),
      dropoutCoordinates(0.5, 0, { key: keyFor(1, 'predict', 1), step: 0 }),
      dropoutCoordinates(0.5, 0, { key: keyFor(1, 'attackPredict', 0), step: 0 }),
      dropoutCoordinates(0.5, 0, { key: keyFor(1, 'attackGradient', 0, 0), step: 0 }),
      dropoutCoordinates(0.5, 1, { key: keyFor(1, 'trainDropout'), step: 0 }),
      dropoutCoordinates(0.5, 0, { key: keyFor(1, 'trainDropout'), step: 1 }),
    ];
    const masks = coords.map((c) => dropout(ones([n]), c).dataSync());
    const se = Math.sqrt(0.25 / n);
    for (let i = 0; i < masks.length; i++)
      for (let j = i + 1; j < masks.length; j++) {
        let agree = 0;
        for (let e = 0; e < n; e++) if (masks[i]![e] === masks[j]![e]) agree++;
        expect(Math.abs(agree / n - 0.5), `masks ${i} and ${j}`).toBeLessThan(4 * se);
      }
  });
});
