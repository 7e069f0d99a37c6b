/**
 * The TCN walkthrough (notebooks/04-tcn-smnist.ipynb): locuslab/TCN's "Sequential MNIST &
 * Permuted Sequential MNIST" example, a weight-normalised dilated causal TCN reading each digit
 * one pixel per step, trained with Adam for 5 epochs in the fixed MNIST order. Registers the CLI
 * walkthrough 'tcn'.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { positiveInteger, positiveNumber } from '../checks';
import { SequenceDataset } from '../data/batches';
import { loadMnist, Mnist, MNIST_PIXELS } from '../data/mnist';
import { psmnistPermutation } from '../data/random';
import { normalize, permutePixels, scaleImages } from '../data/transforms';
import { Figure, lineChart } from '../plot/charts';
import { randomStreamPositions, setRandomStreamPositions } from '../data/random-stream';
import { buildTcnModel, TcnModelOptions } from '../models/tcn';
import type { History } from '../history';
import { EpochCheckpoint } from '../train/callbacks';
import { losses } from '../train/gradients';
import { Callback, evaluate, fit } from '../train/loop';
import { loadWeightsInto, readTrainingLog, shippedWeightsDir, startEpochs, TRAINING_LOG } from '../train/saving';
import { GradientWorkers, ModelRecipe, trainingThreads } from '../train/parallel';
import { formatMetric, ProgressBar } from '../train/progress';
import type { TrainingLog } from './training-log';

/** The original notebook's settings. */
export const TCN_DEFAULTS = {
  batchSize: 128,
  dropout: 0.05,
  /** Gradient-norm clipping; −1 means off, as in the original. */
  clip: -1,
  epochs: 5,
  kernelSize: 7,
  levels: 8,
  learningRate: 2e-3,
  optimizer: 'Adam',
  nhid: 30,
  seed: 1111,
  permute: false,
  classes: 10,
  inputChannels: 1,
  seqLength: 784,
  /** MNIST's pixel mean and standard deviation after scaling to [0, 1] (torchvision's Normalize). */
  mean: 0.1307,
  std: 0.3081,
} as const;

/**
 * Adam as PyTorch sets it up (β 0.9 / 0.999, ε 1e-8; tfjs defaults to ε 1e-7).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function tcnOptimizer(learningRate: number = TCN_DEFAULTS.learningRate): tf.Optimizer {
  return tf.train.adam(positiveNumber('learningRate', learningRate), 0.9, 0.999, 1e-8);
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

export interface TcnDataOptions {
  /** Permute the pixels with RandomState(0).permutation(784), for training and test alike. Default false. */
  permute?: boolean;
  /** Keep only the first `limit` training and test images. Default all. */
  limit?: number;
  /** MNIST already loaded (default: loadMnist()). */
  mnist?: Mnist;
}

/**
 * MNIST as the original's loaders give it: pixels scaled to [0, 1], normalised with mean 0.1307
 * and std 0.3081, each image a sequence of 784 steps of one value, in the files' order.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export async function loadTcnData(options: TcnDataOptions = {}): Promise<TcnData> {
  const mnist = options.mnist ?? (await loadMnist());
  const limit = options.limit === undefined ? Infinity : positiveInteger('limit', options.limit);
  const permutation = options.permute ? psmnistPermutation(0) : undefined;
  const split = (bytes: Uint8Array, labels: Uint8Array) => {
    const n = Math.min(labels.length, limit);
    let images = normalize(scaleImages(bytes.subarray(0, n * MNIST_PIXELS)), TCN_DEFAULTS.mean, TCN_DEFAULTS.std);
    if (permutation) images = permutePixels(images, permutation);
    return new SequenceDataset({ images, labels: labels.subarray(0, n), steps: MNIST_PIXELS, features: 1 });
  };
  return {
    train: split(mnist.trainImages, mnist.trainLabels),
    test: split(mnist.testImages, mnist.testLabels),
    permutation,
  };
}

/**
 * How a gradient worker thread rebuilds the walkthrough's model (lib/train/parallel.ts).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function tcnModelRecipe(options: TcnModelOptions = {}): ModelRecipe {
  return { module: require.resolve('../models/tcn'), exportName: 'buildTcnModel', args: [options] };
}

// ---- training ------------------------------------------------------------------------------------

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

export interface TrainTcnOptions {
  data: TcnData;
  /** Architecture; default the walkthrough's (and `seed`). Worker threads build the same. */
  model?: TcnModelOptions;
  /** Default 5. */
  epochs?: number;
  /** Default 128. */
  batchSize?: number;
  /** Default 2e-3. */
  learningRate?: number;
  /** Initialiser seed. Default 1111 (SEED). */
  seed?: number;
  /** Threads per step, the main one included (data-parallel, see lib/train/parallel.ts). Default trainingThreads(). */
  threads?: number;
  /** Folder to save the model, the optimiser and the history to after every epoch. */
  checkpointDir?: string;
  /** Continue from checkpointDir. */
  resume?: boolean;
  /** The live lines of tcnProgress. Default true. */
  progress?: boolean;
}

export interface TrainTcnResult {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  /** Per epoch: loss and accuracy (training), val_loss and val_accuracy (test). */
  history: History;
  /** Seconds of training (not testing) per epoch, the resumed ones included. */
  epochSeconds: number[];
  /** Mean milliseconds per training step in this run. */
  msPerStep: number;
  threads: number;
}

/**
 * Trains as the original: Adam, NLL on the log-softmax outputs, batches of 128 in MNIST's order
 * (its loaders do not shuffle), the test set evaluated after every epoch. With more than one
 * thread each batch's gradient is split over worker threads (the same update up to rounding).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export async function trainTcn(options: TrainTcnOptions): Promise<TrainTcnResult> {
  const { data } = options;
  const epochs = positiveInteger('epochs', options.epochs ?? TCN_DEFAULTS.epochs);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? TCN_DEFAULTS.batchSize);
  const threads = positiveInteger('threads', options.threads ?? trainingThreads());
  const modelOptions: TcnModelOptions = { seed: options.seed ?? TCN_DEFAULTS.seed, ...options.model };
  const model = buildTcnModel(modelOptions);
  const optimizer = tcnOptimizer(options.learningRate);
  const dir = options.checkpointDir;
  // what decides the result: a checkpoint of another training is refused
  const settings = {
    walkthrough: 'tcn',
    model: modelOptions,
    permuted: data.permutation !== undefined,
    trainImages: data.train.size,
    testImages: data.test.size,
    batchSize,
    learningRate: options.learningRate ?? TCN_DEFAULTS.learningRate,
  };
  const { initialEpoch, history, epochSeconds, state } = await startEpochs(
    options.resume,
    dir,
    model,
    optimizer,
    epochs,
    settings,
  );
  // the dropout masks go on from where the checkpoint's run left them
  if (state?.randomStreams) setRandomStreamPositions(model, state.randomStreams as number[]);

  const workers = threads > 1 ? await GradientWorkers.start(tcnModelRecipe(modelOptions), { threads }) : undefined;
  const timing = new EpochCheckpoint({
    dir,
    epochSeconds,
    extraState: () => ({ settings, randomStreams: randomStreamPositions(model) }),
  });
  const callbacks: Callback[] = [timing];
  if (options.progress !== false) callbacks.push(tcnProgress(data.train.numBatches(batchSize), data.test.size));
  try {
    await fit(model, data.train, {
      epochs,
      batchSize,
      optimizer,
      loss: losses.nll,
      validation: data.test,
      validationBatchSize: 500,
      shuffleSeed: null,
      initialEpoch,
      history,
      progress: false,
      workers,
      callbacks,
    });
  } finally {
    await workers?.terminate();
  }
  return { model, optimizer, history, epochSeconds: timing.epochSeconds, msPerStep: timing.msPerStep, threads };
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

// ---- shipped weights -----------------------------------------------------------------------------

/** The shipped weights: notebooks/weights/tcn/ (tcn-permuted/ for permuted sequential MNIST). */
export function tcnWeightsDir(permute = false): string {
  return shippedWeightsDir(permute ? 'tcn-permuted' : 'tcn');
}

/** What `train tcn` writes beside the weights (training-log.json). */
export interface TcnTrainingLog extends TrainingLog<History> {
  seed: number;
  permute: boolean;
  epochs: number;
  epochSeconds: number[];
}

/**
 * Trained weights in a new walkthrough model, with the training log saved beside them; a missing
 * folder or file is named.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function loadTcnWeights(options: { permute?: boolean; dir?: string } = {}): {
  model: tf.LayersModel;
  log?: TcnTrainingLog;
} {
  const dir = options.dir ?? tcnWeightsDir(options.permute);
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) {
    throw new Error(
      `no trained TCN weights: ${file} does not exist (train with 'npm run seqmnist -- train tcn${options.permute ? ' --permute' : ''}', or set doTraining = true)`,
    );
  }
  const model = buildTcnModel();
  loadWeightsInto(model, dir);
  const log = fs.existsSync(path.join(dir, TRAINING_LOG))
    ? readTrainingLog<TcnTrainingLog>(dir, options.permute ? 'tcn --permute' : 'tcn')
    : undefined;
  return { model, log };
}

/**
 * Test accuracy in [0, 1] of trained weights (default the shipped ones) on the test images (the
 * first `limit` of them when given), permuted when `permute`.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export async function evaluateTcn(options: { permute?: boolean; dir?: string; limit?: number } = {}): Promise<number> {
  const { model } = loadTcnWeights({ permute: options.permute, dir: options.dir });
  try {
    const data = await loadTcnData({ permute: options.permute, limit: options.limit });
    return (await evaluate(model, data.test, { batchSize: 500, loss: losses.nll, progress: false })).accuracy;
  } finally {
    model.dispose();
  }
}
