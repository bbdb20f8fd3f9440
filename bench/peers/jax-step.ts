// The BB-α training step (mlp-problem.ts) in jax-js on its current default device: the whole
// step (valueAndGrad + SGD update) under jit, dropout masks from random.bernoulli with a key
// split off per step. jax-js arrays are reference-counted with move semantics: every call
// consumes its array arguments, `.ref` adds a reference for a second use. No Node imports:
// the Node entry (step-jax.ts, Wasm) and the browser page (bench/browser, WebGPU) build
// their step here once jax-js is initialised on their device.

import { jit, nn, numpy as np, random, tree, valueAndGrad, type Array as JaxArray } from '@jax-js/jax';
import { ALPHA, KEEP, LEARNING_RATE, WEIGHT_DECAY, type MlpProblem, type StepLibrary, type StepRunner } from '../step/mlp-problem.js';

// A type alias, not an interface: jax-js's JsTree wants an index-signature-compatible object.
type Params = {
  W: JaxArray[];
  b: JaxArray[];
};

/** The step library on jax-js's default device (name: the table's row, e.g. 'jax-js webgpu'). */
export function jaxLibrary(name: string, detail: string): StepLibrary {
  return { name, detail, build: (p, fixedMasks, lr = LEARNING_RATE) => buildStep(p, fixedMasks, lr) };
}

function buildStep(p: MlpProblem, fixedMasks: boolean, lr: number): StepRunner {
  const { M, K, sizes } = p.cfg;
  const L = sizes.length - 1;
  const N = M * K;
  const D = sizes[0]!;
  const C = sizes[L]!;

  let params: Params = {
    W: p.Ws.map((w, l) => np.array(w).reshape([sizes[l]!, sizes[l + 1]!])),
    b: p.bs.map((b) => np.array(b)),
  };
  const x = np.array(p.x).reshape([M, D]);
  const y = np.array(p.y, { dtype: np.int32 });
  const fixed = fixedMasks && p.masks ? p.masks.map((m, l) => np.array(m).reshape([N, sizes[l]!]).greater(0.5)) : null;

  // masksOrKey: the fixed boolean keep masks, or a key to draw them from.
  const lossFn = (q: Params, xIn: JaxArray, yIn: JaxArray, masksOrKey: JaxArray | JaxArray[]): JaxArray => {
    const masks = Array.isArray(masksOrKey) ? masksOrKey : null;
    const keys = Array.isArray(masksOrKey) ? null : [...random.split(masksOrKey, L)];
    let h = np.repeat(xIn, K, 0); // [N, D]: input n fills rows n·K .. n·K + K − 1
    for (let l = 0; l < L; l++) {
      const keep = masks ? masks[l]! : random.bernoulli(keys![l]!, KEEP, [N, sizes[l]!]);
      h = np.where(keep, h, 0).mul(1 / KEEP);
      h = np.matmul(h, q.W[l]!.ref).add(q.b[l]!);
      if (l < L - 1) h = nn.relu(h);
    }
    const logp = nn.logSoftmax(h, -1).reshape([M, K, C]);
    const oneHot = nn.oneHot(yIn, C).astype(np.float32).reshape([M, 1, C]);
    const ll = logp.mul(oneHot).sum(2); // [M, K]
    const perInput = nn.logsumexp(ll.mul(ALPHA), 1).sub(Math.log(K)).mul(-1 / ALPHA); // [M]
    const sq = q.W.map((W) => np.square(W).sum()).reduce((a, b) => a.add(b));
    return perInput.mean().add(sq.mul(WEIGHT_DECAY));
  };

  const stepFn = (q: Params, xIn: JaxArray, yIn: JaxArray, masksOrKey: JaxArray | JaxArray[]): [Params, JaxArray] => {
    const [loss, grads] = valueAndGrad(lossFn)(tree.ref(q), xIn, yIn, masksOrKey) as [JaxArray, Params];
    const updated = tree.map((w: JaxArray, g: JaxArray) => w.sub(g.mul(lr)), q, grads) as Params;
    return [updated, loss];
  };
  const jitted = jit(stepFn);

  let key = random.key(1234);
  let lastLoss: JaxArray | null = null;
  let lastValue = NaN;

  return {
    step: () => {
      let arg: JaxArray | JaxArray[];
      if (fixed) arg = fixed.map((m) => m.ref);
      else {
        const [next, sub] = [...random.split(key)];
        key = next!;
        arg = sub!;
      }
      const [updated, loss] = jitted(params, x.ref, y.ref, arg) as [Params, JaxArray];
      params = updated;
      lastLoss?.dispose();
      lastLoss = loss;
    },
    readLoss: async () => {
      if (lastLoss !== null) {
        lastValue = (await lastLoss.data())[0]!; // data() consumes the array
        lastLoss = null;
      }
      await params.b[L - 1]!.blockUntilReady(); // the update has run too
      return lastValue;
    },
    params: async () => {
      const Ws: Float32Array[] = [];
      for (const W of params.W) Ws.push(Float32Array.from(await W.ref.data()));
      const bs: Float32Array[] = [];
      for (const b of params.b) bs.push(Float32Array.from(await b.ref.data()));
      return { Ws, bs };
    },
    liveTensors: () => NaN, // jax-js exposes no live-array count
    dispose: () => {
      tree.dispose(params);
      x.dispose();
      y.dispose();
      key.dispose();
      lastLoss?.dispose();
      lastLoss = null;
      fixed?.forEach((m) => m.dispose());
      jitted.dispose();
    },
  };
}
