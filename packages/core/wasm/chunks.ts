// Work split for threads: the host runs a kernel as `chunks` pieces, any thread taking any
// piece (packages/core/src/cpu/wasm/threads.ts). Every piece computes a fixed set of outputs,
// each output in full by one thread, so the result never depends on how many threads ran it.

/** The first unit of piece c when `total` units are cut into `chunks` near-equal runs. */
// @ts-ignore: decorator
@inline
export function chunkStart(c: i32, chunks: i32, total: i32): i32 {
  return <i32>((<i64>total * <i64>c) / <i64>chunks);
}
