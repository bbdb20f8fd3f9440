/**
 * The BB-α dropout energy (Li & Gal 2017), MC batching, predictive
 * metrics, attacks and the paper's experiments.
 *
 * @module @alphadrop/bbalpha
 */

export { bbAlphaLoss, bbAlphaLossComposed, bbAlphaPerPoint, bbAlphaRegressionLoss, classLogLikelihood, type GaussianOptions } from './loss.js';
export { tileSamples, mcForward, mcForwardBatch, mcPasses, mcPredictProbs, mcPredictSamples, predictionKey, type McPredictOptions, type McPassOptions, type McPass } from './mc.js';
export { checkMcTile, activationWidths, MC_TILE_FLAGS, type McTileOptions } from './mc-working-set.js';
export { classificationMetrics, regressionMetrics, entropyOf, auroc, type ClassificationMetrics, type RegressionMetrics } from './metrics.js';
export { fgsm, targetedFgsm, type AttackOptions, type AttackObjective, type TargetedOptions } from './attacks.js';
export { trainClassifier, type BBAlphaTrainOptions } from './train.js';
export { evaluateClassifier, mcSampleProbs, meanOverSamples, type EvalOptions } from './experiments/evaluate.js';
export { runDemo, formatDemoReport, demoChecks, DEMO_DEFAULTS, type DemoOptions, type DemoRow } from './experiments/demo.js';
export { lineFigure, reliabilityFigure, panels, PALETTE, type FigureSpec, type Json, type LineFigureOptions, type LineSeries, type LinePoint, type ReliabilityFigureOptions, type ReliabilitySeries, type ReliabilityBin } from './report/figures.js';
export { renderSvg } from './report/render.js';
export { GaussianRegressor, runUciBatch, meanStdErr, uciArchitecture, LOG_TAU_REACH, logTauScale, UCI_DEFAULTS, type UciOptions, type UciResult, type UciMember } from './experiments/uci.js';
export { bbAlphaLossBatch, bbAlphaRegressionLossBatch, bbAlphaPerPointBatch } from './loss-batch.js';
export { fgsSweep, targetedSweep } from './experiments/adversarial.js';
export { oodScores } from './experiments/ood.js';
export { calibration, reliabilityBins } from './experiments/calibration.js';
export { trainClassifierRuns, testMetrics, type ClassifierRun, type ClassifierProtocol, type CurvePoint, type LabelledImages } from './experiments/classify-batch.js';
