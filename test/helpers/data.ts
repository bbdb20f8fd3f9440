// Where the test suites find the real data sets: ALPHADROP_DATA, else the shared data
// folder beside the checkout. A missing directory fails the suite instead of skipping it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function testDataDir(): string {
  const candidates = [process.env.ALPHADROP_DATA, fileURLToPath(new URL('../../../shared/data', import.meta.url))];
  for (const c of candidates) if (c && existsSync(`${c}/uci`)) return c;
  throw new Error(`test data not found: set ALPHADROP_DATA to the data directory (tried ${candidates.filter(Boolean).join(', ')})`);
}
