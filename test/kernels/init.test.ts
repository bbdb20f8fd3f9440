// init({ backend }): 'webgpu' acquires the device (lavapipe here) or throws; 'auto' prefers a
// hardware adapter and falls back to the CPU, saying why; 'cpu' installs the CPU backend.
import { describe, expect, it } from 'vitest';
import { DeviceError, getBackend } from '@alphadrop/core';
import { init, isSoftwareAdapter } from '@alphadrop/kernels';

describe('init', () => {
  it("'webgpu' installs the WebGPU backend; 'auto' skips a software adapter; 'cpu' the CPU", async () => {
    const w = await init({ backend: 'webgpu' });
    expect(w.kind).toBe('webgpu');
    expect(getBackend().name).toBe('webgpu');
    await w.shutdown();
    const a = await init({ backend: 'auto' });
    // CI has only lavapipe: auto must say it fell back and why
    expect(a.kind).toBe('cpu');
    expect(a.description).toMatch(/software/);
    const c = await init({ backend: 'cpu' });
    expect(c.kind).toBe('cpu');
    expect(getBackend().name).toBe('cpu');
  }, 120_000);
  it('refuses an unknown backend with a typed error', async () => {
    await expect(init({ backend: 'tpu' as never })).rejects.toThrow(DeviceError);
  });
  it('tells software adapters from hardware ones', () => {
    const info = (vendor: string, description: string) => ({ vendor, architecture: '', device: '', description }) as GPUAdapterInfo;
    expect(isSoftwareAdapter(info('mesa', 'llvmpipe: Mesa 25.0.7'))).toBe(true);
    expect(isSoftwareAdapter(info('google', 'SwiftShader Device'))).toBe(true);
    expect(isSoftwareAdapter(info('nvidia', 'NVIDIA: 580.159.04'))).toBe(false);
  });
});
