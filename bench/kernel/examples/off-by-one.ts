// Example of a kernel the benchmark rejects: SAXPY (saxpy.ts) with an off-by-one bound (the
// guard stops at n − 1), so output[n − 1] keeps the cleared 0. The
// harness reports the first bad index with the value read back and the expected one
// (KernelMismatchError) and never times it.
//   npm run bench:kernel -- bench/kernel/examples/off-by-one.ts   (exit code 1)

import type { KernelSpec } from '../bench-kernel.js';
import saxpy from './saxpy.js';

const wgsl = saxpy.wgsl.replace('if (i >= params.n) { return; }', 'if (i >= params.n - 1u) { return; }');
if (wgsl === saxpy.wgsl) throw new Error('off-by-one.ts: the guard of saxpy.ts changed; update the replacement');

const spec: KernelSpec = {
  ...saxpy,
  name: saxpy.name.replace('saxpy', 'saxpy off-by-one'),
  wgsl,
};

export default spec;
