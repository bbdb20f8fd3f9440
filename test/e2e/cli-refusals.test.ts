// Every bad command line of issue 9 is refused before any work starts, as a typed error
// naming the flag, what it expects and what came, with no output file left behind.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../packages/bbalpha/src/cli/main.js';
import { mnistForTests } from '../helpers/data.js';
import { expectRefusal, filesUnder, refuse, run, tempDir } from './cli-helpers.js';

const data = () => mnistForTests('e2e cli refusals').dir;
const trainArgs = (out: string) => ['train', '--backend', 'cpu', '--data-dir', data(), '--limit', '16', '--epochs', '1', '--out', out];

describe('the command line refuses bad flags before any work', () => {
  it('an unknown flag, suggesting the nearest one', async () => {
    const dir = tempDir();
    const r = await refuse([...trainArgs(join(dir, 'm.safetensors')), '--epoch', '1']);
    expectRefusal(r, 'ValueError', ['alphadrop train', 'one of its flags', '--epochs', 'got --epoch', 'did you mean --epochs?']);
    expect(filesUnder(dir)).toEqual([]);
  });

  it('a flag of another command says whose it is', async () => {
    expectRefusal(await refuse(['train', '--eta', '0.1']), 'ValueError', ['got --eta', '--eta is a flag of attack, not of train']);
  });

  it('an unknown command, suggesting the nearest', async () => {
    expectRefusal(await refuse(['trian', '--epochs', '1']), 'ValueError', ['expected a command', 'got "trian"', 'did you mean train?']);
  });

  it('empty values: --alpha= and --eta=', async () => {
    expectRefusal(await refuse(['train', '--alpha=']), 'ValueError', ['--alpha: expected a value (a number ≥ 0)', 'got an empty value']);
    expectRefusal(await refuse(['attack', '--model', 'm', '--eta=']), 'ValueError', ['--eta: expected a value', 'got an empty value']);
  });

  it('a flag without its value: --epochs --alpha 0.5', async () => {
    expectRefusal(await refuse(['train', '--epochs', '--alpha', '0.5']), 'ValueError', ['--epochs: expected a value (an integer ≥ 1)', 'got the flag --alpha', '--epochs expects a value']);
    expectRefusal(await refuse(['train', '--epochs']), 'ValueError', ['--epochs: expected a value', 'got the end of the command line']);
  });

  it('a negative dropout rate, a rate of 1', async () => {
    expectRefusal(await refuse(['train', '--dropout', '-0.1']), 'ValueError', ['--dropout: expected a number in [0, 1)', 'got -0.1']);
    expectRefusal(await refuse(['mnist', '--dropout=1']), 'ValueError', ['--dropout: expected a number in [0, 1)', 'got 1']);
  });

  it('a misspelt objective', async () => {
    expectRefusal(await refuse(['attack', '--objective', 'refrence-code']), 'ValueError', ['--objective: expected one of paper, reference-code', 'got "refrence-code"', 'did you mean reference-code?']);
  });

  it('non-decimal, non-finite and non-integer numbers', async () => {
    expectRefusal(await refuse(['train', '--epochs', '0x10']), 'ValueError', ['--epochs: expected an integer ≥ 1 (a decimal number)', 'got "0x10"']);
    expectRefusal(await refuse(['train', '--lr', 'Infinity']), 'ValueError', ['--lr', 'got "Infinity"']);
    expectRefusal(await refuse(['reproduce', 'uci', '--splits', '1.5']), 'ValueError', ['--splits: expected an integer ≥ 1', 'got 1.5']);
    expectRefusal(await refuse(['reproduce', 'uci', '--splits', '0']), 'ValueError', ['--splits: expected an integer ≥ 1', 'got 0']);
    expectRefusal(await refuse(['reproduce', 'uci', '--alpha', '0.5,,1']), 'ValueError', ['--alpha', 'item 2 of "0.5,,1"', 'got an empty value']);
  });

  it('--test-samples 0 and --limit 0', async () => {
    const dir = tempDir();
    expectRefusal(await refuse([...trainArgs(join(dir, 'm.safetensors')), '--test-samples', '0']), 'ValueError', ['--test-samples: expected an integer ≥ 1', 'got 0']);
    expectRefusal(await refuse(['eval', '--model', 'm', '--limit', '0']), 'ValueError', ['--limit: expected an integer ≥ 1', 'got 0']);
    expectRefusal(await refuse(['mnist', '--limit', '0']), 'ValueError', ['--limit: expected an integer ≥ 1', 'got 0']);
    expect(filesUnder(dir)).toEqual([]);
  });

  it('a switch given a value, a flag given twice, a stray argument', async () => {
    expectRefusal(await refuse(['attack', '--force=yes']), 'ValueError', ['--force: expected no value (it is a switch)', 'got "yes"']);
    expectRefusal(await refuse(['train', '--epochs', '1', '--epochs', '2']), 'ValueError', ['--epochs: expected the flag once, got it twice']);
    expectRefusal(await refuse(['train', '3']), 'ValueError', ['alphadrop train: expected only flags after the command', 'got ["3"]']);
  });

  it('--hidden with --arch cnn contradicts the fixed CNN', async () => {
    expectRefusal(await refuse(['train', '--arch', 'cnn', '--hidden', '50']), 'ValueError', ['--hidden: expected no --hidden with --arch cnn', 'got 50']);
  });
});

describe('output paths are checked before any work', () => {
  it('train --out onto a directory', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    expectRefusal(await refuse(trainArgs(join(dir, 'sub'))), 'ValueError', ['--out: expected a file path', `${join(dir, 'sub')} (an existing directory)`]);
    expect(filesUnder(dir)).toEqual([]);
  });

  it('train --out under a file', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'f'), 'x');
    expectRefusal(await refuse(trainArgs(join(dir, 'f', 'm.safetensors'))), 'ValueError', ['--out: expected a path inside a directory', 'is a file, not a directory']);
    expect(filesUnder(dir)).toEqual(['f']);
  });

  it('train --out onto an existing file needs --force', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'm.safetensors'), 'keep');
    expectRefusal(await refuse(trainArgs(join(dir, 'm.safetensors'))), 'ValueError', ['--out: expected a path that does not exist yet (or --force to overwrite)', 'm.safetensors (an existing file)']);
  });

  it('train --out into a missing directory creates it, once every check passed', async () => {
    const dir = tempDir();
    const out = join(dir, 'a', 'b', 'm.safetensors');
    // a refusal leaves the directory uncreated
    expectRefusal(await refuse([...trainArgs(out), '--samples', '0']), 'ValueError', ['--samples']);
    expect(filesUnder(dir)).toEqual([]);
    await run([...trainArgs(out), '--test-limit', '8', '--samples', '1', '--test-samples', '1']);
    expect(filesUnder(dir)).toEqual(['a/b/m.safetensors']);
  });

  it('a missing data directory', async () => {
    const dir = tempDir();
    expectRefusal(await refuse(['train', '--data-dir', join(dir, 'none'), '--out', join(dir, 'm')]), 'ValueError', ['--data-dir: expected an existing directory', 'no such directory']);
  });

  it('data fetch: a bad mirror URL or data set name', async () => {
    expectRefusal(await refuse(['data', 'fetch', 'mnist', '--base-url', 'nota url', '--cache-dir', tempDir()]), 'ValueError', ['--base-url: expected an absolute http(s) URL', '"nota url"']);
    expectRefusal(await refuse(['data', 'fetch', 'mnsit']), 'ValueError', ['<name>', 'got "mnsit"', 'did you mean mnist?']);
    expectRefusal(await refuse(['data', 'get', 'mnist']), 'ValueError', ['<action>', 'got "get"']);
  });
});

describe('help', () => {
  it('lists every command and every flag of each', async () => {
    const [text] = await run(['help']);
    for (const c of COMMANDS) {
      expect(text).toContain(`alphadrop ${c.name}`);
      const [own] = await run([c.name, '--help']);
      for (const f of c.flags) {
        expect(text).toContain(`--${f.name}`);
        expect(own).toContain(`--${f.name}`);
      }
    }
    const [one] = await run(['help', 'reproduce']);
    expect(one).toContain('--splits');
    expect(one).not.toContain('--eta');
  });
});
