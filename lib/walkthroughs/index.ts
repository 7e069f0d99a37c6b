/**
 * The walkthroughs' recipes, as the notebooks call them: each one's defaults, data, model,
 * training and evaluation, shipped weights and training log (the CLI in lib/cli/ builds on them).
 */
export * from './training-log';
export * from './lstm';
export * from './eurnn';
export * from './tcn';
export * from './lmu';
export * from './compare';
export * from './compare-steps';
