// The page's two pure inputs: a drawing reduced to an MNIST digit (mnist-pixels.ts) and the
// URL query read into a training configuration (query-config.ts).

import { describe, expect, it } from 'vitest';
import { MNIST_SIDE, toMnistPixels } from '../../packages/playground/src/mnist-pixels.js';
import { configFromQuery } from '../../packages/playground/src/query-config.js';
import { DEFAULT_CONFIG } from '../../packages/playground/src/protocol.js';

const PAD = 280;

/** A PAD×PAD image with value `v(x, y)` inside the rectangle, 0 elsewhere. */
function canvasWith(x0: number, y0: number, w: number, h: number, v: (x: number, y: number) => number = () => 1): Float32Array {
  const img = new Float32Array(PAD * PAD);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) img[y * PAD + x] = v(x - x0, y - y0);
  return img;
}

/** Bounding box, mass and centre of mass of a 28×28 image. */
function measure(img: Float32Array) {
  let x0 = 99, x1 = -1, y0 = 99, y1 = -1, mass = 0, mx = 0, my = 0;
  for (let y = 0; y < MNIST_SIDE; y++)
    for (let x = 0; x < MNIST_SIDE; x++) {
      const v = img[y * MNIST_SIDE + x]!;
      if (v <= 0) continue;
      [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  return { width: x1 - x0 + 1, height: y1 - y0 + 1, mass, cx: mx / mass, cy: my / mass };
}

describe('toMnistPixels', () => {
  it('gives zeros for a blank pad', () => {
    expect(Array.from(toMnistPixels(new Float32Array(PAD * PAD), PAD, PAD)).every((v) => v === 0)).toBe(true);
  });

  it('scales the larger side to 20 pixels, keeps the aspect ratio and the mean ink, and centres the mass', () => {
    const tall = measure(toMnistPixels(canvasWith(20, 30, 100, 200), PAD, PAD));
    expect([tall.width, tall.height]).toEqual([10, 20]);
    expect(tall.mass).toBeCloseTo(200, 4);
    expect(Math.abs(tall.cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(tall.cy - 14)).toBeLessThanOrEqual(0.5);
    const wide = measure(toMnistPixels(canvasWith(40, 100, 240, 60), PAD, PAD));
    expect([wide.width, wide.height]).toEqual([20, 5]);
  });

  it('does not depend on where the digit is drawn', () => {
    const a = toMnistPixels(canvasWith(10, 10, 90, 150, (x, y) => ((x * 7 + y * 3) % 11) / 10), PAD, PAD);
    const b = toMnistPixels(canvasWith(170, 120, 90, 150, (x, y) => ((x * 7 + y * 3) % 11) / 10), PAD, PAD);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('averages each 10×10 block of a 200×200 drawing into one pixel', () => {
    // a 20×20 image upsampled 10× (nearest) must come back exactly, shifted to centre its mass
    const blocks = Array.from({ length: 400 }, (_, i) => 0.1 + ((i * 37) % 90) / 100);
    const out = toMnistPixels(canvasWith(35, 45, 200, 200, (x, y) => blocks[Math.floor(y / 10) * 20 + Math.floor(x / 10)]!), PAD, PAD);
    let mass = 0, mx = 0, my = 0;
    blocks.forEach((v, i) => ((mass += v), (mx += v * ((i % 20) + 0.5)), (my += v * (Math.floor(i / 20) + 0.5))));
    const ox = Math.min(8, Math.max(0, Math.round(14 - mx / mass)));
    const oy = Math.min(8, Math.max(0, Math.round(14 - my / mass)));
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) expect(out[(oy + y) * MNIST_SIDE + ox + x]).toBeCloseTo(blocks[y * 20 + x]!, 5);
    expect(measure(out).mass).toBeCloseTo(blocks.reduce((s, v) => s + v, 0), 3);
  });

  it('clamps values to [0, 1]', () => {
    const out = toMnistPixels(canvasWith(0, 0, 280, 280, () => 3), PAD, PAD);
    expect(Math.max(...out)).toBe(1);
    expect(Math.min(...out)).toBe(0);
  });
});

describe('configFromQuery', () => {
  it('is the default configuration without a query', () => {
    expect(configFromQuery('')).toEqual({ config: DEFAULT_CONFIG, problems: [] });
  });

  it('reads the browser tests’ small configuration', () => {
    const { config, problems } = configFromQuery('?alphas=0.5&samples=2&batchSize=16&hidden=32,16&trainSize=512&testSize=64&evalEvery=5&backend=webgpu');
    expect(problems).toEqual([]);
    expect(config).toEqual({ ...DEFAULT_CONFIG, alphas: [0.5], samples: 2, batchSize: 16, hidden: [32, 16], trainSize: 512, testSize: 64, evalEvery: 5, backend: 'webgpu' });
  });

  it('reports what it cannot read and keeps the default', () => {
    const { config, problems } = configFromQuery('?samples=2.5&alphas=0,0&dropout=x&backend=tpu&colour=red&lr=0.1');
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(problems).toHaveLength(6);
    expect(problems[0]).toBe('query parameter samples: expected an integer in [1, 100], got "2.5"');
    expect(problems[1]).toMatch(/^query parameter alphas: expected distinct/);
    expect(problems[4]).toMatch(/^query parameter colour: not a training setting/);
  });
});
