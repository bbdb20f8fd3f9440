// The step-timing protocol of the end-to-end benchmarks (warm-up, ≥ N timed steps per
// repetition, repetitions interleaved across libraries, the median), with no Node imports so
// the browser page (bench/browser) times its steps exactly as the Node entries do. The CPU
// time column needs a process clock: Node's cli.ts passes process.cpuUsage; a page has none.

import { median } from './table.js';

/** One library's training loop, as the timing protocol drives it. */
export interface TimedLoop {
  /** Issues one training step (it may run lazily; the CPU backends here run it at once). */
  step(): void;
  /** The loss of the latest step; waits for everything issued so far to finish. */
  readLoss(): Promise<number>;
}

export interface StepTimingOptions {
  /** Warm-up steps, each followed by a loss read (jit compilation happens here). */
  warmup: number;
  /** Timed steps per repetition, at least. */
  minSteps: number;
  /** A repetition grows past minSteps until it lasts this long … */
  minMs: number;
  /** … but never beyond this many steps. */
  maxSteps: number;
  repetitions: number;
  /** The loss is read every this many steps (and after the last step of a repetition). */
  lossEvery: number;
  /** Process CPU time in ms (all threads), where the platform has one; else the CPU column is NaN. */
  cpuClock?: () => number;
}

export interface StepTiming {
  /** Median over repetitions of wall time / steps. */
  msPerStep: number;
  /** Median over repetitions of process CPU time (all threads) / steps. */
  cpuMsPerStep: number;
  stepsPerRep: number;
  repMs: number[];
  warmupMs: number[];
  lastLoss: number;
}

/**
 * Warm-up, then `repetitions` runs of the same number of back-to-back steps per loop, the
 * loss read every `lossEvery` steps and at the end of each run (which forces completion).
 * The loops' runs are interleaved (rep r runs every loop once, starting with loop r mod n),
 * so that a load change on a shared machine falls on all of them rather than on one.
 * Result per loop: the median over its runs of (wall time of the run) / (steps in the run).
 */
export async function timeStepsInterleaved(loops: readonly TimedLoop[], o: StepTimingOptions, onRep?: (loop: number, rep: number, msPerStep: number) => void): Promise<StepTiming[]> {
  const n = loops.length;
  const warmupMs: number[][] = loops.map(() => []);
  const lastLoss: number[] = loops.map(() => NaN);
  const steps: number[] = [];
  for (const [j, loop] of loops.entries()) {
    for (let i = 0; i < o.warmup; i++) {
      const t0 = performance.now();
      loop.step();
      lastLoss[j] = await loop.readLoss();
      warmupMs[j]!.push(performance.now() - t0);
    }
    // The first warm-up steps pay for compilation (jit, V8 tiering): estimate from the last.
    const w = warmupMs[j]!;
    const estimate = w.length > 0 ? w[w.length - 1]! : 100;
    steps.push(Math.max(o.minSteps, Math.min(o.maxSteps, Math.ceil(o.minMs / Math.max(estimate, 1e-3)))));
  }
  const repMs: number[][] = loops.map(() => []);
  const repCpuMs: number[][] = loops.map(() => []);
  for (let r = 0; r < o.repetitions; r++) {
    for (let q = 0; q < n; q++) {
      const j = (r + q) % n;
      const loop = loops[j]!;
      const count = steps[j]!;
      const cpu0 = o.cpuClock?.() ?? NaN;
      const t0 = performance.now();
      for (let i = 1; i <= count; i++) {
        loop.step();
        if (i % o.lossEvery === 0 || i === count) lastLoss[j] = await loop.readLoss();
      }
      const ms = performance.now() - t0;
      repMs[j]!.push(ms);
      repCpuMs[j]!.push((o.cpuClock?.() ?? NaN) - cpu0);
      onRep?.(j, r, ms / count);
    }
  }
  return loops.map((_, j) => ({
    msPerStep: median(repMs[j]!) / steps[j]!,
    cpuMsPerStep: median(repCpuMs[j]!) / steps[j]!,
    stepsPerRep: steps[j]!,
    repMs: repMs[j]!,
    warmupMs: warmupMs[j]!,
    lastLoss: lastLoss[j]!,
  }));
}

