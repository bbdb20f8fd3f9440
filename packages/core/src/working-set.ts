// A size guard for Monte Carlo tiles. An M·K tile (M inputs × K samples, one row each) is
// the largest thing a BB-α step or an MC prediction allocates, and it grows with two user
// options at once: `--samples 100000` on MNIST reached 11 GB before anything refused it.
// checkWorkingSet estimates the tile's bytes from shapes alone, before any allocation, and
// refuses with a ValueError naming the option to lower when it exceeds the backend's limits:
// on WebGPU the device's maxBufferSize and maxStorageBufferBindingSize (one buffer must hold
// the widest activation); on the CPU a stated host-memory budget (DEFAULT_CPU_MEMORY_BYTES,
// or ALPHADROP_CPU_MEMORY, or the CPU backend's memoryBudgetBytes option).

import type { Backend, BackendLimits } from './backend.js';
import { bytesPerElement, type DType } from './dtype.js';
import { getBackend } from './engine.js';
import { ValueError } from './errors.js';

/** The CPU's host-memory budget unless ALPHADROP_CPU_MEMORY or an option says otherwise. */
export const DEFAULT_CPU_MEMORY_BYTES = 4 * 2 ** 30;
/** The environment variable that sets the CPU budget: bytes, or a number with KB/MB/GB/KiB/MiB/GiB. */
export const CPU_MEMORY_ENV = 'ALPHADROP_CPU_MEMORY';

const UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40,
};

/** Bytes from "4GiB", "512 MB", "1e9" or "4294967296"; `where` names the source in errors. */
export function parseByteSize(where: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!(bytes > 0) || !Number.isFinite(bytes))
    throw new ValueError(where, 'a positive size such as 4GiB, 512MB or 1e9 (bytes)', JSON.stringify(text));
  return bytes;
}

/** The CPU budget: ALPHADROP_CPU_MEMORY when set (read at each call), else the default. */
export function cpuMemoryBudget(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[CPU_MEMORY_ENV];
  return env === undefined || env === '' ? DEFAULT_CPU_MEMORY_BYTES : parseByteSize(CPU_MEMORY_ENV, env);
}

/** "11.2 GiB" */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) [v, i] = [v / 1024, i + 1];
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export interface WorkingSetRequest {
  /** Rows of the tile: inputs × samples (M·K). */
  rows: number;
  /** Elements per row of the widest activation (the input or the widest layer's output). */
  width: number;
  /**
   * Elements per row alive at once: the sum over the activations a pass keeps (twice that
   * for a training step, whose gradients mirror them). Default: twice `width`.
   */
  liveWidth?: number;
  dtype: DType;
  /** The option(s) to lower, as the user sets them: "samples (--samples) or batchSize (--batch-size)". */
  flag: string;
  /** Default: the current backend. */
  backend?: Backend;
}

export interface WorkingSetEstimate {
  /** The widest activation's buffer: rows × width × bytes per element. */
  largestBufferBytes: number;
  /** Everything alive at once: rows × liveWidth × bytes per element. */
  totalBytes: number;
  limits: BackendLimits;
}

function count(where: string, name: string, v: number): void {
  if (!(Number.isSafeInteger(v) && v >= 0)) throw new ValueError(where, `${name} a non-negative integer`, String(v));
}

/** The bytes a tile needs (arithmetic on shapes only: nothing is allocated). */
export function estimateWorkingSet(where: string, req: WorkingSetRequest): WorkingSetEstimate {
  count(where, 'rows', req.rows);
  count(where, 'width', req.width);
  const live = req.liveWidth ?? 2 * req.width;
  count(where, 'liveWidth', live);
  // bool is widened to 4 bytes on WebGPU: count 4 everywhere (an upper bound on the CPU)
  const bpe = Math.max(4, bytesPerElement(req.dtype));
  const backend = req.backend ?? getBackend();
  return {
    largestBufferBytes: req.rows * req.width * bpe,
    totalBytes: req.rows * Math.max(live, req.width) * bpe,
    limits: backend.limits?.() ?? { maxBufferBytes: Infinity },
  };
}

/**
 * Refuses a tile that cannot fit before anything is allocated: a ValueError naming `where`,
 * the bytes it needs, the limit it exceeds and `flag`, the option to lower. Returns the
 * estimate when it fits.
 */
export function checkWorkingSet(where: string, req: WorkingSetRequest): WorkingSetEstimate {
  const est = estimateWorkingSet(where, req);
  const { maxBufferBytes, hostBudgetBytes } = est.limits;
  const backendName = (req.backend ?? getBackend()).name;
  const sizes = `${req.rows} rows × ${req.width} elements × ${req.dtype}`;
  if (est.largestBufferBytes > maxBufferBytes)
    throw new ValueError(
      where,
      `an M·K tile within the ${backendName} backend's largest buffer (${formatBytes(maxBufferBytes)})`,
      `${formatBytes(est.largestBufferBytes)} for its widest activation (${sizes})`,
      `lower ${req.flag}`,
    );
  if (hostBudgetBytes !== undefined && est.totalBytes > hostBudgetBytes)
    throw new ValueError(
      where,
      `a working set within the ${backendName} backend's memory budget (${formatBytes(hostBudgetBytes)})`,
      `about ${formatBytes(est.totalBytes)} (${req.rows} rows × ${Math.max(req.liveWidth ?? 2 * req.width, req.width)} live elements × ${req.dtype})`,
      `lower ${req.flag}, or raise the budget with ${CPU_MEMORY_ENV}`,
    );
  return est;
}
