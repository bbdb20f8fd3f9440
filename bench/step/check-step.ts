// The benchmarks' validation of one library's training step, before anything is timed: one
// step with lr = 1 (so the update is exactly W − g) against the float64 reference
// (mlp-problem.ts), on the problem's fixed masks or on the library's own random masks
// reproduced on the host. Shared by the Node entry (cpu-step.ts) and the browser page
// (bench/browser); no Node imports.

import { formatTable } from '../harness/table.js';
import { makeProblem, referenceStep, type MlpConfig, type StepLibrary } from './mlp-problem.js';

export interface CheckRow {
  lib: string;
  problem: string;
  loss: number;
  refLoss: number;
  lossRelErr: number;
  paramErr: number;
  gradScale: number;
  ok: boolean;
}

export const LOSS_REL_TOL = 1e-4;
export const GRAD_REL_TOL = 1e-5;

/**
 * One step with lr = 1 (so the update is exactly W − g) against float64. masks 'fixed': the
 * problem's own masks fed to the library; 'random': the library's random path, its first
 * step's masks reproduced on the host for the reference (libraries with firstStepMasks).
 */
export async function checkOne(lib: StepLibrary, cfg: MlpConfig, label: string, seed: number, masks: 'fixed' | 'random'): Promise<CheckRow> {
  const prob = makeProblem(cfg, seed, masks === 'fixed');
  if (masks === 'random') prob.masks = lib.firstStepMasks!(cfg);
  const ref = referenceStep(prob, 1);
  const runner = lib.build(prob, masks === 'fixed', 1);
  try {
    runner.step();
    const loss = await runner.readLoss();
    const got = await runner.params();
    let paramErr = 0;
    const cmp = (a: Float32Array, b: Float64Array) => {
      for (let i = 0; i < a.length; i++) paramErr = Math.max(paramErr, Math.abs(a[i]! - b[i]!));
    };
    got.Ws.forEach((w, l) => cmp(w, ref.newWs[l]!));
    got.bs.forEach((b, l) => cmp(b, ref.newbs[l]!));
    let gradScale = 0;
    for (const g of [...ref.gW, ...ref.gb]) for (const v of g) gradScale = Math.max(gradScale, Math.abs(v));
    const lossRelErr = Math.abs(loss - ref.loss) / Math.max(1e-12, Math.abs(ref.loss));
    const ok = lossRelErr <= LOSS_REL_TOL && paramErr <= GRAD_REL_TOL * Math.max(1, gradScale);
    return { lib: lib.name, problem: `${label}, ${masks} masks`, loss, refLoss: ref.loss, lossRelErr, paramErr, gradScale, ok };
  } finally {
    runner.dispose();
  }
}

/** The check rows as the Node entry prints them (and the browser page, the same). */
export function formatChecks(rows: readonly CheckRow[]): string {
  return formatTable(
    ['library', 'problem (one step, lr = 1)', 'loss', 'float64 loss', 'rel err', 'max|Δ(W−g)|', 'max|g|', ''],
    rows.map((r) => [
      r.lib,
      r.problem,
      r.loss.toPrecision(8),
      r.refLoss.toPrecision(8),
      r.lossRelErr.toExponential(1),
      r.paramErr.toExponential(1),
      r.gradScale.toExponential(1),
      r.ok ? 'ok' : 'FAIL',
    ]),
    2,
  );
}
