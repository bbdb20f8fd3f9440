// A training step recorded once and replayed (core's trace): after two eager steps (the
// first recorded, the second checked against it) every step replays the recorded dispatches
// with the new step's dropout masks and learning rate, with no tensor, tape or plan lookup
// on the host. The model's parameters and the optimizer's slots stay in the same storage
// and are updated in place. Where the backend cannot replay (the CPU) every step runs
// eagerly, through the same code as trainStep: the results are the same either way.

import { tidy, trace, type Tensor, type TracedStep } from '@alphadrop/core';
import type { ForwardContext, Mode, Module } from '../module.js';
import type { Optimizer } from '../optim/optimizer.js';
import { stepOnce, trainingContext, type LossFn } from './step.js';

/** Maps the traced step's inputs to its minibatch (default: the inputs are x and y). */
export type BatchOf = (inputs: readonly Tensor[]) => { x: Tensor; y: Tensor };

export interface TracedStepResult {
  /** The step's loss, a scalar tensor (the caller's to dispose). */
  loss: Tensor;
  /** The finiteness flag, shape [1]: 0 when the loss and every parameter are finite, else NaN. */
  finite: Tensor;
  /** Whether the step replayed the recording. */
  replayed: boolean;
}

export class TracedTrainStep {
  private readonly traced: TracedStep;
  private mode: Mode;

  /**
   * `batch` turns the inputs given to run() into (x, y) inside the step, so that work
   * (e.g. gathering a minibatch by index from data on the device) is recorded too.
   */
  constructor(
    readonly model: Module,
    readonly optimizer: Optimizer,
    loss: LossFn,
    seed: number | ((step: number) => ForwardContext),
    batch: BatchOf = ([x, y]) => ({ x: x!, y: y! }),
  ) {
    // a seed gives fit's masks (trainingContext); a model batch passes its own context (one key per model)
    const context = typeof seed === 'number' ? (step: number) => trainingContext(seed, step) : seed;
    this.mode = model.mode;
    this.traced = trace(
      (step, inputs) =>
        tidy(() => {
          const { x, y } = batch(inputs);
          const out = stepOnce(model, optimizer, loss, x, y, context(step), { keepLoss: true, finiteness: true });
          return [out.loss!, out.finite!];
        }),
      // the state: the optimizer's flat parameters (the model's are views of it) and its slots
      optimizer.traceState(),
    );
  }

  /** Runs optimizer step number optimizer.step + 1 on the inputs. */
  run(...inputs: Tensor[]): TracedStepResult {
    // the recording holds one mode's dispatches (dropout on or off): another mode records again
    if (this.model.mode !== this.mode) {
      this.traced.dispose();
      this.mode = this.model.mode;
    }
    const step = this.optimizer.step;
    const { outputs, replayed } = this.traced.run(step, inputs);
    if (replayed) this.optimizer.step = step + 1;
    return { loss: outputs[0]!, finite: outputs[1]!, replayed };
  }

  /** Why every step runs eagerly (the backend cannot replay, or the step broke the trace's contract); null otherwise. */
  get eagerReason(): string | null {
    return this.traced.reason;
  }

  get replaying(): boolean {
    return this.traced.replaying;
  }

  /** Dispatches per replayed step. */
  get dispatches(): number {
    return this.traced.dispatches;
  }

  dispose(): void {
    this.traced.dispose();
  }
}
