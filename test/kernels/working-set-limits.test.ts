// The working-set guard on WebGPU reads the device's real limits (the adapter's maxima,
// which the Node device layer requests): one buffer must hold the widest M·K activation.
import { beforeAll, describe, expect, it } from 'vitest';
import { memory, ValueError } from '@alphadrop/core';
import { checkWorkingSet } from '@alphadrop/core/backend';
import { getTestBackend } from '../helpers/webgpu.js';

beforeAll(async () => {
  await getTestBackend();
});

describe('WebGPU backend limits', () => {
  it('are the smaller of maxBufferSize and maxStorageBufferBindingSize', async () => {
    const backend = await getTestBackend();
    const l = backend.device.limits;
    const want = Math.min(l.maxBufferSize, l.maxStorageBufferBindingSize);
    expect(backend.limits()).toEqual({ maxBufferBytes: want });
    // the device got more than WebGPU's defaults (128 MiB binding, 256 MiB buffer) where the adapter has it
    expect(want).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });
  it('refuse a tile one row over the largest binding, accept one that fits, allocate nothing', async () => {
    const backend = await getTestBackend();
    const rowBytes = 784 * 4;
    const fits = Math.floor(backend.limits().maxBufferBytes / rowBytes);
    const before = memory();
    expect(() => checkWorkingSet('mcForward', { rows: fits, width: 784, liveWidth: 784, dtype: 'f32', flag: 'samples (--samples)', backend })).not.toThrow();
    const over = () => checkWorkingSet('mcForward', { rows: fits + 1, width: 784, dtype: 'f32', flag: 'samples (--samples)', backend });
    expect(over).toThrow(ValueError);
    expect(over).toThrow(/webgpu backend's largest buffer .*lower samples \(--samples\)/);
    // 100 inputs × 100000 samples of MNIST: refused, whatever the device
    expect(() => checkWorkingSet('mcForward', { rows: 1e7, width: 784, dtype: 'f32', flag: 'samples (--samples)', backend })).toThrow(ValueError);
    expect(memory().bytes).toBe(before.bytes);
  });
});
