// Loading the WebAssembly SIMD kernels (compiled from packages/core/wasm/ by
// scripts/build-wasm.mjs into gemm-module.generated.ts) and owning their linear memory.
//
// Instantiation is synchronous on first use (`new WebAssembly.Module(bytes)`), which Node and
// workers allow for any size. Browsers have refused synchronous compilation on the main thread
// past a size limit (Chromium long capped it at 4 KiB; headless Chromium 156 compiled this
// ~2.7 KB module and a 20 KB one there); where that bites, call `initWasm()` once and await it,
// after which every call is synchronous. A runtime without WebAssembly SIMD128 fails to compile the module:
// `wasmAvailable()` is then false and says why through `wasmUnavailableReason()`.
//
// Memory: the module allocates nothing; the host lays out its buffers above `heapBase()` and
// grows the memory to fit the largest call so far (WebAssembly memory never shrinks).

import { DeviceError } from '../../errors.js';
import { GEMM_WASM_BASE64 } from './gemm-module.generated.js';

/** The exports of packages/core/wasm/gemm.ts (pointers in bytes, sizes and strides in f32 elements). */
export interface GemmKernels {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  rowsPerPanel(): number;
  colsPerPanel(): number;
  packA(src: number, rs: number, cs: number, M: number, K: number, dst: number): void;
  packB(src: number, rs: number, cs: number, K: number, N: number, dst: number): void;
  gemm(M: number, N: number, K: number, ap: number, bp: number, c: number, ldc: number, tmp: number): void;
}

let kernels: GemmKernels | null = null;
let failure: string | null = null;

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const text = atob(GEMM_WASM_BASE64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function adopt(instance: WebAssembly.Instance): GemmKernels {
  kernels = instance.exports as unknown as GemmKernels;
  failure = null;
  return kernels;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * True when the SIMD kernels are loaded or can be loaded synchronously here (tries once; a
 * browser main thread may need `initWasm()` first).
 */
export function wasmAvailable(): boolean {
  if (kernels !== null) return true;
  if (failure !== null) return false;
  if (typeof WebAssembly !== 'object') {
    failure = 'this runtime has no WebAssembly';
    return false;
  }
  try {
    adopt(new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), {}));
    return true;
  } catch (e) {
    failure = describe(e);
    return false;
  }
}

/** Loads the kernels asynchronously (the way a browser main thread must); resolves to wasmAvailable(). */
export async function initWasm(): Promise<boolean> {
  if (kernels !== null) return true;
  if (typeof WebAssembly !== 'object') return wasmAvailable();
  try {
    const module = await WebAssembly.compile(moduleBytes());
    adopt(await WebAssembly.instantiate(module, {}));
    return true;
  } catch (e) {
    failure = describe(e);
    return false;
  }
}

/** Why the kernels could not be loaded, or null (loaded, or not tried yet). */
export function wasmUnavailableReason(): string | null {
  return failure;
}

/** The loaded kernels; a DeviceError naming `where` if they cannot be loaded. */
export function gemmKernels(where: string): GemmKernels {
  if (kernels !== null || wasmAvailable()) return kernels!;
  throw new DeviceError(where, 'WebAssembly with SIMD128 (call initWasm() first on a browser main thread)', failure ?? 'no module');
}

const PAGE_BYTES = 65536;

/** Grows the kernels' memory to at least `bytes` in total; a DeviceError when the runtime refuses. */
export function reserveMemory(k: GemmKernels, bytes: number, where: string): void {
  const have = k.memory.buffer.byteLength;
  if (bytes <= have) return;
  const pages = Math.ceil((bytes - have) / PAGE_BYTES);
  try {
    k.memory.grow(pages);
  } catch (e) {
    throw new DeviceError(where, `${bytes} bytes of WebAssembly memory`, `${have} bytes and a refused grow`, describe(e));
  }
}
