// A Backend that wraps another and times every primitive it executes, so the benchmark can
// say where alphadrop's step spends its time (cpu-step.ts --profile). It uses only the
// public Backend interface; the CPU backend computes synchronously, so the time of
// execute() is the time of the kernel.

import type { Backend, DType, HostArray } from '@alphadrop/core';
import type { BackendCounters, Operand, OutSpec, Prim, PrimParams } from '@alphadrop/core/backend';
import { fmt, formatTable } from '../harness/cli.js';

interface Entry {
  calls: number;
  ms: number;
}

export class ProfilingBackend implements Backend {
  readonly name: string;
  readonly dtypes: readonly DType[];
  readonly readSync?: (storage: unknown, dtype: DType, size: number) => HostArray;
  private readonly byPrim = new Map<string, Entry>();
  private readonly byShape = new Map<string, Entry>();

  constructor(private readonly inner: Backend) {
    this.name = inner.name; // same name: nothing downstream treats it differently
    this.dtypes = inner.dtypes;
    const sync = inner.readSync;
    if (sync) this.readSync = (s, d, n) => sync.call(inner, s, d, n);
  }

  get counters(): BackendCounters {
    return this.inner.counters;
  }

  upload(values: HostArray, dtype: DType): unknown {
    return this.inner.upload(values, dtype);
  }

  execute<P extends Prim>(prim: P, inputs: readonly Operand[], params: PrimParams[P], out: OutSpec): unknown {
    const t0 = performance.now();
    const r = this.inner.execute(prim, inputs, params, out);
    const ms = performance.now() - t0;
    const add = (map: Map<string, Entry>, key: string) => {
      const e = map.get(key) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += ms;
      map.set(key, e);
    };
    add(this.byPrim, prim);
    const flags = 'transA' in params ? `${(params as { transA: boolean }).transA ? 'T' : 'N'}${(params as { transB: boolean }).transB ? 'T' : 'N'} ` : '';
    add(this.byShape, `${prim} ${flags}${inputs.map((t) => `[${t.shape.join(',')}]${t.dtype}`).join(' ')} → [${out.shape.join(',')}]${out.dtype}`);
    return r;
  }

  read(storage: unknown, dtype: DType, size: number): Promise<HostArray> {
    return this.inner.read(storage, dtype, size);
  }

  free(storage: unknown): void {
    this.inner.free(storage);
  }

  flush(): void {
    this.inner.flush();
  }

  reset(): void {
    this.byPrim.clear();
    this.byShape.clear();
  }

  /** Per-primitive and top per-call-site tables, as ms per step over `steps` steps. */
  report(steps: number, top = 15): string {
    const total = [...this.byPrim.values()].reduce((s, e) => s + e.ms, 0);
    const rows = (map: Map<string, Entry>, limit: number) =>
      [...map.entries()]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, limit)
        .map(([k, e]) => [k, fmt(e.calls / steps, 1), fmt(e.ms / steps, 2), `${fmt((100 * e.ms) / total, 1)}%`]);
    return [
      `primitives: ${fmt(total / steps, 2)} ms/step in execute()`,
      formatTable(['primitive', 'calls/step', 'ms/step', 'share'], rows(this.byPrim, Infinity)),
      '',
      formatTable(['primitive, operands → result (top)', 'calls/step', 'ms/step', 'share'], rows(this.byShape, top)),
    ].join('\n');
  }
}
