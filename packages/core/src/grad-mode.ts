// Whether operations are being recorded for gradients: noGrad's depth counter. Kept apart
// from the tape (autodiff.ts) so that code that only predicts (noGrad around a forward pass)
// does not pull the reverse-mode machinery and its VJP rules into a bundle.

let depth = 0;

/** How many noGrad scopes are open now; a tape records only at the depth it was opened at. */
export function noGradDepth(): number {
  return depth;
}

/** Runs fn without recording gradients (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  depth++;
  try {
    return fn();
  } finally {
    depth--;
  }
}
