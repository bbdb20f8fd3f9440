// The WebAssembly SIMD128 CPU kernels: loading (module.ts), worker threads (threads.ts), the
// f32 GEMM (gemm.ts) and its route for the matmul kernels, Philox bits and dropout
// (random.ts), all behind the opt-in cpuBackend('wasm') kind (../fast-wasm.ts). The compiled
// module is generated from packages/core/wasm/ by scripts/build-wasm.mjs (npm ci / npm run
// build run it).

export { initWasm, wasmAvailable, wasmUnavailableReason } from './module.js';
export { configureWasmThreads, wasmThreadStats, wasmThreadsReady, type WasmThreadStats } from './threads.js';
export { wasmGemm, type StridedMatrix } from './gemm.js';
export { wasmPhiloxWords } from './random.js';
