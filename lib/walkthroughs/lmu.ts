/**
 * The two LMU walkthroughs on psMNIST: KerasLMU's example (notebooks/01-keras-lmu-psmnist.ipynb,
 * CLI 'keras-lmu') and NengoDL's (notebooks/02-nengo-lmu-psmnist.ipynb, CLI 'nengo-lmu'). Both
 * read MNIST scaled to [0, 1] as 784-step sequences under RandomState(0).permutation(784), train
 * with Adam on batches of 100 for 10 epochs, and differ in the model, the split and the checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { oneOf, positiveInteger, positiveNumber } from '../checks';
import { SequenceDataset } from '../data/batches';
import { loadPsmnist, PsmnistData } from '../data/psmnist';
import { buildKerasLmuModel, buildNengoLmuModel, LmuModelOptions } from '../models/lmu';
import type { GraphOptions } from '../plot/graph';
import { History, HistoryPlot } from '../plot/history';
import { EpochCheckpoint, ModelCheckpoint, ModelCheckpointState } from '../train/callbacks';
import { losses } from '../train/gradients';
import { Callback, evaluate, fit } from '../train/loop';
import { loadWeightsInto, readTrainingLog, saveModel, shippedWeightsDir, startEpochs } from '../train/saving';
import { GradientWorkers, ModelRecipe, trainingThreads } from '../train/parallel';
import type { TrainingLog } from './training-log';

/** The two walkthroughs. */
export type LmuVariant = 'keras' | 'nengo';

/** The originals' settings. */
export const LMU_DEFAULTS = {
  batchSize: 100,
  epochs: 10,
  /** KerasLMU keeps the last 10,000 of the 60,000 training images for validation; NengoDL none. */
  validation: { keras: 10000, nengo: 0 },
  /** Keras's Adam: lr 1e-3, β 0.9 / 0.999, ε 1e-7 (both originals use `optimizer="adam"` / `tf.optimizers.Adam()`). */
  learningRate: 1e-3,
  /** Batch size for evaluation (memory grows with it: ~1.3 MB per image for the hidden sequence). */
  evalBatchSize: 200,
  /** KerasLMU's accuracy plot: its title and y limits (`plt.ylim(0.85, 1.0)`). */
  historyChart: { title: 'Post-epoch Training Accuracies', yRange: [0.85, 1] as [number, number] },
} as const;

/** The CLI names of the two walkthroughs. */
export const LMU_NAMES: Record<LmuVariant, string> = { keras: 'keras-lmu', nengo: 'nengo-lmu' };

function checkVariant(variant: unknown): LmuVariant {
  return oneOf('variant', variant, ['keras', 'nengo'] as const);
}

/**
 * Keras's Adam (lr 1e-3, β 0.9 / 0.999, ε 1e-7), what both originals train with.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function lmuOptimizer(learningRate: number = LMU_DEFAULTS.learningRate): tf.Optimizer {
  return tf.train.adam(positiveNumber('learningRate', learningRate), 0.9, 0.999, 1e-7);
}

/**
 * The walkthrough's model: KerasLMU's (101,771 parameters) or NengoDL's (101,549).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function buildLmuModel(variant: LmuVariant, options: LmuModelOptions = {}): tf.LayersModel {
  return checkVariant(variant) === 'keras' ? buildKerasLmuModel(options) : buildNengoLmuModel(options);
}

/**
 * How a gradient worker thread rebuilds the walkthrough's model (lib/train/parallel.ts).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function lmuModelRecipe(variant: LmuVariant, options: LmuModelOptions = {}): ModelRecipe {
  const exportName = checkVariant(variant) === 'keras' ? 'buildKerasLmuModel' : 'buildNengoLmuModel';
  return { module: require.resolve('../models/lmu'), exportName, args: [options] };
}

// ---- training -----------------------------------------------------------------------------------

/** Options of trainLmu. */
export interface TrainLmuOptions {
  /** 'keras' or 'nengo'. Required. */
  variant: LmuVariant;
  /** From loadPsmnist (with validation for 'keras'). Required. */
  data: PsmnistData;
  /** Default 10. */
  epochs?: number;
  /** Seed of the weight initialisers and of each epoch's shuffle (the permutation stays RandomState(0)'s). Default 0. */
  seed?: number;
  /**
   * 'keras': the ModelCheckpoint's folder (the model of lowest val_loss); 'nengo': the model after
   * the last epoch. Default none (nothing saved).
   */
  out?: string;
  /** Folder for a checkpoint after every epoch (model, optimiser, history) to resume from. Default none. */
  checkpointDir?: string;
  /** Continue from checkpointDir. Default false. */
  resume?: boolean;
  /**
   * Clip each step's gradients to this global L2 norm (Keras's `global_clipnorm`; the originals
   * do not clip). Default none.
   */
  clipNorm?: number;
  /** Threads per step, the main one included (data-parallel over the batch). Default trainingThreads(). */
  threads?: number;
  /** Progress bar label; false for none. Default 'Epoch'. */
  progress?: string | false;
  /** Redraw KerasLMU's accuracy chart after every epoch (notebooks). Default false. */
  plot?: boolean;
}

/** What trainLmu returns. */
export interface TrainLmuResult {
  /** The model after the last epoch. */
  model: tf.LayersModel;
  /** Per epoch: loss, accuracy (and val_loss, val_accuracy for 'keras'). */
  history: History;
  /** Seconds of training (not validation) per epoch, the resumed ones included. */
  epochSeconds: number[];
  /** Mean milliseconds per training step in this run. */
  msPerStep: number;
  /** 'keras': the epoch (0-based) of the lowest val_loss, whose model is in `out`. */
  bestEpoch?: number;
  threads: number;
}

/**
 * Trains a walkthrough's model as the original: Adam, sparse categorical cross-entropy on the
 * logits, batches of 100 shuffled each epoch, 10 epochs; 'keras' validates after each epoch and
 * keeps the model of lowest val_loss (ModelCheckpoint, save_best_only, verbose 1). With more than
 * one thread each batch's gradient is split over worker threads (the same update up to rounding).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function trainLmu(options: TrainLmuOptions): Promise<TrainLmuResult> {
  const variant = checkVariant(options.variant);
  const { data } = options;
  if (!data || !(data.train instanceof SequenceDataset)) throw new Error('data must come from loadPsmnist()');
  if (variant === 'keras' && !data.validation)
    throw new Error(
      "the 'keras' walkthrough validates after every epoch: load the data with loadPsmnist({ validation: 10000 })",
    );
  const epochs = positiveInteger('epochs', options.epochs ?? LMU_DEFAULTS.epochs);
  const threads = positiveInteger('threads', options.threads ?? trainingThreads());
  const modelOptions: LmuModelOptions = { seed: options.seed ?? 0 };
  const model = buildLmuModel(variant, modelOptions);
  const optimizer = lmuOptimizer();
  const dir = options.checkpointDir;
  const checkpoint =
    variant === 'keras' && options.out
      ? new ModelCheckpoint({ filepath: options.out, monitor: 'val_loss', saveBestOnly: true, verbose: 1 })
      : undefined;
  // what decides the result: a checkpoint of another training is refused
  const settings = {
    variant,
    seed: modelOptions.seed,
    clipNorm: options.clipNorm,
    trainImages: data.train.size,
    validationImages: data.validation?.size ?? 0,
  };
  const { initialEpoch, history, epochSeconds, state } = await startEpochs(
    options.resume,
    dir,
    model,
    optimizer,
    epochs,
    settings,
  );
  if (checkpoint && state?.checkpoint) checkpoint.resumeFrom(state.checkpoint as ModelCheckpointState);

  const workers =
    threads > 1 ? await GradientWorkers.start(lmuModelRecipe(variant, modelOptions), { threads }) : undefined;
  // after the ModelCheckpoint, so that each epoch's saved state includes that epoch's best
  const bookkeeping = new EpochCheckpoint({
    dir,
    epochSeconds,
    extraState: () => ({ settings, checkpoint: checkpoint?.getState() }),
  });
  const callbacks: Callback[] = [...(checkpoint ? [checkpoint] : []), bookkeeping];
  // KerasLMU's figure: its title and ylim
  if (options.plot && variant === 'keras') callbacks.push(new HistoryPlot({ epochs, ...LMU_DEFAULTS.historyChart }));
  try {
    await fit(model, data.train, {
      epochs,
      batchSize: LMU_DEFAULTS.batchSize,
      optimizer,
      loss: losses.sparseCrossEntropyFromLogits,
      validation: variant === 'keras' ? data.validation : undefined,
      validationBatchSize: LMU_DEFAULTS.evalBatchSize,
      shuffleSeed: modelOptions.seed,
      initialEpoch,
      history,
      callbacks,
      progress: options.progress ?? 'Epoch',
      workers,
      clipNorm: options.clipNorm,
    });
  } finally {
    await workers?.terminate();
  }
  if (variant === 'nengo' && options.out) await saveModel(model, options.out);
  return {
    model,
    history,
    epochSeconds: bookkeeping.epochSeconds,
    msPerStep: bookkeeping.msPerStep,
    bestEpoch: checkpoint && checkpoint.bestEpoch >= 0 ? checkpoint.bestEpoch : undefined,
    threads,
  };
}

/**
 * KerasLMU's "Maximum validation accuracy": the validation accuracy at the epoch of the lowest
 * validation loss (the model the checkpoint kept), not the highest validation accuracy.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function validationAccuracyAtBestLoss(history: History): { epoch: number; accuracy: number; loss: number } {
  const losses_ = history?.history?.val_loss;
  const accuracies = history?.history?.val_accuracy;
  if (!Array.isArray(losses_) || !Array.isArray(accuracies) || losses_.length === 0)
    throw new Error('the history holds no val_loss and val_accuracy');
  let best = 0;
  losses_.forEach((v, i) => {
    if (v < losses_[best]) best = i; // first minimum, as np.argmin
  });
  return { epoch: best, accuracy: accuracies[best], loss: losses_[best] };
}

// ---- shipped weights ----------------------------------------------------------------------------

/**
 * The folder of a walkthrough's shipped weights: notebooks/weights/keras-lmu/ or nengo-lmu/.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function lmuWeightsDir(variant: LmuVariant): string {
  return shippedWeightsDir(LMU_NAMES[checkVariant(variant)]);
}

/**
 * A model of the variant with the weights saved in `dir` (default: the shipped ones); a missing
 * file is named, and weights of the wrong shapes are reported with the expected ones.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function loadLmuModel(variant: LmuVariant, dir: string = lmuWeightsDir(variant)): tf.LayersModel {
  const name = LMU_NAMES[checkVariant(variant)];
  for (const file of ['model.json', 'weights.bin']) {
    const p = path.join(dir, file);
    if (!fs.existsSync(p)) {
      throw new Error(
        `no trained weights for ${name}: ${p} does not exist (train with 'npm run seqmnist -- train ${name}', or set doTraining = true)`,
      );
    }
  }
  const model = buildLmuModel(variant);
  try {
    loadWeightsInto(model, dir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/**
 * Test accuracy in [0, 1] of trained weights (default the shipped ones) on psMNIST's test images
 * (the first `limit` of them when given).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function evaluateLmu(
  variant: LmuVariant,
  options: { dir?: string; limit?: number; progress?: string | false } = {},
): Promise<number> {
  const model = loadLmuModel(variant, options.dir);
  try {
    const data = await loadPsmnist({ limit: options.limit });
    return (
      await evaluate(model, data.test, { batchSize: LMU_DEFAULTS.evalBatchSize, progress: options.progress ?? false })
    ).accuracy;
  } finally {
    model.dispose();
  }
}

/** What the CLI's `train` writes beside the weights (training-log.json). */
export interface LmuTrainingLog extends TrainingLog<History> {
  /** The global gradient-norm clip, when the training used one (`--clipnorm`). */
  clipNorm?: number;
  validationImages: number;
  epochs: number;
  epochSeconds: number[];
  meanEpochSeconds: number;
  /** 'keras': the epoch (1-based) whose model was kept, and KerasLMU's "Maximum validation accuracy". */
  bestEpoch?: number;
  maxValidationAccuracy?: number;
  /** 'nengo': the test accuracy before training. */
  initialTestAccuracy?: number;
}

/**
 * The training log saved beside trained weights (written by `npm run seqmnist -- train <name>`).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function loadLmuTrainingLog(variant: LmuVariant, dir: string = lmuWeightsDir(variant)): LmuTrainingLog {
  return readTrainingLog<LmuTrainingLog>(dir, LMU_NAMES[checkVariant(variant)]);
}

/**
 * The NengoDL cell as its example builds it, for `showGraph`: the input node feeding x, the four
 * nodes x, u, m, h, their six connections (the original leaves out the e_h and e_m feedbacks into
 * u, which this task does not need) and the readout from h. Sizes follow `order` and `units`
 * (default the example's 256 and 212).
 * @see notebooks/02-nengo-lmu-psmnist.ipynb
 */
export function nengoLmuGraph(options: { order?: number; units?: number } = {}): GraphOptions {
  const order = positiveInteger('order', options.order ?? 256);
  const units = positiveInteger('units', options.units ?? 212);
  return {
    title: 'The LMU cell in NengoDL: nodes and connections',
    width: 680,
    height: 300,
    nodes: [
      { id: 'input', label: 'in', x: 50, y: 150, note: 'pixel' },
      { id: 'x', label: 'x', x: 170, y: 150, note: '1' },
      { id: 'u', label: 'u', x: 300, y: 75, note: '1' },
      { id: 'm', label: 'm', x: 460, y: 75, note: String(order) },
      { id: 'h', label: 'h', x: 460, y: 225, note: `${units}, tanh` },
      { id: 'out', label: 'out', x: 590, y: 225, note: '10 logits' },
    ],
    edges: [
      { from: 'input', to: 'x', label: '1', trained: false },
      { from: 'x', to: 'u', label: 'e' },
      { from: 'u', to: 'm', label: 'B̄', trained: false },
      { from: 'm', to: 'm', label: 'Ā', trained: false, delayed: true, side: 'top' },
      { from: 'x', to: 'h', label: 'Wₓ' },
      { from: 'm', to: 'h', label: 'Wₘ' },
      { from: 'h', to: 'h', label: 'Wₕ', delayed: true, side: 'bottom' },
      { from: 'h', to: 'out', label: 'readout' },
    ],
  };
}
