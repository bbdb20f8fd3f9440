// The Wasm SIMD GEMM as a route for the matmul kernels (fast/matmul.ts `matmulKernels`): f32
// products of the 'wasm' CPU kernels (../fast-wasm.ts) run here. B is taken as a view on every
// call (packB null): the Wasm GEMM copies and packs it into its own memory each time, which
// costs K·N against the product's M·N·K.

import { ValueError } from '../../errors.js';
import type { GemmRoute } from '../fast/gemm.js';
import { wasmGemm } from './gemm.js';

export const wasmGemmRoute: GemmRoute = {
  gemm(M, N, K, a, b, dst, dOff, ldd, accumulate = false, epilogue = null) {
    if (!('data' in b)) throw new ValueError('wasmGemmRoute', 'B as a strided view', 'B packed for the JS GEMM (this route has no packB)');
    wasmGemm(M, N, K, a, b, dst, dOff, ldd, accumulate, epilogue);
  },
  packB: null,
};
