// Reshape: [N, ...] → [N, ...shape], the batch axis kept. Lets a model that takes flat
// inputs (MNIST as [N, 784]) start with convolutions ([N, 1, 28, 28]), so every model
// of the library reads the same data layout.

import { reshape, ShapeError, ValueError, type Tensor } from '@alphadrop/core';
import { Module } from '../module.js';

export class Reshape extends Module {
  readonly shape: readonly number[];
  constructor(shape: readonly number[]) {
    super();
    if (shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= 1))
      throw new ValueError('Reshape', 'a per-example shape of positive integers', JSON.stringify(shape));
    this.shape = [...shape];
  }
  forward(x: Tensor): Tensor {
    const size = this.shape.reduce((a, b) => a * b, 1);
    const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
    if (per !== size) throw new ShapeError('Reshape', `inputs of ${size} values per example (to [${this.shape}])`, `[${x.shape}]`);
    return reshape(x, [x.shape[0]!, ...this.shape]);
  }
}
