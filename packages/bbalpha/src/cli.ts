#!/usr/bin/env node
// alphadrop: the command-line interface of @alphadrop/bbalpha (`alphadrop help` lists every
// command and flag). This file is the entry (package.json's bin, the README, scripts);
// the parser, checks and commands live in cli/.
//   alphadrop demo     the main job: BB-α on the embedded MNIST sample, uncertainty report
//   alphadrop mnist    BB-α on full MNIST (--data-dir), MC evaluation
//   alphadrop reproduce uci|mnist-mlp|mnist-cnn|adversarial|runtime|ood|calibration|all
//                      the paper's experiments, resumable, into results/<experiment>/
//   alphadrop train    train on MNIST, or on your own table (--data), and save a self-describing checkpoint
//   alphadrop eval     evaluate a checkpoint on the MNIST test set
//   alphadrop predict  MC predictive probabilities, entropy and MI for test digits (JSON), or
//                      the predictive mean and uncertainty of your own rows (--data: CSV or JSON)
//   alphadrop attack   FGS η sweep against a checkpoint: JSON and an SVG plot
//   alphadrop ood      out-of-distribution AUROC (entropy, MI): MNIST against Fashion-MNIST
//   alphadrop calibration  ECE, Brier and reliability bins of checkpoints on MNIST
//   alphadrop data fetch mnist|fashion-mnist|uci   download into the cache
// Exit status: 0 on success, 1 on any error (printed as `ErrorClass: where: expected …, got …`)
// and when the demo's checks fail.

import { runWhenStarted } from './cli/entry.js';
import { main } from './cli/main.js';

export { main };

runWhenStarted(import.meta.url, (argv) => main(argv), process.env.ALPHADROP_CLI === '1');
