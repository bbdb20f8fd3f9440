// The page side of a browser benchmark (harness/chromium.ts drives it): the options the driver
// published, the page's WebGPU device and adapter name, and the result handed back. Browser
// code only.

import { acquireBrowserDevice, type AcquiredDevice } from '@alphadrop/kernels';
import { adapterLabel } from './table.js';

/** The options the driver published as globalThis.__benchOptions. */
export function pageOptions<T>(): Partial<T> {
  return ((globalThis as { __benchOptions?: Partial<T> }).__benchOptions ?? {}) as Partial<T>;
}

/** Hands `result` to the driver, which is polling for it. */
export function publish(result: unknown): void {
  (globalThis as { __benchResult?: unknown }).__benchResult = result;
}

/** The page's device (navigator.gpu, with timestamp-query where the adapter has it) and its adapter's name. */
export async function pageDevice(): Promise<{ acquired: AcquiredDevice; adapter: string }> {
  const acquired = await acquireBrowserDevice();
  return { acquired, adapter: adapterLabel(acquired.adapterInfo) };
}

/** Runs `main` and publishes its result, or { error } when it throws. */
export function runPage(main: () => Promise<unknown>): void {
  main().then(publish, (e: unknown) => {
    console.log(`page failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    publish({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  });
}
