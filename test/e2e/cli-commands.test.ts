// Happy paths of the commands not covered elsewhere: demo (the main job, on the embedded
// sample) and mnist (train + evaluate + a result file with typed options).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../packages/bbalpha/src/cli.js';
import { mnistForTests } from '../helpers/data.js';
import { filesUnder, run, tempDir } from './cli-helpers.js';

describe('demo and mnist', () => {
  it('demo: report, result file, and exit status 1 when its checks fail (one short epoch)', async () => {
    const d = tempDir();
    const lines: string[] = [];
    const status = await main(['demo', '--backend', 'cpu', '--alpha', '0.5', '--epochs', '1', '--samples', '1', '--test-samples', '2', '--batch-size', '128', '--out', join(d, 'demo.json')], { log: (l) => lines.push(l) });
    const written = JSON.parse(readFileSync(join(d, 'demo.json'), 'utf8')) as { options: Record<string, unknown>; rows: { alpha: number; clean: { accuracy: number } }[]; failures: string[] };
    expect(written.options).toMatchObject({ alpha: [0.5], epochs: 1, samples: 1, 'test-samples': 2, 'batch-size': 128 });
    expect(written.rows.map((r) => r.alpha)).toEqual([0.5]);
    // the status follows the checks: one epoch of K = 1 does not reach 93%
    expect(status).toBe(written.failures.length > 0 ? 1 : 0);
    expect(lines.some((l) => l.includes(written.failures.length > 0 ? 'CHECKS FAILED' : 'all checks hold'))).toBe(true);
  }, 120_000);

  it('mnist --out: metrics and every option, numbers as numbers', async () => {
    const d = tempDir();
    await run(['mnist', '--backend', 'cpu', '--data-dir', mnistForTests('e2e cli commands').dir, '--limit', '16', '--test-limit', '8', '--epochs', '1', '--samples', '1', '--test-samples', '2', '--hidden', '20', '--out', join(d, 'r', 'mnist.json')]);
    expect(filesUnder(d)).toEqual(['r/mnist.json']);
    const written = JSON.parse(readFileSync(join(d, 'r', 'mnist.json'), 'utf8')) as { options: Record<string, unknown>; architecture: { kind: string; out?: number }[]; metrics: { accuracy: number }; testImages: number };
    expect(written.options).toMatchObject({ arch: 'mlp', hidden: [20], limit: 16, 'test-limit': 8, epochs: 1, alpha: 0.5, dropout: 0.2, seed: 1 });
    expect(written.architecture.filter((l) => l.kind === 'linear').map((l) => l.out)).toEqual([20, 10]);
    expect(written.testImages).toBe(8);
    expect(written.metrics.accuracy).toBeGreaterThanOrEqual(0);
  });
});
