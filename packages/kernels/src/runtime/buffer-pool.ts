// Pooled storage buffers, bucketed by size (16-byte granularity: a training loop asks for
// the same sizes every step, so exact reuse is the common case).
//
// Hazard this guards against: queue.writeBuffer executes on the queue timeline at once,
// before the still-open command encoder is submitted. A buffer released while encoded
// (unsubmitted) commands may still read it must not receive an upload until that encoder
// is submitted. Released buffers therefore wait in `pending` until the next submit; they
// may be reused as dispatch outputs meanwhile (command order keeps that safe), but uploads
// take only buffers from `free`.
//
// A recording (capture.ts) replays dispatches into the buffers it was recorded with, so it
// takes them out of circulation: buffers acquired while it records become its own (a claim;
// releasing them later does not return them to the pool until the claim ends), and buffers
// it only reads from outside are pinned (a release waits until the last pin is gone).

import { BufferUsage } from './constants.js';

export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export function bucketBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

/** Buffers a recording owns, and those of them released by their tensors meanwhile. */
export interface PoolClaim {
  readonly buffers: ReadonlySet<GPUBuffer>;
  readonly released: Set<GPUBuffer>;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly pending = new Map<number, GPUBuffer[]>();
  private readonly sizes = new WeakMap<GPUBuffer, number>();
  /** Buffers acquired since track() (null when not tracking). */
  private tracked: Set<GPUBuffer> | null = null;
  private readonly owners = new Map<GPUBuffer, PoolClaim>();
  private readonly pins = new Map<GPUBuffer, number>();
  /** Pinned buffers whose tensors released them: they return to the pool at the last unpin. */
  private readonly releasedWhilePinned = new Set<GPUBuffer>();
  /** Buffers ever created and not destroyed. */
  live = 0;
  liveBytes = 0;
  created = 0;

  constructor(private readonly device: GPUDevice) {}

  acquire(bytes: number, forUpload: boolean): GPUBuffer {
    const size = bucketBytes(bytes);
    const fromPending = forUpload ? undefined : this.pending.get(size)?.pop();
    let buf = fromPending ?? this.free.get(size)?.pop();
    if (!buf) {
      buf = this.device.createBuffer({ size, usage: STORAGE_USAGE });
      this.sizes.set(buf, size);
      this.live++;
      this.liveBytes += size;
      this.created++;
    }
    this.tracked?.add(buf);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const claim = this.owners.get(buf);
    if (claim) {
      claim.released.add(buf);
      return;
    }
    if (this.pins.has(buf)) {
      this.releasedWhilePinned.add(buf);
      return;
    }
    const size = this.sizes.get(buf)!;
    let list = this.pending.get(size);
    if (!list) this.pending.set(size, (list = []));
    list.push(buf);
  }

  /** Starts collecting every buffer acquired (for a recording). */
  track(): void {
    this.tracked = new Set();
  }

  /** Stops collecting; returns the buffers acquired since track(). */
  untrack(): Set<GPUBuffer> {
    const t = this.tracked ?? new Set<GPUBuffer>();
    this.tracked = null;
    return t;
  }

  /** Takes `buffers` out of circulation: idle ones leave the free lists, busy ones never return. */
  claim(buffers: ReadonlySet<GPUBuffer>): PoolClaim {
    const claim: PoolClaim = { buffers, released: new Set() };
    for (const b of buffers) {
      if (this.takeIdle(b)) claim.released.add(b);
      this.owners.set(b, claim);
    }
    return claim;
  }

  /** Ends a claim: buffers released meanwhile return to the pool, the rest when released. */
  unclaim(claim: PoolClaim): void {
    for (const b of claim.buffers) if (this.owners.get(b) === claim) this.owners.delete(b);
    for (const b of claim.released) this.release(b);
  }

  /** Keeps `buffers` from being handed out again while pinned (releases wait for unpin). */
  pin(buffers: Iterable<GPUBuffer>): void {
    for (const b of buffers) this.pins.set(b, (this.pins.get(b) ?? 0) + 1);
  }

  unpin(buffers: Iterable<GPUBuffer>): void {
    for (const b of buffers) {
      const n = (this.pins.get(b) ?? 1) - 1;
      if (n > 0) {
        this.pins.set(b, n);
        continue;
      }
      this.pins.delete(b);
      if (this.releasedWhilePinned.delete(b)) this.release(b);
    }
  }

  /** Removes `b` from the idle lists; whether it was there. */
  private takeIdle(b: GPUBuffer): boolean {
    const size = this.sizes.get(b);
    if (size === undefined) return false;
    for (const map of [this.free, this.pending]) {
      const list = map.get(size);
      const i = list?.indexOf(b) ?? -1;
      if (i >= 0) {
        list!.splice(i, 1);
        return true;
      }
    }
    return false;
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
