// Data shipped with the package. The path is relative to this module, which sits one level
// below the package root both as source (src/) and bundled (dist/).
import { fileURLToPath } from 'node:url';

/** The embedded MNIST sample (IDX files; CC BY-SA 3.0, see its NOTICE). */
export const MNIST_SAMPLE_DIR = fileURLToPath(new URL('../fixtures/mnist-sample', import.meta.url));
