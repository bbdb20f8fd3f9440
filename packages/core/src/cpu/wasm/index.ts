// The WebAssembly SIMD128 CPU kernels: loading (module.ts), the f32 GEMM (gemm.ts) and its
// route for the matmul kernels of the opt-in cpuBackend('wasm') kind (route.ts,
// ../fast-wasm.ts). The compiled module is generated from packages/core/wasm/ by
// scripts/build-wasm.mjs (npm ci / npm run build run it).

export { initWasm, wasmAvailable, wasmUnavailableReason } from './module.js';
export { wasmGemm, type StridedMatrix } from './gemm.js';
