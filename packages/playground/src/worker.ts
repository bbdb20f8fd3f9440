// The playground's Web Worker: training runs here so the page stays responsive (WebGPU is
// available in workers). On 'start' it installs a backend (kernels' init; when WebGPU is not
// found it falls back to the CPU and says why in 'ready'), fetches the data, builds a
// TrainingSession and trains in slices of about SLICE_MS, yielding to the message queue
// between slices so that pause, resume, a learning-rate change or a request is handled
// within one slice. Every piece of session work (a slice, a prediction, an attack, an
// export or import) runs one at a time through `exclusive`: a request never sees a model in
// the middle of a step or an evaluation. The messages are protocol.ts's.

import { init, preferWasmCpu, type Initialized } from '@alphadrop/kernels';
import { fetchSessionData } from './data.js';
import type { Reply, Request, TrainConfig } from './protocol.js';
import { TrainingSession } from './session.js';

/** Training time per slice: long enough to keep the device busy, short enough for the page to feel live. */
const SLICE_MS = 75;

interface WorkerScope {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(message: Reply, transfer?: Transferable[]): void;
}
const scope = globalThis as unknown as WorkerScope;

let backend: { handle: Initialized; asked: TrainConfig['backend'] } | null = null;
let session: TrainingSession | null = null;
/** Bumped by every 'start': a loop of an older session stops. */
let generation = 0;
let wake: (() => void) | null = null;
let queue: Promise<unknown> = Promise.resolve();

const post = (reply: Reply, transfer: Transferable[] = []) => scope.postMessage(reply, transfer);
const messageOf = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Runs `work` after every piece of session work queued before it. */
function exclusive<T>(work: () => Promise<T>): Promise<T> {
  const run = queue.then(work);
  queue = run.catch(() => {});
  return run;
}

function live(): TrainingSession {
  if (!session) throw new Error('no training session yet: send start first');
  return session;
}

/** The backend the config asks for; WebGPU that cannot be had falls back to the CPU, with the reason. */
async function installBackend(asked: TrainConfig['backend']): Promise<{ kind: 'webgpu' | 'cpu'; adapter: string; fallbackReason?: string }> {
  if (backend?.asked !== asked) {
    await backend?.handle.shutdown();
    backend = null;
    let handle: Initialized;
    try {
      handle = await preferWasmCpu(await init({ backend: asked }));
    } catch (err) {
      // only 'webgpu' throws; the page still trains, on the CPU, and says why
      handle = await preferWasmCpu(await init({ backend: 'cpu' }));
      backend = { handle, asked };
      return { kind: 'cpu', adapter: 'cpu', fallbackReason: messageOf(err) };
    }
    backend = { handle, asked };
  }
  const { kind, description } = backend.handle;
  // init describes a CPU fallback as "cpu (<why>)", or "cpu, wasm simd (<why>)" on the Wasm kernels
  const why = kind === 'cpu' && asked !== 'cpu' ? /^cpu[^(]*\((.*)\)$/s.exec(description)?.[1] : undefined;
  // on the CPU the adapter line names the kernels: 'cpu', 'cpu, wasm simd' or 'cpu, wasm simd, N threads'
  return { kind, adapter: kind === 'cpu' ? description.replace(/ \(.*$/s, '') : description, ...(why ? { fallbackReason: why } : {}) };
}

async function start(config: TrainConfig, urls: Parameters<typeof fetchSessionData>[0]): Promise<void> {
  const mine = ++generation;
  wake?.();
  await exclusive(async () => {
    await session?.dispose();
    session = null;
  });
  const [picked, data] = await Promise.all([installBackend(config.backend), fetchSessionData(urls)]);
  if (mine !== generation) return; // a newer start took over while this one loaded
  session = await exclusive(async () => new TrainingSession(config, data));
  post({ type: 'ready', backend: picked.kind, adapter: picked.adapter, ...(picked.fallbackReason ? { fallbackReason: picked.fallbackReason } : {}), config: session.config });
  void loop(mine, session);
}

/** Trains slice after slice until paused (then waits for resume) or replaced by a newer start. */
async function loop(mine: number, s: TrainingSession): Promise<void> {
  while (mine === generation) {
    if (s.isPaused) {
      post({ type: 'progress', points: [], stepsPerSecond: 0, paused: true });
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      continue;
    }
    try {
      const slice = await exclusive(() => s.runFor(SLICE_MS));
      if (mine !== generation) return;
      post({ type: 'progress', points: slice.points, stepsPerSecond: slice.seconds > 0 ? slice.steps / slice.seconds : 0, paused: s.isPaused });
    } catch (err) {
      // a diverged run (NonFiniteError) or a lost device: stop training, keep the models for inspection
      s.pause();
      post({ type: 'failed', message: messageOf(err) });
    }
    await nextTask(); // let the queued messages run
  }
}

async function handle(req: Request): Promise<void> {
  switch (req.type) {
    case 'start':
      return start(req.config, req.data);
    case 'pause':
      live().pause();
      return;
    case 'resume':
      live().resume();
      wake?.();
      return;
    case 'set':
      live().setLearningRate(req.learningRate);
      return;
    case 'predict': {
      const predictions = await exclusive(() => live().predict(req.pixels));
      return post({ type: 'predicted', id: req.id, predictions });
    }
    case 'fgs': {
      const { rows, images } = await exclusive(() => live().fgs(req.eta, req.count));
      return post({ type: 'fgsDone', id: req.id, eta: req.eta, rows, images });
    }
    case 'ood': {
      const r = await exclusive(() => live().ood());
      return post({ type: 'oodDone', id: req.id, ...r });
    }
    case 'export': {
      const { bytes, fileName } = await exclusive(() => live().exportCheckpoint(req.alpha));
      return post({ type: 'exported', id: req.id, alpha: req.alpha, bytes, fileName }, [bytes.buffer]);
    }
    case 'import': {
      const alpha = await exclusive(async () => live().importCheckpoint(req.bytes));
      return post({ type: 'imported', id: req.id, alpha });
    }
  }
}

scope.onmessage = (e) => {
  const req = e.data;
  handle(req).catch((err) => post({ type: 'failed', ...('id' in req ? { id: req.id } : {}), message: messageOf(err) }));
};
