// The Node side of the GPU bench entries: a device from kernels' own Node layer (Dawn, its
// ticker and instance pinning: packages/kernels/src/device/node.ts), the adapter printed, a
// clean failure without an adapter, results written under $OUT. The browser page gets its
// device from acquireBrowserDevice and uses ladder.ts directly.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { acquireNodeDevice, type NodeDevice } from '@alphadrop/kernels';

export { fmtG, lpad, pad } from './table.js';
export { randomF32 } from './data.js';

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  description: string;
  subgroupMinSize: number;
  subgroupMaxSize: number;
  features: string[];
  limits: Record<string, number>;
}

/** A high-performance device, or a one-line error and exit code 2 (no adapter: nothing to measure). */
export async function benchDevice(): Promise<NodeDevice> {
  try {
    return await acquireNodeDevice({ powerPreference: 'high-performance' });
  } catch (e) {
    console.error(`no WebGPU device: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
}

export function describeAdapter(nd: NodeDevice): AdapterDescription {
  const i = nd.adapterInfo as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
  const l = nd.device.limits;
  return {
    vendor: i.vendor,
    architecture: i.architecture,
    description: i.description,
    subgroupMinSize: i.subgroupMinSize ?? 0,
    subgroupMaxSize: i.subgroupMaxSize ?? 0,
    features: nd.features,
    limits: {
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  };
}

export function printAdapter(d: AdapterDescription): void {
  console.log(`adapter: vendor=${d.vendor} architecture=${d.architecture} description="${d.description}"`);
  console.log(`subgroups: min ${d.subgroupMinSize}, max ${d.subgroupMaxSize}; device features: ${d.features.join(', ')}`);
  console.log(`limits: ${Object.entries(d.limits).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  console.log(`node ${process.version}, ${process.platform} ${process.arch}`);
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

/** Destroys the device (the layer restores the process so it exits by itself), then exits with `code`. */
export async function finish(nd: NodeDevice, code: number): Promise<never> {
  await nd.destroy();
  process.exit(code);
}

