// The two uncertainty panels fed by the worker's evaluations: the fast gradient sign attack
// at step η (accuracy and mean predictive entropy per α on a batch of test digits, with a
// few attacked digits shown; the paper's fig. 5 at one η), and the out-of-distribution row
// (Fashion-MNIST items beside MNIST digits, each with its predictive entropy per α: a
// Bayesian model should be less sure of the clothes).

import type { Reply } from './protocol.js';
import { alphaColor, alphaLabel } from './palette.js';
import { imageCanvas } from './draw-pad.js';

type FgsDone = Extract<Reply, { type: 'fgsDone' }>;
type OodDone = Extract<Reply, { type: 'oodDone' }>;

/** A labelled bar of a value in [0, max], coloured by its α. */
function meter(value: number, max: number, text: string, alpha: number): HTMLElement {
  const m = document.createElement('div');
  m.className = 'meter';
  m.style.setProperty('--series', alphaColor(alpha));
  const fill = document.createElement('div');
  fill.className = 'fill';
  fill.style.width = `${Math.min(100, (100 * value) / max).toFixed(1)}%`;
  const label = document.createElement('span');
  label.textContent = text;
  m.append(fill, label);
  return m;
}

function cell(tag: 'td' | 'th', content: string | Node): HTMLElement {
  const c = document.createElement(tag);
  c.append(content);
  return c;
}

export function renderFgs(table: HTMLElement, gallery: HTMLElement, done: FgsDone): void {
  // the entropy of 10 classes is at most log 10
  const maxEntropy = Math.log(10);
  const head = document.createElement('tr');
  head.append(cell('th', 'model'), cell('th', 'accuracy'), cell('th', 'mean entropy'));
  const rows = [...done.rows].sort((a, b) => a.alpha - b.alpha).map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.alpha = String(r.alpha);
    tr.append(
      cell('td', alphaLabel(r.alpha)),
      cell('td', meter(r.accuracy, 1, `${(100 * r.accuracy).toFixed(1)}%`, r.alpha)),
      cell('td', meter(r.meanEntropy, maxEntropy, r.meanEntropy.toFixed(3), r.alpha)),
    );
    return tr;
  });
  table.replaceChildren(head, ...rows);
  gallery.replaceChildren(...done.images.map((img) => imageCanvas(img)));
}

/** One tile: an image and its entropy under each α. */
function tile(image: Float32Array, entropies: { alpha: number; entropy: number }[], kind: 'fashion' | 'digit'): HTMLElement {
  const t = document.createElement('figure');
  t.className = `tile ${kind}`;
  const caption = document.createElement('figcaption');
  for (const { alpha, entropy } of entropies) {
    const line = document.createElement('span');
    line.style.color = alphaColor(alpha);
    line.title = `predictive entropy under ${alphaLabel(alpha)}`;
    line.textContent = entropy.toFixed(2);
    caption.append(line);
  }
  t.append(imageCanvas(image), caption);
  return t;
}

export function renderOod(fashionRow: HTMLElement, digitRow: HTMLElement, done: OodDone): void {
  const rows = [...done.rows].sort((a, b) => a.alpha - b.alpha);
  const at = (pick: (r: OodDone['rows'][number]) => number[], i: number) => rows.map((r) => ({ alpha: r.alpha, entropy: pick(r)[i]! }));
  fashionRow.replaceChildren(...done.fashionImages.map((img, i) => tile(img, at((r) => r.fashionEntropy, i), 'fashion')));
  digitRow.replaceChildren(...done.digitImages.map((img, i) => tile(img, at((r) => r.digitEntropy, i), 'digit')));
}

/** Mean entropy of the Fashion items and of the digits per α, for the panel's summary line. */
export function oodSummary(done: OodDone): string {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  return [...done.rows]
    .sort((a, b) => a.alpha - b.alpha)
    .map((r) => `${alphaLabel(r.alpha)}: clothes ${mean(r.fashionEntropy).toFixed(2)} vs digits ${mean(r.digitEntropy).toFixed(2)} nats`)
    .join(' · ');
}
