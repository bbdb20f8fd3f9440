// The library version written into checkpoints; test/nn/checkpoint.test.ts holds it equal
// to packages/nn/package.json's "version" (a constant rather than a JSON import, so the
// same code runs from source, bundled and built).
export const VERSION = '0.1.0';
