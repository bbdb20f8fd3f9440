// Tests import the packages from source (no build step), through these aliases.
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string) => fileURLToPath(new URL(`./packages/${p}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@alphadrop/core': src('core'),
      '@alphadrop/kernels': src('kernels'),
      '@alphadrop/nn/node': fileURLToPath(new URL('./packages/nn/src/node.ts', import.meta.url)),
      '@alphadrop/nn': src('nn'),
      '@alphadrop/bbalpha': src('bbalpha'),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
