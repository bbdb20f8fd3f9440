// Device acquisition in the browser (navigator.gpu). Asks for the adapter's own limits on
// the sizes our kernels care about, and for the optional features we use when present.

import { DeviceError } from '@alphadrop/core';

export interface AcquiredDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  adapterInfo: GPUAdapterInfo;
  features: string[];
}

export const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;

/**
 * The device request of both the browser and the Node layer: the optional features the
 * adapter has, and the adapter's maxima for buffer sizes, workgroup storage, invocations
 * and storage buffers per stage.
 */
export function deviceDescriptor(adapter: GPUAdapter, optional: readonly string[] = OPTIONAL_FEATURES): GPUDeviceDescriptor {
  // Names newer than @webgpu/types's GPUFeatureName (e.g. 'subgroups') are fine at run time.
  const features = optional.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const l = adapter.limits;
  return {
    requiredFeatures: features,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  };
}

/** requestDevice with deviceDescriptor(adapter). */
export async function requestDeviceFrom(adapter: GPUAdapter): Promise<AcquiredDevice> {
  const descriptor = deviceDescriptor(adapter);
  const device = await adapter.requestDevice(descriptor);
  return { device, adapter, adapterInfo: adapter.info, features: [...(descriptor.requiredFeatures ?? [])] };
}

export async function acquireBrowserDevice(powerPreference: GPUPowerPreference = 'high-performance'): Promise<AcquiredDevice> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu)
    throw new DeviceError(
      'navigator.gpu',
      'a browser with WebGPU',
      'no navigator.gpu',
      'use a WebGPU-enabled browser in a secure context (https or localhost), or the CPU backend',
    );
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter)
    throw new DeviceError('navigator.gpu.requestAdapter', 'a WebGPU adapter', 'null', 'the browser exposes WebGPU but found no usable GPU; use the CPU backend');
  return requestDeviceFrom(adapter);
}
