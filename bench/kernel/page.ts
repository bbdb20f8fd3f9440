// The kernel benchmark's page: the spec module's kernels on navigator.gpu, one table row each
// (bench-kernel.ts), handed back to the CLI (cli.ts), which prints them with the same
// formatter as its Node rows. The CLI bundles this with the spec module into one page.

import { benchKernels, type KernelRow, type KernelSpec } from './bench-kernel.js';
import { pageDevice, pageOptions, runPage } from '../harness/page.js';

export interface KernelPageOptions {
  minMs: number;
  maxReps: number;
  windows: number;
  hostClock: boolean;
}

export interface KernelPageResult {
  adapter: string;
  features: string[];
  rows: KernelRow[];
}

export function kernelPage(specs: KernelSpec | readonly KernelSpec[]): void {
  runPage(async (): Promise<KernelPageResult> => {
    const o = pageOptions<KernelPageOptions>();
    const { acquired, adapter } = await pageDevice();
    try {
      const list = Array.isArray(specs) ? (specs as readonly KernelSpec[]) : [specs as KernelSpec];
      const rows = await benchKernels(acquired.device, `chromium: ${adapter}`, list, {
        ...(o.minMs !== undefined ? { minMs: o.minMs } : {}),
        ...(o.maxReps !== undefined ? { maxReps: o.maxReps } : {}),
        ...(o.windows !== undefined ? { windows: o.windows } : {}),
        hostClock: o.hostClock === true,
      });
      return { adapter, features: acquired.features, rows };
    } finally {
      acquired.device.destroy();
    }
  });
}
