// The WebAssembly SIMD128 CPU kernels, apart from the backends until they are wired in:
// loading (module.ts) and the f32 GEMM (gemm.ts). The compiled module is generated from
// packages/core/wasm/ by scripts/build-wasm.mjs (npm ci / npm run build run it).

export { initWasm, wasmAvailable, wasmUnavailableReason } from './module.js';
export { wasmGemm, type StridedMatrix } from './gemm.js';
