// @alphadrop/nn: layers, optimizers, data sets (in progress; see the issue tracker).
// Data loaders whose parsing is pure live here; Node file access is in the /node entry.

export * from './data/uci.js';
