// Example kernel spec: a naive matmul C[M, N] = A[M, K] · B[K, N], one invocation per
// output with the K loop over global memory (the matmul ladder's v1), the shape
// specialised into the WGSL. Compute-bound in principle, so the table gives GFLOP/s
// (2·M·N·K per call). Odd sizes, so the edge guards are checked too.
//   npm run bench:kernel -- bench/kernel/examples/matmul-naive.ts

import { randomF32 } from '../../harness/data.js';
import type { KernelSpec } from '../bench-kernel.js';

export function naiveMatmul(M: number, K: number, N: number, tile = 8): KernelSpec {
  const wgsl = /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;

@compute @workgroup_size(${tile}, ${tile})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x;
  let row = gid.y;
  if (row >= ${M}u || col >= ${N}u) { return; }
  var acc = 0.0;
  for (var k = 0u; k < ${K}u; k++) {
    acc = fma(A[row * ${K}u + k], B[k * ${N}u + col], acc);
  }
  C[row * ${N}u + col] = acc;
}`;
  const A = randomF32(M * K, 11);
  const B = randomF32(K * N, 12);
  return {
    name: `matmul naive ${M}x${K}x${N}`,
    wgsl,
    bindings: [
      { kind: 'input', data: A },
      { kind: 'input', data: B },
      { kind: 'output', length: M * N },
    ],
    dispatch: [Math.ceil(N / tile), Math.ceil(M / tile), 1],
    reference: () => {
      const C = new Float64Array(M * N);
      for (let i = 0; i < M; i++)
        for (let k = 0; k < K; k++) {
          const a = A[i * K + k]!;
          for (let j = 0; j < N; j++) C[i * N + j]! += a * B[k * N + j]!;
        }
      return C;
    },
    // K products of values in [-1, 1): f32 accumulation loses up to about K·2⁻²⁴ in absolute terms
    tolerance: { abs: K * 2 ** -22, rel: 1e-5 },
    flops: 2 * M * N * K,
  };
}

export default [naiveMatmul(130, 77, 65), naiveMatmul(256, 256, 256)];
