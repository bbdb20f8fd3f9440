// The inference-only entry (@alphadrop/bbalpha/infer): a checkpoint's bytes in, MC
// predictions with their uncertainty out, equal to what the full library computes.
import { describe, expect, it } from 'vitest';
import { DataError, ShapeError, ValueError, keyFor, randomUniform, setBackend, cpuBackend, tensor } from '@alphadrop/core';
import { checkpointEntries, encodeSafetensors, mlp, paperCnn } from '@alphadrop/nn';
import { classificationMetrics, mcPredictProbs, mcPredictSamples, regressionMetrics } from '@alphadrop/bbalpha';
import { loadPredictor, predictClasses, predictRegression } from '@alphadrop/bbalpha/infer';

setBackend(cpuBackend('reference'));

async function checkpointBytes(sizes: number[], state: Parameters<typeof checkpointEntries>[2]): Promise<Uint8Array> {
  const model = mlp(sizes, { dropout: 0.3, seed: state.seed });
  const file = await checkpointEntries(model, null, state);
  model.dispose();
  return encodeSafetensors(file.tensors, file.metadata);
}

describe('@alphadrop/bbalpha/infer', () => {
  it('classifies with the same MC distribution as mcPredictProbs, and the entropy and MI of classificationMetrics', async () => {
    const p = loadPredictor(await checkpointBytes([12, 16, 5], { seed: 3, samples: 7 }));
    expect([p.inputSize, p.outputSize, p.metadata.samples]).toEqual([12, 5, 7]);
    const x = randomUniform([9, 12], keyFor(1, 'user'));
    const out = await predictClasses(p, x, { seed: 4, pass: 2 }); // K = the checkpoint's 7
    const want = await mcPredictProbs(p.model, x, 7, { seed: 4, pass: 2, chunk: 7 }).data();
    expect(out.n).toBe(9);
    for (let i = 0; i < want.length; i++) expect(Math.abs(out.probs[i]! - want[i]!)).toBeLessThan(1e-6);
    const labels = Int32Array.from(out.predicted);
    const perSample = await mcPredictSamples(p.model, x, 7, { seed: 4, pass: 2 }).data();
    const soft = new Float64Array(perSample.length);
    for (let r = 0; r < perSample.length / 5; r++) {
      const row = Array.from(perSample.slice(r * 5, r * 5 + 5));
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      const z = e.reduce((a, b) => a + b, 0);
      e.forEach((v, c) => (soft[r * 5 + c] = v / z));
    }
    const m = classificationMetrics(out.probs, labels, 5, { probs: soft, samples: 7 });
    expect(m.accuracy).toBe(1); // the labels are the argmax
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(out.entropy)).toBeCloseTo(m.entropy, 6);
    expect(mean(out.mutualInformation)).toBeCloseTo(m.mutualInformation!, 6);
    for (const v of out.mutualInformation) expect(v).toBeGreaterThanOrEqual(-1e-9);
    // another pass draws other masks; the same pass the same ones
    const again = await predictClasses(p, await x.data() as Float32Array, { seed: 4, pass: 2 });
    expect(Array.from(again.probs)).toEqual(Array.from(out.probs));
    const other = await predictClasses(p, x, { seed: 4, pass: 3 });
    expect(Array.from(other.probs)).not.toEqual(Array.from(out.probs));
  });

  it('predicts a regression in target units with the checkpoint normalisation and τ', async () => {
    const normalisation = { inputMean: [1, 2], inputStd: [2, 4], targetMean: 10, targetStd: 3 };
    const p = loadPredictor(await checkpointBytes([2, 8, 1], { seed: 5, tau: 4, normalisation, samples: 6 }));
    const raw = Float32Array.from([1, 2, 3, 6, -1, 0]);
    const out = await predictRegression(p, raw, { seed: 1 });
    const scaled = tensor(Float32Array.from([0, 0, 1, 1, -1, -0.5]), [3, 2]);
    const s = await mcPredictSamples(p.model, scaled, 6, { seed: 1 }).data();
    for (let i = 0; i < 3; i++) {
      const f = Array.from(s.slice(i * 6, i * 6 + 6), (v) => v * 3 + 10);
      const mu = f.reduce((a, b) => a + b, 0) / 6;
      const varF = f.reduce((a, b) => a + (b - mu) ** 2, 0) / 6;
      expect(out.mean[i]).toBeCloseTo(mu, 4);
      expect(out.std[i]).toBeCloseTo(Math.sqrt(varF + 9 / 4), 4);
      // the predictive mean has the RMSE regressionMetrics gives against it: zero
      expect(regressionMetrics(s.slice(i * 6, i * 6 + 6), 6, [mu], 10, 3, 4).rmse).toBeLessThan(1e-4);
    }
  });

  it('refuses what it cannot predict, saying where', async () => {
    expect(() => loadPredictor(new Uint8Array([1, 2, 3]), 'upload.safetensors')).toThrow(DataError);
    expect(() => loadPredictor(new Uint8Array([1, 2, 3]), 'upload.safetensors')).toThrow(/upload\.safetensors/);
    const p = loadPredictor(await checkpointBytes([4, 3], { seed: 1 }));
    await expect(predictClasses(p, new Float32Array(6))).rejects.toThrow(ShapeError);
    await expect(predictRegression(p, new Float32Array(4))).rejects.toThrow(ValueError);
    const cnn = paperCnn({ dropout: 0.5, seed: 1 });
    const file = await checkpointEntries(cnn, null, { seed: 1 });
    cnn.dispose();
    const c = loadPredictor(encodeSafetensors(file.tensors, file.metadata));
    expect([c.inputSize, c.outputSize]).toEqual([784, 10]);
  });
});
