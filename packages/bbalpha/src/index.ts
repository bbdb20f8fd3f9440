/**
 * The BB-α dropout energy (Li & Gal 2017), MC batching, predictive
 * metrics, attacks and the paper's experiments.
 *
 * @module @alphadrop/bbalpha
 */

export { bbAlphaLoss, bbAlphaLossComposed, bbAlphaPerPoint, bbAlphaRegressionLoss, classLogLikelihood, type GaussianOptions } from './loss.js';
export { tileSamples, mcForward, mcPasses, mcPredictProbs, mcPredictSamples, predictionKey, type McPredictOptions, type McPassOptions, type McPass } from './mc.js';
export { checkMcTile, activationWidths, MC_TILE_FLAGS, type McTileOptions } from './mc-working-set.js';
export { classificationMetrics, regressionMetrics, entropyOf, auroc, type ClassificationMetrics, type RegressionMetrics } from './metrics.js';
export { fgsm, targetedFgsm, type AttackOptions, type AttackObjective, type TargetedOptions } from './attacks.js';
export { trainClassifier, type BBAlphaTrainOptions } from './train.js';
export { evaluateClassifier, mcSampleProbs, meanOverSamples, type EvalOptions } from './experiments/evaluate.js';
export { runDemo, formatDemoReport, demoChecks, DEMO_DEFAULTS, type DemoOptions, type DemoRow } from './experiments/demo.js';
export { lineChart, type Series, type ChartOptions } from './report/svg.js';
export { GaussianRegressor, runUciSplit, meanStdErr, UCI_DEFAULTS, type UciOptions, type UciResult } from './experiments/uci.js';
