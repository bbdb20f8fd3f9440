// Training stops at the first non-finite step: fit reads a finiteness flag per step (with the
// loss, asynchronously) and raises a NonFiniteError naming the step and the tensor before any
// epoch-end callback, such as a checkpoint, runs.
import { describe, expect, it } from 'vitest';
import { cpuBackend, NonFiniteError, setBackend } from '@alphadrop/core';
import { epochPermutation, mlp } from '@alphadrop/nn';
import { trainClassifier } from '@alphadrop/bbalpha';

setBackend(cpuBackend('fast'));

function digits(n: number, d: number) {
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = ((i * 2654435761) >>> 0) / 2 ** 32;
  const y = Int32Array.from({ length: n }, (_, i) => i % 10);
  return { x, y };
}

/** The step (0-based, epoch 0) whose minibatch holds `row` under fit's shuffling. */
function stepOfRow(n: number, batch: number, seed: number, row: number): number {
  const order = epochPermutation(n, seed, 0);
  return Math.floor(order.indexOf(row) / batch);
}

describe('fit on data with one non-finite pixel', () => {
  for (const [name, bad] of [['NaN', NaN], ['+Inf', Infinity], ['-Inf', -Infinity]] as const) {
    it(`${name}: a NonFiniteError naming the step and the tensor, and no epoch-end callback`, async () => {
      const n = 96, d = 49, batch = 16, seed = 3, row = 57;
      const { x, y } = digits(n, d);
      x[row * d + 20] = bad;
      const model = mlp([d, 32, 10], { dropout: 0.2, seed });
      let saved = 0;
      const run = trainClassifier(model, x, y, {
        alpha: 0.5, samples: 2, epochs: 2, batchSize: batch, seed, log: 'silent',
        evaluate: () => {
          saved++; // stands for a checkpoint written at the end of an epoch
          return {};
        },
      });
      const err = await run.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(NonFiniteError);
      const e = err as NonFiniteError;
      expect(e.step).toBe(stepOfRow(n, batch, seed, row));
      expect(e.message).toContain(`step ${e.step}`);
      // the tensor is named: the loss or a parameter, and the diagnosis points at the input row
      expect(e.tensor).toMatch(/^(loss|\d+\.(weight|bias))$/);
      expect(e.message).toContain(`x[${row}] element 20`);
      expect(saved).toBe(0);
      model.dispose();
    });
  }

  it('finite data trains without a flag raised', async () => {
    const { x, y } = digits(64, 49);
    const model = mlp([49, 16, 10], { dropout: 0.2, seed: 1 });
    const r = await trainClassifier(model, x, y, { alpha: 0.5, samples: 2, epochs: 1, batchSize: 16, seed: 1, log: 'silent' });
    expect(Number.isFinite(r.history[0]!.loss)).toBe(true);
    model.dispose();
  });
});
