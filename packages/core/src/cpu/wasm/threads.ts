// Threads for the WebAssembly kernels: worker threads that instantiate the same module over
// the same shared memory and take pieces of a kernel (the `…Chunk` exports) alongside the
// caller. Kernels are synchronous, so the caller blocks (Atomics.wait) until every piece is
// done. Every piece computes a fixed set of outputs in full (packages/core/wasm/chunks.ts), so
// results are the same bits whatever the thread count: resume and sweeps stay bit-exact.
//
// Where: the shared build of the module (module.ts) and a caller that may block: Node
// (worker_threads), and a browser's dedicated worker in a cross-origin-isolated page (Web
// Workers from a blob URL; the playground's server sends the COOP/COEP headers that make a
// page isolated). Elsewhere (a page's main thread, no SharedArrayBuffer) everything runs on
// the caller. Workers: `configureWasmThreads({ workers })`, else ALPHADROP_CPU_WORKERS (Node),
// else one fewer than the cores (on the 2-core machines we measure on, the second core pays:
// see bench/results/cpu-wasm-step.txt).
//
// Protocol, over an Int32Array in a SharedArrayBuffer. A job: the caller writes the kernel and
// its arguments, then the ticket word (seq << 16 | pieces << 8 | next piece), then SEQ, and
// wakes the workers. Anyone claims piece `next` by a compare-exchange on the ticket, runs it,
// marks it done and counts it. The ticket carries the piece count, so a claim is valid only
// against the current job, whose arguments cannot change until all its pieces are counted.
// Robustness: workers start in the background and join once instantiated (until then the
// caller works alone); they are unref'd and never keep a process alive; if no piece completes
// for STALL_MS the caller runs the unfinished ones itself and retires the pool.

import { canBlock, nodeBuiltin } from '../thread-env.js';
import { MAX_THREADS, loadedKernels, scratchOf, type LoadedKernels } from './module.js';

/** The kernels threads can share, in the order the workers index them. */
const CHUNK_KERNELS = ['gemmChunk', 'packAChunk', 'packBChunk', 'philoxChunk', 'dropoutDrawChunk'] as const;
export type ChunkKernel = (typeof CHUNK_KERNELS)[number];

/**
 * Work below which a kernel stays on the caller (waking a worker costs tens of µs): flops for
 * the GEMM, elements (or 4-block groups for Philox) for the others.
 */
const MIN_PARALLEL_WORK: Record<ChunkKernel, number> = {
  gemmChunk: 1e6,
  packAChunk: 1 << 16,
  packBChunk: 1 << 16,
  philoxChunk: 1 << 11,
  dropoutDrawChunk: 1 << 13,
};
/** Pieces per thread: a few, so a thread that started late still gets an even share. */
const PIECES_PER_THREAD = 2;
const MAX_PIECES = 255;
const ARG_SLOTS = 8;
const STALL_MS = 10_000;

// Control words.
const SEQ = 0; // the current job's number (wakes the workers)
const TICKET = 1; // (seq << 16) | (pieces << 8) | next piece
const DONE = 2; // pieces done in the current job
const READY = 3; // workers instantiated and waiting for jobs
const KIND = 4; // index into CHUNK_KERNELS
const QUIT = 5; // set: workers return
const WORKER_PIECES = 6; // pieces done by workers, ever
const ACTIVE = 7; // workers 1..ACTIVE take pieces; the rest idle (fewer wanted than started)
const FLAGS = 8; // FLAGS + c: the seq of the last job whose piece c is done
const CTRL_WORDS = FLAGS + MAX_PIECES + 1;

export interface WasmThreadStats {
  /** Workers instantiated and taking pieces. */
  readyWorkers: number;
  /** Kernels run across threads since start. */
  parallelJobs: number;
  /** Pieces done by workers (not the caller) since start. */
  workerPieces: number;
  /** Why there are no threads here, or null. */
  unavailable: string | null;
}

/** A started worker thread, Node's or the browser's. */
interface ThreadHandle {
  terminate(): void;
}
/** Starts a worker running workerMain(init); `failed` runs if it errors or exits. */
type Spawn = (init: WorkerInit, failed: () => void) => ThreadHandle;

interface NodeWorker {
  unref(): void;
  terminate(): unknown;
  on(ev: string, fn: (...args: unknown[]) => void): unknown;
}
type NodeWorkerCtor = new (src: string, opts: Record<string, unknown>) => NodeWorker;

interface BrowserWorker {
  postMessage(msg: unknown): void;
  terminate(): void;
  addEventListener(ev: string, fn: () => void): void;
}
interface BrowserGlobals {
  Worker?: new (url: string) => BrowserWorker;
  Blob?: new (parts: string[], opts: { type: string }) => unknown;
  URL?: { createObjectURL(b: unknown): string };
  crossOriginIsolated?: boolean;
  navigator?: { hardwareConcurrency?: number };
}
const browser = globalThis as BrowserGlobals;

interface Pool {
  workers: ThreadHandle[];
  ctrl: Int32Array;
  args: Float64Array;
  seq: number;
  memory: WebAssembly.Memory;
}

let pool: Pool | null = null;
let wanted = -1;
let unavailable: string | null = null;
let parallelJobs = 0;

function defaultWorkers(): number {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.ALPHADROP_CPU_WORKERS;
  const n = v === undefined || v === '' ? NaN : Number(v);
  if (Number.isInteger(n) && n >= 0) return n;
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
  const cores = os ? (os.availableParallelism?.() ?? os.cpus().length) : (browser.navigator?.hardwareConcurrency ?? 1);
  return Math.max(0, cores - 1);
}

/**
 * Worker threads besides the caller (0: none). Fewer than are running idles the rest (so a
 * benchmark can switch between thread counts at no cost); more restarts the pool.
 */
export function configureWasmThreads(opts: { workers?: number }): void {
  if (opts.workers === undefined) return;
  wanted = Math.min(MAX_THREADS - 1, Math.max(0, Math.floor(opts.workers)));
  if (pool && wanted > pool.workers.length) shutdown();
  if (pool) Atomics.store(pool.ctrl, ACTIVE, wanted);
}

export function wasmThreadStats(): WasmThreadStats {
  return {
    readyWorkers: pool ? Math.min(wanted, Atomics.load(pool.ctrl, READY)) : 0,
    parallelJobs,
    workerPieces: pool ? Atomics.load(pool.ctrl, WORKER_PIECES) : 0,
    unavailable,
  };
}

/**
 * Starts the workers if they are not running, and resolves with how many are ready once all
 * are (or `timeoutMs` passed); 0 where threads are unavailable or none are wanted.
 */
export async function wasmThreadsReady(timeoutMs = 10_000): Promise<number> {
  const p = ensurePool(loadedKernels('wasmThreadsReady'));
  if (!p) return 0;
  const t0 = Date.now();
  while (pool === p && Atomics.load(p.ctrl, READY) < p.workers.length && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 2));
  return pool === p ? Math.min(wanted, Atomics.load(p.ctrl, READY)) : 0;
}

function ensurePool(l: LoadedKernels): Pool | null {
  if (pool && pool.memory === l.memory) return wanted === 0 ? null : pool;
  if (pool) shutdown(); // the kernels were loaded again (a test's fresh module): start over
  if (unavailable !== null) return null;
  if (wanted < 0) wanted = Math.min(MAX_THREADS - 1, defaultWorkers());
  if (wanted === 0) return null;
  const spawn = spawner();
  if (!l.sharedModule) unavailable = 'the kernels run over a memory that cannot be shared here (a page needs cross-origin isolation)';
  else if (!spawn) unavailable = 'no worker threads here (Node worker_threads, or Web Workers in a cross-origin-isolated page)';
  else if (!canBlock()) unavailable = 'this thread cannot block in Atomics.wait (a page\'s main thread: train in a worker)';
  if (unavailable !== null) return null;
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_WORDS * 4));
  const args = new Float64Array(new SharedArrayBuffer(ARG_SLOTS * 8));
  const p: Pool = { workers: [], ctrl, args, seq: 0, memory: l.memory };
  Atomics.store(ctrl, ACTIVE, wanted);
  try {
    for (let t = 1; t <= wanted; t++) {
      // An error or an early exit takes the pool out of service; the caller finishes the work.
      p.workers.push(spawn!({ ctrl, args, module: l.sharedModule!, memory: l.memory, thread: t, scratch: scratchOf(l.kernels, t) }, () => retire(p)));
    }
  } catch (e) {
    for (const w of p.workers) w.terminate();
    unavailable = `starting worker threads failed: ${e instanceof Error ? e.message : String(e)}`;
    return null;
  }
  pool = p;
  return p;
}

/** How this runtime starts a worker thread, or null where it cannot. */
function spawner(): Spawn | null {
  const wt = nodeBuiltin<{ Worker: NodeWorkerCtor }>('node:worker_threads');
  if (wt)
    return (init, failed) => {
      const w = new wt.Worker(NODE_WORKER_SOURCE, { eval: true, execArgv: [], workerData: init, stdout: false, stderr: false });
      w.unref(); // never keeps the process alive
      w.on('error', failed);
      w.on('exit', failed);
      return { terminate: () => void w.terminate() };
    };
  const { Worker, Blob, URL } = browser;
  if (!Worker || !Blob || !URL || browser.crossOriginIsolated !== true) return null;
  let url: string | null = null;
  return (init, failed) => {
    url ??= URL.createObjectURL(new Blob([BROWSER_WORKER_SOURCE], { type: 'text/javascript' }));
    const w = new Worker(url);
    w.addEventListener('error', failed);
    w.postMessage(init); // the module and the shared memory are shared, not copied
    return w;
  };
}

function retire(p: Pool): void {
  if (pool !== p) return;
  unavailable = 'a worker thread failed or stalled; the kernels run on the caller';
  shutdown();
}

function shutdown(): void {
  const p = pool;
  pool = null;
  if (!p) return;
  Atomics.store(p.ctrl, QUIT, 1);
  Atomics.notify(p.ctrl, SEQ);
  for (const w of p.workers) w.terminate();
}

/**
 * Runs kernel `name` over `args` (at most ARG_SLOTS) as pieces shared with the workers when
 * `work` is large enough and workers are ready, else as one piece on the caller.
 */
export function runChunks(l: LoadedKernels, name: ChunkKernel, work: number, args: readonly number[]): void {
  const k = l.kernels;
  const fn = k[name] as (c: number, chunks: number, scratch: number, ...a: number[]) => void;
  const p = work >= MIN_PARALLEL_WORK[name] ? ensurePool(l) : null;
  const ready = p ? Math.min(wanted, Atomics.load(p.ctrl, READY)) : 0;
  if (!p || ready === 0) {
    fn(0, 1, scratchOf(k, 0), ...args);
    return;
  }
  const pieces = Math.min(MAX_PIECES, (ready + 1) * PIECES_PER_THREAD);
  p.seq = (p.seq % 0x7fff) + 1;
  const seq = p.seq;
  p.args.fill(0);
  p.args.set(args);
  Atomics.store(p.ctrl, KIND, CHUNK_KERNELS.indexOf(name));
  Atomics.store(p.ctrl, DONE, 0);
  Atomics.store(p.ctrl, TICKET, (seq << 16) | (pieces << 8));
  Atomics.store(p.ctrl, SEQ, seq);
  Atomics.notify(p.ctrl, SEQ);
  parallelJobs++;

  const scratch = scratchOf(k, 0);
  const a = p.args;
  for (;;) {
    const t = Atomics.load(p.ctrl, TICKET);
    const c = t & 0xff;
    if (c >= ((t >>> 8) & 0xff)) break;
    if (Atomics.compareExchange(p.ctrl, TICKET, t, t + 1) !== t) continue;
    fn(c, pieces, scratch, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!);
    Atomics.store(p.ctrl, FLAGS + c, seq);
    Atomics.add(p.ctrl, DONE, 1);
  }
  // The last pieces are usually moments from done: spin briefly before sleeping.
  for (let spin = 0; spin < 4000 && Atomics.load(p.ctrl, DONE) < pieces; spin++);
  for (;;) {
    const done = Atomics.load(p.ctrl, DONE);
    if (done >= pieces) return;
    if (Atomics.wait(p.ctrl, DONE, done, STALL_MS) === 'timed-out' && Atomics.load(p.ctrl, DONE) === done) {
      // A worker claimed a piece and went silent: retire the pool, then finish here.
      retire(p);
      for (let c = 0; c < pieces; c++) if (Atomics.load(p.ctrl, FLAGS + c) !== seq) fn(c, pieces, scratch, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!);
      return;
    }
  }
}

// The worker, shipped as source text (its body is self-contained; only the template below
// touches the worker's module system). It names the control words by number, as listed above.
interface WorkerInit {
  ctrl: Int32Array;
  args: Float64Array;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  thread: number;
  scratch: number;
}
const workerMain = (d: WorkerInit, names: readonly string[]): void => {
  const { ctrl, args: a, scratch } = d;
  const abort = (): never => {
    throw new Error('abort in a wasm kernel');
  };
  const exports = new WebAssembly.Instance(d.module, { env: { memory: d.memory, abort } }).exports as Record<string, (...x: number[]) => void>;
  const fns = names.map((n) => exports[n]!);
  Atomics.add(ctrl, 3, 1); // READY
  let seen = Atomics.load(ctrl, 0);
  for (;;) {
    if (Atomics.load(ctrl, 5) !== 0) return; // QUIT
    const s = Atomics.load(ctrl, 0);
    if (s === seen) {
      // Jobs come in bursts (pack, multiply, pack, ...): look again for a moment before sleeping.
      let spin = 0;
      while (spin < 2000 && Atomics.load(ctrl, 0) === s) spin++;
      if (spin === 2000) Atomics.wait(ctrl, 0, s, 250);
      continue;
    }
    seen = s;
    if (d.thread > Atomics.load(ctrl, 7)) continue; // ACTIVE: not wanted now
    for (;;) {
      const t = Atomics.load(ctrl, 1);
      const c = t & 0xff;
      const pieces = (t >>> 8) & 0xff;
      if (c >= pieces) break;
      if (Atomics.compareExchange(ctrl, 1, t, t + 1) !== t) continue;
      // The claim pins the job: its kernel and arguments stay until this piece is counted.
      fns[Atomics.load(ctrl, 4)]!(c, pieces, scratch, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, a[6]!, a[7]!);
      Atomics.store(ctrl, 8 + c, t >>> 16);
      Atomics.add(ctrl, 6, 1);
      if (Atomics.add(ctrl, 2, 1) + 1 === pieces) Atomics.notify(ctrl, 2);
    }
  }
};

const NODE_WORKER_SOURCE = `"use strict";
const { workerData } = require('node:worker_threads');
(${workerMain.toString()})(workerData, ${JSON.stringify(CHUNK_KERNELS)});
`;

const BROWSER_WORKER_SOURCE = `"use strict";
self.onmessage = (e) => {
  self.onmessage = null;
  (${workerMain.toString()})(e.data, ${JSON.stringify(CHUNK_KERNELS)});
};
`;
