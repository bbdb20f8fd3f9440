// preferWasmCpu: init()'s CPU fallback moves to the Wasm SIMD kernels where the runtime has
// them (Node 20 has SIMD128); a WebGPU result stays as it is.
import { afterAll, describe, expect, it } from 'vitest';
import { getBackend, setBackend } from '@alphadrop/core';
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
    expect(chosen.description).toBe('cpu, wasm simd (as requested)');
    const gpu = await init({ backend: 'webgpu' });
    expect(await preferWasmCpu(gpu)).toBe(gpu);
    expect(getBackend()).toBe(gpu.backend);
    await gpu.shutdown();
  });
});
