// The drawing pad: a 280×280 canvas the user draws a digit on with a mouse, a finger or a
// pen (pointer events cover all three), white strokes on black as MNIST digits are. When a
// stroke ends, the drawing is reduced to a 28×28 MNIST input (mnist-pixels.ts) and handed
// to the listener, with a preview of what the model sees.

import { MNIST_SIDE, toMnistPixels } from './mnist-pixels.js';

export const PAD_SIDE = 280;
/** Stroke width in pad pixels: about MNIST's 2–3 pixel pen once a digit is scaled to 20 pixels. */
const PEN = 22;

export class DrawPad {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private last: { x: number; y: number } | null = null;
  private inked = false;

  constructor(
    host: HTMLElement,
    private readonly onDigit: (pixels: Float32Array) => void,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.width = this.canvas.height = PAD_SIDE;
    this.canvas.className = 'draw-pad';
    this.canvas.setAttribute('aria-label', 'draw a digit here');
    host.append(this.canvas);
    // willReadFrequently: every stroke reads the pixels back
    this.ctx = this.canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();

    this.canvas.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      this.canvas.setPointerCapture(e.pointerId);
      this.last = this.at(e);
      this.dot(this.last);
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (!this.last) return;
      // coalesced events keep fast strokes smooth where the browser merges moves
      for (const m of e.getCoalescedEvents?.() ?? [e]) {
        const p = this.at(m);
        this.line(this.last, p);
        this.last = p;
      }
    });
    const end = () => {
      if (!this.last) return;
      this.last = null;
      if (this.inked) this.onDigit(this.pixels());
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
  }

  clear(): void {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, PAD_SIDE, PAD_SIDE);
    this.inked = false;
  }

  get hasInk(): boolean {
    return this.inked;
  }

  /** The drawing as a 28×28 MNIST input (row-major, values in [0, 1]). */
  pixels(): Float32Array {
    const rgba = this.ctx.getImageData(0, 0, PAD_SIDE, PAD_SIDE).data;
    const intensity = new Float32Array(PAD_SIDE * PAD_SIDE);
    for (let i = 0; i < intensity.length; i++) intensity[i] = rgba[4 * i]! / 255;
    return toMnistPixels(intensity, PAD_SIDE, PAD_SIDE);
  }

  /** Pad coordinates of a pointer event, whatever size CSS gives the canvas. */
  private at(e: PointerEvent): { x: number; y: number } {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * PAD_SIDE) / r.width, y: ((e.clientY - r.top) * PAD_SIDE) / r.height };
  }

  private dot(p: { x: number; y: number }): void {
    this.ctx.fillStyle = '#fff';
    this.ctx.beginPath();
    this.ctx.arc(p.x, p.y, PEN / 2, 0, 2 * Math.PI);
    this.ctx.fill();
    this.inked = true;
  }

  private line(a: { x: number; y: number }, b: { x: number; y: number }): void {
    this.ctx.strokeStyle = '#fff';
    this.ctx.lineWidth = PEN;
    this.ctx.lineCap = 'round';
    this.ctx.lineJoin = 'round';
    this.ctx.beginPath();
    this.ctx.moveTo(a.x, a.y);
    this.ctx.lineTo(b.x, b.y);
    this.ctx.stroke();
    this.inked = true;
  }
}

/** A 28×28 image (values in [0, 1], white on black) as a small canvas, scaled up by CSS. */
export function imageCanvas(pixels: ArrayLike<number>, className = 'digit'): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = MNIST_SIDE;
  canvas.className = className;
  const image = new ImageData(MNIST_SIDE, MNIST_SIDE);
  for (let i = 0; i < MNIST_SIDE * MNIST_SIDE; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, pixels[i] ?? 0)));
    image.data.set([v, v, v, 255], 4 * i);
  }
  canvas.getContext('2d')!.putImageData(image, 0, 0);
  return canvas;
}
