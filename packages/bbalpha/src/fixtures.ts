// Data shipped with the package. The path is relative to this module, which sits one level
// below the package root both as source (src/) and bundled (dist/); @alphadrop/nn's data is
// found through that package, wherever npm placed it.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The embedded MNIST sample (IDX files; CC BY-SA 3.0, see its NOTICE). */
export const MNIST_SAMPLE_DIR = fileURLToPath(new URL('../fixtures/mnist-sample', import.meta.url));

/** The embedded yacht hydrodynamics table (UCI; inputs in columns 0–5, target 6; see its NOTICE), shipped with @alphadrop/nn. */
export const YACHT_SAMPLE_FILE = join(dirname(createRequire(import.meta.url).resolve('@alphadrop/nn/package.json')), 'fixtures', 'uci-yacht', 'data.txt');
