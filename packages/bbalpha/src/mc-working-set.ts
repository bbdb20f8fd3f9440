// The size guard of Monte Carlo tiles for a model: per-row activation sizes from the model's
// layers and the input's row shape (no forward pass, nothing allocated), then core's
// checkWorkingSet against the backend's limits. mcForward and the training entry points
// call it before they tile M inputs into M·K rows.

import { ShapeError, type Backend, type DType, type Shape } from '@alphadrop/core';
import { checkWorkingSet, fmtShape, sizeOf, windowOut, type WorkingSetEstimate } from '@alphadrop/core/backend';
import { Conv2d, Flatten, Linear, MaxPool2d, Reshape, Sequential, type Module } from '@alphadrop/nn';

/** What mcForward names when it cannot tell training from prediction. */
export const MC_TILE_FLAGS = 'samples (--samples / --test-samples, or the prediction chunk) or the inputs per pass (batchSize / --batch-size)';

const pair = (v: number | readonly [number, number] | undefined, dflt: number): readonly [number, number] =>
  v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : v;

/** The row shape after `layer`, for the layer kinds whose output size differs from their input's. */
function rowShapeAfter(layer: Module, row: Shape): Shape {
  if (layer instanceof Linear) return [layer.outFeatures];
  if (layer instanceof Flatten) return [sizeOf(row)];
  if (layer instanceof Reshape) return [...layer.shape];
  if ((layer instanceof Conv2d || layer instanceof MaxPool2d) && row.length !== 3)
    throw new ShapeError('mcWorkingSet', `a [C, H, W] input row before ${layer.constructor.name}`, fmtShape(row));
  if (layer instanceof Conv2d) {
    const [kh, kw] = pair(layer.kernel, 1);
    const [sh, sw] = pair(layer.options.stride, 1);
    const [ph, pw] = pair(layer.options.padding, 0);
    const [dh, dw] = pair(layer.options.dilation, 1);
    return [layer.outChannels, windowOut(row[1]!, kh, sh, ph, dh), windowOut(row[2]!, kw, sw, pw, dw)];
  }
  if (layer instanceof MaxPool2d) {
    const k = pair(layer.kernel, 1);
    const s = pair(layer.options.stride, 0);
    const [ph, pw] = pair(layer.options.padding, 0);
    return [row[0]!, windowOut(row[1]!, k[0], s[0] || k[0], ph, 1), windowOut(row[2]!, k[1], s[1] || k[1], pw, 1)];
  }
  return row; // elementwise layers (activations, dropout)
}

/**
 * Elements per row of the input and of each layer's output. Sequential models are walked
 * exactly; any other module is estimated from its parameters (a [in, out] weight gives an
 * output of `out`, a [O, C, kh, kw] filter at most O × the input's H × W).
 */
export function activationWidths(model: Module, inputRow: Shape): number[] {
  return walk(model, inputRow).widths;
}

function walk(model: Module, inputRow: Shape): { widths: number[]; row: Shape } {
  const widths = [sizeOf(inputRow)];
  if (model instanceof Sequential) {
    let row = inputRow;
    for (const layer of model.layers) {
      if (layer instanceof Sequential) {
        const inner = walk(layer, row);
        widths.push(...inner.widths.slice(1));
        row = inner.row;
        continue;
      }
      row = rowShapeAfter(layer, row);
      widths.push(sizeOf(row));
    }
    return { widths, row };
  }
  const spatial = inputRow.length === 3 ? inputRow[1]! * inputRow[2]! : 1;
  for (const p of model.parameters()) {
    if (p.rank === 2) widths.push(p.shape[1]!);
    else if (p.rank === 4) widths.push(p.shape[0]! * spatial);
  }
  return { widths, row: [widths[widths.length - 1]!] };
}

export interface McTileOptions {
  /** The option(s) the error tells the user to lower (default MC_TILE_FLAGS). */
  flag?: string;
  /** A training step keeps every activation and its gradient; default: model.mode === 'train'. */
  training?: boolean;
  dtype?: DType;
  backend?: Backend;
}

/**
 * Refuses (ValueError naming `flag`) an MC tile of inputShape[0] inputs × K samples through
 * `model` that would not fit the backend, before anything is allocated. Checked: the widest
 * activation as one buffer, and the sum of all activations (twice it when training) against
 * the host budget on the CPU.
 */
export function checkMcTile(where: string, model: Module, inputShape: Shape, K: number, opts: McTileOptions = {}): WorkingSetEstimate {
  const [M, ...row] = inputShape;
  const widths = activationWidths(model, row);
  const training = opts.training ?? model.mode === 'train';
  const all = widths.reduce((a, b) => a + b, 0);
  return checkWorkingSet(where, {
    rows: (M ?? 0) * K,
    width: Math.max(...widths),
    liveWidth: training ? 2 * all : all,
    dtype: opts.dtype ?? 'f32',
    flag: opts.flag ?? MC_TILE_FLAGS,
    ...(opts.backend ? { backend: opts.backend } : {}),
  });
}
