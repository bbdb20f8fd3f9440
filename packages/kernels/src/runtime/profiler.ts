// Timestamp-query profiling. While enabled, every dispatch runs in a compute pass of its
// own that writes a begin and an end timestamp; at each flush the query set is resolved
// into a buffer that is read back asynchronously, and durations are summed per kernel
// name. Off by default: separate passes cost a little, and not every adapter has the
// 'timestamp-query' feature.

import { BufferUsage, MapMode } from './constants.js';
import { DeviceError } from '@alphadrop/core';

const CAPACITY = 4096; // queries per flush (2 per dispatch)

export interface KernelProfile {
  name: string;
  calls: number;
  totalMs: number;
}

export class Profiler {
  private querySet: GPUQuerySet | null = null;
  private resolveBuffer: GPUBuffer | null = null;
  private names: string[] = [];
  private readonly totals = new Map<string, KernelProfile>();
  private readonly inflight: Promise<void>[] = [];
  enabled = false;

  constructor(
    private readonly device: GPUDevice,
    readonly supported: boolean,
  ) {}

  enable(): void {
    if (!this.supported)
      throw new DeviceError('profiler', "an adapter with the 'timestamp-query' feature", 'an adapter without it');
    if (!this.querySet) {
      this.querySet = this.device.createQuerySet({ type: 'timestamp', count: CAPACITY });
      this.resolveBuffer = this.device.createBuffer({ size: CAPACITY * 8, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC });
    }
    this.enabled = true;
  }

  disable(): void {
    this.enabled = false;
  }

  /** Pass descriptor for the next profiled dispatch, or undefined when the set is full. */
  passFor(name: string): GPUComputePassDescriptor | undefined {
    if (!this.enabled || !this.querySet || this.names.length * 2 + 2 > CAPACITY) return undefined;
    const i = this.names.length;
    this.names.push(name);
    return { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } };
  }

  /** Encodes the resolve and a copy to a readable buffer; call before finishing the encoder. */
  resolve(encoder: GPUCommandEncoder): (() => void) | undefined {
    if (!this.querySet || this.names.length === 0) return undefined;
    const n = this.names.length;
    const names = this.names;
    this.names = [];
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer!, 0);
    const read = this.device.createBuffer({ size: 2 * n * 8, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(this.resolveBuffer!, 0, read, 0, 2 * n * 8);
    return () => {
      this.inflight.push(
        read.mapAsync(MapMode.READ).then(() => {
          const t = new BigUint64Array(read.getMappedRange().slice(0));
          read.unmap();
          read.destroy();
          names.forEach((name, i) => {
            const ms = Number(t[2 * i + 1]! - t[2 * i]!) / 1e6;
            const p = this.totals.get(name) ?? { name, calls: 0, totalMs: 0 };
            p.calls++;
            p.totalMs += ms;
            this.totals.set(name, p);
          });
        }),
      );
    };
  }

  /** Waits for outstanding read-backs and returns per-kernel totals, slowest first. */
  async report(): Promise<KernelProfile[]> {
    await Promise.all(this.inflight.splice(0));
    return [...this.totals.values()].sort((a, b) => b.totalMs - a.totalMs);
  }

  reset(): void {
    this.totals.clear();
  }

  destroy(): void {
    this.querySet?.destroy();
    this.resolveBuffer?.destroy();
  }
}
