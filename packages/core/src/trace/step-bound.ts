// Step-bound primitive params. A traced step (trace.ts) is recorded once and replayed at
// later steps without running its JavaScript again, so every run-time value that changes
// from step to step must be recomputable from the step number alone. The params objects
// that carry such values (a dropout mask's Philox counter, the optimizer's learning rate
// and bias-correction step) are marked with the function that rebuilds them at another
// step; a replay asks each recorded dispatch's params for their value at the new step.
//
// The mark is an enumerable symbol-keyed property, so object spread ({ ...p }), which the
// fused ops and the VJP rules use to pass params on, keeps it; JSON, planKey and
// Object.keys do not see it, so plan caches are unaffected.

const AT_STEP = Symbol('alphadrop.atStep');

type Rebuild<T> = (step: number) => T;

/** Marks `params` as the value at one step of `rebuild(step)`; returns `params`. */
export function stepBound<T extends object>(params: T, rebuild: Rebuild<T>): T {
  Object.defineProperty(params, AT_STEP, { value: rebuild, enumerable: true, configurable: true, writable: false });
  return params;
}

function rebuildOf(v: unknown): Rebuild<unknown> | undefined {
  return v !== null && typeof v === 'object' ? ((v as Record<symbol, unknown>)[AT_STEP] as Rebuild<unknown> | undefined) : undefined;
}

/** Whether `params` holds a step-bound value at any depth (plain objects and arrays). */
export function isStepBound(params: unknown, depth = 0): boolean {
  if (params === null || typeof params !== 'object' || depth > 8) return false;
  if (rebuildOf(params)) return true;
  for (const v of Object.values(params)) if (isStepBound(v, depth + 1)) return true;
  return false;
}

/**
 * `params` as they would be at `step`: each step-bound part rebuilt (its fields at `step`
 * laid over the part's own), everything else shared. Unmarked params come back unchanged.
 * A rebuilt part is not searched again: step-bound parts do not nest. `memo`, a map kept for
 * one step, lets copies of one marked object (spread into several primitives' params) share
 * one rebuild.
 */
export function paramsAtStep<T>(params: T, step: number, memo?: Map<Function, unknown>, depth = 0): T {
  if (params === null || typeof params !== 'object' || depth > 8) return params;
  const rebuild = rebuildOf(params);
  if (Array.isArray(params)) {
    let changed = false;
    const out = params.map((v) => {
      const w = paramsAtStep(v, step, memo, depth + 1);
      changed ||= w !== v;
      return w;
    });
    return (changed ? out : params) as T;
  }
  if (rebuild) {
    // The fields of the marked object at `step`, laid over this copy's own: a copy made by
    // spreading defaults under the marked object ({ ...defaults, ...marked }) keeps them.
    // copies of one marked object share its rebuild: `memo` (one per step) calls it once
    let fields = memo?.get(rebuild);
    if (fields === undefined) {
      fields = rebuild(step);
      memo?.set(rebuild, fields);
    }
    const at = stripMark({ ...(stripMark(params) as Record<string, unknown>), ...(fields as Record<string, unknown>) });
    return at as T;
  }
  let out: Record<string, unknown> | null = null;
  for (const [k, v] of Object.entries(params)) {
    const w = paramsAtStep(v, step, memo, depth + 1);
    if (w !== v) (out ??= { ...(params as Record<string, unknown>) })[k] = w;
  }
  return (out ?? params) as T;
}

function stripMark<T>(v: T): T {
  if (v === null || typeof v !== 'object' || !rebuildOf(v)) return v;
  const copy = { ...(v as Record<string, unknown>) };
  delete (copy as Record<symbol, unknown>)[AT_STEP];
  return copy as T;
}
