/**
 * Node-only entry of @alphadrop/nn: file-system data loaders.
 *
 * @module @alphadrop/nn/node
 */
export * from './data/uci-node.js';
export * from './data/mnist-node.js';
export * from './data/cache-node.js';
export * from './data/fetch-node.js';
export * from './checkpoint/safetensors-node.js';
export { saveCheckpoint, loadCheckpoint, loadModelFromCheckpoint, readCheckpointMetadataFile } from './checkpoint/checkpoint-node.js';
export * from './data/table-node.js';
