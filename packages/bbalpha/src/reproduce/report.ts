// The files every reproduction writes: summary.json (results only, no timings: an
// interrupted and resumed run writes the same bytes as an uninterrupted one), README.md and
// figures/*.svg, each written whole (a temporary file renamed into place).

import { join } from 'node:path';
import { createOutputDirs, writeTextFile } from '../cli/paths.js';
import { renderSvg } from '../report/render.js';
import type { FigureSpec } from '../report/figures.js';

export interface ReportIo {
  log(line: string): void;
  /** The device the runs of this invocation compute on. */
  device: string;
}

export async function writeFigure(out: string, name: string, spec: FigureSpec): Promise<void> {
  createOutputDirs(join(out, 'figures'));
  writeTextFile(join(out, 'figures', name), await renderSvg(spec));
}

export function writeReport(out: string, r: { summary: unknown; readme: readonly string[] }, io: ReportIo): void {
  createOutputDirs(out);
  writeTextFile(join(out, 'summary.json'), JSON.stringify(r.summary, null, 2) + '\n');
  writeTextFile(join(out, 'README.md'), r.readme.join('\n'));
  io.log(`wrote ${join(out, 'summary.json')}, ${join(out, 'README.md')} and figures/`);
}
