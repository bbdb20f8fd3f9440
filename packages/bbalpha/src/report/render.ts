// Renders a Vega-Lite figure spec (figures.ts) to an SVG string, headless: Vega's 'none'
// renderer builds the scenegraph without a canvas or DOM, so the same call works in Node and
// in the page. Output is byte-for-byte deterministic for a given spec and environment (text
// is measured by a canvas where one exists, by Vega's width estimate otherwise).

import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { ValueError } from '@alphadrop/core';
import type { FigureSpec } from './figures.js';

// Vega numbers clip paths and gradients from module-level counters. Renders run one at a
// time, each after a counter reset, so ids ('clip1', …) depend on the spec alone and never
// on what was rendered before or alongside it.
let queue: Promise<unknown> = Promise.resolve();

/** Collects Vega and Vega-Lite warnings and errors instead of printing them. */
function collectingLogger(into: string[]) {
  const text = (args: readonly unknown[]) => args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  return vega.logger(vega.Warn, undefined, (_method, level, args) => into.push(`${level} ${text(args)}`));
}

async function renderNow(spec: FigureSpec): Promise<string> {
  const problems: string[] = [];
  const logger = collectingLogger(problems);
  // FigureSpec is plain JSON; Vega-Lite checks its structure while compiling.
  const compiled = compile(spec as unknown as TopLevelSpec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logger });
  try {
    await view.runAsync();
    vega.resetSVGDefIds();
    const svg = await view.toSVG();
    // A warning means part of the figure was dropped or mis-drawn (an unknown property,
    // an infinite extent): refuse it rather than write a plausible-looking wrong figure.
    if (problems.length > 0) throw new ValueError('renderSvg', 'a figure that compiles and renders without warnings', problems.join('; '));
    return svg;
  } finally {
    view.finalize();
  }
}

/** The SVG text of a Vega-Lite figure. The same spec gives the same bytes. */
export function renderSvg(spec: FigureSpec): Promise<string> {
  const job = queue.then(() => renderNow(spec));
  queue = job.catch(() => undefined);
  return job;
}
