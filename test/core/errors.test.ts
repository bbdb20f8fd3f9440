// Typed errors: each bad call throws the documented class, and the error says where (the op
// or entry point), what was expected and what came, in fields and in the message.

import { describe, expect, it } from 'vitest';
import {
  AlphadropError, DTypeError, DeviceError, ShapeError, StateError, ValueError, add, argmax, concat, conv2d,
  cpuBackend, expand, gather, log, matmul, maxPool2d, oneHot, ones, pad, permute, reshape, scatterAdd,
  setBackend, slice, sum, tensor, transpose, zeros, type Tensor,
} from '@alphadrop/core';
import { Prim, apply } from '@alphadrop/core/backend';

setBackend(cpuBackend('reference'));

type ErrorClass = typeof ShapeError;

/** Runs fn, asserts it throws exactly `cls`, and returns the error for field checks. */
function thrown(fn: () => unknown, cls: ErrorClass): AlphadropError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'no error was thrown').toBeInstanceOf(cls);
  const e = err as AlphadropError;
  expect(e.name).toBe(cls.name);
  // the fields and the message agree: "<where>: expected <expected>, got <received>"
  expect(e.message.startsWith(`${e.where}: expected ${e.expected}, got ${e.received}`)).toBe(true);
  return e;
}

const f32 = (shape: number[]) => ones(shape);
const i32 = (v: number[], shape?: number[]) => tensor(Int32Array.from(v), shape ?? [v.length]);

describe('ShapeError', () => {
  it('add of shapes that do not broadcast names both shapes', () => {
    const e = thrown(() => add(f32([2, 3]), f32([4])), ShapeError);
    expect(e.where).toBe('add');
    expect(e.expected).toMatch(/broadcast/);
    expect(e.received).toBe('[2, 3] and [4]');
    expect(e.message).toMatch(/dimension -1 differs/);
  });
  it('matmul with mismatched inner dimensions', () => {
    const e = thrown(() => matmul(f32([3, 4]), f32([5, 2])), ShapeError);
    expect(e.where).toBe('matmul');
    expect(e.expected).toMatch(/inner dimensions/);
    expect(e.received).toBe('4 vs 5');
    expect(e.message).toContain('[3, 4] x [5, 2]');
    // with transB the inner dimension is b's last
    expect(thrown(() => matmul(f32([3, 4]), f32([4, 2]), { transB: true }), ShapeError).received).toBe('4 vs 2');
  });
  it('matmul of a vector (rank < 2)', () => {
    expect(thrown(() => matmul(f32([4]), f32([4, 2])), ShapeError).expected).toMatch(/rank >= 2/);
  });
  it('matmul batch dims that do not broadcast', () => {
    expect(thrown(() => matmul(f32([2, 3, 4]), f32([3, 4, 5])), ShapeError).where).toBe('matmul');
  });
  it('reshape to a different number of elements', () => {
    const e = thrown(() => reshape(f32([2, 3]), [4, 2]), ShapeError);
    expect(e.where).toBe('reshape');
    expect(e.expected).toContain('6 elements');
    expect(e.received).toBe('[4, 2]');
    expect(thrown(() => reshape(f32([2, 3]), [4, -1]), ShapeError).received).toBe('[4, -1]');
  });
  it('permute with a bad permutation', () => {
    const e = thrown(() => permute(f32([2, 3, 4]), [0, 0, 1]), ShapeError);
    expect(e.where).toBe('permute');
    expect(e.expected).toBe('a permutation of 0..2');
    expect(e.received).toBe('[0, 0, 1]');
    expect(thrown(() => permute(f32([2, 3]), [1, 0, 2]), ShapeError).where).toBe('permute');
  });
  it('slice out of range', () => {
    const e = thrown(() => slice(f32([4, 5]), [2, 0], [3, 5]), ShapeError);
    expect(e.where).toBe('slice');
    expect(e.expected).toContain('[4, 5]');
    expect(e.received).toBe('begin [2, 0] size [3, 5]');
    expect(thrown(() => slice(f32([4, 5]), [0], [1]), ShapeError).where).toBe('slice');
  });
  it('concat of shapes that differ off the axis', () => {
    const e = thrown(() => concat([f32([2, 3]), f32([2, 4])], 0), ShapeError);
    expect(e.where).toBe('concat');
    expect(e.expected).toBe('shapes equal to [2, 3] except on axis 0');
    expect(e.received).toBe('[2, 4]');
    expect(thrown(() => concat([], 0), ShapeError).received).toBe('none');
  });
  it('conv2d whose filter channels do not match the input', () => {
    const e = thrown(() => conv2d(f32([1, 3, 5, 5]), f32([2, 4, 3, 3])), ShapeError);
    expect(e.where).toBe('conv2d');
    expect(e.expected).toContain('input channels 3');
    expect(e.received).toBe('4');
    expect(thrown(() => conv2d(f32([1, 3, 5]), f32([2, 3, 3, 3])), ShapeError).expected).toMatch(/rank 4/);
    expect(thrown(() => conv2d(f32([1, 1, 2, 2]), f32([1, 1, 3, 3])), ShapeError).received).toBe('output 0x0');
  });
  it('axis out of range, in reductions and movement ops', () => {
    const x = f32([2, 3]);
    const e = thrown(() => sum(x, 2), ShapeError);
    expect(e.where).toBe('sum');
    expect(e.expected).toBe('axis in [-2, 2)');
    expect(e.received).toBe('2');
    expect(thrown(() => sum(x, [0, -2]), ShapeError).expected).toBe('distinct axes');
    expect(thrown(() => argmax(x, -3), ShapeError).where).toBe('argmax');
    expect(thrown(() => transpose(x, 0, 5), ShapeError).where).toBe('transpose');
    expect(thrown(() => concat([x, x], 2), ShapeError).where).toBe('concat');
    expect(thrown(() => gather(x, i32([0]), 2), ShapeError).where).toBe('gather');
  });
  it('expand to a shape the input does not broadcast to', () => {
    expect(thrown(() => expand(f32([3]), [2, 4]), ShapeError).where).toBe('expand');
    expect(thrown(() => expand(f32([2, 3]), [3]), ShapeError).where).toBe('expand');
  });
  it('pad with the wrong number of pairs, a nested array that is not rectangular', () => {
    expect(thrown(() => pad(f32([2, 2]), [[1, 1]]), ShapeError).where).toBe('pad');
    expect(thrown(() => tensor([[1, 2], [3]]), ShapeError).where).toBe('tensor');
  });
  it('scatterAdd with updates of the wrong shape', () => {
    const e = thrown(() => scatterAdd(f32([3, 2]), i32([0, 1]), 0, [4, 2]), ShapeError);
    expect(e.where).toBe('scatterAdd');
    expect(e.expected).toBe('updates of shape [2, 2]');
    expect(e.received).toBe('[3, 2]');
  });
});

describe('DTypeError', () => {
  it('add of f32 and i32', () => {
    const e = thrown(() => add(f32([2]), i32([1, 2])), DTypeError);
    expect(e.where).toBe('add');
    expect(e.expected).toBe('operands of one dtype');
    expect(e.received).toBe('f32 and i32');
  });
  it('log of i32', () => {
    const e = thrown(() => log(i32([1, 2])), DTypeError);
    expect(e.where).toBe('log');
    expect(e.expected).toContain('f32/f64');
    expect(e.received).toBe('i32');
  });
  it('gather with f32 indices', () => {
    const e = thrown(() => gather(f32([4, 2]), f32([2])), DTypeError);
    expect(e.where).toBe('gather');
    expect(e.expected).toBe('indices of dtype i32');
    expect(e.received).toBe('f32');
  });
  it('matmul of i32', () => {
    const a = i32([1, 2, 3, 4], [2, 2]);
    const e = thrown(() => matmul(a, a), DTypeError);
    expect(e.where).toBe('matmul');
    expect(e.received).toBe('i32');
  });
  it('oneHot of float indices, maxPool2d of integers', () => {
    expect(thrown(() => oneHot(f32([3]), 4), DTypeError).where).toBe('oneHot');
    expect(thrown(() => maxPool2d(zeros([1, 1, 2, 2], { dtype: 'i32' }), 2), DTypeError).where).toBe('maxPool2d');
  });
});

describe('ValueError', () => {
  it('gather with an index out of range says which and where', () => {
    const e = thrown(() => gather(f32([4, 2]), i32([1, 4, 0])), ValueError);
    expect(e.where).toBe('gather');
    expect(e.expected).toBe('indices in [0, 4)');
    expect(e.received).toBe('4');
    expect(e.message).toContain('at flat position 1');
    expect(thrown(() => gather(f32([4, 2]), i32([-1])), ValueError).received).toBe('-1');
  });
  it('scatterAdd with an index out of range', () => {
    expect(thrown(() => scatterAdd(f32([2, 2]), i32([0, 5]), 0, [3, 2]), ValueError).expected).toBe('indices in [0, 3)');
  });
  it('oneHot of depth 0', () => {
    const e = thrown(() => oneHot(i32([0]), 0), ValueError);
    expect(e.where).toBe('oneHot');
    expect(e.expected).toMatch(/positive integer/);
    expect(e.received).toBe('0');
    expect(thrown(() => oneHot(i32([0]), 2.5), ValueError).received).toBe('2.5');
  });
  it('conv2d with stride 0, maxPool2d with padding over half the kernel', () => {
    expect(thrown(() => conv2d(f32([1, 1, 4, 4]), f32([1, 1, 2, 2]), { stride: 0 }), ValueError).expected).toMatch(/stride/);
    expect(thrown(() => maxPool2d(f32([1, 1, 4, 4]), 2, { padding: 2 }), ValueError).where).toBe('maxPool2d');
  });
});

describe('StateError', () => {
  it('using a disposed tensor as an operand', () => {
    const x = f32([2, 3]);
    x.dispose();
    const e = thrown(() => add(x, 1), StateError);
    expect(e.where).toBe(`tensor #${x.id}`);
    expect(e.expected).toBe('a live tensor');
    expect(e.received).toBe('a disposed tensor');
    expect(e.message).toContain('shape [2, 3]');
  });
  it('reading a disposed tensor', async () => {
    const x = f32([1]);
    x.dispose();
    thrown(() => x.dataSync(), StateError);
    await expect(x.data()).rejects.toBeInstanceOf(StateError);
  });
  it('reshape of a disposed tensor (a view would share a dead buffer)', () => {
    const x = f32([4]);
    x.dispose();
    thrown(() => reshape(x, [2, 2]), StateError);
  });
  it('item() of a tensor with more than one element', async () => {
    await expect(f32([2]).item()).rejects.toBeInstanceOf(StateError);
  });
});

describe('DeviceError', () => {
  it('operands on two backends name the backends and the fix', () => {
    const other = cpuBackend('fast');
    const a = f32([2]);
    const b: Tensor = ones([2], { backend: other });
    const e = thrown(() => add(a, b), DeviceError);
    expect(e.where).toBe('add');
    expect(e.expected).toBe('all operands on the cpu-reference backend');
    expect(e.received).toBe('one on cpu');
    expect(e.message).toContain('toBackend()');
  });
});

describe('validation order', () => {
  it('errors are raised before any kernel runs (no dispatch on a bad call)', () => {
    const backend = cpuBackend('reference');
    const a = ones([2, 3], { backend });
    const before = backend.counters.dispatches;
    thrown(() => apply(Prim.Matmul, [a, a], { transA: false, transB: false }), ShapeError);
    expect(backend.counters.dispatches).toBe(before);
  });
});
