// Where fetched data sets live (Node only): $ALPHADROP_CACHE, else ~/.cache/alphadrop. The
// cache has the layout of a data directory (mnist/, fashion-mnist/, uci/<name>/), so it
// can be passed as --data-dir or ALPHADROP_DATA as it is.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The fetch cache: ALPHADROP_CACHE when set and non-empty, else ~/.cache/alphadrop. */
export function defaultCacheDir(): string {
  const fromEnv = process.env.ALPHADROP_CACHE;
  return fromEnv && fromEnv.length > 0 ? fromEnv : join(homedir(), '.cache', 'alphadrop');
}

/** Whether `dir` holds at least one data set in the data-directory layout. */
export function holdsData(dir: string): boolean {
  return ['mnist', 'fashion-mnist', 'uci'].some((d) => existsSync(join(dir, d)));
}
