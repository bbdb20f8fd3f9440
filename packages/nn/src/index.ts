/**
 * Layers, optimizers, the training loop, checkpoints and data sets.
 * Data loaders whose parsing is pure live here; Node file access is in the /node entry.
 *
 * @module @alphadrop/nn
 */

export * from './data/uci.js';
export { Module, type Mode, type ForwardContext, type ParameterInfo } from './module.js';
export { glorotUniform, heNormal, type InitKey, type Initializer } from './init.js';
export { Dropout, dropoutCoordinates } from './layers/dropout.js';
export { Linear, Conv2d, MaxPool2d, Flatten, ReLU, Tanh, Sigmoid, type LayerInit, type BatchInit } from './layers/layers.js';
export { Sequential } from './layers/sequential.js';
export { Optimizer, schedules, type OptimizerOptions, type Schedule } from './optim/optimizer.js';
export { fit, epochPermutation, type FitOptions, type FitResult, type Callback, type EpochLogs, type DeviceData } from './train/fit.js';
export type { LogMode } from './train/progress.js';
export * from './data/mnist.js';
export * from './data/csv.js';
export * from './data/npy.js';
export * from './data/table.js';
export * from './data/batches.js';
export * from './checkpoint/safetensors.js';
export { trainStep, type LossFn, type TrainStepOptions, type TrainStepResult } from './train/step.js';
export { TracedTrainStep, type BatchOf, type TracedStepResult } from './train/traced-step.js';
export {
  checkpointEntries, restoreCheckpoint, readCheckpointMetadata, modelFromCheckpoint, CHECKPOINT_FORMAT,
  type TrainingState, type CheckpointMetadata, type DataColumns, type Normalisation, type LoadOptions,
} from './checkpoint/checkpoint.js';
export {
  mlp, buildModel, describeModel, describeArchitecture, dropoutRates, withDropoutRate, mlpArchitecture, paperCnnArchitecture, paperCnn,
  parseArchitecture, LAYER_KINDS, type Architecture, type LayerSpec, type LayerKind,
} from './arch.js';
export { Reshape } from './layers/reshape.js';
export { buildModelBatch, batchTrainingContext, copyMember, memberModel } from './batch/model-batch.js';
export { fitBatch, type BatchData, type FitBatchOptions } from './batch/fit-batch.js';
export { VERSION } from './version.js';
