// Tests import the packages from source (no build step), through these aliases.
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string, entry = 'index') => fileURLToPath(new URL(`./packages/${p}/src/${entry}.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      // Subpath entries before their package: an alias matches by prefix, first entry first.
      '@alphadrop/core/backend': src('core', 'backend-entry'),
      '@alphadrop/core': src('core'),
      '@alphadrop/kernels/modules': src('kernels', 'modules'),
      '@alphadrop/kernels': src('kernels'),
      '@alphadrop/nn/node': src('nn', 'node'),
      '@alphadrop/nn': src('nn'),
      '@alphadrop/bbalpha/infer': src('bbalpha', 'infer'),
      '@alphadrop/bbalpha': src('bbalpha'),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
