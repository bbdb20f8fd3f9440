// NaN, ±Inf and ±0 through every primitive's WGSL kernel on real WebGPU (lavapipe here): each
// case of test/helpers/nonfinite-cases.ts runs on the GPU backend and must equal the CPU
// oracle (NaN positions equal, infinities equal with their sign, finite values within f32
// tolerance) and meet the stated IEEE expectation. WGSL lets compilers assume NaN and Inf
// never occur (lavapipe folds x != x to false), so this is what proves the kernels' explicit
// bit tests survive compilation. The CPU side is test/core/nonfinite.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { type HostArray } from '@alphadrop/core';
import {
  Prim, allocHost, referenceKernels, shapeRules, type CpuOperand, type Operand, type PrimParams,
} from '@alphadrop/core/backend';
import type { WebGpuBackend } from '@alphadrop/kernels';
import { NONFINITE, firstDifference, meetsExpectation, type CaseInput, type NonfiniteCase } from '../helpers/nonfinite-cases.js';
import { getTestBackend } from '../helpers/webgpu.js';
import { chooseMatmul, matmulGeometry } from '../../packages/kernels/src/kernels/matmul.js';

let gpu: WebGpuBackend;
beforeAll(async () => {
  gpu = await getTestBackend();
});

/** GPU transcendentals are a few f32 ulps off the oracle's float64. */
const RTOL = 2e-5;
const ATOL = 1e-6;

function hostArray(c: CaseInput): HostArray {
  const a = allocHost(c.dtype, c.values.length);
  a.set(c.values);
  return a;
}

async function runOnGpu<P extends Prim>(prim: P, c: NonfiniteCase<P>): Promise<HostArray> {
  const ops: Operand<ReturnType<WebGpuBackend['upload']>>[] = c.inputs.map((x) => ({ storage: gpu.upload(hostArray(x), x.dtype), shape: x.shape, dtype: x.dtype }));
  try {
    const out = shapeRules[prim](ops, c.params);
    const y = gpu.execute(prim, ops, c.params, out);
    try {
      return await gpu.read(y, out.dtype, out.shape.reduce((a, b) => a * b, 1));
    } finally {
      gpu.free(y);
    }
  } finally {
    for (const o of ops) gpu.free(o.storage);
  }
}

function runOnOracle<P extends Prim>(prim: P, c: NonfiniteCase<P>): HostArray {
  const ops: CpuOperand[] = c.inputs.map((x) => ({ storage: hostArray(x), shape: x.shape, dtype: x.dtype }));
  const params: PrimParams[P] = c.params;
  return referenceKernels[prim](ops, params, shapeRules[prim](ops, params));
}

for (const prim of Object.values(Prim)) {
  const entry = NONFINITE[prim];
  describe(`${prim}: ${entry.rule}`, () => {
    for (const c of entry.cases as readonly NonfiniteCase<typeof prim>[])
      it(c.label, async () => {
        const want = runOnOracle(prim, c);
        const got = await runOnGpu(prim, c);
        const diff = firstDifference(got, want, RTOL, ATOL);
        if (diff) expect.fail(`webgpu ${prim} ${c.label} ≠ oracle: ${diff} (got [${Array.from(got).join(', ')}])`);
        const bad = meetsExpectation(got, c, RTOL, ATOL);
        if (bad) expect.fail(`webgpu ${prim} ${c.label}: ${bad}`);
      });
  });
}

describe('fusedMatmul relu epilogue on the vec4 kernel (v4, 64×64 tiles)', () => {
  it('NaN, -Inf and Inf bias columns through relu_v4', async () => {
    // 512×64·64×1024 is the smallest product matmul.ts sends to v4; N % 4 = 0 takes epi4.
    const [M, K, N] = [512, 64, 1024];
    const a = Array.from({ length: M * K }, (_, i) => ((i * 37) % 17) / 8 - 1);
    const b = Array.from({ length: K * N }, (_, i) => ((i * 11) % 13) / 6 - 1);
    const bias = Array.from({ length: N }, (_, j) => [NaN, -Infinity, Infinity, 0.5][j % 4]!);
    const c: NonfiniteCase<Prim.FusedMatmul> = {
      label: 'v4',
      inputs: [{ shape: [M, K], dtype: 'f32', values: a }, { shape: [K, N], dtype: 'f32', values: b }, { shape: [N], dtype: 'f32', values: bias }],
      params: { transA: false, transB: false, bias: true, activation: 'relu', dropout: null },
      expected: (out) => {
        for (let i = 0; i < out.length; i++) {
          const v = out[i]!;
          const ok = [Number.isNaN(v), v === 0, v === Infinity, Number.isFinite(v) && v >= 0][i % 4];
          if (!ok) return `element ${i} (column ${i % N}, bias ${bias[i % N]}) is ${v}`;
        }
        return null;
      },
    };
    const g = matmulGeometry({ shape: [M, K], dtype: 'f32' }, { shape: [K, N], dtype: 'f32' }, false, false, { shape: [M, N], dtype: 'f32' });
    for (const storage of [16384, 65536]) expect(chooseMatmul(g, storage).version).toBe('v4');
    const got = await runOnGpu(Prim.FusedMatmul, c);
    expect(meetsExpectation(got, c, RTOL)).toBeNull();
    expect(firstDifference(got, runOnOracle(Prim.FusedMatmul, c), 1e-4, 1e-4)).toBeNull();
  });
});
