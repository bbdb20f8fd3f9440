// Backend choice for the CLI: kernels' init() (WebGPU when asked for, or with 'auto' when
// an adapter exists; the CPU backend otherwise, on the Wasm SIMD kernels where the runtime has
// them) with a line saying which.

import { init, preferWasmCpu, type BackendKind } from '@alphadrop/kernels';

export type BackendChoice = BackendKind;

export interface SelectedBackend {
  kind: 'webgpu' | 'cpu';
  description: string;
  shutdown(): Promise<void>;
}

export async function selectBackend(choice: BackendChoice): Promise<SelectedBackend> {
  const g = await preferWasmCpu(await init({ backend: choice }));
  return { kind: g.kind, description: g.description, shutdown: () => g.shutdown() };
}
