/**
 * The LSTM walkthroughs (notebooks/05-lstm-pixel-row.ipynb): MNIST resized to 14×14, read
 * pixel by pixel (lstm-pixel: 196 steps of 1) or row by row (lstm-row: 14 steps of 14) by three
 * stacked 8-unit LSTMs, trained with RMSprop, ReduceLROnPlateau and EarlyStopping on an augmented
 * training set. One factory makes both walkthrough objects from the variant.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { booleanFlag, nonNegativeInteger, numberInRange, oneOf, positiveInteger, positiveNumber } from '../checks';
import { RandomRotation, RandomTranslation, ImageAugmentation } from '../data/augment';
import { SequenceDataset } from '../data/batches';
import { loadMnist, Mnist } from '../data/mnist';
import { AugmentedImageSource, prepareImages, shuffleBufferOrder } from '../data/pipeline';
import { RandomState } from '../data/random';
import type { History } from '../history';
import { buildStackedLstm, buildStackedLstmPerStep, StackedLstmOptions, transferLstmWeights } from '../models/lstm';
import { Figure, figureBundle, lineChart, sliderFigure } from '../plot/charts';
import { digitDataUri } from '../plot/digit';
import { newDisplayHandle } from '../plot/display';
import { EarlyStopping, getLearningRate, ReduceLROnPlateau, setLearningRate } from '../train/callbacks';
import { Checkpoint, checkResumeConfig, startTraining } from '../train/checkpoint';
import { losses } from '../train/gradients';
import { Callback, evaluate, fit } from '../train/loop';
import { ArrayRMSProp } from '../train/rmsprop';
import { GradientWorkers, ModelRecipe, trainingThreads } from '../train/parallel';
import { loadWeightsInto, readTrainingState, TrainingState } from '../train/saving';
import { epochBudget, OwnBudget } from './budget';
import { mergeConfig } from './config';
import { configFingerprint, meanSeconds } from './run';
import type { TrainingLog } from './training-log';
import type {
  CommonConfig,
  EvalResult,
  InputDescription,
  OwnTestSet,
  RunOutcome,
  ShippedModel,
  TestSetOptions,
  TrainOptions,
  TrainResult,
  Walkthrough,
} from './walkthrough';

/** The two ways of reading an image. */
export type LstmVariant = 'pixel' | 'row';

/** Sequence shape of each variant: [steps, features]. */
export const LSTM_SEQUENCES: Record<LstmVariant, [number, number]> = { pixel: [196, 1], row: [14, 14] };

/** Side of the resized square image both variants read. */
export const LSTM_SIDE = 14;

const NOTEBOOK = 'notebooks/05-lstm-pixel-row.ipynb';

/** The config of an LSTM walkthrough: the assignment's settings by default. */
export interface LstmConfig extends CommonConfig {
  /** Seed of the weight initialisers and of the training set's shuffle and augmentation. Default 0. */
  seed: number;
  /** Use only the first `limit` training and test images (quick runs); undefined (default) for all. */
  limit?: number;
  /** Images per training step. Default 512. */
  batchSize: number;
  /** RMSprop's learning rate at the start (ReduceLROnPlateau lowers it). Default 1e-2. */
  learningRate: number;
  /** Epochs at most (early stopping may end the training sooner). Default 100. */
  epochs: number;
  /**
   * Shuffle and augment the training set afresh every epoch instead of once. Default false, as
   * the original, which shuffles and augments before `.cache()`, so that every epoch sees one
   * augmented copy in one order.
   */
  fresh: boolean;
  /** Augment the training images (RandomTranslation(0.2, 0.2), RandomRotation(0.1)). Default true, as the original. */
  augment: boolean;
  /** Units of each LSTM layer. Default 8. */
  units: number;
  /** Stacked LSTM layers. Default 3. */
  layers: number;
  /** Buffer of the training and test sets' shuffles (tf.data's `shuffle(1024)`). Default 1024. */
  shuffleBuffer: number;
  /** Test images the training validates on (the first after a buffered shuffle), and the validation batch. Default 1000. */
  testSize: number;
  /** Seed of the test set's shuffle: the same test images whatever the training seed. Default 1. */
  testShuffleSeed: number;
  /** ReduceLROnPlateau (on val_loss): the factor applied to the learning rate. Default 0.2. */
  reduceLrFactor: number;
  /** ReduceLROnPlateau: epochs without improvement before it lowers the learning rate. Default 10. */
  reduceLrPatience: number;
  /** ReduceLROnPlateau: the lowest learning rate. Default 1e-4. */
  minLearningRate: number;
  /** EarlyStopping (on val_loss, restoring the best weights): epochs without improvement before it stops. Default 20. */
  earlyStoppingPatience: number;
}

/** The assignment's settings. */
const DEFAULTS: Readonly<LstmConfig> = Object.freeze({
  seed: 0,
  limit: undefined,
  batchSize: 512,
  learningRate: 1e-2,
  epochs: 100,
  fresh: false,
  augment: true,
  units: 8,
  layers: 3,
  shuffleBuffer: 1024,
  testSize: 1000,
  testShuffleSeed: 1,
  reduceLrFactor: 0.2,
  reduceLrPatience: 10,
  minLearningRate: 1e-4,
  earlyStoppingPatience: 20,
});

/** Batch size of the evaluation on all test images (and of compare's). */
const EVAL_BATCH_SIZE = 1000;

/** A seed RandomState takes: an integer in [0, 2**32 − 1]. */
function checkSeed(name: string, value: unknown): number {
  return numberInRange(name, nonNegativeInteger(name, value), 0, 2 ** 32 - 1);
}

/** The defaults with `overrides`, every field checked; unknown keys are named. */
function lstmConfig(name: string, overrides: Partial<LstmConfig> = {}): LstmConfig {
  const c = mergeConfig(name, DEFAULTS, overrides);
  checkSeed('seed', c.seed);
  if (c.limit !== undefined) positiveInteger('limit', c.limit);
  positiveInteger('batchSize', c.batchSize);
  positiveNumber('learningRate', c.learningRate);
  positiveInteger('epochs', c.epochs);
  booleanFlag('fresh', c.fresh);
  booleanFlag('augment', c.augment);
  positiveInteger('units', c.units);
  positiveInteger('layers', c.layers);
  positiveInteger('shuffleBuffer', c.shuffleBuffer);
  positiveInteger('testSize', c.testSize);
  checkSeed('testShuffleSeed', c.testShuffleSeed);
  numberInRange('reduceLrFactor', c.reduceLrFactor, 0, 1);
  if (c.reduceLrFactor === 1) throw new Error('reduceLrFactor must be below 1 (got 1)');
  nonNegativeInteger('reduceLrPatience', c.reduceLrPatience);
  positiveNumber('minLearningRate', c.minLearningRate);
  nonNegativeInteger('earlyStoppingPatience', c.earlyStoppingPatience);
  return c;
}

/**
 * Keras's RMSprop (ρ 0.9, ε 1e-7, no momentum) as tfjs's optimiser.
 *
 * Porting note: tf.train.rmsprop updates p ← p − lr·g/√(v + ε), as tf.keras 2.11+ (whose default
 * RMSprop is the new optimizer: `lr * g * rsqrt(v + ε)`). tf.keras ≤ 2.10 (optimizer_v2, later
 * `keras.optimizers.legacy.RMSprop`) puts ε outside the root, p ← p − lr·g/(√v + ε); the two
 * differ only while v is below ~1e-6. lib/train/rmsprop.ts has that form. ArrayRMSProp is
 * tf.train.rmsprop with its update on arrays on the CPU backends (the same bytes, fewer dispatches).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function kerasRmsprop(learningRate: number = DEFAULTS.learningRate): tf.Optimizer {
  return new ArrayRMSProp(positiveNumber('learningRate', learningRate), 0.9, 0, 1e-7, false);
}

/**
 * The original's augmentation model: RandomTranslation(0.2, 0.2) then RandomRotation(0.1)
 * (±36°), both with fill_mode 'constant' (0) and bilinear interpolation.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function lstmAugmentation(): ImageAugmentation[] {
  return [
    new RandomTranslation({ heightFactor: 0.2, widthFactor: 0.2, fillMode: 'constant' }),
    new RandomRotation({ factor: 0.1, fillMode: 'constant' }),
  ];
}

// ---- data ----------------------------------------------------------------------------------------

/** The walkthrough's data. */
export interface LstmData {
  variant: LstmVariant;
  /** Augmented training set: fixed (cached) or drawn per epoch (config `fresh`). */
  train: SequenceDataset | AugmentedImageSource;
  /** The first 1,000 test images after a 1,024-buffer shuffle (`shuffle(1024).take(1000)`), not augmented. */
  test: SequenceDataset;
  /** All test images (or `limit`), in file order, for a figure on the full test set. */
  testAll: SequenceDataset;
}

const sequences = (variant: LstmVariant, p: { images: Float32Array; labels: Int32Array }) => {
  const [steps, features] = LSTM_SEQUENCES[variant];
  return new SequenceDataset({ ...p, steps, features });
};

/** The test sets, resized and scaled: the shuffled `testSize` and all (or `limit`) in file order. */
function lstmTestSets(variant: LstmVariant, config: LstmConfig, mnist: Mnist, limit = config.limit) {
  const n = Math.min(limit ?? Infinity, mnist.testLabels.length);
  const images = mnist.testImages.subarray(0, n * 784);
  const labels = mnist.testLabels.subarray(0, n);
  const order = shuffleBufferOrder(n, config.shuffleBuffer, new RandomState(config.testShuffleSeed)).subarray(
    0,
    Math.min(config.testSize, n),
  );
  return {
    test: sequences(variant, prepareImages({ images, labels, order })),
    testAll: sequences(variant, prepareImages({ images, labels })),
  };
}

/**
 * The walkthrough's sets: train = buffered shuffle (1,024) → augment → resize 14×14 → [0, 1],
 * once or (config `fresh`) afresh every epoch; test = the first 1,000 after a buffered shuffle,
 * resized and scaled.
 *
 * Porting note: the original feeds the row model batches of shape (None, 14, 14, 1); the LSTM
 * here takes [batch, 14, 14], the channel axis dropped.
 */
async function loadLstmData(variant: LstmVariant, config: LstmConfig, mnist?: Mnist): Promise<LstmData> {
  mnist ??= await loadMnist();
  const nTrain = Math.min(config.limit ?? Infinity, mnist.trainLabels.length);
  const images = mnist.trainImages.subarray(0, nTrain * 784);
  const labels = mnist.trainLabels.subarray(0, nTrain);
  const augment = config.augment ? lstmAugmentation() : [];
  let train: SequenceDataset | AugmentedImageSource;
  if (config.fresh) {
    train = new AugmentedImageSource({
      images,
      labels,
      augment,
      seed: config.seed,
      bufferSize: config.shuffleBuffer,
      sequence: LSTM_SEQUENCES[variant],
    });
  } else {
    const rng = new RandomState(config.seed);
    const order = shuffleBufferOrder(nTrain, config.shuffleBuffer, rng);
    train = sequences(variant, prepareImages({ images, labels, order, augment, rng }));
  }
  return { variant, train, ...lstmTestSets(variant, config, mnist) };
}

// ---- model ---------------------------------------------------------------------------------------

/** The model builder's options for a variant and config. */
function lstmModelOptions(variant: LstmVariant, config: LstmConfig): StackedLstmOptions {
  const [steps, features] = LSTM_SEQUENCES[variant];
  return { steps, features, units: config.units, layers: config.layers, classes: 10, seed: config.seed };
}

/** The assignment's model for a variant: `layers` stacked LSTMs of `units` and a Dense softmax. */
function buildLstmModel(variant: LstmVariant, config: LstmConfig, perStep = false): tf.LayersModel {
  const args = lstmModelOptions(variant, config);
  return perStep ? buildStackedLstmPerStep(args) : buildStackedLstm(args);
}

/** How a gradient worker thread rebuilds the variant's model (lib/train/parallel.ts). */
function lstmModelRecipe(variant: LstmVariant, config: LstmConfig): ModelRecipe {
  return {
    module: require.resolve('../models/lstm'),
    exportName: 'buildStackedLstm',
    args: [lstmModelOptions(variant, config)],
  };
}

// ---- training ------------------------------------------------------------------------------------

/** What an LSTM walkthrough's `train` returns. */
export interface LstmTrainResult extends TrainResult<History> {
  /** Seconds each epoch took (training and validation), by epoch, the resumed ones included. */
  epochSeconds: number[];
  /** The epoch (1-based) whose weights the model holds after an early stop with restore, else the last. */
  weightsFromEpoch: number;
}

/** Where checkpoints before the best weights moved into the checkpoint folder kept them. */
const legacyBestDir = (dir: string) => `${dir}-best`;
/** The best weights so far, inside the checkpoint folder (saved in the same atomic write as the rest). */
const BEST_WEIGHTS = 'best-weights.bin';

/**
 * Checkpoints written before the config fingerprint recorded the seed, the fresh switch and the
 * data's sizes apart: these are checked against the config, what they hold of it.
 */
function checkLegacyCheckpoint(dir: string, state: TrainingState, current: Record<string, unknown>): void {
  const saved: Record<string, unknown> = {
    ...(state.settings as Record<string, unknown> | undefined),
    seed: state.seed,
    fresh: state.freshEachEpoch,
  };
  const keys = Object.keys(saved).filter((k) => saved[k] !== undefined);
  const pick = (o: Record<string, unknown>) => Object.fromEntries(keys.map((k) => [k, o[k]]));
  checkResumeConfig(dir, pick(saved), pick(current));
}

/** The early stopping's best weights in a checkpoint (or its legacy `-best` folder), if any. */
function readBestWeights(dir: string, state: TrainingState, build: () => tf.LayersModel): tf.Tensor[] | undefined {
  const specs = state.bestWeights as tf.io.WeightsManifestEntry[] | undefined;
  if (specs) {
    const b = fs.readFileSync(path.join(dir, BEST_WEIGHTS));
    const named = tf.io.decodeWeights(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), specs);
    return specs.map((s) => named[s.name]);
  }
  if (fs.existsSync(path.join(legacyBestDir(dir), 'model.json'))) {
    const bestModel = build();
    try {
      loadWeightsInto(bestModel, legacyBestDir(dir));
      return bestModel.getWeights().map((w) => w.clone());
    } finally {
      bestModel.dispose();
    }
  }
  return undefined;
}

/** A callback redrawing the loss and accuracy chart after every epoch into one notebook output. */
function historyPlot(title: string): Callback {
  const handle = newDisplayHandle();
  return {
    onEpochEnd: (_epoch, _logs, ctx) =>
      handle.show(figureBundle(plotLstmHistory(ctx.history as History, title, { display: false }))),
  };
}

/**
 * Trains the walkthrough's model as the original: sparse categorical cross-entropy on the softmax,
 * RMSprop (lr 1e-2), batches of 512, validation on the 1,000 test images, ReduceLROnPlateau
 * (val_loss, factor 0.2, patience 10, min_lr 1e-4, verbose) and EarlyStopping (val_loss,
 * patience 20, restore best weights, verbose). With a checkpoint folder, saves every epoch (model,
 * optimiser, config, history, and as extra state the learning rate, the callbacks' counters and
 * the best weights) and can resume from it, early-stopping state included. With more than one
 * thread (trainingThreads) each batch's gradient is split over worker threads: the same update up
 * to rounding, bit for bit the same from run to run for a given thread count.
 */
async function trainLstm(
  w: LstmWalkthrough,
  config: LstmConfig,
  options: TrainOptions<LstmData> = {},
): Promise<LstmTrainResult> {
  const data = options.data ?? (await w.loadData(config));
  if (data.variant !== w.variant) throw new Error(`${w.name} trains on ${w.variant} data (got ${data.variant} data)`);
  const show = options.progress !== false;
  const dir = options.checkpointDir;
  const threads = trainingThreads();
  const model = w.buildModel(config);
  const optimizer = w.optimizer(config);
  const reduceLr = new ReduceLROnPlateau({
    monitor: 'val_loss',
    factor: config.reduceLrFactor,
    patience: config.reduceLrPatience,
    minLr: config.minLearningRate,
    verbose: show ? 1 : 0,
  });
  const earlyStop = new EarlyStopping({
    monitor: 'val_loss',
    patience: config.earlyStoppingPatience,
    restoreBestWeights: true,
    verbose: show ? 1 : 0,
  });
  const fingerprint = configFingerprint(config);
  let workers: GradientWorkers | undefined;
  try {
    if (options.resume && dir) {
      const saved = readTrainingState(dir);
      if (saved && saved.config === undefined) {
        const current = { variant: w.variant, trainImages: data.train.size, testImages: data.test.size };
        checkLegacyCheckpoint(dir, saved, { ...current, seed: config.seed, fresh: config.fresh });
      }
    }
    const start = await startTraining({
      resume: options.resume,
      dir,
      model,
      optimizer,
      unit: 'epoch',
      total: config.epochs,
      config: fingerprint,
    });
    const history = (start.history as History | undefined) ?? { epoch: [], history: {} };
    const state = start.state;
    if (state) {
      setLearningRate(optimizer, state.learningRate as number);
      reduceLr.resumeFrom(state.reduceLr as never);
      const best = readBestWeights(dir!, state, () => w.buildModel(config));
      earlyStop.resumeFrom(state.earlyStopping as never, best);
      tf.dispose(best);
      if (data.train instanceof AugmentedImageSource) data.train.setEpoch(start.initial);
      console.log(`learning rate ${getLearningRate(optimizer)} (from the checkpoint)`);
      if (typeof state.stoppedEpoch === 'number' && state.stoppedEpoch > 0) {
        // the checkpoint was saved after early stopping had restored the best weights: nothing left to train
        const bestEpoch = (state.earlyStopping as { bestEpoch: number }).bestEpoch;
        console.log(`Epoch ${state.stoppedEpoch + 1}: early stopping (before the interruption)`);
        return {
          model,
          optimizer,
          history,
          msPerStep: NaN,
          threads,
          epochSeconds: start.epochSeconds,
          weightsFromEpoch: bestEpoch + 1,
        };
      }
    }

    // the best weights go into the same atomic write as the rest, so that the two always match
    let encoded: { data: ArrayBuffer; specs: tf.io.WeightsManifestEntry[] } | undefined;
    const checkpoint = new Checkpoint({
      dir,
      config: fingerprint,
      epochSeconds: start.epochSeconds,
      timeValidation: true,
      extraState: async () => {
        const best = earlyStop.getBestWeights();
        encoded = best ? await tf.io.encodeWeights(best.map((t, i) => ({ name: `best_${i}`, tensor: t }))) : undefined;
        return {
          learningRate: getLearningRate(optimizer),
          reduceLr: reduceLr.getState(),
          earlyStopping: earlyStop.getState(),
          stoppedEpoch: earlyStop.stoppedEpoch,
          ...(encoded ? { bestWeights: encoded.specs } : {}),
        };
      },
      extraFiles: (): Record<string, Buffer> => (encoded ? { [BEST_WEIGHTS]: Buffer.from(encoded.data) } : {}),
    });
    // the checkpoint after the callbacks, so that the saved counters include this epoch
    const callbacks: Callback[] = [reduceLr, earlyStop, checkpoint];
    if (options.plot) callbacks.push(historyPlot(w.title));
    workers = threads > 1 ? await GradientWorkers.start(w.modelRecipe!(config), { threads }) : undefined;
    const result = await fit(model, data.train, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      optimizer,
      loss: w.loss,
      validation: data.test,
      validationBatchSize: config.testSize,
      shuffleSeed: null, // the cached set keeps its order; a fresh set reshuffles itself
      initialEpoch: start.initial,
      history,
      callbacks,
      progress: show ? 'Epoch' : false,
      workers,
    });
    const weightsFromEpoch =
      earlyStop.stoppedEpoch > 0
        ? earlyStop.bestEpoch + 1
        : result.epoch.length > 0
          ? result.epoch[result.epoch.length - 1] + 1
          : 0;
    return {
      model,
      optimizer,
      history: result,
      msPerStep: checkpoint.msPerStep,
      threads,
      epochSeconds: checkpoint.epochSeconds,
      weightsFromEpoch,
    };
  } catch (e) {
    model.dispose();
    optimizer.dispose();
    throw e;
  } finally {
    earlyStop.dispose();
    await workers?.terminate();
  }
}

/** Loss and accuracy on the walkthrough's test images and on all (or `limit`) test images. */
async function evaluateBoth(
  model: tf.LayersModel,
  config: LstmConfig,
  data: Pick<LstmData, 'test' | 'testAll'>,
  progress: string | false,
) {
  const loss = losses.sparseCrossEntropy;
  const test = await evaluate(model, data.test, { batchSize: config.testSize, loss, progress });
  const all = await evaluate(model, data.testAll, { batchSize: EVAL_BATCH_SIZE, loss, progress });
  return { test, all };
}

const percent = (a: number) => `${(a * 100).toFixed(2)}%`;
const fullTestLine = (accuracy: number, images: number) =>
  `full test set (${images} images) accuracy: ${percent(accuracy)}`;

/** The training run behind `train lstm-pixel|lstm-row`: data → train → evaluate, and the log's fields. */
async function runLstm(
  w: LstmWalkthrough,
  config: LstmConfig,
  options: { checkpointDir: string; resume: boolean },
): Promise<RunOutcome> {
  const { checkpointDir } = options;
  const data = await w.loadData(config);
  const drawn = config.augment
    ? config.fresh
      ? 'shuffled and augmented afresh every epoch (--fresh)'
      : "augmented once, as the original's cache"
    : config.fresh
      ? 'not augmented, shuffled afresh every epoch (--fresh)'
      : 'not augmented';
  console.log(
    `data: ${data.train.size} training images (${drawn}), ${data.test.size} test images, [${LSTM_SEQUENCES[w.variant].join(', ')}] sequences; seed ${config.seed}; ${trainingThreads()} thread(s)`,
  );
  const r = await w.train(config, { data, ...options });
  r.optimizer.dispose();
  try {
    const { test, all } = await evaluateBoth(r.model, config, data, false);
    const epochs = r.history.epoch.length;
    // checkpoints written before the best weights moved into the checkpoint kept them beside it
    fs.rmSync(legacyBestDir(checkpointDir), { recursive: true, force: true });
    const best = Math.max(...(r.history.history.val_accuracy ?? [0])).toFixed(4);
    return {
      model: r.model,
      threads: r.threads,
      fields: {
        seed: config.seed,
        augmentation: config.augment
          ? config.fresh
            ? 'fresh each epoch'
            : 'once (cached, as the original)'
          : config.fresh
            ? 'none (shuffled afresh each epoch)'
            : 'none',
        trainImages: data.train.size,
        testImages: data.test.size,
        epochs,
        weightsFromEpoch: r.weightsFromEpoch,
        epochSeconds: r.epochSeconds,
        meanEpochSeconds: r.epochSeconds.length ? meanSeconds(r.epochSeconds) : null,
        testAccuracy: test.accuracy,
        testLoss: test.loss,
        fullTestAccuracy: all.accuracy,
        fullTestImages: data.testAll.size,
        history: r.history,
      },
      lines: [
        `epochs: ${epochs}; best val_accuracy ${best}; weights from epoch ${r.weightsFromEpoch}`,
        `test accuracy: ${percent(test.accuracy)}`,
        fullTestLine(all.accuracy, data.testAll.size),
      ],
    };
  } catch (e) {
    r.model.dispose();
    throw e;
  }
}

// ---- the walkthrough objects ---------------------------------------------------------------------

/** What `train lstm-pixel|lstm-row` writes beside the weights (training-log.json). */
export interface LstmTrainingLog extends TrainingLog<History> {
  seed: number;
  /** 'once (cached, as the original)', 'fresh each epoch', or 'none' (config `augment: false`). */
  augmentation: string;
  epochs: number;
  /** The epoch (1-based) whose weights were saved (early stopping restores the best). */
  weightsFromEpoch: number;
  /** Seconds per epoch, validation included. */
  epochSeconds: number[];
  meanEpochSeconds: number | null;
  testLoss: number;
  /** Accuracy on all test images (or `--limit` of them), beside the walkthrough's 1,000. */
  fullTestAccuracy: number;
  fullTestImages: number;
}

/** An LSTM walkthrough: the contract, with its variant and a `train` that says which epoch's weights it kept. */
export interface LstmWalkthrough extends Walkthrough<LstmConfig, LstmData, History, LstmTrainingLog> {
  readonly variant: LstmVariant;
  train(config: LstmConfig, options?: TrainOptions<LstmData>): Promise<LstmTrainResult>;
}

const LSTM_MILESTONES_TEXT =
  'the assignment publishes no accuracy, only milestones (pixels: ≥ 50% validation accuracy within 10 epochs, ≥ 80% within 50; rows: ≥ 90% within 10)';
const LSTM_CAVEATS = [
  'reads MNIST resized to 14×14 (bilinear), a quarter of the pixels the other models see',
  'trained on augmented images (shifts up to 20%, turns up to ±36°); its early stopping and learning-rate schedule watched its own 1,000 test images, so its own figure is not a clean held-out figure',
];

/** What differs between the two walkthroughs besides the variant. */
const VARIANTS: Record<LstmVariant, { title: string; shippedTitle: string; pixelOrder: string; color: string }> = {
  pixel: {
    title: 'stacked LSTM, pixel by pixel (196 steps), 14×14 augmented MNIST',
    shippedTitle: 'stacked LSTMs (3 × 8 units) reading a 14×14 digit pixel by pixel',
    pixelOrder: 'row by row, left to right',
    color: '#2ca02c',
  },
  row: {
    title: 'stacked LSTM, row by row (14 steps), 14×14 augmented MNIST',
    shippedTitle: 'stacked LSTMs (3 × 8 units) reading a 14×14 digit row by row',
    pixelOrder: 'one row of 14 per step, top to bottom',
    color: '#8c564b',
  },
};

/** One LSTM walkthrough, from its variant. */
function lstmWalkthrough(variant: LstmVariant): LstmWalkthrough {
  const name = `lstm-${variant}`;
  const v = VARIANTS[variant];
  const [steps, features] = LSTM_SEQUENCES[variant];
  const shipped: ShippedModel<LstmConfig> = {
    name,
    title: v.shippedTitle,
    overrides: {},
    published: { accuracy: null, source: LSTM_MILESTONES_TEXT },
    caveats: LSTM_CAVEATS,
    color: v.color,
    curveMetric: 'validation accuracy (its 1,000 test images)',
  };
  const w: LstmWalkthrough = {
    name,
    variant,
    title: v.title,
    notebook: NOTEBOOK,
    defaults: DEFAULTS,
    config: (overrides) => lstmConfig(name, overrides),
    // row by row draws its augmentation afresh each epoch, so that the quick runs cover both ways
    quickConfig: variant === 'row' ? { limit: 600, epochs: 4, fresh: true } : { limit: 600, epochs: 3 },
    evalKeys: [],
    input: (): InputDescription => ({
      task: 'sequential',
      side: LSTM_SIDE,
      steps,
      featuresPerStep: features,
      pixelOrder: v.pixelOrder,
      preprocessing: 'resized to 14×14 (bilinear), / 255',
    }),
    buildModel: (config) => buildLstmModel(variant, config),
    optimizer: (config) => kerasRmsprop(config.learningRate),
    loss: losses.sparseCrossEntropy,
    outputs: 'probabilities',
    evalBatchSize: EVAL_BATCH_SIZE,
    modelRecipe: (config) => lstmModelRecipe(variant, config),
    threads: () => trainingThreads(),
    torchPeer: name,
    loadData: (config, options = {}) => loadLstmData(variant, config, options.mnist),
    train: (config, options) => trainLstm(w, config, options),
    async evaluate(model, config, options = {}): Promise<EvalResult> {
      // the training set is not needed here
      const data = options.data ?? lstmTestSets(variant, config, await loadMnist());
      const { test, all } = await evaluateBoth(model, config, data, options.progress ?? false);
      return {
        accuracy: test.accuracy,
        loss: test.loss,
        testImages: data.test.size,
        lines: [fullTestLine(all.accuracy, data.testAll.size)],
      };
    },
    weightsName: () => name,
    shipped: [shipped],
    run: (config, options) => runLstm(w, config, options),
    budget: (log): OwnBudget => {
      const b = epochBudget(log, DEFAULTS.batchSize, 'sum of epoch times, validation on 1,000 images included');
      const stopped = log.weightsFromEpoch !== undefined && log.weightsFromEpoch !== b.epochs;
      return stopped ? { ...b, budgetNote: `early stopping: weights of epoch ${log.weightsFromEpoch}` } : b;
    },
    async standardTestSet(config, options: TestSetOptions = {}) {
      const mnist = options.mnist ?? (await loadMnist());
      return lstmTestSets(variant, config, mnist, options.limit ?? config.limit).testAll;
    },
    async ownTestSet(config, options: TestSetOptions = {}): Promise<OwnTestSet> {
      const mnist = options.mnist ?? (await loadMnist());
      return {
        label: "the assignment's 1,000 test images (the first 1,000 after a 1,024-image shuffle buffer)",
        data: lstmTestSets(variant, config, mnist, options.limit ?? config.limit).test,
      };
    },
  };
  return w;
}

/**
 * The pixel-by-pixel walkthrough: 196 steps of one pixel.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export const lstmPixel = lstmWalkthrough('pixel');

/**
 * The row-by-row walkthrough: 14 steps of a 14-pixel row.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export const lstmRow = lstmWalkthrough('row');

// ---- figures and milestones ----------------------------------------------------------------------

/** The assignment's milestones: validation accuracy of at least `level` within the first `epochs` epochs. */
export const LSTM_MILESTONES: Record<LstmVariant, { level: number; epochs: number }[]> = {
  pixel: [
    { level: 0.5, epochs: 10 },
    { level: 0.8, epochs: 50 },
  ],
  row: [{ level: 0.9, epochs: 10 }],
};

const checkVariant = (variant: unknown): LstmVariant => oneOf('variant', variant, ['pixel', 'row'] as const);

/**
 * One line per milestone of the variant, read from a training history: whether it was met, the
 * best validation accuracy within its epochs, and the first epoch at or above its level.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function lstmMilestones(history: History, variant: LstmVariant): string[] {
  const val = history.history.val_accuracy;
  if (!Array.isArray(val) || val.length === 0)
    throw new Error('the history has no val_accuracy (train with validation)');
  const pct = (a: number) => `${(100 * a).toFixed(1)}%`;
  return LSTM_MILESTONES[checkVariant(variant)].map(({ level, epochs }) => {
    const within = val.slice(0, epochs);
    const best = Math.max(...within);
    const first = val.findIndex((a) => a >= level);
    const verdict =
      best >= level ? 'met' : within.length < epochs ? `not yet (${within.length} epochs run)` : 'not met';
    const reached = first < 0 ? `never reached in ${val.length} epochs` : `first reached at epoch ${first + 1}`;
    return `≥ ${Math.round(100 * level)}% validation accuracy within ${epochs} epochs: ${verdict}; best ${pct(best)} in epochs 1–${within.length}, ${reached}`;
  });
}

/**
 * Loss (left axis) and accuracy (right axis), training and validation, by epoch. Displays it
 * unless `display: false`.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function plotLstmHistory(history: History, title: string, options: { display?: boolean } = {}): Figure {
  const x = history.epoch.map((e) => e + 1);
  const h = history.history;
  const series = [
    { name: 'loss', y: h.loss, color: '#1f77b4' },
    { name: 'val_loss', y: h.val_loss, color: '#1f77b4', dash: 'dash' as const },
    { name: 'accuracy', y: h.accuracy, color: '#d62728', yaxis: 'y2' as const },
    { name: 'val_accuracy', y: h.val_accuracy, color: '#d62728', dash: 'dash' as const, yaxis: 'y2' as const },
  ].filter((s) => Array.isArray(s.y) && s.y.length === x.length);
  return lineChart({
    series: series.map((s) => ({ ...s, x })),
    title,
    xTitle: 'epoch',
    yTitle: 'loss',
    y2Title: 'accuracy',
    y2Range: [0, 1],
    display: options.display,
  });
}

/**
 * The per-step model with `trained`'s weights (the default architecture), run on one image: the
 * class probabilities after every step, [steps][10].
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export async function perStepPredictions(
  trained: tf.LayersModel,
  variant: LstmVariant,
  sequence: Float32Array,
): Promise<number[][]> {
  const [steps, features] = LSTM_SEQUENCES[checkVariant(variant)];
  if (sequence.length !== steps * features)
    throw new Error(`sequence must hold ${steps}×${features} values (got ${sequence.length})`);
  const perStep = buildLstmModel(variant, DEFAULTS, true);
  try {
    transferLstmWeights(trained, perStep);
    const probs = tf.tidy(() => perStep.predict(tf.tensor3d(sequence, [1, steps, features])) as tf.Tensor); // [1, steps, 10]
    const values = (await probs.array()) as number[][][];
    probs.dispose();
    return values[0];
  } finally {
    perStep.dispose();
  }
}

/**
 * The slider figure: at step t, the 14×14 image revealed up to t (pixels or rows read so far,
 * the rest dark) beside the 10 class probabilities after step t.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function perStepFigure(
  image: ArrayLike<number>,
  predictions: number[][],
  variant: LstmVariant,
  options: { label?: number; display?: boolean } = {},
): Figure {
  const side = LSTM_SIDE;
  if (image.length !== side * side) throw new Error(`image must hold ${side}×${side} values (got ${image.length})`);
  const [steps, features] = LSTM_SEQUENCES[checkVariant(variant)];
  if (predictions.length !== steps) throw new Error(`predictions must hold ${steps} steps (got ${predictions.length})`);
  const classes = Array.from({ length: 10 }, (_, i) => String(i));
  const revealed = new Float32Array(side * side);
  const frames = predictions.map((p, t) => {
    const shown = (t + 1) * features;
    for (let i = 0; i < side * side; i++) revealed[i] = i < shown ? image[i] : 0;
    const best = p.indexOf(Math.max(...p));
    return {
      label: String(t + 1),
      traces: [
        {
          type: 'bar',
          x: classes,
          y: p.map((v) => +v.toFixed(4)),
          marker: { color: p.map((_, k) => (k === best ? '#d62728' : '#1f77b4')) },
        },
      ],
      images: [{ source: digitDataUri(revealed, { width: side, height: side, valueRange: [0, 1], scale: 10 }) }],
      title: `after ${variant} ${t + 1} of ${steps}: predicted ${best} (p = ${p[best].toFixed(2)})${options.label !== undefined ? `, label ${options.label}` : ''}`,
    };
  });
  return sliderFigure({
    steps: frames,
    layout: {
      yaxis: { range: [0, 1], title: { text: 'probability' } },
      xaxis: { title: { text: 'class' }, tickmode: 'linear', tick0: 0, dtick: 1 }, // every digit labelled
      height: 380,
      width: 720,
      showlegend: false,
    },
    prefix: `${variant === 'pixel' ? 'pixels' : 'rows'} read: `,
    display: options.display,
  });
}
