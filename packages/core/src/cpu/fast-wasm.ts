// The kernels of the opt-in 'wasm' CPU kind (`cpuBackend('wasm')`): the fast kernels (fast.ts)
// with the hot f32 paths on the WebAssembly SIMD128 module (wasm/), shared with worker threads
// where there are any (wasm/threads.ts): the GEMM family (Matmul, batched and transposed, and
// FusedMatmul with its dropout mask and bias/ReLU epilogue), convolution and both its
// gradients (wasm/conv.ts: f32 column matrices on the same GEMM), Philox bits and dropout.
// f64 operands keep the fast kernels' f64 paths.
//
// Numerics: the Wasm GEMM sums each output in f32 in increasing k, so results match the oracle
// within f32 tolerance instead of bit for bit, but stay a fixed function of the inputs (the same
// bits however the batch is blocked and however many threads run; wasm/conv.ts says what holds
// for the convolutions). Philox bits and dropout equal the oracle's bit for bit.

import type { DType } from '../dtype.js';
import { Prim } from '../prims.js';
import type { CpuKernelTable } from './backend.js';
import { fastKernels } from './fast.js';
import { jsGemmRoute } from './fast/gemm.js';
import { matmulKernels } from './fast/matmul.js';
import { wasmConvKernels } from './wasm/conv.js';
import { dropout, randomBits } from './wasm/random.js';
import { wasmGemmRoute } from './wasm/route.js';

const routed = matmulKernels((dtype: DType) => (dtype === 'f32' ? wasmGemmRoute : jsGemmRoute));

export const wasmKernels: Partial<CpuKernelTable> = {
  ...fastKernels,
  [Prim.Matmul]: routed.matmul,
  [Prim.FusedMatmul]: routed.fusedMatmul,
  [Prim.RandomBits]: randomBits,
  [Prim.Dropout]: dropout,
  ...wasmConvKernels,
};
