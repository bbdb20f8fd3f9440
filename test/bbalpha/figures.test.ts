// Figures: Vega-Lite specs from report/figures.ts rendered to SVG by report/render.ts. Geometry
// is checked against hand-computed pixel positions (plot 100 × 100, so a value maps to a
// pixel by the scale's formula), not against an earlier render.
import { describe, expect, it } from 'vitest';
import { ValueError } from '@alphadrop/core';
import { lineFigure, panels, reliabilityFigure, renderSvg, PALETTE, type FigureSpec, type LineSeries } from '@alphadrop/bbalpha';

const square = { width: 100, height: 100 };
const line = (name: string, pts: [number, number, number?][]): LineSeries => ({
  name,
  points: pts.map(([x, mean, se]) => (se === undefined ? { x, mean } : { x, mean, se })),
});
/** The `d` attributes of the paths inside the mark groups of one kind ('area', 'line', 'symbol'). */
function markPaths(svg: string, kind: string): string[] {
  const groups = svg.split(`<g class="mark-${kind} role-mark`).slice(1);
  return groups.flatMap((g) => [...g.split('</g>')[0]!.matchAll(/<path [^>]*?d="([^"]*)"/g)].map((m) => m[1]!));
}
const strokes = (svg: string) => [...svg.matchAll(/aria-roledescription="line mark" d="[^"]*" stroke="(#[0-9a-f]+)"/g)].map((m) => m[1]);

describe('lineFigure', () => {
  it('draws the series names, title, axis titles and a band mean ± se at the right pixels', async () => {
    const svg = await renderSvg(lineFigure({
      title: 'Test accuracy', x: { title: 'epoch' }, y: { title: 'accuracy', domain: [0, 1] }, ...square,
      series: [line('α = 0', [[0, 0.5, 0.1], [10, 0.7, 0.1]]), line('α = 1', [[0, 0.2], [10, 0.3]])],
    }));
    for (const text of ['>Test accuracy<', '>epoch<', '>accuracy<', '>α = 0<', '>α = 1<']) expect(svg).toContain(text);
    // y = 100·(1 − v): band 0.4…0.6 at x=0 and 0.6…0.8 at x=10 (x = 10·epoch).
    expect(markPaths(svg, 'area')).toEqual(['M0,60L100,40L100,20L0,40Z']);
    expect(markPaths(svg, 'line')).toEqual(['M0,50L100,30', 'M0,80L100,70']);
  });

  it('draws no band when no point has an se', async () => {
    const svg = await renderSvg(lineFigure({ title: 't', x: { title: 'η' }, y: { title: 'entropy' }, series: [line('a', [[0, 1], [1, 2]])] }));
    expect(svg).not.toContain('mark-area');
    expect(markPaths(svg, 'line')).toHaveLength(1);
  });

  it('breaks the band at a point without an se instead of bridging it', async () => {
    const svg = await renderSvg(lineFigure({
      title: 't', x: { title: 'x' }, y: { title: 'y', domain: [0, 1] }, ...square,
      series: [line('a', [[0, 0.5, 0.1], [5, 0.5], [10, 0.5, 0.1], [20, 0.5, 0.1]])],
    }));
    // x = 5·value: a degenerate piece at x=0, then the band from x=10 on; nothing across x=5.
    expect(markPaths(svg, 'area')).toEqual(['M0,60L0,40ZM50,60L100,60L100,40L50,40Z']);
  });

  it('accepts a log x scale and places points by log10', async () => {
    const spec = lineFigure({ title: 't', x: { title: 'epochs', scale: 'log' }, y: { title: 'LL', domain: [0, 1] }, ...square, series: [line('a', [[1, 0.5], [10, 0.5], [100, 0.5]])] });
    expect(JSON.stringify(spec)).toContain('"type":"log"');
    const svg = await renderSvg(spec);
    expect(markPaths(svg, 'line')).toEqual(['M0,50L50,50L100,50']);
  });

  it('refuses x ≤ 0 on a log scale', () => {
    expect(() => lineFigure({ title: 't', x: { title: 'x', scale: 'log' }, y: { title: 'y' }, series: [line('a', [[0, 1], [1, 1]])] })).toThrow(/series "a" point 0: x=0/);
  });

  it.each([
    ['mean', [[0, 1], [1, 2], [2, Number.NaN]], /series "α = 0.5" point 2: mean=NaN/],
    ['x', [[0, 1], [Number.POSITIVE_INFINITY, 2]], /series "α = 0.5" point 1: x=Infinity/],
    ['se', [[0, 1, Number.NaN]], /series "α = 0.5" point 0: se=NaN/],
    ['negative se', [[0, 1, -0.1]], /series "α = 0.5" point 0: se=-0.1/],
  ] as [string, [number, number, number?][], RegExp][])('refuses a non-finite or invalid %s, naming the series and point', (_, pts, message) => {
    const make = () => lineFigure({ title: 't', x: { title: 'x' }, y: { title: 'y' }, series: [line('ok', [[0, 1]]), line('α = 0.5', pts)] });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(message);
  });

  it('refuses bad structure: no series, empty or duplicate series, a repeated x, a bad domain', () => {
    const base = { title: 't', x: { title: 'x' }, y: { title: 'y' } };
    expect(() => lineFigure({ ...base, series: [] })).toThrow(ValueError);
    expect(() => lineFigure({ ...base, series: [line('a', [])] })).toThrow(/points in series "a"/);
    expect(() => lineFigure({ ...base, series: [line('a', [[0, 1]]), line('a', [[0, 2]])] })).toThrow(/"a" twice/);
    expect(() => lineFigure({ ...base, series: [line('a', [[0, 1], [0, 2]])] })).toThrow(/point 1: x=0 repeated/);
    expect(() => lineFigure({ ...base, y: { title: 'y', domain: [1, 0] }, series: [line('a', [[0, 1]])] })).toThrow(ValueError);
    expect(() => lineFigure({ ...base, width: 0, series: [line('a', [[0, 1]])] })).toThrow(/width/);
  });

  it('colours series by their order, the same in every figure', async () => {
    const names = ['α = 0', 'α = 0.5', 'α = 1', 'deterministic'];
    const fig = (title: string, order: string[]) => renderSvg(lineFigure({ title, x: { title: 'x' }, y: { title: 'y' }, series: order.map((n, i) => line(n, [[0, i], [1, i + 1]])) }));
    const expected = PALETTE.slice(0, 4);
    expect(new Set(expected).size).toBe(4);
    expect(strokes(await fig('acc', names))).toEqual(expected);
    expect(strokes(await fig('ll', names))).toEqual(expected);
  });
});

describe('reliabilityFigure', () => {
  it('draws the diagonal and one line per series, leaving out empty bins', async () => {
    const svg = await renderSvg(reliabilityFigure({
      title: 'Calibration', ...square,
      series: [{ name: 'α = 0.5', bins: [{ confidence: 0.25, accuracy: 0.2, count: 4 }, { confidence: 0.5, accuracy: 0, count: 0 }, { confidence: 0.75, accuracy: 0.8, count: 9 }] }],
    }));
    for (const text of ['>Calibration<', '>confidence<', '>accuracy<', '>α = 0.5<']) expect(svg).toContain(text);
    expect(markPaths(svg, 'line')).toEqual(['M0,100L100,0', 'M25,80L75,20']);
  });

  it('refuses values outside [0, 1] and non-integer counts', () => {
    const fig = (bin: { confidence: number; accuracy: number; count: number }) => () => reliabilityFigure({ title: 't', series: [{ name: 's', bins: [bin] }] });
    expect(fig({ confidence: Number.NaN, accuracy: 0.5, count: 1 })).toThrow(/series "s" bin 0: confidence=NaN/);
    expect(fig({ confidence: 0.5, accuracy: 1.5, count: 1 })).toThrow(ValueError);
    expect(fig({ confidence: 0.5, accuracy: 0.5, count: 1.5 })).toThrow(/count=1.5/);
  });
});

describe('panels', () => {
  const acc = lineFigure({ title: 'Accuracy', x: { title: 'epoch' }, y: { title: 'accuracy' }, series: [line('α = 0', [[1, 0.9], [2, 0.95]]), line('α = 1', [[1, 0.8], [2, 0.9]])] });
  const ll = lineFigure({ title: 'Log-likelihood', x: { title: 'epoch' }, y: { title: 'LL' }, series: [line('α = 0', [[1, -0.3], [2, -0.2]]), line('α = 1', [[1, -0.4], [2, -0.3]])] });
  const count = (svg: string, s: string) => svg.split(s).length - 1;

  it('puts figures side by side with one shared legend when the series match', async () => {
    const spec = panels('MNIST', [acc, ll]);
    expect(spec.hconcat).toHaveLength(2);
    const svg = await renderSvg(spec);
    for (const text of ['>MNIST<', '>Accuracy<', '>Log-likelihood<', '>accuracy<', '>LL<']) expect(svg).toContain(text);
    expect(count(svg, '>α = 1<')).toBe(1);
    expect(strokes(svg)).toEqual([PALETTE[0], PALETTE[1], PALETTE[0], PALETTE[1]]);
  });

  it('keeps a legend per panel when the series differ, and wraps into columns', async () => {
    const cal = reliabilityFigure({ title: 'Calibration', series: [{ name: 'α = 1', bins: [{ confidence: 0.5, accuracy: 0.5, count: 1 }] }] });
    const spec = panels('grid', [acc, ll, cal], 2);
    expect(spec.concat).toHaveLength(2 + 1);
    expect(spec.columns).toBe(2);
    const svg = await renderSvg(spec);
    expect(count(svg, '>α = 1<')).toBe(3);
  });

  it('refuses no figures and a bad column count', () => {
    expect(() => panels('t', [])).toThrow(ValueError);
    expect(() => panels('t', [acc], 0)).toThrow(/column count/);
  });
});

describe('renderSvg', () => {
  const spec = panels('p', [
    lineFigure({ title: 'a', x: { title: 'x' }, y: { title: 'y', domain: [0, 1] }, series: [line('s', [[0, 0.2, 0.05], [1, 0.4, 0.05]])] }),
    reliabilityFigure({ title: 'b', series: [{ name: 's', bins: [{ confidence: 0.9, accuracy: 0.8, count: 3 }] }] }),
  ]);

  it('gives the same bytes for the same spec, whatever was rendered before or alongside', async () => {
    const first = await renderSvg(spec);
    expect(first).toContain('clip-path="url(#clip1)"'); // ids that a shared counter would shift
    await renderSvg(lineFigure({ title: 'other', x: { title: 'x' }, y: { title: 'y', domain: [0, 2] }, series: [line('o', [[0, 1]])] }));
    const [a, b] = await Promise.all([renderSvg(spec), renderSvg(spec)]);
    expect(a).toBe(first);
    expect(b).toBe(first);
    expect(first).not.toMatch(/\d{4}-\d{2}-\d{2}T/); // no timestamps
  });

  it('refuses a spec that Vega-Lite can only draw in part', async () => {
    const partial: FigureSpec = { data: { values: [{ a: 1 }] }, mark: 'bar', encoding: { x: { field: 'a', type: 'quantitative' }, shape: { field: 'a', type: 'nominal' } } };
    await expect(renderSvg(partial)).rejects.toThrow(ValueError);
  });
});
