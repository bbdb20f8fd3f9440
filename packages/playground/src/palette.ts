// One colour and one label per α, shared by the curves, the prediction bars and the tables,
// so that a model looks the same everywhere on the page. The colours are the reports'
// colour-blind-safe palette (PALETTE of @alphadrop/bbalpha's figures).

import { PALETTE } from '@alphadrop/bbalpha';

/** The paper's α values keep their colours whatever the selection; others follow them. */
const FIXED = [0, 0.5, 1];
const seen = new Map<number, string>(FIXED.map((a, i) => [a, PALETTE[i]!]));

export function alphaColor(alpha: number): string {
  let c = seen.get(alpha);
  if (c === undefined) {
    c = PALETTE[seen.size % PALETTE.length]!;
    seen.set(alpha, c);
  }
  return c;
}

export function alphaLabel(alpha: number): string {
  return `α = ${alpha}`;
}
