// A ladder over kernel-module calls (the shape every WGSL kernel module shares,
// packages/kernels runtime/kernel-module.ts): for each case, every version's plan is
// validated against the module's CPU oracle and then timed (ladder.ts). The scale of the
// rounding error per entry is the oracle run on |inputs| (Σ|a·b| for the GEMM-shaped
// kernels), so the tolerance is relative to what the sum could lose. Plain TS, no Node
// imports: the Node entries (bench/conv, bench/reduce) and a browser page both call it.

import type { HostArray } from '@alphadrop/core';
import type { CpuOperand, OutSpec, Prim, PrimParams } from '@alphadrop/core/backend';
import { DEFAULT_CAPS, type GpuPlan, type KernelCall, type KernelModule } from '@alphadrop/kernels/modules';
import { validateAndTime, type HarnessOptions, type RungResult } from './ladder.js';

export interface ModuleCase<P extends Prim> {
  label: string;
  inputs: readonly CpuOperand[];
  params: PrimParams[P];
  out: OutSpec;
  /** Work per call, for the throughput column (e.g. 2·M·N·K flops). */
  work: number;
}

export interface ModuleVersion<P extends Prim> {
  name: string;
  plan(call: KernelCall<P>): GpuPlan;
}

export interface ModuleRow {
  version: string;
  shape: string;
  result: RungResult;
  /** work / second, in G. */
  gPerS?: number;
}

const abs = (x: HostArray): HostArray => (x instanceof Float32Array ? x.map(Math.abs) : x);

/** Validates and times every version on every case; `onRow` prints as results come. */
export async function runModuleLadder<P extends Prim>(
  device: GPUDevice,
  module: KernelModule<P>,
  versions: readonly ModuleVersion<P>[],
  cases: readonly ModuleCase<P>[],
  opts: HarnessOptions,
  onRow: (row: ModuleRow) => void = () => {},
): Promise<ModuleRow[]> {
  const rows: ModuleRow[] = [];
  for (const c of cases) {
    const want = module.reference(c.inputs, c.params, c.out);
    const scale = module.reference(c.inputs.map((x) => ({ ...x, storage: abs(x.storage) })), c.params, c.out);
    const expected = { idx: Uint32Array.from(want, (_, i) => i), want: Float64Array.from(want as ArrayLike<number>), scale: Float64Array.from(scale as ArrayLike<number>) };
    const call: KernelCall<P> = { inputs: c.inputs, params: c.params, out: c.out, caps: { ...DEFAULT_CAPS, maxWorkgroupStorage: device.limits.maxComputeWorkgroupStorageSize } };
    const data = { inputs: c.inputs.map((x) => x.storage as Float32Array | Int32Array | Uint32Array), outWords: want.length };
    const read = (raw: ArrayBuffer) => (c.out.dtype === 'f32' ? new Float32Array(raw) : c.out.dtype === 'i32' ? new Int32Array(raw) : new Uint32Array(raw));
    for (const v of versions) {
      const result = await validateAndTime(device, v.plan(call), data, expected, read, opts);
      const row: ModuleRow = { version: v.name, shape: c.label, result, ...(result.msPerCall ? { gPerS: c.work / (result.msPerCall * 1e6) } : {}) };
      rows.push(row);
      onRow(row);
    }
  }
  return rows;
}
