// Worker threads for the CPU GEMM (Node only, opt-in: configureFastCpuThreads or the
// ALPHADROP_CPU_WORKERS variable). Large products are cut into chunks of tiles;
// the calling thread and the workers claim chunks from one atomic ticket in a
// SharedArrayBuffer and run the same micro-kernel (gemm-tiles.ts `gemmTiles`, shipped to the
// workers as source text) on the same packed panels, so the result is bit-identical to the
// single-threaded path. Kernels are synchronous, so the caller blocks in Atomics.wait until
// every claimed chunk is done.
//
// Robustness: the pool starts lazily and in the background (the first large product runs
// single-threaded); a worker joins only after a self-test passes; workers are unref'd so
// they never keep the process alive; where worker_threads, SharedArrayBuffer or a blocking
// Atomics.wait are missing (browsers, main thread) everything runs on the caller. If no
// chunk completes for STALL_MS, the caller recomputes the unfinished chunks, terminates the
// pool and drops the shared scratch, so a stuck worker can never corrupt a later result.

import { gemmTiles, resetGemmScratch } from './gemm-tiles.js';
import { canBlock, nodeBuiltin } from '../thread-env.js';

export interface FastCpuThreadOptions {
  /**
   * Worker threads besides the caller (0 disables). Default: ALPHADROP_CPU_WORKERS, else 0:
   * on the 2-vCPU machines this project measures on, a second thread added nothing.
   */
  workers?: number;
  /** Products below this many flops (2·M·N·K) stay on the calling thread. */
  minParallelFlops?: number;
}

export interface FastCpuThreadStats {
  /** Workers that passed the self-test and take chunks. */
  readyWorkers: number;
  /** GEMMs run across threads since start. */
  parallelJobs: number;
  /** Chunks completed by workers (not the caller) since start. */
  workerChunks: number;
  /** True once the pool gave up (a stall or a worker error); everything then runs on the caller. */
  disabled: boolean;
}

// Control words (Int32Array over a SharedArrayBuffer).
const TICKET = 0; // (seq << 16) | next chunk index
const DONE = 1; // chunks completed in the current job
const READY = 2; // workers that passed the self-test
const WORKER_CHUNKS = 3; // chunks completed by workers, ever
const CTRL_WORDS = 4;
const MAX_CHUNKS = 0xffff;
const STALL_MS = 10_000;

interface WorkerLike {
  postMessage(msg: unknown): void;
  unref(): void;
  terminate(): unknown;
  on(ev: string, fn: (...args: unknown[]) => void): unknown;
}
type WorkerCtor = new (src: string, opts: Record<string, unknown>) => WorkerLike;

const envWorkers = (): number | undefined => {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.ALPHADROP_CPU_WORKERS;
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
};

const options = { workers: -1, minParallelFlops: 8e6 };
const stats = { parallelJobs: 0, disabled: false };

interface Pool {
  workers: WorkerLike[];
  ctrl: Int32Array;
  flags: Int32Array;
  seq: number;
}
let pool: Pool | null = null;
/** Set once the environment turned out to lack threads (no worker_threads, no blocking wait). */
let unavailable = false;

/** Sets the worker count and the parallel threshold; a changed worker count restarts the pool. */
export function configureFastCpuThreads(opts: FastCpuThreadOptions): void {
  if (opts.minParallelFlops !== undefined) options.minParallelFlops = opts.minParallelFlops;
  if (opts.workers !== undefined && opts.workers !== options.workers) {
    options.workers = opts.workers;
    shutdown();
    stats.disabled = false;
  }
}

export function fastCpuThreadStats(): FastCpuThreadStats {
  return {
    readyWorkers: pool ? Atomics.load(pool.ctrl, READY) : 0,
    parallelJobs: stats.parallelJobs,
    workerChunks: pool ? Atomics.load(pool.ctrl, WORKER_CHUNKS) : 0,
    disabled: stats.disabled,
  };
}

/**
 * Starts the pool if it is not running and resolves with the number of ready workers once
 * all have passed their self-test (or 0 where threads are unavailable, after `timeoutMs`).
 */
export async function fastCpuThreadsReady(timeoutMs = 10_000): Promise<number> {
  const p = ensurePool();
  if (!p) return 0;
  const t0 = Date.now();
  while (Atomics.load(p.ctrl, READY) < p.workers.length && Date.now() - t0 < timeoutMs && pool === p)
    await new Promise((r) => setTimeout(r, 5));
  return pool === p ? Atomics.load(p.ctrl, READY) : 0;
}

function wantedWorkers(): number {
  if (options.workers < 0) options.workers = envWorkers() ?? 0;
  return options.workers;
}

function ensurePool(): Pool | null {
  if (pool || stats.disabled || unavailable) return pool;
  const n = wantedWorkers();
  if (n === 0) return null;
  const wt = nodeBuiltin<{ Worker: WorkerCtor }>('node:worker_threads');
  if (!wt || typeof SharedArrayBuffer !== 'function' || !canBlock()) {
    unavailable = true;
    return null;
  }
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_WORDS * 4));
  const flags = new Int32Array(new SharedArrayBuffer(MAX_CHUNKS * 4));
  const p: Pool = { workers: [], ctrl, flags, seq: 0 };
  try {
    for (let i = 0; i < n; i++) {
      const w = new wt.Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { ctrl, flags }, stdout: false, stderr: false });
      w.unref();
      // An error or an early exit takes the pool out of service; the caller finishes the work.
      w.on('error', () => disable(p));
      w.on('exit', () => disable(p));
      p.workers.push(w);
    }
  } catch {
    for (const w of p.workers) void w.terminate();
    stats.disabled = true;
    return null;
  }
  pool = p;
  return p;
}

function disable(p: Pool): void {
  if (pool !== p) return;
  stats.disabled = true;
  shutdown();
}

function shutdown(): void {
  const p = pool;
  pool = null;
  if (!p) return;
  for (const w of p.workers) void w.terminate();
  // A terminated worker may still be mid-chunk: never let it write into scratch we reuse.
  resetGemmScratch();
}

/**
 * Runs gemmTiles over all chunks with the workers' help. Returns false (nothing done) when
 * the product is small or no worker is ready; the caller then runs it alone.
 */
export function parallelGemm(
  Ap: Float64Array,
  Bp: Float64Array,
  C: Float64Array,
  K: number,
  Np: number,
  mPanels: number,
  nPanels: number,
  ipBlock: number,
  jpBlock: number,
  flops: number,
): boolean {
  if (flops < options.minParallelFlops) return false;
  const p = ensurePool();
  if (!p || Atomics.load(p.ctrl, READY) === 0) return false;
  if (!(Ap.buffer instanceof SharedArrayBuffer) || !(Bp.buffer instanceof SharedArrayBuffer) || !(C.buffer instanceof SharedArrayBuffer))
    return false;
  // Enough chunks for the threads to balance: split A panels finer when there are few chunks.
  const threads = p.workers.length + 1;
  const jBlocks = Math.ceil(nPanels / jpBlock);
  const want = threads * 6;
  let ib = ipBlock;
  if (Math.ceil(mPanels / ib) * jBlocks < want) ib = Math.max(1, Math.ceil((mPanels * jBlocks) / want));
  const iBlocks = Math.ceil(mPanels / ib);
  const chunks = iBlocks * jBlocks;
  if (chunks < 2 || chunks > MAX_CHUNKS) return false;

  p.seq = (p.seq % 0x7fff) + 1;
  const seq = p.seq;
  const job: GemmJob = { seq, Ap, Bp, C, K, Np, mPanels, nPanels, ib, jb: jpBlock, iBlocks, chunks };
  Atomics.store(p.ctrl, DONE, 0);
  Atomics.store(p.ctrl, TICKET, seq << 16);
  for (const w of p.workers) w.postMessage(job);
  stats.parallelJobs++;

  const run = (c: number): void => {
    const i0 = (c % iBlocks) * ib;
    const j0 = Math.floor(c / iBlocks) * jpBlock;
    gemmTiles(Ap, Bp, C, K, Np, i0, Math.min(mPanels, i0 + ib), j0, Math.min(nPanels, j0 + jpBlock));
  };
  for (;;) {
    const t = Atomics.load(p.ctrl, TICKET);
    const c = t & 0xffff;
    if (t >>> 16 !== seq || c >= chunks) break;
    if (Atomics.compareExchange(p.ctrl, TICKET, t, t + 1) !== t) continue;
    run(c);
    Atomics.store(p.flags, c, seq);
    Atomics.add(p.ctrl, DONE, 1);
  }
  for (;;) {
    const done = Atomics.load(p.ctrl, DONE);
    if (done >= chunks) return true;
    if (Atomics.wait(p.ctrl, DONE, done, STALL_MS) === 'timed-out' && Atomics.load(p.ctrl, DONE) === done) {
      // A worker claimed chunks and went silent: finish them here and retire the pool.
      for (let c = 0; c < chunks; c++) if (Atomics.load(p.flags, c) !== seq) run(c);
      stats.disabled = true;
      shutdown();
      return true;
    }
  }
}

// The worker: checks the shipped kernel against a naive product, reports ready, then claims
// chunks of each job it is sent (a job whose ticket has moved on is ignored). It runs from
// source text, so it names the control words by number: 0 TICKET, 1 DONE, 2 READY,
// 3 WORKER_CHUNKS.
interface WorkerPort {
  on(ev: 'message', fn: (job: GemmJob) => void): void;
}
interface GemmJob {
  seq: number; Ap: Float64Array; Bp: Float64Array; C: Float64Array; K: number; Np: number;
  mPanels: number; nPanels: number; ib: number; jb: number; iBlocks: number; chunks: number;
}
const workerMain = (parentPort: WorkerPort, workerData: { ctrl: Int32Array; flags: Int32Array }, kernel: typeof gemmTiles): void => {
  const ctrl = workerData.ctrl;
  const flags = workerData.flags;
  // Self-test: an 8×8 (K = 7) product of two panels each way, against the naive sum.
  const K = 7, Mp = 8, Np = 8;
  const Ap = new Float64Array(Mp * K), Bp = new Float64Array(Np * K), C = new Float64Array(Mp * Np);
  for (let i = 0; i < Ap.length; i++) Ap[i] = ((i * 37) % 11) - 5;
  for (let i = 0; i < Bp.length; i++) Bp[i] = ((i * 53) % 13) - 6;
  kernel(Ap, Bp, C, K, Np, 0, 2, 0, 2);
  for (let i = 0; i < Mp; i++)
    for (let j = 0; j < Np; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += Ap[(((i / 4) | 0) * K + k) * 4 + (i % 4)]! * Bp[(((j / 4) | 0) * K + k) * 4 + (j % 4)]!;
      if (s !== C[i * Np + j]) return; // never ready: the caller keeps working alone
    }
  Atomics.add(ctrl, 2, 1);
  parentPort.on('message', (job) => {
    const { seq, chunks, iBlocks, ib, jb, mPanels, nPanels } = job;
    for (;;) {
      const t = Atomics.load(ctrl, 0);
      const c = t & 0xffff;
      if (t >>> 16 !== seq || c >= chunks) break;
      if (Atomics.compareExchange(ctrl, 0, t, t + 1) !== t) continue;
      const i0 = (c % iBlocks) * ib;
      const j0 = Math.floor(c / iBlocks) * jb;
      kernel(job.Ap, job.Bp, job.C, job.K, job.Np, i0, Math.min(mPanels, i0 + ib), j0, Math.min(nPanels, j0 + jb));
      Atomics.store(flags, c, seq);
      Atomics.add(ctrl, 3, 1);
      Atomics.add(ctrl, 1, 1);
      Atomics.notify(ctrl, 1);
    }
  });
};

// Both functions are shipped as source text (bundlers leave their bodies self-contained);
// only this template touches the worker's own module system.
const WORKER_SOURCE = `"use strict";
const { parentPort, workerData } = require('node:worker_threads');
(${workerMain.toString()})(parentPort, workerData, (${gemmTiles.toString()}));
`;
