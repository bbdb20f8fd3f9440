// The BB-α training step (mlp-problem.ts) in TensorFlow.js on any backend, written as a tfjs
// user would write it for speed: variables, tf.dropout, the fused matMul + bias + ReLU,
// tf.logSoftmax / tf.logSumExp, and SGD through optimizer.minimize. No Node imports: the
// Node entry (step-tfjs.ts, backend 'cpu') and the browser page (bench/browser, 'webgpu')
// both build their step here, from a tfjs instance already set to its backend.

import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import { ALPHA, KEEP, LEARNING_RATE, WEIGHT_DECAY, type MlpProblem, type StepLibrary, type StepRunner } from '../step/mlp-problem.js';
import type { Tfjs } from './tfjs-loader.js';

/** The step library of a tfjs instance whose backend is set (name: the table's row, e.g. 'tfjs-webgpu'). */
export function tfjsLibrary(tf: Tfjs, name: string, detail: string): StepLibrary {
  return { name, detail, build: (p, fixedMasks, lr = LEARNING_RATE) => buildStep(tf, p, fixedMasks, lr) };
}

let instance = 0;

function buildStep(tf: Tfjs, p: MlpProblem, fixedMasks: boolean, lr: number): StepRunner {
  const { M, K, sizes } = p.cfg;
  const L = sizes.length - 1;
  const N = M * K;
  const D = sizes[0]!;
  const C = sizes[L]!;
  const tag = `bench${instance++}`; // variable names are global in tfjs
  const Ws: Variable[] = p.Ws.map((w, l) => tf.variable(tf.tensor2d(w, [sizes[l]!, sizes[l + 1]!]), true, `${tag}/W${l}`));
  const bs: Variable[] = p.bs.map((b, l) => tf.variable(tf.tensor1d(b), true, `${tag}/b${l}`));
  const x = tf.tensor2d(p.x, [M, D]);
  const y = tf.tensor1d(p.y, 'int32');
  const masks = fixedMasks && p.masks ? p.masks.map((m, l) => tf.tensor2d(m, [N, sizes[l]!])) : null;
  const optimizer = tf.train.sgd(lr);
  let lastLoss: Tensor | null = null;

  // tf.dropout(h, rate) = h · floor(uniform + keep) / keep, a fresh draw per call
  const dropout = (h: Tensor, l: number): Tensor => (masks ? tf.div(tf.mul(h, masks[l]!), KEEP) : tf.dropout(h, 1 - KEEP));

  const loss = (): Tensor => {
    let h: Tensor = tf.reshape(tf.tile(tf.expandDims(x, 1), [1, K, 1]), [N, D]);
    for (let l = 0; l < L; l++) {
      h = tf.fused.matMul({ a: dropout(h, l), b: Ws[l]!, bias: bs[l]!, activation: l < L - 1 ? 'relu' : 'linear' });
    }
    const logp = tf.reshape(tf.logSoftmax(h), [M, K, C]);
    const oneHot = tf.reshape(tf.cast(tf.oneHot(y, C), 'float32'), [M, 1, C]);
    const ll = tf.sum(tf.mul(logp, oneHot), 2); // [M, K]
    const perInput = tf.mul(tf.sub(tf.logSumExp(tf.mul(ll, ALPHA), 1), Math.log(K)), -1 / ALPHA);
    const sq = tf.addN(Ws.map((W) => tf.sum(tf.square(W))));
    return tf.add(tf.mean(perInput), tf.mul(sq, WEIGHT_DECAY));
  };

  return {
    step: () => {
      const value = optimizer.minimize(() => loss() as ReturnType<typeof tf.scalar>, true, [...Ws, ...bs]);
      lastLoss?.dispose();
      lastLoss = value;
    },
    readLoss: async () => {
      if (lastLoss === null) throw new Error('readLoss before the first step');
      await bs[L - 1]!.data(); // the update has run too (it has: the cpu backend is eager)
      return (await lastLoss.data())[0]!;
    },
    params: async () => ({
      Ws: await Promise.all(Ws.map(async (W) => Float32Array.from(await W.data()))),
      bs: await Promise.all(bs.map(async (b) => Float32Array.from(await b.data()))),
    }),
    liveTensors: () => tf.memory().numTensors,
    dispose: () => {
      tf.dispose([...Ws, ...bs, x, y, ...(masks ?? [])]);
      lastLoss?.dispose();
      lastLoss = null;
      optimizer.dispose();
    },
  };
}
