// Example kernel spec: SAXPY, out = a·x + y over n floats (n and a in a uniform block).
// A memory-bound kernel, so the table's figure is GB/s: one call reads x and y and writes
// out, 12 bytes per element.
//   npm run bench:kernel -- bench/kernel/examples/saxpy.ts --where both

import { randomF32 } from '../../harness/data.js';
import type { KernelSpec } from '../bench-kernel.js';

const n = 1 << 20;
const a = 1.5;
const WORKGROUP = 256;

const wgsl = /* wgsl */ `
struct Params { n: u32, a: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= params.n) { return; }
  out[i] = fma(params.a, x[i], y[i]);
}`;

// the uniform block as 4-byte words: n as u32, a as the bits of an f32
const params = new Uint32Array(2);
params[0] = n;
new Float32Array(params.buffer)[1] = a;

const x = randomF32(n, 1);
const y = randomF32(n, 2);

const spec: KernelSpec = {
  name: `saxpy n=${n}`,
  wgsl,
  bindings: [
    { kind: 'input', data: x },
    { kind: 'input', data: y },
    { kind: 'output', length: n },
    { kind: 'uniform', data: params },
  ],
  dispatch: [Math.ceil(n / WORKGROUP), 1, 1],
  // float64 of the f32 inputs; one fma rounds once, so the default tolerance holds
  reference: () => Float64Array.from(x, (xi, i) => a * xi + y[i]!),
  flops: 2 * n,
  bytes: 12 * n,
};

export default spec;
