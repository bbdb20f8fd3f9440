// The one MC prediction path (mc.ts mcPasses) and what is built on it: every pass equals a
// direct mcForward on its chunk of inputs with its counter step, so chunking changes the
// masks only through the documented (key, step) and never the values; the predictions built
// on top (samples, mean probabilities, per-sample probabilities) match their compositions
// by hand; the model's mode and the live tensors come back as they were.
import { describe, expect, it } from 'vitest';
import { concat, cpuBackend, keyFor, memory, mean, randomUniform, setBackend, slice, softmax, type Tensor } from '@alphadrop/core';
import { mlp } from '@alphadrop/nn';
import { mcForward, mcPasses, mcPredictProbs, mcPredictSamples, mcSampleProbs } from '@alphadrop/bbalpha';

setBackend(cpuBackend('fast'));
const vals = (t: Tensor) => Array.from(t.dataSync());

describe('mcPasses: one path for every MC prediction', () => {
  const model = mlp([5, 8, 3], { dropout: 0.4, seed: 2 });
  const x = randomUniform([7, 5], keyFor(9, 'user'));
  const key = keyFor(4, 'predict', 1);
  /** mcForward on inputs [i0, i0 + m) with k samples at counter step `step`, by hand. */
  const direct = (i0: number, m: number, k: number, step: number): Tensor => {
    model.mc();
    const out = mcForward(model, slice(x, [i0, 0], [m, 5]), k, { key, step });
    model.train();
    return out;
  };

  it('pass p = (input chunk b, sample chunk c) draws chunk b × c at step b·chunks + c', () => {
    const seen: string[] = [];
    for (const { outputs, input, sample } of mcPasses(model, x, 5, { key, inputsPerPass: 3, samplesPerPass: 2 })) {
      const m = Math.min(3, 7 - input), k = Math.min(2, 5 - sample);
      const step = (input / 3) * 3 + sample / 2; // 3 sample chunks: 2 + 2 + 1
      expect(outputs.shape).toEqual([m, k, 3]);
      expect(vals(outputs)).toEqual(vals(direct(input, m, k, step)));
      seen.push(`${input}:${sample}`);
      outputs.dispose();
    }
    expect(seen).toEqual(['0:0', '0:2', '0:4', '3:0', '3:2', '3:4', '6:0', '6:2', '6:4']);
    expect(model.mode).toBe('train');
  });

  it('mcPredictSamples in sample chunks is the concatenation of the chunks', () => {
    const got = mcPredictSamples(model, x, 5, { seed: 4, pass: 1, chunk: 2 });
    const want = concat([direct(0, 7, 2, 0), direct(0, 7, 2, 1), direct(0, 7, 1, 2)], 1);
    expect(got.shape).toEqual([7, 5, 3]);
    expect(vals(got)).toEqual(vals(want));
    // one pass by default: step 0 with every sample
    expect(vals(mcPredictSamples(model, x, 5, { key }))).toEqual(vals(direct(0, 7, 5, 0)));
  });

  it('mcPredictProbs is the mean of the chunks softmax, weighted by chunk size', () => {
    const got = vals(mcPredictProbs(model, x, 5, { key, chunk: 2 }));
    const parts = [direct(0, 7, 2, 0), direct(0, 7, 2, 1), direct(0, 7, 1, 2)].map((o) => vals(mean(softmax(o, -1), 1)));
    const want = parts[0]!.map((_, i) => (parts[0]![i]! * 2 + parts[1]![i]! * 2 + parts[2]![i]!) / 5);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
  });

  it('mcSampleProbs reads softmax per input chunk, in order', async () => {
    const { probs, C } = await mcSampleProbs(model, x, { samples: 4, key, batch: 3 });
    expect(C).toBe(3);
    const want = [direct(0, 3, 4, 0), direct(3, 3, 4, 1), direct(6, 1, 4, 2)].flatMap((o) => vals(softmax(o, -1)));
    expect(Array.from(probs)).toEqual(want);
  });

  it('restores the mode and frees every pass when the loop stops early or throws', () => {
    const before = memory().tensors;
    model.eval();
    for (const { outputs } of mcPasses(model, x, 6, { key, samplesPerPass: 2 })) {
      expect(model.mode).toBe('mc');
      outputs.dispose();
      break;
    }
    expect(model.mode).toBe('eval');
    expect(() => {
      for (const { outputs } of mcPasses(model, x, 6, { key, samplesPerPass: 2 })) {
        outputs.dispose();
        throw new Error('stop');
      }
    }).toThrow('stop');
    expect(model.mode).toBe('eval');
    expect(memory().tensors).toBe(before);
    model.train();
    expect(() => mcPasses(model, x, 0, { key }).next()).toThrow(/mcPasses: expected samples a positive integer/);
    expect(() => mcPasses(model, x, 3, { key, inputsPerPass: 1.5 }).next()).toThrow(/inputsPerPass a positive integer/);
  });
});
