// Data shipped with the package. The path is relative to this module, which sits one level
// below the package root both as source (src/) and bundled (dist/).
import { fileURLToPath } from 'node:url';

/** The embedded MNIST sample (IDX files; CC BY-SA 3.0, see its NOTICE). */
export const MNIST_SAMPLE_DIR = fileURLToPath(new URL('../fixtures/mnist-sample', import.meta.url));

/** The embedded yacht hydrodynamics table (UCI; inputs in columns 0–5, target 6; see its NOTICE), shipped with @alphadrop/nn. */
export const YACHT_SAMPLE_FILE = fileURLToPath(new URL('../../nn/fixtures/uci-yacht/data.txt', import.meta.url));
