// The CPU backends: storage is a host typed array. `cpu-reference` runs the naive oracle
// for every primitive; `cpu` runs the optimised kernels of fast.ts where they exist and the
// oracle elsewhere. Both store f64, which the gradient checks use.

import type { Backend, BackendCounters, BackendLimits, Operand, OutSpec } from '../backend.js';
import { cpuMemoryBudget } from '../working-set.js';
import { DTYPES, bytesPerElement, type DType, type HostArray } from '../dtype.js';
import { ValueError } from '../errors.js';
import type { Prim, PrimParams } from '../prims.js';
import { referenceKernels, type CpuKernel } from './reference.js';

export type CpuKernelTable = { [P in Prim]: CpuKernel<P> };

export interface CpuBackendOptions {
  /** Throw a ValueError naming the primitive when a float result holds NaN (debugging aid). */
  checkNumerics?: boolean;
  /** Host memory one working set may use, in bytes (default: ALPHADROP_CPU_MEMORY, else 4 GiB). */
  memoryBudgetBytes?: number;
}

export class CpuBackend implements Backend<HostArray> {
  readonly dtypes: readonly DType[] = DTYPES;
  readonly counters: BackendCounters = { dispatches: 0, submits: 0, compiles: 0, bytesAllocated: 0, bytesTransferred: 0 };
  checkNumerics: boolean;
  /** undefined: ALPHADROP_CPU_MEMORY or the 4 GiB default, read when a tile is checked. */
  memoryBudgetBytes: number | undefined;

  constructor(
    readonly name: string,
    private readonly kernels: CpuKernelTable,
    opts: CpuBackendOptions = {},
  ) {
    this.checkNumerics = opts.checkNumerics ?? false;
    const b = opts.memoryBudgetBytes;
    if (b !== undefined && !(Number.isFinite(b) && b > 0)) throw new ValueError('CpuBackend', 'a positive finite memoryBudgetBytes', String(b));
    this.memoryBudgetBytes = b;
  }

  limits(): BackendLimits {
    const budget = this.memoryBudgetBytes ?? cpuMemoryBudget();
    return { maxBufferBytes: budget, hostBudgetBytes: budget };
  }

  upload(values: HostArray, dtype: DType): HostArray {
    this.counters.bytesAllocated += values.length * bytesPerElement(dtype);
    this.counters.bytesTransferred += values.length * bytesPerElement(dtype);
    return values;
  }

  execute<P extends Prim>(prim: P, inputs: readonly Operand<HostArray>[], params: PrimParams[P], out: OutSpec): HostArray {
    this.counters.dispatches++;
    const kernel = this.kernels[prim] as CpuKernel<P>;
    const r = kernel(inputs, params, out);
    this.counters.bytesAllocated += r.length * bytesPerElement(out.dtype);
    if (this.checkNumerics && (out.dtype === 'f32' || out.dtype === 'f64')) {
      const inputsFinite = inputs.every((t) => !t.storage.some((v) => Number.isNaN(v)));
      const at = r.findIndex((v) => Number.isNaN(v));
      if (at >= 0 && inputsFinite) throw new ValueError(prim, 'a result without NaN', `NaN at flat index ${at}`, 'checkNumerics is on');
    }
    return r;
  }

  async read(storage: HostArray, dtype: DType, size: number): Promise<HostArray> {
    return this.readSync(storage, dtype, size);
  }

  readSync(storage: HostArray, dtype: DType, size: number): HostArray {
    this.counters.bytesTransferred += size * bytesPerElement(dtype);
    return storage.slice(0, size);
  }

  free(_storage: HostArray): void {
    // Host memory belongs to the garbage collector.
  }

  /** A subarray: any element range of a typed array can be aliased (kernels never write their inputs). */
  view(storage: HostArray, _dtype: DType, offset: number, size: number): HostArray {
    return storage.subarray(offset, offset + size);
  }

  flush(): void {}
}

/** The oracle as a backend: every primitive naive. Slow; for tests. */
export function createReferenceBackend(opts?: CpuBackendOptions): CpuBackend {
  return new CpuBackend('cpu-reference', referenceKernels, opts);
}

/** The CPU backend with optimised kernels merged over the oracle (`name`: 'cpu', or 'cpu-wasm' for that kind). */
export function createCpuBackend(fast: Partial<CpuKernelTable>, opts?: CpuBackendOptions, name = 'cpu'): CpuBackend {
  return new CpuBackend(name, { ...referenceKernels, ...fast } as CpuKernelTable, opts);
}
