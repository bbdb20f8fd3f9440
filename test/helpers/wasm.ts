// Shared by the suites of the Wasm CPU kernels. The compiled module is generated
// (scripts/build-wasm.mjs, which npm ci's "prepare" runs); a checkout that skipped that step
// gets it built here, before a suite imports the loader.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import type { HostArray } from '@alphadrop/core';

const root = fileURLToPath(new URL('../..', import.meta.url));
const generated = fileURLToPath(new URL('../../packages/core/src/cpu/wasm/kernels.generated.ts', import.meta.url));

/** Builds the generated kernels module when it is missing. */
export function ensureWasmKernels(): void {
  if (!existsSync(generated)) execFileSync(process.execPath, ['scripts/build-wasm.mjs'], { cwd: root, stdio: 'inherit' });
}

/** Same dtype and length, and every element within tol[i] of the oracle's (Object.is when tol is null). */
export function expectClose(got: HostArray, want: HostArray, tol: ArrayLike<number> | null, what: string): void {
  expect(got.constructor, what).toBe(want.constructor);
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Object.is(g, w)) continue;
    if (tol === null || !(Math.abs(g - w) <= tol[i]!)) expect.fail(`${what}: element ${i} is ${g}, oracle ${w}, tolerance ${tol?.[i] ?? 0}`);
  }
}
