/**
 * The whole library as one module for a page (`dist/browser/alphadrop.js`, built by
 * `npm run build`): `import { core, kernels, nn, bbalpha } from './alphadrop.js'`. Bundlers
 * should import the packages instead; this entry is for a plain `<script type="module">`.
 *
 * @module
 * @internal
 */

export * as core from '@alphadrop/core';
export * as kernels from '@alphadrop/kernels';
export * as nn from '@alphadrop/nn';
export * as bbalpha from './index.js';
