// init({ backend }): picks and installs the engine's default backend. 'webgpu' acquires a
// device (navigator.gpu in a browser, Dawn through the `webgpu` package in Node) or throws
// a DeviceError saying how to get one; 'cpu' installs the optimised CPU backend; 'auto'
// tries WebGPU and falls back to the CPU, saying why.

import { DeviceError, setBackend, type Backend } from '@alphadrop/core';
import { createCpuBackend, fastKernels } from '@alphadrop/core/backend';
import { WebGpuBackend, type WebGpuBackendOptions } from './runtime/backend.js';
import { gpuKernels } from './table.js';
import { acquireBrowserDevice } from './device/browser.js';

export type BackendKind = 'webgpu' | 'cpu' | 'auto';

export interface InitOptions {
  backend?: BackendKind;
  powerPreference?: GPUPowerPreference;
}

export interface Initialized {
  kind: 'webgpu' | 'cpu';
  backend: Backend;
  /** One line for logs: which backend and device, and why (for an 'auto' fallback). */
  description: string;
  /** Flushes, waits for the device, destroys it (WebGPU); a no-op on the CPU. */
  shutdown(): Promise<void>;
}

/** A WebGPU backend on `device` with the WGSL kernel table (the twin of core's cpuBackend()). */
export function createWebGpuBackend(device: GPUDevice, opts: WebGpuBackendOptions = {}): WebGpuBackend {
  return new WebGpuBackend(device, gpuKernels, opts);
}

/** Node (Dawn through the `webgpu` package) rather than a page or a worker (navigator.gpu). */
const inNode = (): boolean => typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';

async function webgpu(opts: InitOptions): Promise<Initialized> {
  if (!inNode()) {
    const a = await acquireBrowserDevice(opts.powerPreference);
    const backend = createWebGpuBackend(a.device, { adapterInfo: a.adapterInfo, keepAlive: [a.adapter] });
    return {
      kind: 'webgpu',
      backend,
      description: `webgpu (${describe(a.adapterInfo)})`,
      shutdown: async () => {
        await backend.synchronize();
        backend.destroy();
        a.device.destroy();
      },
    };
  }
  const { acquireNodeDevice } = await import('./device/node.js');
  const nd = await acquireNodeDevice(opts.powerPreference ? { powerPreference: opts.powerPreference } : {});
  const backend = createWebGpuBackend(nd.device, { adapterInfo: nd.adapterInfo, guardWait: (p) => nd.wait(p) });
  return {
    kind: 'webgpu',
    backend,
    description: `webgpu (${describe(nd.adapterInfo)})`,
    shutdown: async () => {
      backend.flush();
      backend.destroy();
      await nd.destroy();
    },
  };
}

function describe(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
}

/** A CPU-emulated adapter (Mesa lavapipe, SwiftShader): correct, but slower than the CPU backend. */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  return (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software/i.test(text);
}

export async function init(opts: InitOptions = {}): Promise<Initialized> {
  const kind = opts.backend ?? 'auto';
  if (kind !== 'webgpu' && kind !== 'cpu' && kind !== 'auto') throw new DeviceError('init', "backend 'webgpu', 'cpu' or 'auto'", String(kind));
  let reason = 'as requested';
  if (kind !== 'cpu') {
    try {
      const g = await webgpu(opts);
      const info = (g.backend as WebGpuBackend).adapterInfo;
      // 'auto' wants speed: a software adapter is for correctness tests, not for training
      if (kind === 'auto' && info && isSoftwareAdapter(info)) {
        await g.shutdown();
        reason = `the only WebGPU adapter is a software one (${describe(info)}); ask for it with backend 'webgpu'`;
      } else {
        setBackend(g.backend);
        return g;
      }
    } catch (e) {
      if (kind === 'webgpu') throw e;
      reason = `no WebGPU: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  // core's 'fast' kind, built here rather than through cpuBackend(), whose 'wasm' branch would
  // carry the Wasm kernels into every page that imports init (preferWasmCpu adds them)
  const backend = createCpuBackend(fastKernels);
  setBackend(backend);
  return { kind: 'cpu', backend, description: `cpu (${reason})`, shutdown: async () => {} };
}
