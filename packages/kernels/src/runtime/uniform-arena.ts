// Per-dispatch uniform blocks for run-time values (RNG seeds and offsets, ...) that must
// not be specialised into the WGSL, or every training step would compile a new pipeline.
// Blocks are staged on the host in 64 KiB chunks and uploaded with one writeBuffer per
// chunk just before the submit, so every dispatch of a step sees its own values.

import { BufferUsage } from './constants.js';

const CHUNK = 65536;

export class UniformArena {
  private readonly chunks: { buffer: GPUBuffer; host: Uint8Array<ArrayBuffer>; used: number }[] = [];
  private current = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly align: number,
  ) {}

  /** Reserves a block holding `data`; returns where it lives. */
  alloc(data: Uint32Array): { buffer: GPUBuffer; offset: number; size: number } {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    for (;;) {
      let chunk = this.chunks[this.current];
      if (!chunk) {
        chunk = {
          buffer: this.device.createBuffer({ size: CHUNK, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST }),
          host: new Uint8Array(CHUNK),
          used: 0,
        };
        this.chunks.push(chunk);
      }
      const offset = Math.ceil(chunk.used / this.align) * this.align;
      if (offset + size <= CHUNK) {
        chunk.host.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
        chunk.used = offset + size;
        return { buffer: chunk.buffer, offset, size };
      }
      this.current++;
    }
  }

  /** Uploads the staged blocks (call right before submit) and starts over. */
  upload(queue: GPUQueue): void {
    for (const c of this.chunks) {
      if (c.used > 0) queue.writeBuffer(c.buffer, 0, c.host, 0, Math.ceil(c.used / 4) * 4);
      c.used = 0;
    }
    this.current = 0;
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks.length = 0;
  }
}
