// The shared shape of a refusal test: the call throws an error of the expected class and
// returns nothing (no half-loaded data comes back); the error is returned for message checks.
import { expect } from 'vitest';
import type { AlphadropError } from '@alphadrop/core';

export function refused<E extends AlphadropError>(kind: new (...args: never[]) => E, fn: () => unknown): E {
  let caught: unknown;
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    caught = err;
  }
  expect(result, 'nothing may come back from a refused call').toBeUndefined();
  expect(caught).toBeInstanceOf(kind);
  return caught as E;
}
