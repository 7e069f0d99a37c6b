/**
 * Every walkthrough the CLI can summarise, train, evaluate and benchmark. Importing this module
 * registers them (each model issue adds one import line here).
 */
export * from './registry';
import './lstm';
export { buildLstmModel, kerasRmsprop, lstmAugmentation, loadLstmData, trainLstm, loadLstmWeights, perStepPredictions, perStepFigure, loadLstmHistory, plotLstmHistory, lstmMilestones, LSTM_MILESTONES, LSTM_SEQUENCES, LSTM_DEFAULTS } from './lstm';
export type { LstmVariant, LstmData, LstmDataOptions, TrainLstmOptions, TrainLstmResult } from './lstm';
export * from './eurnn';
export * from './tcn';
export * from './lmu';
