// What the CPU kernels' worker threads need from the runtime, probed without importing any
// Node module (the core also runs in browsers): Node's built-ins through
// process.getBuiltinModule, and whether this thread may block.

/** A Node built-in module, or undefined outside Node (or where it cannot be loaded). */
export function nodeBuiltin<T>(name: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.(name) as T | undefined;
  } catch {
    return undefined;
  }
}

/** Whether this thread may block in Atomics.wait (not a browser main thread). */
export function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
