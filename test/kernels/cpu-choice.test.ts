// preferWasmCpu: init()'s CPU fallback moves to the Wasm SIMD kernels where the runtime has
// them (Node 20 has SIMD128); a WebGPU result stays as it is.
import { availableParallelism } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { getBackend, setBackend, wasmThreadStats } from '@alphadrop/core';
import { init, preferWasmCpu } from '@alphadrop/kernels';

const previous = getBackend();
afterAll(() => setBackend(previous));

describe('preferWasmCpu', () => {
  it("moves a CPU fallback to the 'wasm' kind and says so; leaves a WebGPU result alone", async () => {
    const cpu = await init({ backend: 'cpu' });
    expect(cpu.backend.name).toBe('cpu');
    const chosen = await preferWasmCpu(cpu);
    expect(chosen.kind).toBe('cpu');
    expect(chosen.backend.name).toBe('cpu-wasm');
    expect(getBackend()).toBe(chosen.backend);
    // Node has worker threads: one per further core (ALPHADROP_CPU_WORKERS aside), named with the caller
    const workers = wasmThreadStats().readyWorkers;
    expect(chosen.description).toBe(`cpu, wasm simd${workers > 0 ? `, ${workers + 1} threads` : ''} (as requested)`);
    if (!process.env.ALPHADROP_CPU_WORKERS) expect(workers).toBe(availableParallelism() - 1);
    const gpu = await init({ backend: 'webgpu' });
    expect(await preferWasmCpu(gpu)).toBe(gpu);
    expect(getBackend()).toBe(gpu.backend);
    await gpu.shutdown();
  });
});
