// How dawn.node (the `webgpu` npm package) gets ticked, owned in one place.
//
// While any of its promises is pending (mapAsync, onSubmittedWorkDone, getCompilationInfo,
// requestDevice, ...), dawn.node's AsyncRunner calls `instance.ProcessEvents()` from a chain of
// callbacks that it schedules through `globalThis.setImmediate`, looked up on the global at
// every link. Two separate things follow, and this module handles both:
//
// 1. Soundness (the crashes). The AsyncRunner keeps a *raw* pointer to the native instance
//    that the `GPU` object returned by `create()` owns. Adapters and devices keep the runner
//    alive but not the `GPU` object, so once user code drops its `gpu` variable, V8 may collect
//    it, its destructor frees the instance, and every later tick calls ProcessEvents on freed
//    memory: aborts ("The futex facility returned an unexpected error code", std::system_error
//    EINVAL, glibc mutex assertions), segfaults, or a hang on a garbage mutex. Ticking through
//    `setTimeout(fn, 0)` only made that rarer in a quiet heap (a thousand times fewer native
//    functions allocated per wait, so fewer collections): with ordinary allocation, or `gc()`
//    after device creation, it fails with either cadence, and with the `GPU` object kept
//    reachable it passes with either (bench/dawn-ticker-experiment.mjs measures both). The fix
//    is `pinInstance()`: the `GPU` object stays reachable for the life of the process (one per
//    set of `create()` flags, see node.ts), so the pointer never dangles.
//
// 2. Cost (the cadence). With the real `setImmediate`, a pending wait spins the event loop,
//    calling ProcessEvents back to back on one CPU core for the whole wait. A short wait
//    completes within tens of microseconds that way, but a long one burns a core, which on a
//    software adapter (lavapipe on 2 cores) is a core taken from the shader threads. The tick
//    policy below keeps the fast path and drops the burn: each chain of ticks goes through the
//    real `setImmediate` for `spinUs` microseconds, then through `setTimeout(fn, backoffMs)`.
//    A chain starts when dawn.node schedules a tick from outside a tick (a new promise after
//    an idle spell); `wait()` also restarts the fast window, so a short wait issued while a
//    long one is pending is fast too.
//
// The patched `setImmediate` routes only dawn.node's tick callbacks (a single anonymous native
// function with no extra arguments); every other call goes straight to the real
// `setImmediate`, so user code keeps its semantics. The patch is installed while at least one
// lease is held (node.ts takes one per device, from before `requestAdapter` until the device
// is destroyed) and the original is restored when the last lease is released. Without the
// patch the chain still works (the pin keeps it sound), only with the spinning cadence.

/** When dawn.node's tick chain goes through which scheduler. */
export interface TickPolicy {
  /** Length of the fast window of each chain, in microseconds (0: always the slow path). */
  spinUs: number;
  /** Delay of the slow path's setTimeout, in milliseconds (Node makes 0 into 1). */
  backoffMs: number;
}

/** Counters, for tests and measurements. `resetStats()` zeroes them. */
export interface TickerStats {
  /** Dawn ticks scheduled while the patch was installed. */
  ticks: number;
  /** ...of which went through the real setImmediate (fast window). */
  fastTicks: number;
  /** ...of which went through setTimeout (after the fast window). */
  slowTicks: number;
  /** Chains started (a Dawn tick scheduled from outside a tick). */
  chains: number;
  /** Calls to the patched setImmediate that were not Dawn ticks (passed straight through). */
  passthrough: number;
  /** Slow ticks brought forward because a `wait()` began. */
  kicked: number;
  /** `wait()` calls begun / still pending. */
  waits: number;
  waitsPending: number;
  /** Times the patch was installed / the original restored. */
  installs: number;
  restores: number;
  /** Releases that found the global replaced by someone else (left as it was). */
  displaced: number;
}

/** A hold on the tick mechanism; `release()` is idempotent. */
export interface TickerLease {
  readonly released: boolean;
  release(): void;
}

type Immediate = (callback: (...args: unknown[]) => void, ...args: unknown[]) => unknown;

export const DEFAULT_TICK_POLICY: Readonly<TickPolicy> = Object.freeze({ spinUs: 1000, backoffMs: 0 });

const nativeSource = /^function\s*\(\)\s*\{\s*\[native code\]\s*\}$/;
const fnToString = Function.prototype.toString;

/** dawn.node schedules `Napi::Function::New(env, lambda)`: nameless, native, no extra args. */
function isDawnTick(callback: unknown, extraArgs: number): callback is () => void {
  return (
    extraArgs === 0 &&
    typeof callback === 'function' &&
    callback.name === '' &&
    nativeSource.test(fnToString.call(callback))
  );
}

function zeroStats(): TickerStats {
  return {
    ticks: 0, fastTicks: 0, slowTicks: 0, chains: 0, passthrough: 0, kicked: 0,
    waits: 0, waitsPending: 0, installs: 0, restores: 0, displaced: 0,
  };
}

export class DawnTicker {
  private policy: TickPolicy = { ...DEFAULT_TICK_POLICY };
  private leases = 0;
  private original: Immediate | undefined;
  private patched: Immediate | undefined;
  private inTick = false;
  private chainStart = 0;
  /** Slow ticks waiting on a timer: `wait()` may bring them forward. */
  private readonly pendingSlow = new Map<ReturnType<typeof setTimeout>, () => void>();
  private readonly pins = new Set<object>();
  private statsValue = zeroStats();

  /** Counters since the last `resetStats()` (a copy). */
  get stats(): TickerStats {
    return { ...this.statsValue };
  }

  resetStats(): void {
    const pending = this.statsValue.waitsPending;
    this.statsValue = zeroStats();
    this.statsValue.waitsPending = pending;
  }

  /** Whether the patched setImmediate is on the global now. */
  get installed(): boolean {
    return this.patched !== undefined && globalThis.setImmediate === (this.patched as unknown);
  }

  get leaseCount(): number {
    return this.leases;
  }

  /** Number of objects pinned for the life of the process. */
  get pinnedCount(): number {
    return this.pins.size;
  }

  getPolicy(): Readonly<TickPolicy> {
    return { ...this.policy };
  }

  /** Changes the policy (process-wide: dawn.node has one global lookup). */
  configure(policy: Partial<TickPolicy>): void {
    const next = { ...this.policy, ...policy };
    if (!(Number.isFinite(next.spinUs) && next.spinUs >= 0)) throw new RangeError(`DawnTicker: spinUs must be a finite number >= 0, got ${next.spinUs}`);
    if (!(Number.isFinite(next.backoffMs) && next.backoffMs >= 0)) throw new RangeError(`DawnTicker: backoffMs must be a finite number >= 0, got ${next.backoffMs}`);
    this.policy = next;
  }

  /**
   * Keeps `gpu` (the object `create()` returned, which owns the native instance that
   * dawn.node's AsyncRunner points at) reachable for the life of the process. Never undone:
   * adapters and devices from it may outlive any handle, and a later tick must not find the
   * instance freed. Pin one object per `create()` call you keep using; reuse it.
   */
  pinInstance(gpu: object): void {
    this.pins.add(gpu);
  }

  /** Installs the patch if this is the first lease. Take it before the first Dawn promise. */
  acquire(): TickerLease {
    if (this.leases++ === 0) this.install();
    let released = false;
    return {
      get released() {
        return released;
      },
      release: () => {
        if (released) return;
        released = true;
        if (--this.leases === 0) this.uninstall();
      },
    };
  }

  /**
   * Awaits `promise` (a Dawn promise, or one that depends on Dawn ticks), restarting the fast
   * window first so that a short wait completes fast even while a long chain is in its slow
   * phase. Counts waits for the stats.
   */
  async wait<T>(promise: PromiseLike<T>): Promise<T> {
    this.statsValue.waits++;
    this.statsValue.waitsPending++;
    this.kick();
    try {
      return await promise;
    } finally {
      this.statsValue.waitsPending--;
    }
  }

  /** Restarts the fast window and brings forward the slow ticks that sit on a timer. */
  kick(): void {
    this.chainStart = performance.now();
    if (this.pendingSlow.size === 0 || !this.original) return;
    const runs = [...this.pendingSlow];
    this.pendingSlow.clear();
    for (const [timer, run] of runs) {
      clearTimeout(timer);
      this.statsValue.kicked++;
      this.original(run);
    }
  }

  private install(): void {
    const current = globalThis.setImmediate as unknown as Immediate;
    this.original = current;
    const self = this;
    const patched = function setImmediate(callback: (...args: unknown[]) => void, ...args: unknown[]): unknown {
      if (!isDawnTick(callback, args.length)) {
        self.statsValue.passthrough++;
        return current(callback, ...args);
      }
      return self.schedule(callback, current);
    } as Immediate;
    // Keep util.promisify(setImmediate) and friends working while patched.
    for (const key of Reflect.ownKeys(current)) {
      if (key === 'length' || key === 'name' || key === 'prototype') continue;
      const desc = Object.getOwnPropertyDescriptor(current, key);
      if (desc) Object.defineProperty(patched, key, desc);
    }
    this.patched = patched;
    globalThis.setImmediate = patched as unknown as typeof globalThis.setImmediate;
    this.statsValue.installs++;
  }

  private uninstall(): void {
    const patched = this.patched;
    const original = this.original;
    this.patched = undefined;
    if (!patched || !original) return;
    if ((globalThis.setImmediate as unknown) === patched) {
      globalThis.setImmediate = original as unknown as typeof globalThis.setImmediate;
      this.statsValue.restores++;
    } else {
      // Someone (fake timers, another patch) replaced it after us: leave theirs in place.
      this.statsValue.displaced++;
    }
    // Slow ticks already on a timer still run (the closure holds the original scheduler).
  }

  private schedule(tick: () => void, original: Immediate): unknown {
    const s = this.statsValue;
    s.ticks++;
    const now = performance.now();
    if (!this.inTick) {
      this.chainStart = now;
      s.chains++;
    }
    const run = (): void => {
      this.inTick = true;
      try {
        tick();
      } finally {
        this.inTick = false;
      }
    };
    if ((now - this.chainStart) * 1000 < this.policy.spinUs) {
      s.fastTicks++;
      return original(run);
    }
    s.slowTicks++;
    const timer: ReturnType<typeof setTimeout> = setTimeout(() => {
      this.pendingSlow.delete(timer);
      run();
    }, this.policy.backoffMs);
    this.pendingSlow.set(timer, run);
    return timer;
  }
}

const registryKey = Symbol.for('alphadrop.kernels.dawnTicker');

/**
 * The process-wide ticker. Shared through a global symbol, so that two copies of this module
 * (a bundle and the source, say) never stack two patches on `setImmediate`.
 */
export const dawnTicker: DawnTicker = ((): DawnTicker => {
  const g = globalThis as unknown as Record<symbol, DawnTicker | undefined>;
  return (g[registryKey] ??= new DawnTicker());
})();
