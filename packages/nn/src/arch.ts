// Architecture as data: a model is a list of layer descriptions that can be written into a
// checkpoint's metadata (JSON) and rebuilt from it alone. buildModel() turns the list into
// a Sequential; describeModel() gives the list back from a Sequential. The paper's two
// model families are named builders over it: mlpArchitecture (any width and depth) and
// paperCnnArchitecture (spec §b.3). Validation runs before any tensor is allocated, and
// infers each layer's per-example output shape, so a corrupt list (a linear layer whose
// `in` is not the previous layer's output size) is refused by name, not deep in a matmul.

import { AlphadropError, DataError, derive, rootKey, ValueError, type Key } from '@alphadrop/core';
import type { Module } from './module.js';
import { Dropout } from './layers/dropout.js';
import { Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sigmoid, Tanh } from './layers/layers.js';
import { Reshape } from './layers/reshape.js';
import { Sequential } from './layers/sequential.js';

export type LayerSpec =
  | { kind: 'linear'; in: number; out: number; bias?: boolean }
  | { kind: 'conv2d'; inChannels: number; outChannels: number; kernel: number; stride: number; padding: number; bias?: boolean }
  | { kind: 'maxpool2d'; kernel: number; stride: number }
  | { kind: 'reshape'; shape: number[] }
  | { kind: 'flatten' }
  | { kind: 'relu' }
  | { kind: 'tanh' }
  | { kind: 'sigmoid' }
  | { kind: 'dropout'; rate: number };

/** A model as data: its layers in order (inputs are [N, ...] with N the batch axis). */
export type Architecture = LayerSpec[];

export const LAYER_KINDS = ['linear', 'conv2d', 'maxpool2d', 'reshape', 'flatten', 'relu', 'tanh', 'sigmoid', 'dropout'] as const;
export type LayerKind = (typeof LAYER_KINDS)[number];

type ErrorClass = new (where: string, expected: string, received: string, detail?: string) => AlphadropError;

const show = (v: unknown): string => (v === undefined ? 'nothing' : typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function positiveInt(E: ErrorClass, where: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new E(where, `an integer ≥ ${min}`, show(v));
  return v;
}

/** Fields each kind takes (anything else is refused: a typo must not be ignored). */
const FIELDS: Record<LayerKind, readonly string[]> = {
  linear: ['in', 'out', 'bias'],
  conv2d: ['inChannels', 'outChannels', 'kernel', 'stride', 'padding', 'bias'],
  maxpool2d: ['kernel', 'stride'],
  reshape: ['shape'],
  flatten: [],
  relu: [],
  tanh: [],
  sigmoid: [],
  dropout: ['rate'],
};

function parseLayer(E: ErrorClass, where: string, v: unknown): LayerSpec {
  if (!isRecord(v)) throw new E(where, 'a layer object {kind, ...}', show(v));
  const kind = v.kind;
  if (typeof kind !== 'string' || !(LAYER_KINDS as readonly string[]).includes(kind))
    throw new E(`${where}.kind`, `one of ${LAYER_KINDS.join(', ')}`, show(kind));
  const k = kind as LayerKind;
  const extra = Object.keys(v).filter((f) => f !== 'kind' && !FIELDS[k].includes(f));
  if (extra.length > 0) throw new E(where, `only the fields kind, ${FIELDS[k].join(', ') || '(none)'} for a ${k} layer`, `field ${JSON.stringify(extra[0])}`);
  const bias = (): { bias?: boolean } => {
    if (v.bias === undefined) return {};
    if (typeof v.bias !== 'boolean') throw new E(`${where}.bias`, 'true or false', show(v.bias));
    return { bias: v.bias };
  };
  switch (k) {
    case 'linear':
      return { kind: k, in: positiveInt(E, `${where}.in`, v.in), out: positiveInt(E, `${where}.out`, v.out), ...bias() };
    case 'conv2d':
      return {
        kind: k,
        inChannels: positiveInt(E, `${where}.inChannels`, v.inChannels),
        outChannels: positiveInt(E, `${where}.outChannels`, v.outChannels),
        kernel: positiveInt(E, `${where}.kernel`, v.kernel),
        stride: positiveInt(E, `${where}.stride`, v.stride),
        padding: positiveInt(E, `${where}.padding`, v.padding, 0),
        ...bias(),
      };
    case 'maxpool2d':
      return { kind: k, kernel: positiveInt(E, `${where}.kernel`, v.kernel), stride: positiveInt(E, `${where}.stride`, v.stride) };
    case 'reshape': {
      if (!Array.isArray(v.shape) || v.shape.length === 0) throw new E(`${where}.shape`, 'a non-empty array of positive integers', show(v.shape));
      return { kind: k, shape: v.shape.map((d, i) => positiveInt(E, `${where}.shape[${i}]`, d)) };
    }
    case 'dropout': {
      const r = v.rate;
      if (typeof r !== 'number' || !(r >= 0 && r < 1)) throw new E(`${where}.rate`, 'a dropout rate in [0, 1)', show(r));
      return { kind: k, rate: r };
    }
    default:
      return { kind: k };
  }
}

/** Per-example output shape of each layer; null while unknown (before the first sized layer). */
function inferShapes(E: ErrorClass, where: string, layers: readonly LayerSpec[]): void {
  let shape: number[] | null = null;
  const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
  layers.forEach((l, i) => {
    const at = `${where}[${i}] (${l.kind})`;
    switch (l.kind) {
      case 'reshape':
        if (shape && size(shape) !== size(l.shape)) throw new E(at, `a shape of ${size(shape)} values (the input [${shape}])`, `[${l.shape}]`);
        shape = [...l.shape];
        break;
      case 'linear':
        if (shape && (shape.length !== 1 || shape[0] !== l.in)) throw new E(`${at}.in`, `the input's size [${shape}]`, String(l.in), 'flatten before a linear layer');
        shape = [l.out];
        break;
      case 'conv2d':
      case 'maxpool2d': {
        const pad = l.kind === 'conv2d' ? l.padding : 0;
        if (!shape) break; // sizes unknown until a reshape names them
        if (shape.length !== 3) throw new E(at, 'a [channels, height, width] input', `[${shape}]`);
        if (l.kind === 'conv2d' && shape[0] !== l.inChannels) throw new E(`${at}.inChannels`, `the input's ${shape[0]} channels`, String(l.inChannels));
        const out = (d: number) => Math.floor((d + 2 * pad - l.kernel) / l.stride) + 1;
        const [c, h, w] = shape as [number, number, number];
        if (out(h) < 1 || out(w) < 1) throw new E(`${at}.kernel`, `a window that fits the ${h}×${w} input`, String(l.kernel));
        shape = [l.kind === 'conv2d' ? l.outChannels : c, out(h), out(w)];
        break;
      }
      case 'flatten':
        if (shape) shape = [size(shape)];
        break;
      default:
        break;
    }
  });
}

function validate(E: ErrorClass, where: string, value: unknown): Architecture {
  if (!Array.isArray(value) || value.length === 0) throw new E(where, 'a non-empty array of layers', show(value));
  const layers = value.map((v, i) => parseLayer(E, `${where}[${i}]`, v));
  if (!layers.some((l) => l.kind === 'linear' || l.kind === 'conv2d')) throw new E(where, 'at least one linear or conv2d layer', JSON.stringify(layers.map((l) => l.kind)));
  inferShapes(E, where, layers);
  return layers;
}

/** Validates an architecture read from a file: DataError naming `source` and the field. */
export function parseArchitecture(value: unknown, source: string): Architecture {
  return validate(DataError, source, value);
}

/**
 * Builds the model an architecture describes. Layer i's weights are initialised from
 * derive(rootKey(seed), 'init', i): a pure function of (seed, position), any backend.
 */
export function buildModel(arch: readonly LayerSpec[], opts: { seed?: number } = {}): Sequential {
  const root = rootKey(opts.seed ?? 0);
  // each layer's initial weights: derive(root, 'init', its index in the list)
  return sequentialOf(validate(ValueError, 'buildModel: architecture', arch), (i) => ({ key: derive(root, 'init', i) }));
}

/**
 * The Sequential of validated layers; `init(i)` is layer i's initialisation: one key, or the
 * keys of a model batch (batch/model-batch.ts, which admits only layers that take them).
 */
export function sequentialOf(layers: readonly LayerSpec[], init: (i: number) => { key: Key } | { keys: readonly Key[] }): Sequential {
  const modules = layers.map((l, i): Module => {
    const bias = l.kind === 'linear' || l.kind === 'conv2d' ? (l.bias === false ? { bias: false } : {}) : {};
    switch (l.kind) {
      case 'linear':
        return new Linear(l.in, l.out, { ...init(i), ...bias });
      case 'conv2d': {
        const k = init(i);
        if (!('key' in k)) throw new ValueError(`layer ${i} (conv2d)`, 'one initialisation key (convolutions have no model axis)', 'a model batch');
        return new Conv2d(l.inChannels, l.outChannels, l.kernel, { stride: l.stride, padding: l.padding, key: k.key, ...bias });
      }
      case 'maxpool2d':
        return new MaxPool2d(l.kernel, { stride: l.stride });
      case 'reshape':
        return new Reshape(l.shape);
      case 'flatten':
        return new Flatten();
      case 'relu':
        return new ReLU();
      case 'tanh':
        return new Tanh();
      case 'sigmoid':
        return new Sigmoid();
      case 'dropout':
        return new Dropout(l.rate);
    }
  });
  return new Sequential(modules);
}

function square(where: string, v: number | readonly [number, number] | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  if (v[0] !== v[1]) throw new ValueError(where, 'a square window (the architecture format holds one size)', `[${v}]`);
  return v[0];
}

/** The architecture of a Sequential built from the layers this module knows. */
export function describeModel(model: Sequential): Architecture {
  return model.layers.map((l, i): LayerSpec => {
    const at = `describeModel: layer ${i}`;
    if (l instanceof Linear) return { kind: 'linear', in: l.inFeatures, out: l.outFeatures, ...(l.hasBias ? {} : { bias: false }) };
    if (l instanceof Conv2d) {
      if (square(at, l.options.dilation, 1) !== 1) throw new ValueError(at, 'a conv2d without dilation', String(l.options.dilation));
      return {
        kind: 'conv2d', inChannels: l.inChannels, outChannels: l.outChannels, kernel: square(at, l.kernel, 1),
        stride: square(at, l.options.stride, 1), padding: square(at, l.options.padding, 0), ...(l.hasBias ? {} : { bias: false }),
      };
    }
    if (l instanceof MaxPool2d) {
      if (square(at, l.options.padding, 0) !== 0) throw new ValueError(at, 'a max-pool without padding', String(l.options.padding));
      const kernel = square(at, l.kernel, 1);
      return { kind: 'maxpool2d', kernel, stride: square(at, l.options.stride, kernel) };
    }
    if (l instanceof Reshape) return { kind: 'reshape', shape: [...l.shape] };
    if (l instanceof Flatten) return { kind: 'flatten' };
    if (l instanceof ReLU) return { kind: 'relu' };
    if (l instanceof Tanh) return { kind: 'tanh' };
    if (l instanceof Sigmoid) return { kind: 'sigmoid' };
    if (l instanceof Dropout) return { kind: 'dropout', rate: l.rate };
    throw new ValueError(at, `one of the layers ${LAYER_KINDS.join(', ')}`, l.constructor.name);
  });
}

export function checkRate(where: string, rate: unknown): number {
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) throw new ValueError(where, 'a dropout rate in [0, 1)', show(rate));
  return rate;
}

/** The paper's MLP: dropout (rate) before every linear layer, the input's too unless `inputDropout: false`; ReLU between. */
export function mlpArchitecture(sizes: readonly number[], opts: { dropout?: number; inputDropout?: boolean } = {}): Architecture {
  if (sizes.length < 2) throw new ValueError('mlp', 'at least two layer sizes (inputs and outputs)', `[${sizes}]`);
  sizes.forEach((s, i) => positiveInt(ValueError, `mlp: sizes[${i}]`, s));
  const rate = checkRate('mlp: dropout', opts.dropout ?? 0);
  const layers: Architecture = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    if (rate > 0 && (i > 0 || opts.inputDropout !== false)) layers.push({ kind: 'dropout', rate });
    layers.push({ kind: 'linear', in: sizes[i]!, out: sizes[i + 1]! });
    if (i + 2 < sizes.length) layers.push({ kind: 'relu' });
  }
  return layers;
}

/**
 * The paper's MNIST CNN (spec §b.3, the authors' `get_logit_cnn_layers`): conv 32@3×3
 * (valid) → ReLU → conv 32@3×3 → ReLU → max-pool 2×2 → flatten → dropout → dense 100 →
 * ReLU → dropout → dense 10; no dropout before the convolutions. Inputs [N, 784]; with
 * `image` [channels, height, width] (each side ≥ 6) and `classes`, the same layers for
 * other images (`alphadrop train --conv paper-cnn`).
 */
export function paperCnnArchitecture(opts: { dropout?: number; image?: readonly [number, number, number]; classes?: number } = {}): Architecture {
  const rate = checkRate('paperCnn: dropout', opts.dropout ?? 0.5);
  const drop: LayerSpec[] = rate > 0 ? [{ kind: 'dropout', rate }] : [];
  const [c, h, w] = opts.image ?? [1, 28, 28];
  [c, h, w].forEach((v, i) => positiveInt(ValueError, `paperCnn: image[${i}]`, v));
  if (h < 6 || w < 6) throw new ValueError('paperCnn: image', 'height and width ≥ 6 (two 3×3 convolutions and a 2×2 pool)', `${h}×${w}`);
  const classes = positiveInt(ValueError, 'paperCnn: classes', opts.classes ?? 10);
  const pooled = 32 * Math.floor((h - 4) / 2) * Math.floor((w - 4) / 2);
  return [
    { kind: 'reshape', shape: [c, h, w] },
    { kind: 'conv2d', inChannels: c, outChannels: 32, kernel: 3, stride: 1, padding: 0 },
    { kind: 'relu' },
    { kind: 'conv2d', inChannels: 32, outChannels: 32, kernel: 3, stride: 1, padding: 0 },
    { kind: 'relu' },
    { kind: 'maxpool2d', kernel: 2, stride: 2 },
    { kind: 'flatten' },
    ...drop,
    { kind: 'linear', in: pooled, out: 100 },
    { kind: 'relu' },
    ...drop,
    { kind: 'linear', in: 100, out: classes },
  ];
}

export function paperCnn(opts: { dropout?: number; seed?: number } = {}): Sequential {
  return buildModel(paperCnnArchitecture(opts), { seed: opts.seed ?? 0 });
}

/** One line for logs: "784-100-100-10 MLP, dropout 0.5" or the layer kinds in order. */
export function describeArchitecture(arch: readonly LayerSpec[]): string {
  const rates = [...new Set(arch.flatMap((l) => (l.kind === 'dropout' ? [l.rate] : [])))];
  const dropout = rates.length === 0 ? 'no dropout' : `dropout ${rates.join('/')}`;
  const linears = arch.filter((l): l is Extract<LayerSpec, { kind: 'linear' }> => l.kind === 'linear');
  if (linears.length === arch.filter((l) => l.kind !== 'dropout' && l.kind !== 'relu').length)
    return `${[linears[0]!.in, ...linears.map((l) => l.out)].join('-')} MLP, ${dropout}`;
  return `${arch.filter((l) => l.kind !== 'dropout').map((l) => (l.kind === 'conv2d' ? `conv${l.outChannels}@${l.kernel}×${l.kernel}` : l.kind === 'linear' ? `dense${l.out}` : l.kind)).join(' → ')}, ${dropout}`;
}

/** The dropout rates of an architecture, in order. */
export function dropoutRates(arch: readonly LayerSpec[]): number[] {
  return arch.flatMap((l) => (l.kind === 'dropout' ? [l.rate] : []));
}

/**
 * The architecture with every dropout layer's rate set to `rate` (0 keeps the layer,
 * inactive, so parameter names stay those of the original). Layers are not added where
 * there were none.
 */
export function withDropoutRate(arch: readonly LayerSpec[], rate: number): Architecture {
  checkRate('withDropoutRate', rate);
  return arch.map((l): LayerSpec => (l.kind === 'dropout' ? { kind: 'dropout', rate } : l));
}

/** The paper's MLP: dropout before every Linear (the input included), ReLU between (arch.ts). */
export function mlp(sizes: readonly number[], opts: { dropout?: number; seed?: number; inputDropout?: boolean } = {}): Sequential {
  const { seed, ...layout } = opts;
  return buildModel(mlpArchitecture(sizes, layout), { seed: seed ?? 0 });
}
