// The kernel benchmark for kernel authors: a WGSL compute shader with its bindings, dispatch
// size and a host reference (a KernelSpec) is compiled, run once on a cleared output and
// VALIDATED entry by entry against the reference; only a valid kernel is then timed, by the
// ladder's protocol (harness/ladder.ts: R dispatches per submit, GPU timestamps where the
// device has 'timestamp-query', else the host clock, and the table says which). The spec is
// turned into a one-program GpuPlan, so binding, the first run, the comparison and the timing
// are the ladder's own code. Plain TypeScript over WebGPU with no Node imports: the CLI
// (cli.ts) runs it on Dawn in Node and, bundled into a page, in Chromium.

import { AlphadropError, DeviceError, ValueError } from '@alphadrop/core';
import { readBindings, type BindingKind, type BufferRole, type GpuPlan } from '@alphadrop/kernels/modules';
import { bindPlan, compare, runOnce, time, unfit, type Expected, type HarnessOptions, type HostData, type Timing } from '../harness/ladder.js';
import { fmt, fmtG, formatTable } from '../harness/table.js';

/** One entry of a kernel's bind group 0, at the index of its @binding(n). */
export type KernelBinding =
  /** A buffer the kernel reads: `var<storage, read>` (or read_write). */
  | { kind: 'input'; data: HostData }
  /** The kernel's uniform block: `var<uniform>` (at most one per kernel). */
  | { kind: 'uniform'; data: HostData }
  /** The checked result: `var<storage, read_write>` of `length` 4-byte words, cleared before the validating run. */
  | { kind: 'output'; length: number; dtype?: 'f32' | 'i32' | 'u32' }
  /** Working memory the kernel may use, never checked: `var<storage, read_write>`. */
  | { kind: 'scratch'; bytes: number };

/** The expected output: the array itself, or a host function of the input and uniform data (in binding order). */
export type KernelReference = ArrayLike<number> | ((inputs: readonly HostData[]) => ArrayLike<number>);

export interface KernelSpec {
  name: string;
  /** WGSL source with an entry point `main` and its buffers as `@group(0) @binding(n)`. */
  wgsl: string;
  bindings: readonly KernelBinding[];
  /** Workgroup counts [x, y, z] of one call. */
  dispatch: readonly [number, number, number];
  reference: KernelReference;
  /** An entry passes when |got − want| ≤ abs + rel·|want| (default abs 1e-6, rel 1e-5; integers compare exactly at 0). */
  tolerance?: { abs?: number; rel?: number };
  /** Floating-point operations of one call: the table gives GFLOP/s. */
  flops?: number;
  /** Bytes one call moves to and from memory: the table gives GB/s. */
  bytes?: number;
}

/** A kernel whose output differs from its reference: the first bad entry, and how many there are. */
export class KernelMismatchError extends AlphadropError {
  constructor(
    readonly kernel: string,
    readonly index: number,
    readonly got: number,
    readonly want: number,
    readonly badEntries: number,
    readonly checkedEntries: number,
  ) {
    super(`benchKernel(${kernel})`, `output[${index}] = ${want}`, `${got}`, `${badEntries} of ${checkedEntries} entries outside the tolerance; not timed`);
  }
}

export type KernelStage = 'compiled' | 'validated' | 'timed';

export interface BenchKernelOptions extends Omit<HarnessOptions, 'tol'> {
  /** Called as the benchmark passes each stage: a rejected kernel never reaches 'validated' or 'timed'. */
  onStage?: (stage: KernelStage) => void;
}

export interface KernelResult {
  name: string;
  /** Entries compared with the reference, and the largest |got − want| / (abs/rel + |want|) among them (≤ 1 passes). */
  checked: number;
  maxErr: number;
  compileMs: number;
  timing: Timing;
  gflops?: number;
  gbps?: number;
}

const WANTED_KIND: Record<KernelBinding['kind'], readonly BindingKind[]> = {
  input: ['read-only-storage', 'storage'],
  uniform: ['uniform'],
  output: ['storage'],
  scratch: ['storage'],
};

/** The spec as a one-program plan: roles in0.., out, tmp0.., uniform at the shader's binding numbers. */
function planOf(spec: KernelSpec, device: GPUDevice): { plan: GpuPlan; inputs: HostData[]; out: Extract<KernelBinding, { kind: 'output' }> } {
  const where = `benchKernel(${spec.name})`;
  const declared = readBindings(spec.wgsl);
  if (declared.length !== spec.bindings.length || declared.some((d, i) => d.binding !== i))
    throw new ValueError(where, `bindings 0..${spec.bindings.length - 1} declared in the WGSL (one per spec binding)`, `@binding(${declared.map((d) => d.binding).join(', ')})`);
  const roles: BufferRole[] = [];
  const inputs: HostData[] = [];
  const temps: number[] = [];
  let uniform: Uint32Array | undefined;
  let out: Extract<KernelBinding, { kind: 'output' }> | undefined;
  spec.bindings.forEach((b, i) => {
    const d = declared[i]!;
    if (!WANTED_KIND[b.kind].includes(d.kind)) throw new ValueError(where, `@binding(${i}) (${d.name}) declared as ${WANTED_KIND[b.kind].join(' or ')} for a ${b.kind} binding`, d.kind);
    if (b.kind === 'input') {
      roles.push(`in${inputs.length}`);
      inputs.push(b.data);
    } else if (b.kind === 'uniform') {
      if (uniform) throw new ValueError(where, 'at most one uniform binding', `a second one at @binding(${i})`);
      roles.push('uniform');
      uniform = new Uint32Array(b.data.buffer, b.data.byteOffset, b.data.length);
    } else if (b.kind === 'output') {
      if (out) throw new ValueError(where, 'exactly one output binding', `a second one at @binding(${i})`);
      if (!(Number.isInteger(b.length) && b.length > 0)) throw new ValueError(where, 'an output length in words (a positive integer)', String(b.length));
      roles.push('out');
      out = b;
    } else {
      roles.push(`tmp${temps.length}`);
      temps.push(b.bytes);
    }
  });
  if (!out) throw new ValueError(where, 'one output binding (the checked result)', 'none');
  const bad = spec.dispatch.length !== 3 || spec.dispatch.some((n) => !(Number.isInteger(n) && n >= 1));
  if (bad) throw new ValueError(where, 'dispatch [x, y, z] of positive integer workgroup counts', `[${spec.dispatch.join(', ')}]`);
  const why = unfit(device, 1, 0, spec.dispatch);
  if (why) throw new DeviceError(where, `a dispatch within maxComputeWorkgroupsPerDimension (${device.limits.maxComputeWorkgroupsPerDimension})`, `[${spec.dispatch.join(', ')}]: ${why}`);
  const plan: GpuPlan = { temps, programs: [{ name: spec.name, code: spec.wgsl, workgroups: spec.dispatch, bindings: roles, ...(uniform ? { uniform } : {}) }] };
  return { plan, inputs, out };
}

/**
 * What the output must hold: every entry, with compare()'s scale chosen so that its test
 * err ≤ tol reads |got − want| ≤ abs + rel·|want|.
 */
function expectedOf(spec: KernelSpec, length: number): { expected: Expected; tol: number } {
  const where = `benchKernel(${spec.name})`;
  const data = spec.bindings.flatMap((b) => (b.kind === 'input' || b.kind === 'uniform' ? [b.data] : []));
  const want = typeof spec.reference === 'function' ? spec.reference(data) : spec.reference;
  if (want.length !== length) throw new ValueError(where, `a reference of ${length} entries (the output's length)`, `${want.length}`);
  const abs = spec.tolerance?.abs ?? 1e-6;
  const rel = spec.tolerance?.rel ?? 1e-5;
  if (!(abs >= 0 && rel >= 0)) throw new ValueError(where, 'tolerances abs ≥ 0 and rel ≥ 0', `abs ${abs}, rel ${rel}`);
  const tol = rel > 0 ? rel : 1;
  const wanted = Float64Array.from(want);
  const scale = rel > 0 ? wanted.map((w) => Math.abs(w) + abs / rel) : new Float64Array(length).fill(abs);
  return { expected: { idx: Uint32Array.from({ length }, (_, i) => i), want: wanted, scale }, tol };
}

const reader = (dtype: 'f32' | 'i32' | 'u32' = 'f32') => (raw: ArrayBuffer) => (dtype === 'f32' ? new Float32Array(raw) : dtype === 'i32' ? new Int32Array(raw) : new Uint32Array(raw));

/**
 * Compiles, validates, then times one kernel. A spec that does not match its shader throws a
 * ValueError, a shader that does not compile a DeviceError, and an output that differs from
 * the reference a KernelMismatchError before anything is timed.
 */
export async function benchKernel(device: GPUDevice, spec: KernelSpec, options: BenchKernelOptions = {}): Promise<KernelResult> {
  const { plan, inputs, out } = planOf(spec, device);
  const { expected, tol } = expectedOf(spec, out.length);
  const t0 = performance.now();
  let bound;
  try {
    bound = await bindPlan(device, plan, { inputs, outWords: out.length }, options.wait);
  } catch (e) {
    throw new DeviceError(`benchKernel(${spec.name})`, 'WGSL that compiles and binds', e instanceof Error ? e.message : String(e));
  }
  try {
    options.onStage?.('compiled');
    const got = reader(out.dtype)(await runOnce(device, bound, options.wait));
    const compileMs = performance.now() - t0;
    const { maxErr, first } = compare(got, expected, tol);
    if (first) {
      let badEntries = 0;
      for (let i = 0; i < got.length; i++) if (!(Object.is(got[i], expected.want[i]) || Math.abs(got[i]! - expected.want[i]!) <= tol * expected.scale[i]!)) badEntries++;
      throw new KernelMismatchError(spec.name, first.index, first.got, first.want, badEntries, got.length);
    }
    options.onStage?.('validated');
    const timing = await time(device, bound, options);
    options.onStage?.('timed');
    const perSecond = (work: number | undefined) => (work === undefined ? undefined : work / (timing.msPerCall * 1e6));
    const g = perSecond(spec.flops);
    const b = perSecond(spec.bytes);
    return { name: spec.name, checked: got.length, maxErr: maxErr / tol, compileMs, timing, ...(g !== undefined ? { gflops: g } : {}), ...(b !== undefined ? { gbps: b } : {}) };
  } finally {
    bound.destroy();
  }
}

// ---------------------------------------------------------------- the table (Node and browser)

/** One row of the kernel table: plain data, so a page can hand it to the Node driver. */
export interface KernelRow {
  kernel: string;
  device: string;
  /** 'ok', or why the kernel was not timed. */
  validation: string;
  ok: boolean;
  /** The stages the kernel passed: a rejected kernel stops before 'validated' and is never timed. */
  stages: KernelStage[];
  /** The typed error's name when the kernel was rejected (KernelMismatchError, ValueError, DeviceError). */
  error?: string;
  maxErr?: number;
  msMedian?: number;
  msBest?: number;
  gflops?: number;
  gbps?: number;
  clock?: 'gpu' | 'host';
  reps?: number;
}

/** Runs every spec on one device, one row each; a rejected kernel's row says why and the run goes on. */
export async function benchKernels(device: GPUDevice, deviceName: string, specs: readonly KernelSpec[], options: BenchKernelOptions = {}, onRow?: (row: KernelRow) => void): Promise<KernelRow[]> {
  const rows: KernelRow[] = [];
  for (const spec of specs) {
    let row: KernelRow;
    const stages: KernelStage[] = [];
    const onStage = (s: KernelStage) => {
      stages.push(s);
      options.onStage?.(s);
    };
    try {
      const r = await benchKernel(device, spec, { ...options, onStage });
      row = {
        kernel: spec.name, device: deviceName, validation: `ok (${r.checked} entries)`, ok: true, stages, maxErr: r.maxErr,
        msMedian: r.timing.msPerCall, msBest: r.timing.msBest, clock: r.timing.clock, reps: r.timing.reps,
        ...(r.gflops !== undefined ? { gflops: r.gflops } : {}), ...(r.gbps !== undefined ? { gbps: r.gbps } : {}),
      };
    } catch (e) {
      const name = e instanceof Error ? e.name : 'Error';
      row = { kernel: spec.name, device: deviceName, validation: `FAIL ${e instanceof Error ? e.message : String(e)}`, ok: false, stages, error: name };
    }
    rows.push(row);
    onRow?.(row);
  }
  return rows;
}

const ms = (v: number | undefined) => (v === undefined ? '—' : v >= 100 ? v.toFixed(1) : v.toPrecision(3));
const rate = (v: number | undefined) => (v === undefined ? '—' : fmtG(v));

/** The kernel table, the same wherever it ran: a rejected kernel's reason follows the table. */
export function formatKernelTable(rows: readonly KernelRow[]): string {
  const table = formatTable(
    ['kernel', 'device', 'valid', 'max err/tol', 'median ms', 'best ms', 'GFLOP/s', 'GB/s', 'clock', 'R'],
    rows.map((r) => [
      r.kernel, r.device, r.ok ? 'ok' : 'FAIL', r.maxErr === undefined ? '—' : fmt(r.maxErr, 3), ms(r.msMedian), ms(r.msBest), rate(r.gflops), rate(r.gbps),
      r.clock === undefined ? '—' : r.clock === 'gpu' ? 'gpu timestamps' : 'host clock', r.reps === undefined ? '—' : String(r.reps),
    ]),
    2,
  );
  const failures = rows.filter((r) => !r.ok).map((r) => `  ${r.kernel} on ${r.device}: ${r.error ?? 'Error'}: ${r.validation.replace(/^FAIL /, '')}`);
  return failures.length ? `${table}\nnot timed:\n${failures.join('\n')}` : table;
}
