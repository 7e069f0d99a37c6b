/**
 * seqmnist: the shared library behind the five sequential-MNIST walkthroughs. Notebooks import it
 * as `import * as sm from 'seqmnist'`. This file is the notebooks' API, written out: every name a
 * notebook uses, and the pieces a script needs to run, train or compare the walkthroughs. Deeper
 * modules (kernels, the training loop's internals, the CLI) are imported by path, e.g.
 * `seqmnist/dist/lib/train/loop`. Importing it registers nothing: kernels are registered when a
 * backend is chosen (initBackend, useBackend), the models' classes when a model is read from JSON.
 */
import * as tf from '@tensorflow/tfjs';
export { tf };

// ---- the walkthroughs: one object each, the registry, runs and trained models -------------------
export { kerasLmu, nengoLmu, LMU_DEFAULTS, nengoLmuGraph, validationAccuracyAtBestLoss } from './walkthroughs/lmu';
export type { LmuConfig, LmuTrainingLog } from './walkthroughs/lmu';
export { eurnn, eurnnHistoryChart, formatValidationLine } from './walkthroughs/eurnn';
export type { EurnnConfig, EurnnData, EurnnHistory, EurnnTrainingLog } from './walkthroughs/eurnn';
export { tcn, tcnHistoryChart } from './walkthroughs/tcn';
export type { TcnConfig, TcnData, TcnTrainingLog } from './walkthroughs/tcn';
export {
  lstmPixel,
  lstmRow,
  lstmAugmentation,
  lstmMilestones,
  perStepFigure,
  perStepPredictions,
  plotLstmHistory,
} from './walkthroughs/lstm';
export type { LstmConfig, LstmData, LstmTrainingLog } from './walkthroughs/lstm';
export { WALKTHROUGHS, TRAINED_MODELS, FLAGSHIP, getWalkthrough, getTrainedModel } from './walkthroughs/registry';
export type { TrainedModel } from './walkthroughs/registry';
export { runTraining, loadTrained, evaluateTrained, configFingerprint } from './walkthroughs/run';
export type { AnyWalkthrough, RunOptions } from './walkthroughs/run';
export type {
  Walkthrough,
  CommonConfig,
  TrainOptions,
  TrainResult,
  EvalResult,
  Trained,
  ShippedModel,
  PublishedFigure,
  InputDescription,
} from './walkthroughs/walkthrough';
export type { TrainingLog } from './walkthroughs/training-log';

// ---- the comparison (notebooks/06-compare.ipynb) -------------------------------------------------
export {
  compareModels,
  compareNames,
  compareInfo,
  compareTestSet,
  compareOwnTestSet,
  loadCompareModel,
  showCompareTable,
  compareTableCells,
} from './walkthroughs/compare';
export type { CompareRow, CompareResult, CompareOptions } from './walkthroughs/compare';
export {
  accuracyCostFigures,
  learningCurves,
  learningCurveFigures,
  confusionFigure,
  hardestDigits,
  showHardestDigits,
  agreementMatrix,
  agreementFigure,
} from './walkthroughs/compare-figures';
export {
  perStepComparison,
  meanTrueClassProbability,
  settlingShares,
  instructiveDigits,
  trueClassFigure,
  whenDoesItKnowFigure,
} from './walkthroughs/compare-steps';
export { predictClasses, toProbabilities, accuracyOf, confusionMatrix } from './walkthroughs/predictions';
export { readBenchRecord } from './walkthroughs/bench-record';

// ---- backend and settings ------------------------------------------------------------------------
export { initBackend, useBackend, deviceDescription, BACKENDS } from './backend';
export { backendTraits, onGpu } from './backend-traits';
export type { BackendName } from './backend-traits';
export { quickMode, quickOr, trainingSwitch } from './settings';
export { getLstmEngine } from './kernels/lstm';
export { getEurnnEngine, getEurnnThreads } from './kernels/eurnn';
export { lstmKernelEngine, eurnnKernelEngine } from './kernels/all';

// ---- data ----------------------------------------------------------------------------------------
export { loadMnist, labelCounts } from './data/mnist';
export type { Mnist } from './data/mnist';
export { RandomState } from './data/random';
export {
  scaleImages,
  permutePixels,
  inversePermutation,
  splitTrainValidation,
  toPixelSequences,
} from './data/transforms';
export { SequenceDataset } from './data/batches';
export type { SequenceBatch } from './data/batches';
export { augmentImages } from './data/augment';
export { loadPsmnist } from './data/psmnist';
export type { PsmnistData } from './data/psmnist';

// ---- models --------------------------------------------------------------------------------------
export { LMU } from './models/lmu-layer';
export { NengoLMU } from './models/nengo-lmu';
export { buildKerasLmuModel, buildNengoLmuModel } from './models/lmu';
export { lmuStateSpace } from './models/lmu-math';
export { eunnApply, EURNN, EURNNSteps } from './models/eurnn';
export { receptiveField } from './models/tcn';
export { perStepModel } from './models/per-step';
export { registerModelClasses } from './models/classes';

// ---- training ------------------------------------------------------------------------------------
export { fit, evaluate, trainStep } from './train/loop';
export { losses } from './train/gradients';
export { Checkpoint } from './train/checkpoint';
export { ModelCheckpoint, EarlyStopping, ReduceLROnPlateau } from './train/callbacks';
export { RMSprop } from './train/rmsprop';
export { saveModel, loadModel, loadWeightsInto, readTrainingLog, shippedWeightsDir } from './train/saving';
export { formatDuration, ProgressBar } from './train/progress';
export type { History } from './history';

// ---- plots ---------------------------------------------------------------------------------------
export { lineChart, sliderFigure, showFigure } from './plot/charts';
export type { Figure } from './plot/charts';
export { historyChart, HistoryPlot } from './plot/history';
export { showDigit, showDigits, digitDataUri } from './plot/digit';
export { showGraph } from './plot/graph';
export { showTable } from './plot/table';
export { showDetails, displayBundle, notebookKernel } from './plot/display';
