// `data fetch <name>`: downloads a data set into the cache (checksummed, resumable; the
// work is @alphadrop/nn/node's fetchDataset). The cache has the data-directory layout, so
// later commands find it without --data-dir.

import { ValueError } from '@alphadrop/core';
import { defaultCacheDir, fetchDataset, FETCHABLE_DATASETS, type FetchableDataset } from '@alphadrop/nn/node';
import type { Command } from '../common.js';
import { checkOutputDir } from '../paths.js';

function checkBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ValueError('--base-url', 'an absolute http(s) URL', JSON.stringify(raw));
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ValueError('--base-url', 'an http or https URL', JSON.stringify(raw));
  return raw;
}

export const dataCommand: Command = {
  name: 'data',
  summary: `data fetch <${FETCHABLE_DATASETS.join('|')}>: download into the cache and verify checksums`,
  positionals: [
    { name: 'action', values: ['fetch'] },
    { name: 'name', values: FETCHABLE_DATASETS },
  ],
  flags: [
    { kind: 'string', name: 'cache-dir', meta: 'DIR', help: 'where the data go (default $ALPHADROP_CACHE or ~/.cache/alphadrop)' },
    { kind: 'string', name: 'base-url', meta: 'URL', help: 'a mirror with the canonical file layout' },
  ],
  check(args) {
    const name = args.positionals[1] as FetchableDataset;
    const cacheDir = checkOutputDir('--cache-dir', args.string('cache-dir') ?? defaultCacheDir());
    const baseUrl = args.string('base-url');
    if (baseUrl !== undefined) checkBaseUrl(baseUrl);
    return {
      backend: null,
      async run(io) {
        const dir = await fetchDataset(name, { cacheDir, ...(baseUrl !== undefined ? { baseUrl } : {}), log: (l) => io.log(l) });
        io.log(`${name}: ${dir}`);
      },
    };
  },
};
