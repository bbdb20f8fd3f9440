// The reads of a training loop (fit, fitBatch). Every step leaves a finiteness flag on the
// device (trainStep's `finiteness`); every few steps the loss and the flags of the steps since
// the previous read go to the host in ONE asynchronous read that no step waits for. At the end
// of the epoch the reads are awaited together: the mean of the read losses, or the first step
// whose flag (or read loss) is not finite.

import { concat, reshape, tidy, type Tensor } from '@alphadrop/core';

interface Read {
  loss: number;
  flags: ArrayLike<number>;
  firstStep: number;
}

export class StepReads {
  private flags: Tensor[] = [];
  private readonly pending: Promise<Read>[] = [];

  /** `firstStep`: the optimizer step number of the first flag. */
  constructor(private firstStep: number) {}

  /** A step's flag; the reads own it from here on. */
  flag(finite: Tensor): void {
    this.flags.push(finite);
  }

  /** Reads `loss` (disposed here) with every flag since the previous read; `nextStep` numbers the next flag. */
  read(loss: Tensor, nextStep: number): void {
    const flags = this.flags;
    const readout = tidy(() => concat([reshape(loss, [1]), ...flags]));
    loss.dispose();
    flags.forEach((f) => f.dispose());
    this.flags = [];
    const firstStep = this.firstStep;
    this.firstStep = nextStep;
    this.pending.push(
      readout.data().then((d) => {
        readout.dispose();
        return { loss: d[0]!, flags: d.subarray(1), firstStep };
      }),
    );
  }

  /** Awaits the reads: the mean read loss, and the first non-finite step (null when every one is finite). */
  async settle(): Promise<{ meanLoss: number; bad: { step: number; loss: number } | null }> {
    const reads = await Promise.all(this.pending);
    for (const r of reads) {
      const at = Array.prototype.findIndex.call(r.flags, (f: number) => f !== 0);
      if (at < 0 && Number.isFinite(r.loss)) continue;
      return { meanLoss: NaN, bad: { step: r.firstStep + (at < 0 ? r.flags.length - 1 : at), loss: r.loss } };
    }
    return { meanLoss: reads.reduce((a, r) => a + r.loss, 0) / Math.max(1, reads.length), bad: null };
  }
}
