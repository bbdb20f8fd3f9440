// Device acquisition for the GPU benchmarks in Node (Dawn through the npm `webgpu` package),
// with the three rules learned on the lent H100/H200 and on lavapipe:
//   1. the GPU instance returned by create() stays referenced for the device's whole life
//      (if it is collected, Dawn tears the instance down and the process aborts);
//   2. dawn.node's ticks go through setTimeout, installed before `webgpu` is imported and
//      before the first await on the device (DESIGN.md, "Known hazard");
//   3. the run ends with device.destroy() and process.exit(0).
// Also the shared pieces of the GPU entries: adapter description, timing statistics, $OUT.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestDeviceFrom } from '@alphadrop/kernels';

export interface NodeGpu {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: GPUAdapterInfo;
  /** Features the device was created with. */
  features: string[];
  /** The dawn.node GPU instance: referenced here for the device's lifetime (rule 1). */
  instance: unknown;
}

const LAVAPIPE = '/usr/share/vulkan/icd.d/lvp_icd.json';

// Module-level: the instance must outlive every await on the device.
const keptAlive: unknown[] = [];

/** Acquires a high-performance adapter and a device with the adapter's maxima. */
export async function acquireNodeGpu(): Promise<NodeGpu> {
  // Without a Vulkan driver of our choosing, prefer lavapipe where it is installed and no
  // NVIDIA driver was named (prelude.sh sets VK_DRIVER_FILES on the lent GPU).
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(LAVAPIPE)) process.env.VK_ICD_FILENAMES = LAVAPIPE;
  (globalThis as { setImmediate: unknown }).setImmediate = (fn: (...a: unknown[]) => void, ...a: unknown[]) => setTimeout(fn, 0, ...a);
  const { create, globals } = (await import('webgpu')) as { create: (flags: string[]) => GPU; globals: object };
  Object.assign(globalThis, globals);
  const flags = (process.env.DAWN_FLAGS ?? '').split(' ').filter(Boolean);
  const instance = create(flags);
  keptAlive.push(instance);
  const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error(`no WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? 'unset'}, VK_DRIVER_FILES=${process.env.VK_DRIVER_FILES ?? 'unset'})`);
  keptAlive.push(adapter);
  const { device, features } = await requestDeviceFrom(adapter);
  device.addEventListener('uncapturederror', (ev) => {
    console.error('uncaptured WebGPU error:', (ev as GPUUncapturedErrorEvent).error.message);
  });
  return { device, adapter, info: adapter.info, features, instance };
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  subgroupMinSize: number;
  subgroupMaxSize: number;
  adapterFeatures: string[];
  deviceFeatures: string[];
  limits: Record<string, number>;
}

export function describe(gpu: NodeGpu): AdapterDescription {
  const i = gpu.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const l = gpu.device.limits;
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    subgroupMinSize: i.subgroupMinSize ?? 0,
    subgroupMaxSize: i.subgroupMaxSize ?? 0,
    adapterFeatures: [...gpu.adapter.features].map(String).sort(),
    deviceFeatures: [...gpu.device.features].map(String).sort(),
    limits: {
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  };
}

export function printAdapter(d: AdapterDescription): void {
  console.log(`adapter: vendor=${d.vendor} architecture=${d.architecture} device=${d.device} description="${d.description}"`);
  console.log(`subgroups: min ${d.subgroupMinSize}, max ${d.subgroupMaxSize}`);
  console.log(`adapter features: ${d.adapterFeatures.join(', ')}`);
  console.log(`device features: ${d.deviceFeatures.join(', ')}`);
  console.log(`limits: ${Object.entries(d.limits).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(`node ${process.version}, ${process.platform} ${process.arch}`);
}

/** Ends the run the way Dawn needs (rule 3). */
export function shutdown(gpu: NodeGpu | null, code = 0): never {
  gpu?.device.destroy();
  process.exit(code);
}

/** Writes `name` into $OUT when the variable is set; returns the path or null. */
export function writeOut(name: string, text: string): string | null {
  const dir = process.env.OUT;
  if (!dir) return null;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Buffer usages and map modes as numbers (the GPUBufferUsage globals exist only after the import). */
export const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
export const MAP_READ_MODE = 0x1;

/** Reads a buffer's first `bytes` back as f32 (one submit, one wait). */
export async function readF32(device: GPUDevice, src: GPUBuffer, bytes: number): Promise<Float32Array> {
  const size = Math.ceil(bytes / 4) * 4;
  const staging = device.createBuffer({ size, usage: Usage.MAP_READ | Usage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, staging, 0, size);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(MAP_READ_MODE);
  const out = new Float32Array(staging.getMappedRange(0, size).slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

/** Compiles a compute pipeline, failing with the compiler's messages on error. */
export async function computePipeline(device: GPUDevice, code: string, label: string): Promise<GPUComputePipeline> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code, label });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) {
    await device.popErrorScope();
    throw new Error(`${label}: WGSL errors:\n${errors.map((m) => `  ${m.lineNum}:${m.linePos} ${m.message}`).join('\n')}`);
  }
  const pipeline = await device.createComputePipelineAsync({ label, layout: 'auto', compute: { module, entryPoint: 'main' } });
  const err = await device.popErrorScope();
  if (err) throw new Error(`${label}: ${err.message}`);
  return pipeline;
}
