// Progress output: a redrawn bar on a TTY, JSON lines otherwise (CI logs, pipes), or
// nothing. In a browser there is no stdout: 'auto' is silent there.

export type LogMode = 'auto' | 'bar' | 'json' | 'silent';

interface Logger {
  step(epoch: number, step: number): void;
  epoch(logs: Record<string, number>): void;
  done(): void;
}

type Out = { write(s: string): unknown; isTTY?: boolean };

function stdout(): Out | null {
  const p = (globalThis as { process?: { stdout?: Out } }).process;
  return p?.stdout ?? null;
}

export function createLogger(mode: LogMode, epochs: number, stepsPerEpoch: number): Logger {
  const out = stdout();
  const resolved = mode === 'auto' ? (out === null ? 'silent' : out.isTTY ? 'bar' : 'json') : mode;
  if (resolved === 'silent' || out === null) return { step() {}, epoch() {}, done() {} };
  if (resolved === 'json')
    return {
      step() {},
      epoch(logs) {
        out.write(JSON.stringify({ event: 'epoch', ...logs }) + '\n');
      },
      done() {},
    };
  let last = 0;
  return {
    step(epoch, step) {
      const now = Date.now();
      if (now - last < 100 && step !== stepsPerEpoch) return;
      last = now;
      const width = 24;
      const filled = Math.round((width * step) / stepsPerEpoch);
      out.write(`\repoch ${epoch + 1}/${epochs} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${step}/${stepsPerEpoch}`);
    },
    epoch(logs) {
      const parts = Object.entries(logs)
        .filter(([k]) => k !== 'epoch')
        .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`);
      out.write(`\repoch ${logs.epoch}/${epochs}: ${parts.join(', ')}${' '.repeat(10)}\n`);
    },
    done() {},
  };
}
