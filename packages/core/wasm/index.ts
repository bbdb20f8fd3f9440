// The WebAssembly SIMD128 kernels of the 'wasm' CPU kind, one module over one memory:
// scripts/build-wasm.mjs compiles this entry twice, with its own memory and over an imported
// shared memory (for threads), into packages/core/src/cpu/wasm/kernels.generated.ts.
// Every `…Chunk(c, chunks, scratch, …)` export is one piece of a kernel that threads share
// (chunks.ts); `scratch` is the calling thread's own small buffer.

export * from './gemm';
export * from './philox';
export * from './dropout';
