// Node-only entry of @alphadrop/nn: file-system data loaders.
export * from './data/uci-node.js';
