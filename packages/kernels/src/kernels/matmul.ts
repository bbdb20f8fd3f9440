// Register-tiled matmul: C[b] = op(A[b]) · op(B[b]) with op = identity or transpose,
// broadcast batch dims, shapes specialised. Each workgroup of 16×16 invocations computes
// a 64×64 tile of C, each invocation a 4×4 block held in registers; A and B stream
// through workgroup memory in slices of 16 along K. The batch index is the z dimension.
// Reference: @alphadrop/core referenceKernels[Prim.Matmul].

import { sizeOf, stridesOf, type OutSpec, type Shape } from '@alphadrop/core';
import type { GpuPlan, OperandSpec } from '../runtime/plan.js';
import { PHILOX_WGSL } from './random.js';

export interface MatmulGeometry {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  batchShape: Shape;
  aBatch: Shape;
  bBatch: Shape;
}

export function matmulGeometry(a: OperandSpec, b: OperandSpec, transA: boolean, transB: boolean, out: OutSpec): MatmulGeometry {
  const r = out.shape.length;
  return {
    M: out.shape[r - 2]!,
    N: out.shape[r - 1]!,
    K: transA ? a.shape[a.shape.length - 2]! : a.shape[a.shape.length - 1]!,
    transA,
    transB,
    batchShape: out.shape.slice(0, -2),
    aBatch: a.shape.slice(0, -2),
    bBatch: b.shape.slice(0, -2),
  };
}

/** WGSL expression: matrix offset (in matrices) of an operand's batch for output batch `z`. */
function batchOffset(batch: Shape, inBatch: Shape): string {
  if (sizeOf(inBatch) <= 1) return '0u';
  const lead = batch.length - inBatch.length;
  const outStrides = stridesOf(batch);
  const inStrides = stridesOf(inBatch);
  const terms: string[] = [];
  inBatch.forEach((d, i) => {
    if (d === 1) return;
    const o = i + lead;
    terms.push(`((z / ${outStrides[o]}u) % ${batch[o]}u) * ${inStrides[i]}u`);
  });
  return terms.length ? terms.join(' + ') : '0u';
}

export const TILE = 64;
const TK = 16;

/** The fused variants: dropout on A while it is loaded, bias and ReLU in the epilogue. */
export interface MatmulFusion {
  bias: boolean;
  relu: boolean;
  dropout: boolean;
}
const PLAIN: MatmulFusion = { bias: false, relu: false, dropout: false };

export function wgsl(g: MatmulGeometry, fusion: MatmulFusion = PLAIN): string {
  const { M, N, K, transA, transB } = g;
  const aIndex = transA ? `aOff + gk * ${M}u + gr` : `aOff + gr * ${K}u + gk`;
  const aLoad = fusion.dropout ? `drop_load(${aIndex})` : `A[${aIndex}]`;
  const bLoad = transB ? `B[bOff + gc * ${K}u + gk2]` : `B[bOff + gk2 * ${N}u + gc]`;
  const cBinding = fusion.bias ? 3 : 2;
  const epilogue = [fusion.bias ? 'v += bias[c];' : '', fusion.relu ? 'v = max(v, 0.0);' : ''].join(' ');
  const dropDecls = fusion.dropout
    ? `struct Drop { k0: u32, k1: u32, stream: u32, offLo: u32, offHi: u32, threshold: u32, scale: f32, pad: u32 }
@group(0) @binding(${cBinding + 1}) var<uniform> drop: Drop;
${PHILOX_WGSL}
// A's element i is kept iff Philox word i of the dropout coordinates is below the threshold.
fn drop_load(i: u32) -> f32 {
  let w = philox_block(vec2<u32>(drop.k0, drop.k1), drop.stream, drop.offLo, drop.offHi, i / 4u)[i % 4u];
  return select(0.0, A[i] * drop.scale, w < drop.threshold);
}`
    : '';
  return `@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
${fusion.bias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${cBinding}) var<storage, read_write> C: array<f32>;
${dropDecls}
var<workgroup> As: array<array<f32, ${TILE}>, ${TK}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TK}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = wg.z;
  let aOff = (${batchOffset(g.batchShape, g.aBatch)}) * ${M * K}u;
  let bOff = (${batchOffset(g.batchShape, g.bBatch)}) * ${K * N}u;
  let cOff = z * ${M * N}u;
  let row0 = wg.y * ${TILE}u;
  let col0 = wg.x * ${TILE}u;
  let tid = lid.y * 16u + lid.x;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < ${K}u; k0 += ${TK}u) {
    for (var i = 0u; i < 4u; i++) {
      let idx = tid + i * 256u;
      // A slice: 64 rows x 16 k
      let ar = ${transA ? 'idx % 64u' : 'idx / 16u'};
      let ak = ${transA ? 'idx / 64u' : 'idx % 16u'};
      let gr = row0 + ar;
      let gk = k0 + ak;
      As[ak][ar] = select(0.0, ${aLoad}, gr < ${M}u && gk < ${K}u);
      // B slice: 16 k x 64 cols
      let bk = ${transB ? 'idx % 16u' : 'idx / 64u'};
      let bc = ${transB ? 'idx / 16u' : 'idx % 64u'};
      let gk2 = k0 + bk;
      let gc = col0 + bc;
      Bs[bk][bc] = select(0.0, ${bLoad}, gk2 < ${K}u && gc < ${N}u);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = As[kk][lid.y * 4u + i];
        b[i] = Bs[kk][lid.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let r = row0 + lid.y * 4u + i;
      let c = col0 + lid.x * 4u + j;
      if (r < ${M}u && c < ${N}u) {
        var v = acc[i][j];
        ${epilogue}
        C[cOff + r * ${N}u + c] = v;
      }
    }
  }
}`;
}

export function dispatchSize(g: MatmulGeometry): [number, number, number] {
  return [Math.ceil(g.N / TILE), Math.ceil(g.M / TILE), Math.max(1, sizeOf(g.batchShape))];
}

export function matmulPlan(inputs: readonly OperandSpec[], p: { transA: boolean; transB: boolean }, out: OutSpec): GpuPlan {
  const g = matmulGeometry(inputs[0]!, inputs[1]!, p.transA, p.transB, out);
  return {
    programs: [{ name: `matmul/tile64${p.transA ? '/tA' : ''}${p.transB ? '/tB' : ''}`, code: wgsl(g), workgroups: dispatchSize(g), bindings: ['in0', 'in1', 'out'] }],
  };
}
