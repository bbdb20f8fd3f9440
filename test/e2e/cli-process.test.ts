// The real CLI as a user runs it (node scripts/run-ts.mjs packages/bbalpha/src/cli.ts):
// exit status 1 and one `ErrorClass: message` line on standard error for a refusal,
// exit status 0 for help.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['scripts/run-ts.mjs', 'packages/bbalpha/src/cli.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the alphadrop process', () => {
  it('a typo exits 1 with the typed error on stderr', () => {
    const r = cli('train', '--epoch', '1');
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^ValueError: alphadrop train: expected one of its flags .* got --epoch \(did you mean --epochs\?\)$/);
    expect(r.stdout).toBe('');
  });

  it('uci --splits 0 exits 1 before starting a backend', () => {
    const r = cli('reproduce', 'uci', '--splits', '0');
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('ValueError: --splits: expected an integer ≥ 1, got 0');
    expect(r.stdout).not.toContain('backend');
  });

  it('help exits 0 and lists the commands', () => {
    const r = cli('help');
    expect(r.status).toBe(0);
    for (const c of ['demo', 'mnist', 'reproduce', 'train', 'eval', 'predict', 'attack', 'data']) expect(r.stdout).toContain(`alphadrop ${c}`);
  });
});
