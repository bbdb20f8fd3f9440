// @alphadrop/bbalpha: the BB-α dropout energy (Li & Gal 2017), MC batching, predictive
// metrics, attacks and the paper's experiments.

export { bbAlphaLoss, bbAlphaPerPoint, bbAlphaRegressionLoss, classLogLikelihood, SMALL_ALPHA, type GaussianOptions } from './loss.js';
export { tileSamples, mcForward, mcPredictProbs, mcPredictSamples, type McPredictOptions } from './mc.js';
export { classificationMetrics, regressionMetrics, entropyOf, auroc, type ClassificationMetrics, type RegressionMetrics } from './metrics.js';
