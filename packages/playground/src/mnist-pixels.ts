// A hand-drawn image turned into an MNIST-style 28×28 input. MNIST's digits were
// size-normalised to fit a 20×20 box with their aspect ratio kept (anti-aliased), then
// placed in the 28×28 field so that their centre of mass sits at the centre (LeCun et al.,
// the MNIST page). The drawing goes through the same steps, so a digit drawn anywhere on the
// pad, at any size, reaches the model as the training digits did: white on black in [0, 1].

export const MNIST_SIDE = 28;
/** The side of the box the digit's larger dimension is scaled to. */
export const MNIST_BOX = 20;

/** Ink above this intensity counts towards the bounding box (anti-aliasing fringes do not). */
const INK = 0.05;

interface Box {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

function inkBox(intensity: ArrayLike<number>, width: number, height: number): Box | null {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (intensity[y * width + x]! > INK) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
  return x1 < 0 ? null : { x0, y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/**
 * Box-filter weights from `from` source cells onto `to` target cells: weights[t] lists
 * [source index, overlap] pairs whose overlaps sum to from / to (the target cell's width in
 * source units), so averaging keeps the mean intensity.
 */
function boxWeights(from: number, to: number): [number, number][][] {
  const span = from / to;
  const weights: [number, number][][] = [];
  for (let t = 0; t < to; t++) {
    const a = t * span, b = (t + 1) * span;
    const row: [number, number][] = [];
    for (let s = Math.floor(a); s < Math.min(from, Math.ceil(b)); s++) {
      const overlap = Math.min(b, s + 1) - Math.max(a, s);
      if (overlap > 0) row.push([s, overlap]);
    }
    weights.push(row);
  }
  return weights;
}

/** Area-average resampling of the box to targetWidth × targetHeight (separable: rows, then columns). */
function resample(intensity: ArrayLike<number>, width: number, box: Box, targetWidth: number, targetHeight: number): Float32Array {
  const wx = boxWeights(box.width, targetWidth);
  const wy = boxWeights(box.height, targetHeight);
  const scaleX = targetWidth / box.width, scaleY = targetHeight / box.height;
  const rows = new Float32Array(box.height * targetWidth);
  for (let y = 0; y < box.height; y++)
    for (let t = 0; t < targetWidth; t++) {
      let v = 0;
      for (const [s, w] of wx[t]!) v += w * intensity[(box.y0 + y) * width + box.x0 + s]!;
      rows[y * targetWidth + t] = v * scaleX;
    }
  const out = new Float32Array(targetHeight * targetWidth);
  for (let t = 0; t < targetHeight; t++)
    for (let x = 0; x < targetWidth; x++) {
      let v = 0;
      for (const [s, w] of wy[t]!) v += w * rows[s * targetWidth + x]!;
      out[t * targetWidth + x] = v * scaleY;
    }
  return out;
}

/**
 * A width × height intensity image (row-major, 0 = background, 1 = full ink) as a 28×28
 * MNIST input: the ink's bounding box scaled so its larger side is 20 pixels, placed with
 * its centre of mass at the field's centre (a whole-pixel shift, so no second blur), values
 * clamped to [0, 1]. A blank image gives zeros.
 */
export function toMnistPixels(intensity: ArrayLike<number>, width: number, height: number): Float32Array {
  const out = new Float32Array(MNIST_SIDE * MNIST_SIDE);
  const box = inkBox(intensity, width, height);
  if (!box) return out;
  const scale = MNIST_BOX / Math.max(box.width, box.height);
  const w = Math.max(1, Math.round(box.width * scale));
  const h = Math.max(1, Math.round(box.height * scale));
  const small = resample(intensity, width, box, w, h);

  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x]!;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  // the centre of mass (in pixel-centre coordinates) moves to 14; the box stays inside the field
  const place = (centre: number, size: number) => Math.min(MNIST_SIDE - size, Math.max(0, Math.round(MNIST_SIDE / 2 - centre)));
  const ox = place(mass > 0 ? mx / mass : w / 2, w);
  const oy = place(mass > 0 ? my / mass : h / 2, h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) out[(oy + y) * MNIST_SIDE + ox + x] = Math.min(1, Math.max(0, small[y * w + x]!));
  return out;
}
