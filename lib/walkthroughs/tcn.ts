/**
 * The TCN walkthrough (notebooks/04-tcn-smnist.ipynb): locuslab/TCN's "Sequential MNIST &
 * Permuted Sequential MNIST" example, a weight-normalised dilated causal TCN reading each digit
 * one pixel per step, trained with Adam for 5 epochs in the fixed MNIST order, as one object
 * (`tcn`, lib/walkthroughs/walkthrough.ts) that the notebook, the CLI and `compare` call.
 */
import * as tf from '@tensorflow/tfjs';
import { booleanFlag, nonNegativeInteger, numberInRange, oneOf, positiveInteger, positiveNumber } from '../checks';
import { SequenceDataset } from '../data/batches';
import { loadMnist, Mnist, MNIST_PIXELS } from '../data/mnist';
import { psmnistPermutation } from '../data/random';
import { randomStreamPositions, setRandomStreamPositions } from '../data/random-stream';
import { normalize, permutePixels, scaleImages } from '../data/transforms';
import type { History } from '../history';
import { buildTcnModel, TcnModelOptions } from '../models/tcn';
import { ensurePlotlyAsset, Figure, figureBundle, lineChart } from '../plot/charts';
import { DisplayHandle, newDisplayHandle } from '../plot/display';
import { Checkpoint, emptyHistory, startTraining } from '../train/checkpoint';
import { losses } from '../train/gradients';
import { Callback, evaluate, fit } from '../train/loop';
import { GradientWorkers, ModelRecipe, trainingThreads } from '../train/parallel';
import { formatDuration, formatMetric, ProgressBar } from '../train/progress';
import { RMSprop } from '../train/rmsprop';
import { epochBudget } from './budget';
import { mergeConfig } from './config';
import { configFingerprint } from './run';
import type { TrainingLog } from './training-log';
import type { CommonConfig, EvalResult, TrainOptions, TrainResult, Walkthrough } from './walkthrough';

/**
 * The optimisers the original's `--optim` may name (`getattr(optim, args.optim)`) that this port has.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export const TCN_OPTIMIZERS = ['Adam', 'RMSprop', 'SGD'] as const;
export type TcnOptimizerName = (typeof TCN_OPTIMIZERS)[number];

/** The walkthrough's settings: the original's command-line arguments, with its defaults. */
export interface TcnConfig extends CommonConfig {
  /** Seed of the initialisers and of the dropout masks (`--seed`). Default 1111. */
  seed: number;
  /** Only the first `limit` training and test images. Default all. */
  limit?: number;
  /** Default 128 (`--batch_size`). */
  batchSize: number;
  /** Default 2e-3 (`--lr`). */
  learningRate: number;
  /** Passes over the training set (`--epochs`). Default 5. */
  epochs: number;
  /** Permuted sequential MNIST, pixels in RandomState(0).permutation(784) order (`--permute`). Default false. */
  permute: boolean;
  /** Dropout after every convolution (`--dropout`). Default 0.05. */
  dropout: number;
  /**
   * Clip each step's gradients to this global L2 norm, as the original's torch.nn.utils.clip_grad_norm_
   * (`--clip`; its −1, off, is undefined here). Default undefined.
   */
  clipNorm?: number;
  /** The optimiser, by its torch.optim name (`--optim`): 'Adam', 'RMSprop' or 'SGD', PyTorch's defaults. Default 'Adam'. */
  optimizer: TcnOptimizerName;
  /** Temporal blocks (`--levels`). Default 8. */
  levels: number;
  /** Channels per level (`--nhid`). Default 30. */
  nhid: number;
  /** Taps per convolution (`--ksize`). Default 7. */
  kernelSize: number;
  /** MNIST's pixel mean after scaling to [0, 1], subtracted as torchvision's Normalize. Default 0.1307. */
  mean: number;
  /** MNIST's pixel standard deviation after scaling to [0, 1], divided by. Default 0.3081. */
  std: number;
}

const DEFAULTS: Readonly<TcnConfig> = Object.freeze({
  seed: 1111,
  limit: undefined,
  batchSize: 128,
  learningRate: 2e-3,
  epochs: 5,
  permute: false,
  dropout: 0.05,
  clipNorm: undefined,
  optimizer: 'Adam',
  levels: 8,
  nhid: 30,
  kernelSize: 7,
  mean: 0.1307,
  std: 0.3081,
});

/** Batch size of the test passes after every epoch and of `eval`. */
const TEST_BATCH_SIZE = 500;

/**
 * The defaults with `overrides`, every field checked; an unknown key is refused, naming it.
 * @see notebooks/04-tcn-smnist.ipynb
 */
function config(overrides: Partial<TcnConfig> = {}): TcnConfig {
  const c = mergeConfig('tcn', DEFAULTS, overrides);
  const count = positiveInteger;
  // the model refuses 1 too; checked here so that a config is refused before anything runs
  if (c.dropout === 1) throw new Error('dropout must be a number in [0, 1) (got 1)');
  return {
    seed: nonNegativeInteger('seed', c.seed),
    limit: c.limit === undefined ? undefined : count('limit', c.limit),
    batchSize: count('batchSize', c.batchSize),
    learningRate: positiveNumber('learningRate', c.learningRate),
    epochs: count('epochs', c.epochs),
    permute: booleanFlag('permute', c.permute),
    dropout: numberInRange('dropout', c.dropout, 0, 1),
    clipNorm: c.clipNorm === undefined ? undefined : positiveNumber('clipNorm', c.clipNorm),
    optimizer: oneOf('optimizer', c.optimizer, TCN_OPTIMIZERS),
    levels: count('levels', c.levels),
    nhid: count('nhid', c.nhid),
    kernelSize: count('kernelSize', c.kernelSize),
    mean: numberInRange('mean', c.mean, -Number.MAX_VALUE, Number.MAX_VALUE),
    std: positiveNumber('std', c.std),
  };
}

/** The model builder's options for a config: LEVELS levels of NHID channels. */
function modelOptions(c: TcnConfig): TcnModelOptions {
  return {
    numChannels: new Array<number>(c.levels).fill(c.nhid),
    kernelSize: c.kernelSize,
    dropout: c.dropout,
    seed: c.seed,
  };
}

/**
 * The optimiser the config names, with PyTorch's defaults: Adam β 0.9 / 0.999, ε 1e-8 (tfjs
 * defaults to ε 1e-7); RMSprop α 0.99, ε 1e-8 after the square root (lib/train/rmsprop.ts); SGD
 * without momentum.
 */
function optimizer(c: TcnConfig): tf.Optimizer {
  switch (c.optimizer) {
    case 'Adam':
      return tf.train.adam(c.learningRate, 0.9, 0.999, 1e-8);
    case 'RMSprop':
      return new RMSprop({ learningRate: c.learningRate });
    case 'SGD':
      return tf.train.sgd(c.learningRate);
  }
}

// ---- data ----------------------------------------------------------------------------------------

/** The walkthrough's data: MNIST as [784, 1] sequences, normalised, optionally permuted. */
export interface TcnData {
  /** 60,000 training sequences (or `limit`), in MNIST's order. */
  train: SequenceDataset;
  /** 10,000 test sequences (or `limit`). */
  test: SequenceDataset;
  /** The pixel order when permuted (RandomState(0).permutation(784)), else undefined. */
  permutation?: Int32Array;
}

/**
 * MNIST as the original's loaders give it: pixels scaled to [0, 1], normalised with the config's
 * mean and std (MNIST's, 0.1307 and 0.3081), each image a sequence of 784 steps of one value, in
 * the files' order; permuted with RandomState(0).permutation(784) when `permute`.
 */
async function loadData(c: TcnConfig, options: { mnist?: Mnist; limit?: number } = {}): Promise<TcnData> {
  const mnist = options.mnist ?? (await loadMnist());
  const limit = options.limit ?? c.limit ?? Infinity;
  const permutation = c.permute ? psmnistPermutation(0) : undefined;
  const split = (bytes: Uint8Array, labels: Uint8Array) => {
    const n = Math.min(labels.length, limit);
    let images = normalize(scaleImages(bytes.subarray(0, n * MNIST_PIXELS)), c.mean, c.std);
    if (permutation) images = permutePixels(images, permutation);
    return new SequenceDataset({ images, labels: labels.subarray(0, n), steps: MNIST_PIXELS, features: 1 });
  };
  return {
    train: split(mnist.trainImages, mnist.trainLabels),
    test: split(mnist.testImages, mnist.testLabels),
    permutation,
  };
}

// ---- training ------------------------------------------------------------------------------------

/** What the TCN's `train` returns: the contract's result, with the epochs' times for the log. */
export interface TcnTrainResult extends TrainResult<History> {
  /** Seconds of training (not testing) per epoch, the resumed ones included. */
  epochSeconds: number[];
}

/** A callback that redraws `chart` in one notebook output after every epoch. */
function redrawEachEpoch(chart: (history: History) => Figure): Callback {
  let handle: DisplayHandle | undefined;
  return {
    onTrainBegin() {
      ensurePlotlyAsset();
      handle = newDisplayHandle();
    },
    onEpochEnd(_epoch, _logs, ctx) {
      (handle ??= newDisplayHandle()).show(figureBundle(chart(ctx.history)));
    },
  };
}

/**
 * Trains as the original: the config's optimiser (Adam), NLL on the log-softmax outputs, batches
 * in MNIST's order (its loaders do not shuffle), gradients clipped when `clipNorm` is set, the
 * test set evaluated after every epoch. With more than one thread each batch's gradient is split
 * over worker threads (the same update up to rounding). A checkpoint after every epoch holds the
 * dropout masks' stream positions too, so that a resumed run draws the masks a straight one does.
 */
async function train(c: TcnConfig, options: TrainOptions<TcnData> = {}): Promise<TcnTrainResult> {
  const data = options.data ?? (await loadData(c));
  const threads = trainingThreads();
  const model = buildTcnModel(modelOptions(c));
  const opt = optimizer(c);
  const dir = options.checkpointDir;
  const fingerprint = configFingerprint(c);
  let workers: GradientWorkers | undefined;
  try {
    const start = await startTraining({
      resume: options.resume,
      dir,
      model,
      optimizer: opt,
      unit: 'epoch',
      total: c.epochs,
      config: fingerprint,
    });
    // the dropout masks go on from where the checkpoint's run left them
    const streams = start.state?.randomStreams;
    if (streams) setRandomStreamPositions(model, streams as number[]);
    const checkpoint = new Checkpoint({
      dir,
      every: 'epoch',
      config: fingerprint,
      epochSeconds: start.epochSeconds,
      extraState: () => ({ randomStreams: randomStreamPositions(model) }),
    });
    const callbacks: Callback[] = [checkpoint];
    if (options.progress !== false) callbacks.push(tcnProgress(data.train.numBatches(c.batchSize), data.test.size));
    if (options.plot)
      callbacks.push(redrawEachEpoch((h) => tcnHistoryChart(h, { title: chartTitle(c), display: false })));
    workers = threads > 1 ? await GradientWorkers.start(modelRecipe(c), { threads }) : undefined;
    const history = await fit(model, data.train, {
      epochs: c.epochs,
      batchSize: c.batchSize,
      optimizer: opt,
      loss: losses.nll,
      validation: data.test,
      validationBatchSize: TEST_BATCH_SIZE,
      shuffleSeed: null,
      initialEpoch: start.initial,
      history: (start.history as History | undefined) ?? emptyHistory(),
      progress: false,
      workers,
      callbacks,
      clipNorm: c.clipNorm,
    });
    return {
      model,
      optimizer: opt,
      history,
      epochSeconds: checkpoint.epochSeconds,
      msPerStep: checkpoint.msPerStep,
      threads,
    };
  } catch (e) {
    model.dispose();
    opt.dispose();
    throw e;
  } finally {
    await workers?.terminate();
  }
}

/** The chart's title for the config's task. */
const chartTitle = (c: TcnConfig) => (c.permute ? 'TCN on permuted sequential MNIST' : 'TCN on sequential MNIST');

/** How a gradient worker thread rebuilds the config's model (lib/train/parallel.ts). */
function modelRecipe(c: TcnConfig): ModelRecipe {
  return { module: require.resolve('../models/tcn'), exportName: 'buildTcnModel', args: [modelOptions(c)] };
}

/** Test accuracy and loss of a trained model on the config's test set, as `eval` prints it. */
async function evaluateTcn(
  model: tf.LayersModel,
  c: TcnConfig,
  options: { data?: TcnData; progress?: string | false } = {},
): Promise<EvalResult> {
  const data = options.data ?? (await loadData(c));
  const r = await evaluate(model, data.test, {
    batchSize: TEST_BATCH_SIZE,
    loss: losses.nll,
    progress: options.progress ?? false,
  });
  return { accuracy: r.accuracy, loss: r.loss, testImages: data.test.size, lines: [] };
}

// ---- the walkthrough -----------------------------------------------------------------------------

/** What `train tcn` writes beside the weights (training-log.json). */
export interface TcnTrainingLog extends TrainingLog<History> {
  seed: number;
  permute: boolean;
  /** The global norm gradients were clipped to (absent when not clipped, the original's default). */
  clipNorm?: number;
  epochs: number;
  epochSeconds: number[];
}

/** The TCN walkthrough: the contract, with `train`'s result typed. */
export interface TcnWalkthrough extends Walkthrough<TcnConfig, TcnData, History, TcnTrainingLog> {
  train(config: TcnConfig, options?: TrainOptions<TcnData>): Promise<TcnTrainResult>;
}

const TCN_PAPER = 'Bai, Kolter & Koltun 2018, An Empirical Evaluation of Generic Convolutional and Recurrent Networks';
const TEST_EVERY_EPOCH =
  'its training log tracks the standard test set after every epoch (the original has no validation split)';

/**
 * The TCN walkthrough: config, data, model, training, evaluation and the two shipped models
 * (sequential and permuted), for the notebook, the CLI (`train tcn [--permute]`) and `compare`.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export const tcn: TcnWalkthrough = {
  name: 'tcn',
  title: 'weight-normalised dilated causal TCN (8 levels × 30 channels, kernel 7), sequential MNIST',
  notebook: 'notebooks/04-tcn-smnist.ipynb',
  defaults: DEFAULTS,
  config,
  quickConfig: { limit: 128, epochs: 3 },
  evalKeys: ['permute'],

  input: (c) => ({
    task: c.permute ? 'permuted' : 'sequential',
    side: 28,
    steps: MNIST_PIXELS,
    featuresPerStep: 1,
    pixelOrder: c.permute ? 'RandomState(0).permutation(784)' : 'row by row, left to right',
    preprocessing: `(pixels / 255 − ${c.mean}) / ${c.std}`,
  }),
  buildModel: (c) => buildTcnModel(modelOptions(c)),
  modelRecipe,
  optimizer,
  loss: losses.nll,
  outputs: 'logProbabilities',
  evalBatchSize: TEST_BATCH_SIZE,
  threads: () => trainingThreads(),
  torchPeer: 'tcn',

  loadData: (c, options = {}) => loadData(c, { mnist: options.mnist }),
  train,
  evaluate: evaluateTcn,

  weightsName: (c) => (c.permute ? 'tcn-permuted' : 'tcn'),
  shipped: [
    {
      name: 'tcn',
      title: "locuslab/TCN's sequential MNIST example: 8 levels of 30 channels, kernel 7",
      // seeds 1111 to 1114 were trained once each; 1114's is shipped (notebook 04, last section)
      overrides: { seed: 1114 },
      published: {
        accuracy: '99.0%',
        source: `${TCN_PAPER} (sequential MNIST)`,
        note: "the paper trains longer than the example's 5 epochs",
      },
      caveats: [
        'the sequential task keeps neighbouring pixels neighbouring steps, which a convolution exploits; the permuted task is harder',
        TEST_EVERY_EPOCH,
      ],
      color: '#d62728',
      curveMetric: 'test accuracy (the standard 10,000, after every epoch)',
    },
    {
      name: 'tcn-permuted',
      title: 'the same TCN on permuted sequential MNIST (`train tcn --permute`)',
      overrides: { permute: true },
      published: {
        accuracy: '97.2%',
        source: `${TCN_PAPER} (permuted MNIST)`,
        note: "the example's permuted mode crashes, so there is no figure of its own; the paper trains longer",
      },
      caveats: [TEST_EVERY_EPOCH],
      color: '#ff7f0e',
      curveMetric: 'test accuracy (the standard 10,000, after every epoch)',
    },
  ],

  async run(c, { checkpointDir, resume }) {
    const data = await loadData(c);
    const threads = trainingThreads();
    console.log(
      `data: ${data.train.size} training, ${data.test.size} test sequences [784, 1]${c.permute ? ', permuted' : ''}; ${threads} thread(s)`,
    );
    const r = await train(c, { data, checkpointDir, resume });
    r.optimizer.dispose();
    const accuracies = r.history.history.val_accuracy;
    const perEpoch = r.epochSeconds.map((s) => formatDuration(s)).join(', ');
    return {
      model: r.model,
      threads: r.threads,
      // in the order of the logs written before (clipNorm only when clipping: JSON leaves out undefined)
      fields: {
        seed: c.seed,
        permute: c.permute,
        clipNorm: c.clipNorm,
        trainImages: data.train.size,
        testImages: data.test.size,
        epochs: c.epochs,
        msPerStep: r.msPerStep,
        epochSeconds: r.epochSeconds,
        testAccuracy: accuracies[accuracies.length - 1],
        history: r.history,
      },
      lines: [
        `test accuracy per epoch: ${accuracies.map((a) => (100 * a).toFixed(2)).join(', ')}`,
        `${r.msPerStep.toFixed(0)} ms per training step, ${perEpoch} per epoch (training only)`,
      ],
    };
  },

  budget(log) {
    const b = epochBudget(log, DEFAULTS.batchSize, 'sum of epoch times, training steps only');
    return log.clipNorm ? { ...b, budgetNote: `gradients clipped to global norm ${log.clipNorm}` } : b;
  },

  standardTestSet: async (c, options = {}) => (await loadData(c, options)).test,

  describeSize: (params) => [`Model Size: ${(params / 1000).toFixed(2)} K`],
};

// ---- the original's console output and chart ---------------------------------------------------

/** The original's live line, "Train Epoch: e, Loss: x", in front of the progress bar. */
class TrainEpochBar extends ProgressBar {
  loss = NaN;
  constructor(
    total: number,
    readonly epoch: number,
  ) {
    super(total);
  }
  line(final?: boolean, t?: number): string {
    return `Train Epoch: ${this.epoch}, Loss: ${formatMetric(this.loss)} ${super.line(final, t)}`;
  }
}

/**
 * Callbacks that print as the original does: a live "Train Epoch: e, Loss: x" bar (the mean
 * training loss of the epoch so far), then "Test set: Average loss: …, Accuracy: n/N (p%)".
 * For fit() with `progress: false` and the test set as `validation`.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function tcnProgress(batchesPerEpoch: number, testSize: number): Callback {
  positiveInteger('batchesPerEpoch', batchesPerEpoch);
  let bar: TrainEpochBar | undefined;
  let sum = 0;
  let seen = 0;
  return {
    onEpochBegin(epoch) {
      bar = new TrainEpochBar(batchesPerEpoch, epoch + 1);
      sum = 0;
      seen = 0;
    },
    onBatchEnd(batch, logs) {
      sum += logs.loss * logs.size;
      seen += logs.size;
      bar!.loss = sum / seen;
      bar!.update(batch + 1);
    },
    onEpochEnd(_epoch, logs) {
      bar?.done();
      if (logs.val_accuracy !== undefined) {
        const correct = Math.round(logs.val_accuracy * testSize);
        console.log(
          `Test set: Average loss: ${logs.val_loss.toFixed(4)}, Accuracy: ${correct}/${testSize} (${(100 * logs.val_accuracy).toFixed(2)}%)`,
        );
      }
    },
  };
}

/**
 * Test accuracy (%) and training loss per epoch, on two axes.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function tcnHistoryChart(history: History, options: { title?: string; display?: boolean } = {}): Figure {
  const acc = history?.history?.val_accuracy;
  const loss = history?.history?.loss;
  if (!acc || !loss || acc.length === 0)
    throw new Error('the history holds no epochs with test accuracy (val_accuracy) and training loss (loss)');
  const epochs = history.epoch.map((e) => e + 1);
  return lineChart({
    title: options.title ?? 'TCN on sequential MNIST',
    xTitle: 'epoch',
    yTitle: 'test accuracy [%]',
    y2Title: 'training loss (NLL)',
    series: [
      { name: 'test accuracy', x: epochs, y: acc.map((a) => 100 * a), mode: 'lines+markers', color: '#ff7f0e' },
      { name: 'training loss', x: epochs, y: loss, mode: 'lines+markers', color: '#1f77b4', yaxis: 'y2' },
    ],
    xTicks: epochs,
    display: options.display,
  });
}
