// The peer libraries in the page, each on its own WebGPU device from navigator.gpu:
// TensorFlow.js (tfjs-core with every gradient registered, on tfjs-backend-webgpu) and
// jax-js (its 'webgpu' device). Loaded on demand; a peer that fails to load or to get its
// backend comes back with the reason, so the page can print it in the peer's row.

import { pageOptions } from '../harness/page.js';
import type { StepLibrary } from '../step/mlp-problem.js';
import { jaxLibrary } from '../peers/jax-step.js';
import { tfjsLibrary } from '../peers/tfjs-step.js';

export type PagePeer = { key: string; name: string; lib: StepLibrary } | { key: string; name: string; error: string };

/** Package versions, read by the driver in Node (a page cannot read package.json). */
export interface PeerVersions {
  versions?: Record<string, string>;
}

const why = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

async function tfjsWebgpu(): Promise<PagePeer> {
  const name = 'tfjs-webgpu';
  try {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-core/dist/register_all_gradients');
    // registers the 'webgpu' backend at import time, since navigator.gpu exists
    await import('@tensorflow/tfjs-backend-webgpu');
    tf.enableProdMode();
    if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') throw new Error(`tf.setBackend('webgpu') failed (backend now '${tf.getBackend()}')`);
    await tf.ready();
    const v = pageOptions<PeerVersions>().versions ?? {};
    return { key: 'tfjs', name, lib: tfjsLibrary(tf, name, `@tensorflow/tfjs-core ${tf.version_core}, tfjs-backend-webgpu ${v['@tensorflow/tfjs-backend-webgpu'] ?? '?'}`) };
  } catch (e) {
    return { key: 'tfjs', name, error: why(e) };
  }
}

async function jaxWebgpu(): Promise<PagePeer> {
  const name = 'jax-js webgpu';
  try {
    const jax = await import('@jax-js/jax');
    const got = await jax.init('webgpu');
    if (!got.includes('webgpu')) throw new Error(`jax-js init('webgpu') gave [${got.join(', ')}]`);
    jax.defaultDevice('webgpu');
    const v = pageOptions<PeerVersions>().versions ?? {};
    return { key: 'jax', name, lib: jaxLibrary(name, `@jax-js/jax ${v['@jax-js/jax'] ?? '?'}, device 'webgpu' (jit)`) };
  } catch (e) {
    return { key: 'jax', name, error: why(e) };
  }
}

/** The peers among `keys` ('tfjs', 'jax'). */
export async function loadPagePeers(keys: readonly string[]): Promise<PagePeer[]> {
  const out: PagePeer[] = [];
  if (keys.includes('tfjs')) out.push(await tfjsWebgpu());
  if (keys.includes('jax')) out.push(await jaxWebgpu());
  return out;
}
