// The live training curves: three charts side by side (BB-α training loss, accuracy, test
// log-likelihood), one line per α, drawn by uPlot: a small canvas charting library (about
// 50 KB minified) made for streaming series, so a new point costs one setData on arrays the
// chart already holds, not a rebuild. Test and train accuracy are solid and dashed lines of
// the α's colour; the page's one legend names the colours.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { CurvePoint } from './protocol.js';
import { alphaColor, alphaLabel } from './palette.js';

/** One curve of a panel: a metric of the points of one α. */
interface Curve {
  alpha: number;
  label: string;
  dash?: number[];
  value: (p: CurvePoint) => number | undefined;
}

interface Panel {
  title: string;
  yTitle: string;
  curves: (alpha: number) => Curve[];
}

const PANELS: Panel[] = [
  { title: 'BB-α training loss', yTitle: 'loss', curves: (alpha) => [{ alpha, label: alphaLabel(alpha), value: (p) => p.loss }] },
  {
    title: 'accuracy',
    yTitle: 'accuracy',
    curves: (alpha) => [
      { alpha, label: `${alphaLabel(alpha)} test`, value: (p) => p.testAccuracy },
      { alpha, label: `${alphaLabel(alpha)} train`, dash: [5, 4], value: (p) => p.trainAccuracy },
    ],
  },
  { title: 'test log-likelihood', yTitle: 'mean log p(y|x)', curves: (alpha) => [{ alpha, label: alphaLabel(alpha), value: (p) => p.testLogLikelihood }] },
];

const HEIGHT = 210;

/** A panel's data in uPlot's layout: the steps, then one column per curve (null where a step lacks it). */
function columns(curves: Curve[], points: CurvePoint[]): uPlot.AlignedData {
  const steps = [...new Set(points.map((p) => p.step))].sort((a, b) => a - b);
  const at = new Map(steps.map((s, i) => [s, i]));
  const cols = curves.map(() => new Array<number | null>(steps.length).fill(null));
  for (const p of points) {
    curves.forEach((c, j) => {
      if (c.alpha !== p.alpha) return;
      const v = c.value(p);
      if (v !== undefined) cols[j]![at.get(p.step)!] = v;
    });
  }
  return [steps, ...cols];
}

export class CurveCharts {
  private plots: uPlot[] = [];
  private curves: Curve[][] = [];
  private readonly slots: HTMLElement[];
  private points: CurvePoint[] = [];
  private pending = false;

  constructor(
    host: HTMLElement,
    private readonly onError: (message: string) => void,
  ) {
    this.slots = PANELS.map(() => {
      const slot = document.createElement('div');
      slot.className = 'chart';
      host.append(slot);
      return slot;
    });
    new ResizeObserver(() => this.resize()).observe(host);
  }

  /** Rebuilds the charts for these α (their colours and order); keeps the history. */
  async setAlphas(alphas: number[]): Promise<void> {
    const sorted = [...alphas].sort((a, b) => a - b);
    try {
      for (const p of this.plots) p.destroy();
      this.curves = PANELS.map((panel) => sorted.flatMap(panel.curves));
      this.plots = PANELS.map((panel, i) => {
        const slot = this.slots[i]!;
        slot.replaceChildren();
        const opts: uPlot.Options = {
          title: panel.title,
          width: this.widthOf(slot),
          height: HEIGHT,
          scales: { x: { time: false } },
          axes: [{ label: 'step' }, { label: panel.yTitle, size: 56 }],
          series: [{ label: 'step' }, ...this.curves[i]!.map((c) => ({ label: c.label, stroke: alphaColor(c.alpha), width: 1.8, dash: c.dash, spanGaps: true, points: { show: false } }))],
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
        };
        return new uPlot(opts, columns(this.curves[i]!, this.points), slot);
      });
    } catch (e) {
      this.onError(`charts: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Appends the worker's new points; the charts redraw once per animation frame at most. */
  add(points: CurvePoint[]): void {
    this.points.push(...points);
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.plots.forEach((plot, i) => plot.setData(columns(this.curves[i]!, this.points)));
    });
  }

  /** Forgets every curve (a restart). */
  clear(): void {
    this.points = [];
    this.plots.forEach((plot, i) => plot.setData(columns(this.curves[i]!, [])));
  }

  private widthOf(slot: HTMLElement): number {
    return Math.max(160, Math.floor(slot.clientWidth));
  }

  private resize(): void {
    this.plots.forEach((plot, i) => plot.setSize({ width: this.widthOf(this.slots[i]!), height: HEIGHT }));
  }
}
