// Loading the WebAssembly SIMD kernels (compiled from packages/core/wasm/ by
// scripts/build-wasm.mjs into kernels.generated.ts) and owning their linear memory.
//
// Two builds of the same source: one over an imported *shared* memory, which worker threads
// can run the same kernels on (threads.ts), and one with a memory of its own for runtimes
// without shared memory (a browser page that is not cross-origin isolated). The shared one is
// taken wherever a shared WebAssembly.Memory can be made; the kernels and their results are
// the same either way.
//
// Instantiation is synchronous on first use (`new WebAssembly.Module(bytes)`), which Node and
// workers allow for any size. Browsers have refused synchronous compilation on the main thread
// past a size limit (Chromium long capped it at 4 KiB); where that bites, call `initWasm()`
// once and await it, after which every call is synchronous. A runtime without WebAssembly
// SIMD128 fails to compile the module: `wasmAvailable()` is then false and says why through
// `wasmUnavailableReason()`.
//
// Memory: the module allocates nothing. Above heapBase() the host keeps one small scratch
// buffer per thread (SCRATCH_BYTES each, MAX_THREADS of them) and a few words of kernel
// parameters (paramsAt()), then lays out each call's buffers from workBase(), growing the memory to fit the largest call so far (WebAssembly
// memory never shrinks).

import { DeviceError } from '../../errors.js';
import { KERNELS_SHARED_WASM_BASE64, KERNELS_WASM_BASE64 } from './kernels.generated.js';

/**
 * The exports of packages/core/wasm/index.ts: pointers in bytes, sizes and strides in f32
 * elements; each `…Chunk(c, chunks, scratch, …)` is piece c of its kernel (threads.ts).
 */
export interface WasmKernels {
  heapBase(): number;
  rowsPerPanel(): number;
  colsPerPanel(): number;
  packA(src: number, rs: number, cs: number, M: number, K: number, dst: number): void;
  packB(src: number, rs: number, cs: number, K: number, N: number, dst: number): void;
  gemm(M: number, N: number, K: number, ap: number, bp: number, c: number, ldc: number, tmp: number): void;
  packAChunk(c: number, chunks: number, scratch: number, src: number, rs: number, cs: number, M: number, K: number, dst: number): void;
  packBChunk(c: number, chunks: number, scratch: number, src: number, rs: number, cs: number, K: number, N: number, dst: number): void;
  gemmChunk(c: number, chunks: number, scratch: number, M: number, N: number, K: number, ap: number, bp: number, cp: number, ldc: number): void;
  philoxChunk(c: number, chunks: number, scratch: number, dst: number, groups: number, k0: number, k1: number, w1: number, w2: number, w3: number): void;
  dropoutDrawChunk(c: number, chunks: number, scratch: number, src: number, w0: number, w1: number, coords: number, threshold: number, keep: number, dst: number): void;
}

/** The loaded module: its kernels, its memory, and the compiled module threads instantiate again. */
export interface LoadedKernels {
  readonly kernels: WasmKernels;
  readonly memory: WebAssembly.Memory;
  /** Set when the memory is shared: what a worker instantiates over the same memory. */
  readonly sharedModule: WebAssembly.Module | null;
}

/** Per-thread scratch above heapBase (the GEMM's edge tile needs 4×8 floats). */
export const SCRATCH_BYTES = 256;
/** Threads the scratch area has room for (the caller is thread 0). */
export const MAX_THREADS = 64;
/** Pages of a shared memory at most (2 GiB): the build declares the same maximum. */
const SHARED_MAX_PAGES = 32768;
const PAGE_BYTES = 65536;

let loaded: LoadedKernels | null = null;
let failure: string | null = null;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** A shared memory, or null where this runtime cannot make one (no SharedArrayBuffer). */
function sharedMemory(): WebAssembly.Memory | null {
  if (typeof SharedArrayBuffer !== 'function') return null;
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: SHARED_MAX_PAGES, shared: true });
  } catch {
    return null;
  }
}

type Build = { bytes: Uint8Array<ArrayBuffer>; memory: WebAssembly.Memory | null };

function builds(): Build[] {
  const memory = sharedMemory();
  const own: Build = { bytes: decode(KERNELS_WASM_BASE64), memory: null };
  return memory ? [{ bytes: decode(KERNELS_SHARED_WASM_BASE64), memory }, own] : [own];
}

function imports(memory: WebAssembly.Memory | null): WebAssembly.Imports {
  const abort = () => {
    throw new DeviceError('wasm kernels', 'no abort', 'an abort from the module');
  };
  return memory ? { env: { memory, abort } } : { env: { abort } };
}

function adopt(module: WebAssembly.Module, instance: WebAssembly.Instance, memory: WebAssembly.Memory | null): LoadedKernels {
  const exports = instance.exports as unknown as WasmKernels & { memory: WebAssembly.Memory };
  loaded = { kernels: exports, memory: memory ?? exports.memory, sharedModule: memory ? module : null };
  failure = null;
  return loaded;
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * True when the SIMD kernels are loaded or can be loaded synchronously here (tries once; a
 * browser main thread may need `initWasm()` first).
 */
export function wasmAvailable(): boolean {
  if (loaded !== null) return true;
  if (failure !== null) return false;
  if (typeof WebAssembly !== 'object') {
    failure = 'this runtime has no WebAssembly';
    return false;
  }
  for (const b of builds()) {
    try {
      const module = new WebAssembly.Module(b.bytes);
      adopt(module, new WebAssembly.Instance(module, imports(b.memory)), b.memory);
      return true;
    } catch (e) {
      failure = describe(e);
    }
  }
  return false;
}

/** Loads the kernels asynchronously (the way a browser main thread must); resolves to wasmAvailable(). */
export async function initWasm(): Promise<boolean> {
  if (loaded !== null) return true;
  if (typeof WebAssembly !== 'object') return wasmAvailable();
  for (const b of builds()) {
    try {
      const module = await WebAssembly.compile(b.bytes);
      adopt(module, await WebAssembly.instantiate(module, imports(b.memory)), b.memory);
      return true;
    } catch (e) {
      failure = describe(e);
    }
  }
  return false;
}

/** Why the kernels could not be loaded, or null (loaded, or not tried yet). */
export function wasmUnavailableReason(): string | null {
  return failure;
}

/** The loaded kernels; a DeviceError naming `where` if they cannot be loaded. */
export function loadedKernels(where: string): LoadedKernels {
  if (loaded !== null || wasmAvailable()) return loaded!;
  throw new DeviceError(where, 'WebAssembly with SIMD128 (call initWasm() first on a browser main thread)', failure ?? 'no module');
}

/** Scratch of thread t (0: the caller). */
export function scratchOf(k: WasmKernels, thread: number): number {
  return alignUp(k.heapBase()) + thread * SCRATCH_BYTES;
}

/** PARAMS_BYTES for parameters a kernel reads from memory (Philox coordinates), past every thread's scratch. */
export function paramsAt(k: WasmKernels): number {
  return alignUp(scratchOf(k, MAX_THREADS));
}
const PARAMS_BYTES = 64;

/** Where a call's own buffers may start: past the scratch and the parameters. */
export function workBase(k: WasmKernels): number {
  return paramsAt(k) + PARAMS_BYTES;
}

const ALIGN = 64; // bytes: every buffer starts on a cache line

export const alignUp = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Grows the memory to at least `bytes` in total and returns a fresh view of it (growing
 * replaces the buffer); a DeviceError when the runtime refuses.
 */
export function reserveMemory(l: LoadedKernels, bytes: number, where: string): ArrayBuffer | SharedArrayBuffer {
  const have = l.memory.buffer.byteLength;
  if (bytes > have) {
    const pages = Math.ceil((bytes - have) / PAGE_BYTES);
    try {
      l.memory.grow(pages);
    } catch (e) {
      throw new DeviceError(where, `${bytes} bytes of WebAssembly memory`, `${have} bytes and a refused grow`, describe(e));
    }
  }
  return l.memory.buffer;
}
