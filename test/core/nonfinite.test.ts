// NaN, ±Inf and ±0 through every primitive on the two CPU backends: (a) the oracle against
// the IEEE expectation stated per primitive in test/helpers/nonfinite-cases.ts, (b) the fast
// backend against the oracle (NaN positions equal, infinities equal with their sign), both
// with f32 and with f64 storage. The WebGPU side is test/kernels/nonfinite.test.ts.
import { describe, expect, it } from 'vitest';
import { cpuBackend, getBackend, setBackend, softmax, tensor, tidy, type DType, type HostArray } from '@alphadrop/core';
import {
  Prim, allocHost, fastKernels, referenceKernels, shapeRules, type CpuOperand, type PrimParams,
} from '@alphadrop/core/backend';
import { NONFINITE, firstDifference, meetsExpectation, type CaseInput, type NonfiniteCase } from '../helpers/nonfinite-cases.js';

/** What the fast backend runs: its kernel where it has one, else the oracle's (cpu/backend.ts). */
const fastTable = { ...referenceKernels, ...fastKernels } as typeof referenceKernels;

/** The case's inputs, float ones stored as `floatType`. */
function operands(inputs: readonly CaseInput[], floatType: DType): CpuOperand[] {
  return inputs.map((c) => {
    const dtype = c.dtype === 'f32' ? floatType : c.dtype;
    const storage = allocHost(dtype, c.values.length);
    storage.set(c.values);
    return { storage, shape: c.shape, dtype };
  });
}

/** Float-typed params (RandomBits, OneHot) follow the storage type too. */
function paramsFor<P extends Prim>(params: PrimParams[P], floatType: DType): PrimParams[P] {
  const p = params as { dtype?: DType };
  return p.dtype === 'f32' ? ({ ...params, dtype: floatType } as PrimParams[P]) : params;
}

function run<P extends Prim>(table: typeof referenceKernels, prim: P, c: NonfiniteCase<P>, floatType: DType): HostArray {
  const ops = operands(c.inputs, floatType);
  const params = paramsFor<P>(c.params, floatType);
  const out = shapeRules[prim](ops, params);
  return table[prim](ops, params, out);
}

describe('the non-finite table', () => {
  it('has cases for every primitive', () => {
    const missing = Object.values(Prim).filter((p) => !(NONFINITE[p]?.cases.length > 0));
    expect(missing).toEqual([]);
  });
  it('a value check that cannot tell NaN from 0 would fail here', () => {
    // The comparison itself: NaN ≠ 0, Inf ≠ -Inf, Inf ≠ 3e38, and tolerance only for finite values.
    expect(firstDifference([0], [NaN], 1e-6)).not.toBeNull();
    expect(firstDifference([NaN], [0], 1e-6)).not.toBeNull();
    expect(firstDifference([-Infinity], [Infinity], 1e-6)).not.toBeNull();
    expect(firstDifference([3e38], [Infinity], 1e-6)).not.toBeNull();
    expect(firstDifference([NaN, -Infinity, 1 + 1e-8, -0], [NaN, -Infinity, 1, 0], 1e-6)).toBeNull();
  });
});

for (const prim of Object.values(Prim)) {
  const entry = NONFINITE[prim];
  describe(`${prim}: ${entry.rule}`, () => {
    for (const c of entry.cases as readonly NonfiniteCase<typeof prim>[])
      for (const floatType of ['f32', 'f64'] as const) {
        it(`${c.label} (${floatType})`, () => {
          const want = run(referenceKernels, prim, c, floatType);
          const bad = meetsExpectation(want, c, 1e-6);
          if (bad) expect.fail(`oracle ${prim} ${c.label} (${floatType}): ${bad}`);
          const got = run(fastTable, prim, c, floatType);
          const diff = firstDifference(got, want, 1e-6, 1e-12);
          if (diff) expect.fail(`fast ${prim} ${c.label} (${floatType}) ≠ oracle: ${diff}`);
        });
      }
  });
}

describe('composites over non-finite values', () => {
  for (const kind of ['reference', 'fast'] as const)
    it(`softmax = exp(x − LSE(x)) on the ${kind} backend`, async () => {
      const prev = getBackend();
      setBackend(cpuBackend(kind));
      try {
        const y = tidy(() => softmax(tensor([1, Number.NaN, 2, Infinity, 1, 2, -Infinity, 0, 0, -Infinity, -Infinity, -Infinity], [4, 3])));
        const v = await y.data();
        y.dispose();
        // NaN row; Inf − Inf = NaN next to exp(-Inf) = 0; -Inf is weight 0; all -Inf: -Inf − -Inf = NaN.
        expect(firstDifference(v, [NaN, NaN, NaN, NaN, 0, 0, 0, 0.5, 0.5, NaN, NaN, NaN], 1e-6)).toBeNull();
      } finally {
        setBackend(prev);
      }
    });
});

describe('fused primitives equal their compositions on non-finite input too', () => {
  it('logsumexp: fused and composed agree on +Inf, all -Inf and NaN rows', async () => {
    const { logsumexp } = await import('@alphadrop/core');
    const { logsumexpComposite } = await import('@alphadrop/core/backend');
    const prev = getBackend();
    setBackend(cpuBackend('reference'));
    try {
      const rows = [[1, Infinity, 2], [-Infinity, -Infinity, -Infinity], [0, NaN, 1], [1, 2, 3], [-Infinity, 0, 1]];
      const x = tensor(rows);
      const fused = Array.from(logsumexp(x, -1).dataSync());
      const composed = Array.from(logsumexpComposite(x, -1).dataSync());
      expect(composed).toEqual(fused);
      expect(fused.slice(0, 3)).toEqual([Infinity, -Infinity, NaN]);
    } finally {
      setBackend(prev);
    }
  });
});
