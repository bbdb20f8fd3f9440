// The files every reproduction writes: summary.json (results only, no timings: an
// interrupted and resumed run writes the same bytes as an uninterrupted one; with the
// library version and the seed, as every result file), README.md and figures/*.svg, each
// written whole (a temporary file renamed into place).

import { join } from 'node:path';
import { VERSION } from '@alphadrop/nn';
import { createOutputDirs, writeTextFile } from '../cli/paths.js';
import { renderSvg } from '../report/render.js';
import type { FigureSpec } from '../report/figures.js';
import { seedOf } from '../runs/journal.js';

export interface ReportIo {
  log(line: string): void;
  /** The device the runs of this invocation compute on. */
  device: string;
}

export async function writeFigure(out: string, name: string, spec: FigureSpec): Promise<void> {
  createOutputDirs(join(out, 'figures'));
  writeTextFile(join(out, 'figures', name), await renderSvg(spec));
}

/** A summary: the experiment, the options its journal was started with, then its results. */
export interface Summary {
  experiment: string;
  options: Record<string, unknown>;
  [result: string]: unknown;
}

export function writeReport(out: string, r: { summary: Summary; readme: readonly string[] }, io: ReportIo): void {
  createOutputDirs(out);
  const { experiment, options, ...results } = r.summary;
  const record = { experiment, version: VERSION, seed: seedOf(options), options, ...results };
  writeTextFile(join(out, 'summary.json'), JSON.stringify(record, null, 2) + '\n');
  writeTextFile(join(out, 'README.md'), r.readme.join('\n'));
  io.log(`wrote ${join(out, 'summary.json')}, ${join(out, 'README.md')} and figures/`);
}
