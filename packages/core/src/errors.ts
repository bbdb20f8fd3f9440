// Typed errors. Every error says what was expected, what came, and where (the op or
// function that refused the input), so a user can fix the call without a debugger.

/** Base class: `where` names the op or API entry point, `expected`/`received` the mismatch. */
export class AlphadropError extends Error {
  constructor(
    readonly where: string,
    readonly expected: string,
    readonly received: string,
    detail?: string,
  ) {
    super(`${where}: expected ${expected}, got ${received}${detail ? ` (${detail})` : ''}`);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit the op: rank, broadcasting, axis out of range, size mismatch. */
export class ShapeError extends AlphadropError {}
/** A dtype the op does not accept, or operands of different dtypes. */
export class DTypeError extends AlphadropError {}
/** A value outside its domain (non-finite hyper-parameter, negative count, bad index). */
export class ValueError extends AlphadropError {}
/** Corrupt, truncated or inconsistent data files. */
export class DataError extends AlphadropError {}
/** No usable device, a lost device, or a backend that cannot run the request. */
export class DeviceError extends AlphadropError {}
/** Use of a tensor after dispose(), or gradients through a non-differentiable op. */
export class StateError extends AlphadropError {}
/**
 * A NaN or an infinity where only finite values make sense: a diverged training step, a
 * non-finite parameter in a checkpoint. `step` and `tensor` say where it was first seen.
 */
export class NonFiniteError extends AlphadropError {
  constructor(
    where: string,
    expected: string,
    received: string,
    readonly tensor: string,
    readonly step?: number,
    detail?: string,
  ) {
    super(where, expected, received, detail);
  }
}
