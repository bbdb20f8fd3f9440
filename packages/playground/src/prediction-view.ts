// The MC predictive distribution of the drawn digit under each α's model: ten bars (the
// mean of K softmax outputs), the predicted class, the predictive entropy and the mutual
// information (the epistemic part of the entropy, Li & Gal 2017 §5). Plain DOM: a bar is a
// div whose height is its probability.

import type { Prediction } from './protocol.js';
import { alphaColor, alphaLabel } from './palette.js';

const CLASSES = 10;

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export function renderPredictions(host: HTMLElement, predictions: Prediction[]): void {
  host.replaceChildren(...[...predictions].sort((a, b) => a.alpha - b.alpha).map(predictionCard));
}

function predictionCard(p: Prediction): HTMLElement {
  const card = document.createElement('div');
  card.className = 'prediction';
  card.style.setProperty('--series', alphaColor(p.alpha));
  const predicted = argmax(p.probs);

  const head = document.createElement('div');
  head.className = 'prediction-head';
  head.innerHTML = `<span class="swatch"></span><strong></strong><span class="verdict"></span>`;
  head.querySelector('strong')!.textContent = alphaLabel(p.alpha);
  head.querySelector('.verdict')!.textContent = `says ${predicted} (${(100 * p.probs[predicted]!).toFixed(0)}%)`;

  const bars = document.createElement('div');
  bars.className = 'bars';
  for (let c = 0; c < CLASSES; c++) {
    const column = document.createElement('div');
    column.className = c === predicted ? 'bar top' : 'bar';
    column.title = `p(${c}) = ${p.probs[c]!.toFixed(4)}`;
    const fill = document.createElement('div');
    fill.className = 'fill';
    fill.style.height = `${(100 * p.probs[c]!).toFixed(1)}%`;
    const label = document.createElement('span');
    label.textContent = String(c);
    column.append(fill, label);
    bars.append(column);
  }

  const numbers = document.createElement('div');
  numbers.className = 'uncertainty';
  numbers.innerHTML = `<span>entropy <b data-metric="entropy"></b></span><span>MI <b data-metric="mi"></b></span>`;
  numbers.querySelector('[data-metric="entropy"]')!.textContent = `${p.entropy.toFixed(3)} nats`;
  numbers.querySelector('[data-metric="mi"]')!.textContent = `${p.mutualInformation.toFixed(3)} nats`;

  card.append(head, bars, numbers);
  return card;
}
