// Pooled storage buffers, bucketed by size (16-byte granularity: a training loop asks for
// the same sizes every step, so exact reuse is the common case).
//
// Hazard this guards against: queue.writeBuffer executes on the queue timeline at once,
// before the still-open command encoder is submitted. A buffer released while encoded
// (unsubmitted) commands may still read it must not receive an upload until that encoder
// is submitted. Released buffers therefore wait in `pending` until the next submit; they
// may be reused as dispatch outputs meanwhile (command order keeps that safe), but uploads
// take only buffers from `free`.

import { BufferUsage } from './constants.js';

export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export function bucketBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly pending = new Map<number, GPUBuffer[]>();
  private readonly sizes = new WeakMap<GPUBuffer, number>();
  /** Buffers ever created and not destroyed. */
  live = 0;
  liveBytes = 0;
  created = 0;

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, forUpload: boolean): GPUBuffer {
    const size = bucketBytes(bytes);
    const fromPending = forUpload ? undefined : this.pending.get(size)?.pop();
    const buf = fromPending ?? this.free.get(size)?.pop();
    if (buf) return buf;
    const created = this.device.createBuffer({ size, usage: STORAGE_USAGE });
    this.sizes.set(created, size);
    this.live++;
    this.liveBytes += size;
    this.created++;
    return created;
  }

  release(buf: GPUBuffer): void {
    const size = this.sizes.get(buf)!;
    let list = this.pending.get(size);
    if (!list) this.pending.set(size, (list = []));
    list.push(buf);
  }

  /** After a submit every pending buffer is safe for uploads too. */
  onSubmit(): void {
    for (const [size, list] of this.pending) {
      let dst = this.free.get(size);
      if (!dst) this.free.set(size, (dst = []));
      dst.push(...list);
      list.length = 0;
    }
  }

  /** Destroys every idle buffer (pending ones too; call only after a submit). */
  trim(): number {
    let n = 0;
    for (const map of [this.free, this.pending])
      for (const list of map.values()) {
        for (const b of list) {
          this.liveBytes -= this.sizes.get(b)!;
          b.destroy();
          n++;
        }
        list.length = 0;
      }
    this.live -= n;
    return n;
  }
}
