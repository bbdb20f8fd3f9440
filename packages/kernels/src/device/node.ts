// Device acquisition in Node: Dawn through the npm `webgpu` package (dawn.node), on whatever
// Vulkan driver the loader finds (lavapipe on CI: VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/
// lvp_icd.json; the NVIDIA driver on a lent GPU).
//
// The rules of dawn.node live in dawn-ticker.ts; this file applies them in order:
//   1. take a ticker lease (patches globalThis.setImmediate for dawn.node's ticks) before the
//      first Dawn call, and release it in destroy() (the original comes back on the last one);
//   2. one `create(flags)` object per set of flags, pinned for the life of the process (its
//      collection frees the native instance under the live device: the aborts and hangs of
//      DESIGN.md's "Known hazard");
//   3. device loss is a DeviceError: on `lost`, through `onLost`, and as the rejection of any
//      `wait()` pending at that time, never a hang;
//   4. destroy() waits for the queue once, destroys the device, removes the WebGPU globals it
//      added and restores setImmediate, so the process exits by itself.
// `webgpu` is imported dynamically: bundling this module for the browser pulls in nothing.

import { DeviceError } from '@alphadrop/core';
import { dawnTicker, type TickerLease, type TickPolicy } from './dawn-ticker.js';
import { deviceDescriptor } from './browser.js';

export const LAVAPIPE_ICD = '/usr/share/vulkan/icd.d/lvp_icd.json';

/** Requested when the adapter has them. */
export const NODE_OPTIONAL_FEATURES: readonly string[] = ['timestamp-query', 'subgroups', 'shader-f16'];

const HOW_TO_GET_AN_ADAPTER =
  'install mesa-vulkan-drivers from bookworm-backports (apt-get install -t bookworm-backports ' +
  `mesa-vulkan-drivers) and set VK_ICD_FILENAMES=${LAVAPIPE_ICD}, or run on a machine with a GPU and its Vulkan driver`;

export interface NodeDeviceOptions {
  /** Flags for dawn.node's `create()`, e.g. 'enable-dawn-features=allow_unsafe_apis'. */
  flags?: readonly string[];
  powerPreference?: GPUPowerPreference;
  /** Features to request when the adapter has them (default NODE_OPTIONAL_FEATURES). */
  optionalFeatures?: readonly string[];
  /**
   * Tick policy (process-wide; see dawn-ticker.ts). `false` leaves dawn.node's own
   * setImmediate cadence (sound thanks to the pin, but a pending wait spins a CPU core).
   */
  tick?: Partial<TickPolicy> | false;
  /** Called once if the device is lost other than through destroy(). */
  onLost?: (error: DeviceError) => void;
  /** Module specifier of dawn.node's package (default 'webgpu'). */
  module?: string;
  /**
   * Diagnostics only: neither cache nor pin the `create()` object, so that it can be
   * collected under the live device: reproduces the hazard for measurements. Never in code.
   */
  unsafeUnpinnedInstance?: boolean;
}

export interface NodeDevice {
  device: GPUDevice;
  adapter: GPUAdapter;
  adapterInfo: GPUAdapterInfo;
  /** Features the device was created with. */
  features: string[];
  limits: GPUSupportedLimits;
  /** dawn.node's WebGPU namespace objects (GPUBufferUsage, GPUMapMode, ...). */
  globals: Readonly<Record<string, unknown>>;
  /** Resolves (never rejects) with a DeviceError when the device is lost or destroyed. */
  readonly lost: Promise<DeviceError>;
  /** The loss, once it happened; null while the device lives. */
  readonly lostError: DeviceError | null;
  /**
   * Awaits a promise that needs Dawn ticks (mapAsync, onSubmittedWorkDone, ...): fast for
   * short waits, rejects with the DeviceError if the device is lost meanwhile.
   */
  wait<T>(promise: PromiseLike<T>): Promise<T>;
  /** wait(device.queue.onSubmittedWorkDone()). */
  idle(): Promise<void>;
  /** Waits for idle once, destroys the device and gives back the ticker lease. Idempotent. */
  destroy(): Promise<void>;
}

interface WebGpuModule {
  create: (flags: string[]) => GPU;
  globals: Record<string, unknown>;
}

let modulePromise: Promise<WebGpuModule> | null = null;
let moduleSpecifier: string | null = null;
/** One `create()` object per flag set, pinned (dawn-ticker.ts says why). */
const instances = new Map<string, GPU>();

/** WebGPU globals we defined (name → value), removed when the last device goes. */
const addedGlobals = new Map<string, unknown>();
let globalsUsers = 0;

function loadWebGpu(specifier: string): Promise<WebGpuModule> {
  if (modulePromise && moduleSpecifier === specifier) return modulePromise;
  moduleSpecifier = specifier;
  modulePromise = (import(/* @vite-ignore */ specifier) as Promise<WebGpuModule>).catch((e: unknown) => {
    modulePromise = null;
    throw new DeviceError(
      'acquireNodeDevice',
      `the '${specifier}' package (Dawn for Node)`,
      'an import error',
      `${e instanceof Error ? e.message : String(e)}; run npm install, then ${HOW_TO_GET_AN_ADAPTER}`,
    );
  });
  return modulePromise;
}

function addGlobals(globals: Record<string, unknown>): void {
  globalsUsers++;
  const g = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(globals)) {
    if (name in g) continue;
    g[name] = value;
    addedGlobals.set(name, value);
  }
}

function removeGlobals(): void {
  if (--globalsUsers > 0) return;
  const g = globalThis as Record<string, unknown>;
  for (const [name, value] of addedGlobals) if (g[name] === value) delete g[name];
  addedGlobals.clear();
}

function instanceFor(mod: WebGpuModule, flags: readonly string[], unpinned: boolean): GPU {
  if (unpinned) return mod.create([...flags]);
  const key = flags.join('\u0000');
  let gpu = instances.get(key);
  if (!gpu) {
    gpu = mod.create([...flags]);
    instances.set(key, gpu);
    dawnTicker.pinInstance(gpu);
  }
  return gpu;
}

/** Acquires a Dawn adapter and a device with the adapter's maxima; see the file comment. */
export async function acquireNodeDevice(opts: NodeDeviceOptions = {}): Promise<NodeDevice> {
  if (opts.tick) dawnTicker.configure(opts.tick);
  // Rule 1: before the first Dawn call. A lease of `tick: false` patches nothing.
  const lease: TickerLease | null = opts.tick === false ? null : dawnTicker.acquire();
  let globalsAdded = false;
  try {
    const mod = await loadWebGpu(opts.module ?? 'webgpu');
    addGlobals(mod.globals);
    globalsAdded = true;
    const adapter = await requestAdapter(mod, opts);
    const device = await requestDevice(adapter, opts.optionalFeatures ?? NODE_OPTIONAL_FEATURES);
    return makeHandle(mod, adapter, device, lease, opts.onLost);
  } catch (e) {
    if (globalsAdded) removeGlobals();
    lease?.release();
    throw e;
  }
}

async function requestAdapter(mod: WebGpuModule, opts: NodeDeviceOptions): Promise<GPUAdapter> {
  const where = 'acquireNodeDevice: requestAdapter';
  let adapter: GPUAdapter | null;
  try {
    // Without the pin the `create()` object is reachable only from this frame (diagnostics).
    adapter = await instanceFor(mod, opts.flags ?? [], opts.unsafeUnpinnedInstance === true).requestAdapter({
      powerPreference: opts.powerPreference ?? 'high-performance',
    });
  } catch (e) {
    throw new DeviceError(where, 'a WebGPU adapter', 'an error', `${e instanceof Error ? e.message : String(e)}; ${HOW_TO_GET_AN_ADAPTER}`);
  }
  if (!adapter) {
    const env = `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? '(unset)'}`;
    throw new DeviceError(where, 'a WebGPU adapter', `none (${env})`, HOW_TO_GET_AN_ADAPTER);
  }
  return adapter;
}

async function requestDevice(adapter: GPUAdapter, optional: readonly string[]): Promise<GPUDevice> {
  const descriptor = deviceDescriptor(adapter, optional);
  const features = [...(descriptor.requiredFeatures ?? [])];
  try {
    return await adapter.requestDevice(descriptor);
  } catch (e) {
    throw new DeviceError(
      'acquireNodeDevice: requestDevice',
      `a device with features [${features.join(', ')}] and the adapter's maximum limits`,
      'an error',
      e instanceof Error ? e.message : String(e),
    );
  }
}

function makeHandle(
  mod: WebGpuModule,
  adapter: GPUAdapter,
  device: GPUDevice,
  lease: TickerLease | null,
  onLost: ((error: DeviceError) => void) | undefined,
): NodeDevice {
  let lostError: DeviceError | null = null;
  let destroying = false;
  let destroyPromise: Promise<void> | null = null;

  const lost: Promise<DeviceError> = device.lost.then((info) => {
    const byUs = destroying;
    lostError = byUs
      ? new DeviceError('NodeDevice', 'a live device', 'a destroyed device', 'destroy() was called')
      : new DeviceError('webgpu device', 'a live device', `a lost device (reason: ${info.reason})`, info.message || undefined);
    if (!byUs && onLost) {
      try {
        onLost(lostError);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    return lostError;
  });
  // For racing: rejects on loss. Marked handled, so that no loss goes unhandled.
  const lostRejection: Promise<never> = lost.then((e) => Promise.reject(e));
  lostRejection.catch(() => undefined);

  const wait = <T>(promise: PromiseLike<T>): Promise<T> => {
    if (lostError) {
      // Drop the caller's promise quietly: it may reject on its own now.
      Promise.resolve(promise).catch(() => undefined);
      return Promise.reject(lostError);
    }
    return dawnTicker.wait(Promise.race([promise, lostRejection]));
  };

  const destroy = (): Promise<void> => {
    destroyPromise ??= (async () => {
      try {
        if (!lostError) await wait(device.queue.onSubmittedWorkDone()).catch(() => undefined);
        destroying = true;
        device.destroy();
        // Lets dawn.node deliver `lost` while the patch is in; bounded, never a hang.
        await Promise.race([lost, delay(2000)]);
      } finally {
        removeGlobals();
        lease?.release();
      }
    })();
    return destroyPromise;
  };

  return {
    device,
    adapter,
    adapterInfo: adapter.info,
    features: [...device.features].map(String).sort(),
    limits: device.limits,
    globals: mod.globals,
    lost,
    get lostError() {
      return lostError;
    },
    wait,
    idle: () => wait(device.queue.onSubmittedWorkDone()),
    destroy,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    // Never keeps the process alive on its own.
    (t as { unref?: () => void }).unref?.();
  });
}
