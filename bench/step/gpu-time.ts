// GPU time of a benchmark's steps from timestamp queries (kernels' Profiler): while profiling,
// every dispatch runs in a compute pass of its own with a begin and an end timestamp, so the
// sum over a step's kernels is the time the GPU spent computing it, without the gaps between
// dispatches and without host encoding. Separate passes change the timing a little, so the
// profiled steps are run after the host-timed ones, never among them.

import type { KernelProfile, WebGpuBackend } from '@alphadrop/kernels';

export interface GpuTime {
  /** Σ kernel time over the profiled steps / steps. */
  msPerStep: number;
  steps: number;
  /** Per kernel name, ms and calls per step, slowest first. */
  kernels: { name: string; callsPerStep: number; msPerStep: number }[];
}

/** Whether the device can time kernels ('timestamp-query' requested and granted). */
export const canTimeGpu = (gpu: WebGpuBackend): boolean => gpu.profiler.supported;

/**
 * Runs `run()` (which executes `steps` steps and resolves when their reads are done) with
 * profiling on, and returns the GPU time per step; null without 'timestamp-query'.
 */
export async function gpuTimePerStep(gpu: WebGpuBackend, steps: number, run: () => Promise<void>): Promise<GpuTime | null> {
  if (!canTimeGpu(gpu)) return null;
  await gpu.synchronize();
  await gpu.profile(); // drain read-backs of any earlier profiling before the reset
  gpu.profiler.reset();
  gpu.enableProfiling();
  let totals: KernelProfile[];
  try {
    await run();
    await gpu.synchronize();
    totals = await gpu.profile();
  } finally {
    gpu.profiler.disable();
  }
  const ms = totals.reduce((s, k) => s + k.totalMs, 0);
  return { msPerStep: ms / steps, steps, kernels: totals.map((k) => ({ name: k.name, callsPerStep: k.calls / steps, msPerStep: k.totalMs / steps })) };
}

/** "gpu 0.412 ms/step (Σ kernels over 100 steps; top: matmul/tile64 0.120, …)" or the n/a line. */
export function describeGpuTime(t: GpuTime | null, top = 3): string {
  if (!t) return 'gpu time: n/a (no timestamp-query)';
  const heads = t.kernels.slice(0, top).map((k) => `${k.name} ${k.msPerStep.toFixed(3)}`).join(', ');
  return `gpu time ${t.msPerStep.toFixed(3)} ms/step (Σ kernel timestamps over ${t.steps} steps; top: ${heads})`;
}
