// Matmul on the fast CPU backend: [..., M, K]·[..., K, N] with broadcast batch dims and
// transA/transB, mapped onto the GEMM core (gemm.ts). Transposes are strides, never copies.
// A B shared by the whole batch is packed once; when A is also untransposed over
// non-broadcast batches, the batch folds into M and the product is one large GEMM.
// FusedMatmul is the same product with the dropout mask applied while A is packed (bits
// from fast Philox, indexed by A's stored elements as in the oracle, and memoised so the
// backward pass reuses the forward's draw) and bias + ReLU applied
// as results leave the GEMM; it equals the oracle bit for bit.
// The kernels are built over a GEMM route chosen per result dtype (matmulKernels): the fast
// backend's route is gemm.ts's f64 GEMM everywhere; the 'wasm' kind (../fast-wasm.ts) sends
// f32 products to the WebAssembly SIMD GEMM instead.

import { allocHost, type DType } from '../../dtype.js';
import { keepThreshold } from '../../random/philox.js';
import type { Prim } from '../../prims.js';
import type { Shape } from '../../shape.js';
import type { CpuKernel, CpuOperand } from '../reference.js';
import { jsGemmRoute, type Epilogue, type FloatArray, type GemmRoute, type MatView, type PackMask } from './gemm.js';
import { maskBits } from './random.js';
import { broadcastStrides, offsetTable, sizeOfShape } from './strided.js';

function batchedMatmul(
  route: GemmRoute,
  a: CpuOperand,
  b: CpuOperand,
  transA: boolean,
  transB: boolean,
  outShape: Shape,
  r: FloatArray,
  mask: PackMask | null,
  epilogue: Epilogue | null,
  batchedBias = false,
): void {
  const ar = a.shape.length;
  const M = outShape[outShape.length - 2]!;
  const N = outShape[outShape.length - 1]!;
  const K = transA ? a.shape[ar - 2]! : a.shape[ar - 1]!;
  // (i, k) of A and (k, j) of B inside one matrix, through strides.
  const [aRs, aCs] = transA ? [1, M] : [K, 1];
  const [bRs, bCs] = transB ? [1, K] : [N, 1];
  const batchShape = outShape.slice(0, -2);
  const batches = sizeOfShape(batchShape);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const bShared = sizeOfShape(bBatch) === 1;
  const aFull = sizeOfShape(aBatch) === batches;
  const av = (off: number): MatView => ({ data: a.storage, off, rs: aRs, cs: aCs, mask });
  const bv = (off: number): MatView => ({ data: b.storage, off, rs: bRs, cs: bCs });

  if (batches === 1 || (bShared && aFull && !transA && !batchedBias)) {
    // One GEMM: a lone matrix, or a batch of A rows stacked over one B.
    route.gemm(batches * M, N, K, av(0), bv(0), r, 0, N, false, epilogue);
    return;
  }
  const aOff = offsetTable(batchShape, broadcastStrides(aBatch, batchShape));
  const bOff = offsetTable(batchShape, broadcastStrides(bBatch, batchShape));
  const packed = bShared && route.packB ? route.packB(bv(0), K, N) : null;
  for (let t = 0; t < batches; t++) {
    // a batched bias [...batch, 1, N]: this matrix's row of it
    const e = epilogue && batchedBias && epilogue.bias ? { ...epilogue, bias: (epilogue.bias as FloatArray).subarray(t * N, (t + 1) * N) } : epilogue;
    route.gemm(M, N, K, av(aOff[t]! * M * K), packed ?? bv(bOff[t]! * K * N), r, t * M * N, N, false, e);
  }
}

/** Matmul and FusedMatmul over the GEMM route `routeFor` picks for each result dtype. */
export function matmulKernels(routeFor: (dtype: DType) => GemmRoute): { matmul: CpuKernel<Prim.Matmul>; fusedMatmul: CpuKernel<Prim.FusedMatmul> } {
  const matmul: CpuKernel<Prim.Matmul> = ([a, b], { transA, transB }, out) => {
    const r = allocHost(out.dtype, sizeOfShape(out.shape)) as FloatArray;
    batchedMatmul(routeFor(out.dtype), a!, b!, transA, transB, out.shape, r, null, null);
    return r;
  };

  const fusedMatmul: CpuKernel<Prim.FusedMatmul> = ([a, b, bias], p, out) => {
    const r = allocHost(out.dtype, sizeOfShape(out.shape)) as FloatArray;
    let mask: PackMask | null = null;
    if (p.dropout) {
      const d = p.dropout;
      const n = a!.storage.length;
      // the words are drawn only if the route asks for them (the Wasm route draws its own)
      let words: Uint32Array | null = null;
      const bits = () => (words ??= d.keepProb === 1 ? new Uint32Array(n) : maskBits(n, d.key, d.counter, d.keys));
      mask = { draw: d, bits, threshold: keepThreshold(d.keepProb), keepProb: d.keepProb };
    }
    const batchedBias = !!bias && bias.shape.length > 1;
    batchedMatmul(routeFor(out.dtype), a!, b!, p.transA, p.transB, out.shape, r, mask, { bias: bias ? bias.storage : null, relu: p.activation === 'relu' }, batchedBias);
    return r;
  };
  return { matmul, fusedMatmul };
}

export const { matmul, fusedMatmul } = matmulKernels(() => jsGemmRoute);
