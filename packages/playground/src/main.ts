// The playground page: starts the training worker (worker.ts) with the configuration of
// DEFAULT_CONFIG and the URL query, and shows what it reports through protocol.ts: the
// backend, live curves per α, the drawn digit's predictive distribution, the FGS attack,
// the out-of-distribution row, and checkpoint download and upload. Everything heavy runs in
// the worker; the page only draws. The page's state is published on window.__playground so
// that the browser tests (test/browser/playground.test.ts) can read what a user would see.

import './style.css';
import type { CurvePoint, Prediction, Reply, TrainConfig } from './protocol.js';
import { configFromQuery } from './query-config.js';
import { dataUrls } from './data-routes.js';
import { WorkerClient } from './worker-client.js';
import { CurveCharts } from './charts.js';
import { DrawPad, imageCanvas } from './draw-pad.js';
import { Controls } from './controls.js';
import { renderPredictions } from './prediction-view.js';
import { renderFgs, renderOod, oodSummary } from './attack-views.js';
import { alphaColor, alphaLabel } from './palette.js';

/** What the page shows, as data: read by the browser tests. */
export interface PlaygroundState {
  ready: boolean;
  backend?: 'webgpu' | 'cpu';
  adapter?: string;
  fallbackReason?: string;
  /** The configuration the worker runs (its 'ready' answer), else the requested one. */
  config: TrainConfig;
  /** Every curve point since the last (re)start, in arrival order. */
  points: CurvePoint[];
  stepsPerSecond: number;
  paused: boolean;
  /** The last drawn digit (28×28, row-major) and its predictions; `count` goes up by one per answer. */
  lastPrediction?: { pixels: number[]; predictions: Prediction[]; count: number };
  lastFgs?: { eta: number; rows: { alpha: number; accuracy: number; meanEntropy: number }[] };
  lastOod?: { rows: { alpha: number; fashionEntropy: number[]; digitEntropy: number[] }[] };
  downloads: { alpha: number; fileName: string; bytes: number }[];
  errors: string[];
}

declare global {
  interface Window {
    __playground: PlaygroundState;
  }
}

/** Digits attacked per FGS request: enough for a readable accuracy, cheap on a software GPU. */
const FGS_DIGITS = 100;
/** FGS and out-of-distribution panels refresh this often while training runs. */
const REFRESH_MS = 15_000;
/** The drawn digit is predicted again at most this often while the models learn. */
const REPREDICT_MS = 3_000;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const query = configFromQuery(location.search);
const state: PlaygroundState = { ready: false, config: query.config, points: [], stepsPerSecond: 0, paused: false, downloads: [], errors: [] };
window.__playground = state;

function reportError(message: string): void {
  state.errors.push(message);
  const li = document.createElement('li');
  li.textContent = message;
  $('errors').append(li);
  $('errors').hidden = false;
}
for (const p of query.problems) reportError(p);
window.addEventListener('unhandledrejection', (e) => reportError(`unhandled: ${e.reason instanceof Error ? e.reason.message : String(e.reason)}`));

const charts = new CurveCharts($('charts'), reportError);
const pad = new DrawPad($('pad'), (pixels) => void predict(pixels));
const controls = new Controls($('controls'), query.config, {
  restart: (config) => start(config),
  learningRate: (learningRate) => {
    worker().post({ type: 'set', learningRate });
    state.config = { ...state.config, learningRate };
    controls.say(`learning rate ${learningRate}`);
  },
  togglePause: () => worker().post({ type: state.paused ? 'resume' : 'pause' }),
  download: (alpha) => void download(alpha).catch((e: unknown) => controls.say(`download failed: ${messageOf(e)}`)),
  upload: (file) => void upload(file).catch((e: unknown) => controls.say(`upload of ${file.name} failed: ${messageOf(e)}`)),
});

let alphas: number[] = [];

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A training worker, or null after it crashed (the next start makes a new one). */
let client: WorkerClient | null = null;

function start(config: TrainConfig): void {
  Object.assign(state, { ready: false, config, points: [], stepsPerSecond: 0, paused: false });
  delete state.lastFgs;
  delete state.lastOod;
  charts.clear();
  setAlphas(config.alphas);
  controls.setPaused(false);
  $('status').textContent = 'loading the data and starting the models…';
  // a second 'start' replaces the worker's session but keeps its device
  worker().post({ type: 'start', config, data: dataUrls(location.href) });
}

function worker(): WorkerClient {
  if (client) return client;
  // a module worker, so the bundle may use import.meta and top-level await
  const w = new Worker(new URL('./worker.js', location.href), { type: 'module', name: 'alphadrop training' });
  const made = new WorkerClient(w, onReply, (message) => {
    reportError(message);
    made.terminate();
    if (client === made) client = null;
  });
  return (client = made);
}

function setAlphas(next: number[]): void {
  alphas = [...next].sort((a, b) => a - b);
  void charts.setAlphas(alphas);
  controls.setAlphas(alphas);
  $('legend').replaceChildren(
    ...alphas.map((a) => {
      const s = document.createElement('span');
      s.className = 'legend-item';
      s.style.setProperty('--series', alphaColor(a));
      s.textContent = alphaLabel(a);
      return s;
    }),
  );
}

function onReply(reply: Reply): void {
  switch (reply.type) {
    case 'ready':
      return onReady(reply);
    case 'progress': {
      // a restarted worker may still report its previous session until 'ready' says otherwise
      if (!state.ready) return;
      state.points.push(...reply.points);
      state.stepsPerSecond = reply.stepsPerSecond;
      state.paused = reply.paused;
      controls.setPaused(reply.paused);
      charts.add(reply.points);
      showStatus();
      if (!reply.paused && pad.hasInk && Date.now() - lastPredictAt > REPREDICT_MS) void predict(pad.pixels());
      return;
    }
    case 'failed':
      return reportError(`training worker: ${reply.message}`);
    default:
      return reportError(`training worker: an unexpected '${reply.type}' message`);
  }
}

function onReady(reply: Extract<Reply, { type: 'ready' }>): void {
  Object.assign(state, { ready: true, backend: reply.backend, adapter: reply.adapter, config: reply.config });
  if (reply.fallbackReason !== undefined) state.fallbackReason = reply.fallbackReason;
  $('backend').textContent = reply.backend === 'webgpu' ? 'WebGPU' : 'CPU';
  $('backend').dataset.backend = reply.backend;
  $('adapter').textContent = reply.adapter;
  const banner = $('fallback');
  banner.hidden = reply.backend === 'webgpu';
  banner.textContent = reply.backend === 'webgpu' ? '' : `Training on the CPU, far slower than a GPU. ${reply.fallbackReason ? `Why: ${reply.fallbackReason}.` : ''}`.trim();
  controls.show(reply.config);
  setAlphas(reply.config.alphas);
  showStatus();
  void refreshFgs();
  void refreshOod();
}

function showStatus(): void {
  const last = state.points[state.points.length - 1];
  const where = last ? `step ${last.step} · epoch ${last.epoch.toFixed(2)}` : 'step 0';
  const speed = state.stepsPerSecond > 0 ? ` · ${state.stepsPerSecond.toFixed(1)} steps/s` : '';
  $('status').textContent = `${where}${speed}${state.paused ? ' · paused' : ''}`;
}

let lastPredictAt = 0;
let predictions = 0;
async function predict(pixels: Float32Array): Promise<void> {
  if (!state.ready) return void ($('prediction-note').textContent = 'the models are still starting; draw again in a moment');
  lastPredictAt = Date.now();
  $('seen').replaceChildren(imageCanvas(pixels, 'digit large'));
  try {
    const reply = await worker().ask({ type: 'predict', pixels });
    state.lastPrediction = { pixels: Array.from(pixels), predictions: reply.predictions, count: ++predictions };
    renderPredictions($('predictions'), reply.predictions);
    $('prediction-note').textContent = `K = ${state.config.testSamples} dropout samples per model`;
  } catch (e) {
    reportError(`prediction: ${messageOf(e)}`);
  }
}

/** One request of a kind at a time; a request asked for meanwhile runs after it, once. */
function serialised(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null, again = false;
  const go = async (): Promise<void> => {
    if (running) return void (again = true);
    running = run().catch((e: unknown) => reportError(messageOf(e)));
    await running;
    running = null;
    if (again) {
      again = false;
      await go();
    }
  };
  return go;
}

const eta = $<HTMLInputElement>('eta');
const refreshFgs = serialised(async () => {
  if (!state.ready) return;
  const value = Number(eta.value);
  const reply = await worker().ask({ type: 'fgs', eta: value, count: Math.min(FGS_DIGITS, state.config.testSize) });
  state.lastFgs = { eta: reply.eta, rows: reply.rows };
  renderFgs($('fgs-table'), $('fgs-images'), reply);
  $('fgs-note').textContent = `${Math.min(FGS_DIGITS, state.config.testSize)} test digits attacked at η = ${reply.eta.toFixed(2)}`;
});
eta.addEventListener('input', () => {
  $('eta-value').textContent = Number(eta.value).toFixed(2);
  void refreshFgs();
});

const refreshOod = serialised(async () => {
  if (!state.ready) return;
  const reply = await worker().ask({ type: 'ood' });
  state.lastOod = { rows: reply.rows };
  renderOod($('fashion-row'), $('digit-row'), reply);
  $('ood-note').textContent = oodSummary(reply);
});

setInterval(() => {
  if (!state.ready || state.paused) return;
  void refreshFgs();
  void refreshOod();
}, REFRESH_MS);

$('clear').addEventListener('click', () => {
  pad.clear();
  $('predictions').replaceChildren();
  $('seen').replaceChildren();
});

async function download(alpha: number): Promise<void> {
  const reply = await worker().ask({ type: 'export', alpha });
  // a copy in a fresh ArrayBuffer: Blob parts may not view shared memory
  const url = URL.createObjectURL(new Blob([reply.bytes.slice()], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = reply.fileName;
  document.body.append(link);
  link.click();
  link.remove();
  // revoking at once can cancel the download before the browser has read the blob
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  state.downloads.push({ alpha, fileName: reply.fileName, bytes: reply.bytes.length });
  controls.say(`saved ${reply.fileName} (${(reply.bytes.length / 1024).toFixed(0)} KiB)`);
}

async function upload(file: File): Promise<void> {
  const reply = await worker().ask({ type: 'import', bytes: new Uint8Array(await file.arrayBuffer()) });
  if (!alphas.includes(reply.alpha)) setAlphas([...alphas, reply.alpha]);
  controls.say(`loaded ${file.name} as the model of ${alphaLabel(reply.alpha)}`);
  if (pad.hasInk) void predict(pad.pixels());
  void refreshFgs();
  void refreshOod();
}

start(query.config);
