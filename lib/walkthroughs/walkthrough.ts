/**
 * What a walkthrough is, as one object: its name and notebook, its typed config (the original's
 * settings as defaults), its model, data, optimiser, training, evaluation, trained weights, the
 * figure its original published, its PyTorch peer and its per-step twin. Each walkthrough file
 * exports one (two for the LMUs and the LSTMs); lib/walkthroughs/registry.ts lists them, and the
 * CLI, `bench`, `compare`, the per-step comparison and the tests loop over that list.
 */
import type * as tf from '@tensorflow/tfjs';
import type { SequenceDataset } from '../data/batches';
import type { Mnist } from '../data/mnist';
import type { LossFn } from '../train/gradients';
import type { ModelRecipe } from '../train/parallel';
import type { TrainingLog } from './training-log';

/** The fields every walkthrough's config has (a `train` flag for all walkthroughs is a field here). */
export interface CommonConfig {
  /** Seed of the initialisers (and of the walkthrough's shuffles and draws). */
  seed: number;
  /** Use only the first `limit` images of each set (quick runs); undefined for all. */
  limit?: number;
  /** Samples per training step. */
  batchSize: number;
  learningRate: number;
}

/**
 * Config keys that describe how long to train rather than what is trained: a checkpoint may be
 * resumed with other values (train 5 epochs, then 10), so they stay out of its fingerprint.
 */
export const LENGTH_KEYS = ['epochs', 'steps'] as const;

/** Pixel by pixel in image order, or under RandomState(0).permutation(784). */
export type Task = 'sequential' | 'permuted';

/** What a model's last layer outputs (compare turns all of them into probabilities). */
export type OutputKind = 'logits' | 'logProbabilities' | 'probabilities';

/** How a model reads a digit. */
export interface InputDescription {
  task: Task;
  /** Side of the square image: 28, or 14 for the LSTMs. */
  side: number;
  steps: number;
  featuresPerStep: number;
  /** How the steps walk the image. */
  pixelOrder: string;
  /** How pixel values are scaled. */
  preprocessing: string;
}

/** An original's published test accuracy, or why there is none. */
export interface PublishedFigure {
  /** As the source states it, e.g. '96.41–96.53%'; null when there is none. */
  accuracy: string | null;
  /** Where it comes from (or, without a figure, why there is none). */
  source: string;
  note?: string;
}

/** One trained model the project ships, in notebooks/weights/<name>/. */
export interface ShippedModel<C> {
  /** Its folder's name, and its name in `compare`. */
  name: string;
  /** The walkthrough, in a few words. */
  title: string;
  /** The config of its training besides the defaults, e.g. `{ permute: true }`. */
  overrides: Partial<C>;
  published: PublishedFigure;
  /** Where a comparison with this model is unfair, in plain words. */
  caveats: string[];
  /** Its colour in compare's figures. */
  color?: string;
  /** What its learning curve's accuracy is, e.g. 'validation accuracy (10,000 held-out training images)'. */
  curveMetric?: string;
}

/** A learning curve's points (compare draws one per model). */
export interface LearningCurvePoints {
  /** What the accuracy is measured on. */
  metric: string;
  /** Training images seen, seconds of training so far, and the accuracy, per point. */
  images: number[];
  seconds: number[];
  accuracy: number[];
}

/** What a walkthrough's `train` returns; the caller disposes `model` and `optimizer`. */
export interface TrainResult<H = unknown> {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  history: H;
  /** Mean milliseconds per training step (validation excluded) in this run. */
  msPerStep: number;
  /** Threads per step, the main one included. */
  threads: number;
}

/** Options of a walkthrough's `train`: where it checkpoints, and what it shows. */
export interface TrainOptions<D> {
  /** The data from the walkthrough's loadData (default: loaded for the config). */
  data?: D;
  /** Folder for a checkpoint after every epoch (or validation) to resume from. Default none. */
  checkpointDir?: string;
  /** Continue from checkpointDir. Default false. */
  resume?: boolean;
  /** Show the progress bar and the original's lines. Default true. */
  progress?: boolean;
  /** Redraw the walkthrough's chart after every epoch (notebooks). Default false. */
  plot?: boolean;
}

/** What a walkthrough's `evaluate` returns: the figure `eval` prints, and the original's lines. */
export interface EvalResult {
  /** Accuracy in [0, 1] on the walkthrough's own test set (the figure its training log records). */
  accuracy: number;
  loss: number;
  testImages: number;
  /** Lines the CLI prints before 'test accuracy: XX.XX%' (e.g. the LSTMs' full test set). */
  lines: string[];
}

/** A trained model and the training log saved beside it (absent in folders without one). */
export interface Trained<L extends TrainingLog = TrainingLog> {
  model: tf.LayersModel;
  log?: L;
  /** The folder it was read from. */
  dir: string;
}

/** What a training run hands to the log writer (lib/walkthroughs/run.ts). */
export interface RunOutcome {
  /** The trained model (the caller disposes it). */
  model: tf.LayersModel;
  /** The model whose weights are saved, when not `model` (KerasLMU's best epoch). */
  saved?: tf.LayersModel;
  threads: number;
  /** The walkthrough's own log fields, after the common ones (the history last). */
  fields: Record<string, unknown>;
  /** Lines printed after the log is saved (the original's closing lines). */
  lines: string[];
}

/** A training log's record of the walkthrough's training cost, for `compare`. */
export interface TrainingBudget {
  /** The command that trained it, as its log records it. */
  command: string;
  /** E.g. '10 epochs × 500 steps of 100'. */
  budget: string;
  /** What else decides the result, e.g. 'kept epoch 8 (lowest validation loss)'; null when nothing. */
  budgetNote: string | null;
  epochs: number | null;
  steps: number;
  batchSize: number;
  trainImages: number;
  /** Training images drawn over the whole training (epochs × training images, or steps × batch). */
  imagesSeen: number;
  /** Seconds spent training, and what they include. */
  seconds: number;
  secondsNote: string;
  /** Milliseconds per training step, and where the figure comes from. */
  msPerStep: number;
  msPerStepNote: string;
  backend: string;
  device: string;
  /** Threads per step; null in logs written before it was recorded. */
  threads: number | null;
  tfjs: string | null;
  date: string;
  /** The test accuracy the training itself recorded (on its own test set). */
  loggedTestAccuracy: number;
}

/** Options of the functions that load a model's test images. */
export interface TestSetOptions {
  /** Only the first `limit` test images. Default all. */
  limit?: number;
  /** MNIST already loaded. Default loadMnist(). */
  mnist?: Mnist;
}

/** A walkthrough's own test set, where it is not the standard 10,000 in file order. */
export interface OwnTestSet {
  label: string;
  data: SequenceDataset;
}

/**
 * One walkthrough. `C` is its config, `D` its data, `H` its training history, `L` its training log.
 * Every method takes a config made by `config()`, so that defaults and checks live in one place.
 */
export interface Walkthrough<
  C extends CommonConfig = CommonConfig,
  D = unknown,
  H = unknown,
  L extends TrainingLog = TrainingLog,
> {
  /** The CLI name, e.g. 'keras-lmu'. */
  readonly name: string;
  /** One line for `list`. */
  readonly title: string;
  /** The notebook that walks through it, relative to the project root. */
  readonly notebook: string;
  /** The original's settings. */
  readonly defaults: Readonly<C>;
  /** The defaults with `overrides`, every field checked (an error names the bad value). */
  config(overrides?: Partial<C>): C;
  /**
   * A configuration of the real model on a few hundred images that trains in seconds, every epoch
   * (or pass) checkpointed: what the fault-injection test runs for each shipped model.
   */
  readonly quickConfig: Partial<C>;
  /** Config keys `eval` takes besides `limit` (they choose the shipped model, e.g. the TCN's `permute`). */
  readonly evalKeys: readonly (keyof C & string)[];

  /** How its model reads a digit under this config. */
  input(config: C): InputDescription;
  buildModel(config: C): tf.LayersModel;
  /** How worker threads rebuild the model, for walkthroughs that split a step over threads. */
  modelRecipe?(config: C): ModelRecipe;
  optimizer(config: C): tf.Optimizer;
  readonly loss: LossFn;
  readonly outputs: OutputKind;
  /** Batch size of its evaluation passes (compare uses the same, so that its figures equal `eval`'s). */
  readonly evalBatchSize: number;
  /** Threads a training step uses on the current backend. */
  threads(config: C): number;
  /** The PyTorch peer in shared/anchors/torch_models.py that `bench --torch` times beside it. */
  readonly torchPeer?: string;

  /** The data its training reads. */
  loadData(config: C, options?: { mnist?: Mnist }): Promise<D>;
  /** Trains as the original (with a checkpoint to resume from when given a folder). */
  train(config: C, options?: TrainOptions<D>): Promise<TrainResult<H>>;
  /** A trained model on the walkthrough's own test set (default: the config's test data). */
  evaluate(model: tf.LayersModel, config: C, options?: { data?: D; progress?: string | false }): Promise<EvalResult>;

  /** Its trained-weights folder's name for this config: notebooks/weights/<name>/. */
  weightsName(config: C): string;
  /** The models it ships (one per weights folder). */
  readonly shipped: readonly ShippedModel<C>[];
  /** The training run behind `train`: data → train → evaluate, and what goes into the log. */
  run(config: C, options: { checkpointDir: string; resume: boolean }): Promise<RunOutcome>;
  /** Its training budget, from a training log it wrote (lib/walkthroughs/budget.ts has `epochBudget` for epoch-counted ones). */
  budget(
    log: Partial<L>,
  ): Omit<
    TrainingBudget,
    'command' | 'trainImages' | 'backend' | 'device' | 'threads' | 'tfjs' | 'date' | 'loggedTestAccuracy'
  >;
  /**
   * Its learning curve from a training log, for compare: accuracy after every epoch (or
   * validation) against images seen and seconds. Default: the epochs' validation accuracy, else
   * their training accuracy, at epoch × training images and the summed epoch times.
   */
  learningCurve?(log: Partial<L>, budget: TrainingBudget): LearningCurvePoints;
  /** Caveats of a comparison that need the data to state (EURNN's overlap with the standard test set). */
  caveats?(mnist: Mnist): string[];

  /** The standard MNIST test images (the first `limit`, file order) as its model reads them. */
  standardTestSet(config: C, options?: TestSetOptions): Promise<SequenceDataset>;
  /** Its own test set where it differs from the standard one. */
  ownTestSet?(config: C, options?: TestSetOptions): Promise<OwnTestSet | undefined>;

  /** Lines `summary` prints after the layer table (the TCN's "Model Size"). */
  describeSize?(params: number): string[];
  /** What `npm start` runs with the shipped weights: the walkthrough from the terminal, resolving to the test accuracy. */
  replay?(): Promise<number>;
}
