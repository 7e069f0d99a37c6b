/**
 * The EURNN walkthrough (notebooks/03-eurnn-psmnist.ipynb): torch_eunn's "MNIST Task", an
 * efficient unitary RNN (capacity 2, modReLU, 256 complex units) reading permuted MNIST one pixel
 * per step, trained for 40,000 RMSprop steps on random batches of 100. Registers the CLI
 * walkthrough 'eurnn'.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { positiveInteger } from '../checks';
import { SequenceDataset } from '../data/batches';
import { loadMnist, Mnist, MNIST_PIXELS } from '../data/mnist';
import { psmnistPermutation, RandomState } from '../data/random';
import { inversePermutation, permutePixels, scaleImages } from '../data/transforms';
import { Figure, lineChart } from '../plot/charts';
import { buildEurnnModel } from '../models/eurnn';
import { losses } from '../train/gradients';
import { Batch, Callback, evaluate, fit } from '../train/loop';
import {
  checkResumeSettings,
  loadWeightsInto,
  readTrainingLog,
  readTrainingState,
  resumeFrom,
  resumeLine,
  saveModel,
  shippedWeightsDir,
  TRAINING_LOG,
} from '../train/saving';
import { RMSprop } from '../train/rmsprop';
import type { TrainingLog } from './training-log';

/** The original notebook's constants. */
export const EURNN_DEFAULTS = {
  numLabels: 10,
  width: 28,
  height: 28,
  /** Training steps (num_steps). */
  numSteps: 40000,
  testSize: 10000,
  validSize: 10000,
  trainSize: 50000,
  batchSize: 100,
  /** Batch size of the validation and test passes. */
  testBatchSize: 1000,
  /** Inputs per step: one pixel. */
  numInputs: 1,
  numHiddenRnn: 256,
  capacityRnn: 2,
  learningRate: 1e-4,
} as const;

/** The walkthrough's data: 70,000 images shuffled and split, scaled to [0, 1] and permuted. */
export interface EurnnData {
  /** The pixel order: perm[i] is the original pixel read at step i. */
  perm: Int32Array;
  /** Its inverse, which puts a permuted sequence back in image order (for drawing). */
  revPerm: Int32Array;
  /** 50,000 training sequences [784, 1] (or `limit`). */
  train: SequenceDataset;
  /** 10,000 validation sequences (or `limit`). */
  valid: SequenceDataset;
  /** 10,000 test sequences (or `limit`). */
  test: SequenceDataset;
  /**
   * The generator that shuffled the 70,000 images, left where the shuffle left it: the training
   * loop draws its batches from it, as the original draws both from NumPy's global generator.
   */
  rng: RandomState;
}

/** Options of loadEurnnData. */
export interface EurnnDataOptions {
  /** The pixel permutation. Default RandomState(0).shuffle(0…783), the original's perm_idxs. */
  perm?: Int32Array;
  /** Seed of the generator that shuffles the 70,000 images. Default 0. */
  seed?: number;
  /** Keep only the first `limit` images of each of the three sets (quick runs). Default: all. */
  limit?: number;
  /** Already loaded MNIST (skips loading). */
  mnist?: Mnist;
}

/**
 * The original's data: the 60,000 training and 10,000 test images stacked, shuffled, split into
 * the first 50,000 (train), the next 10,000 (validation) and the last 10,000 (test); pixels
 * scaled to [0, 1] and permuted with `perm`.
 *
 * Porting note: the original shuffles with NumPy's unseeded global generator, so its split (and
 * its batches) change from run to run; here a RandomState(seed) of its own, separate from the
 * permutation's, makes them reproducible.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export async function loadEurnnData(options: EurnnDataOptions = {}): Promise<EurnnData> {
  const seed = options.seed ?? 0;
  const limit = options.limit;
  if (limit !== undefined) positiveInteger('limit', limit);
  const perm = options.perm ?? psmnistPermutation(0);
  const revPerm = inversePermutation(perm);
  const mnist = options.mnist ?? (await loadMnist());
  const nTrainFile = mnist.trainLabels.length;
  const total = nTrainFile + mnist.testLabels.length;
  const rng = new RandomState(seed);
  const order = rng.permutation(total); // np.random.shuffle of the stacked rows
  const { trainSize, validSize, testSize } = EURNN_DEFAULTS;
  if (total !== trainSize + validSize + testSize)
    throw new Error(`expected ${trainSize + validSize + testSize} MNIST images (got ${total})`);
  const take = (start: number, size: number): SequenceDataset => {
    const n = Math.min(size, limit ?? size);
    const bytes = new Uint8Array(n * MNIST_PIXELS);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const j = order[start + i];
      const [images, at, lab] =
        j < nTrainFile
          ? [mnist.trainImages, j, mnist.trainLabels]
          : [mnist.testImages, j - nTrainFile, mnist.testLabels];
      bytes.set(images.subarray(at * MNIST_PIXELS, (at + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
      labels[i] = lab[at];
    }
    return new SequenceDataset({
      images: permutePixels(scaleImages(bytes), perm),
      labels,
      steps: MNIST_PIXELS,
      features: 1,
    });
  };
  return {
    perm,
    revPerm,
    train: take(0, trainSize),
    valid: take(trainSize, validSize),
    test: take(trainSize + validSize, testSize),
    rng,
  };
}

/** Validation results at the steps where the original measures them. */
export interface EurnnHistory {
  step: number[];
  /** Mean cross-entropy on the validation set. */
  valLoss: number[];
  /** Validation accuracy in % (as the original prints it). */
  valAccuracy: number[];
}

/** Options of trainEurnn; defaults are the original's. */
export interface TrainEurnnOptions {
  /** The data from loadEurnnData; training batches are drawn from its `rng`. Required. */
  data: EurnnData;
  /** The model to train. Default buildEurnnModel({ seed }). */
  model?: tf.LayersModel;
  /** Default PyTorch's RMSprop with learningRate. */
  optimizer?: tf.Optimizer;
  /** Total optimiser steps (num_steps). Default 40,000. */
  steps?: number;
  /** Default 100. */
  batchSize?: number;
  /** Used when no optimizer is given. Default 1e-4. */
  learningRate?: number;
  /** Validate every this many steps (and at the last). Default trainSize / batchSize = 500, one pass. */
  validateEvery?: number;
  /** Default 1,000. */
  validationBatchSize?: number;
  /** Seed of the model's initialisers when no model is given. Default 0. */
  seed?: number;
  /** Save model, optimiser, generator and history here at every validation after the first. */
  checkpointDir?: string;
  /** Continue from checkpointDir. Default false. */
  resume?: boolean;
  /** Show a progress bar over the steps. Default true. */
  progress?: boolean;
  /** Where the "Step n  Valid. Acc. = x" lines go. Default console.log. */
  log?: (line: string) => void;
}

/** Time spent, summed over the runs of one training (a resumed run adds to its checkpoint's). */
export interface EurnnTiming {
  /** Training steps timed. */
  steps: number;
  /** Milliseconds in training steps (drawing the batch, forward, backward, update). */
  trainMs: number;
  /** Milliseconds in validation passes. */
  validationMs: number;
  /** Wall-clock seconds of the training loops. */
  wallSeconds: number;
}

/** What trainEurnn returns. */
export interface TrainEurnnResult {
  model: tf.LayersModel;
  /** The optimiser (the caller disposes it when done). */
  optimizer: tf.Optimizer;
  history: EurnnHistory;
  /** Steps run by this call (fewer than `steps` when resumed). */
  stepsRun: number;
  /** Mean milliseconds per training step, validation excluded, over all runs of this training. */
  msPerStep: number;
  /** Time spent, over all runs of this training. */
  timing: EurnnTiming;
}

/** The original's progress line. */
export function formatValidationLine(step: number, accuracyPercent: number): string {
  return `Step ${String(step).padStart(5)}\t Valid. Acc. = ${accuracyPercent.toFixed(2).padStart(5)}`;
}

/**
 * Trains as the original: each step draws `batchSize` training indices with replacement
 * (`randint(0, train_size, batch_size)`) and takes one RMSprop step on the mean cross-entropy;
 * before step 0, every `validateEvery` steps and before the last step it measures the validation
 * loss and accuracy and prints "Step n  Valid. Acc. = x". With checkpointDir it saves everything
 * needed to resume at each of those validations.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export async function trainEurnn(options: TrainEurnnOptions): Promise<TrainEurnnResult> {
  const { data } = options;
  const steps = positiveInteger('steps', options.steps ?? EURNN_DEFAULTS.numSteps);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? EURNN_DEFAULTS.batchSize);
  const validationBatchSize = positiveInteger(
    'validationBatchSize',
    options.validationBatchSize ?? EURNN_DEFAULTS.testBatchSize,
  );
  const validateEvery = positiveInteger(
    'validateEvery',
    options.validateEvery ?? Math.floor(EURNN_DEFAULTS.trainSize / batchSize),
  );
  const log = options.log ?? ((line: string) => console.log(line));
  const model = options.model ?? buildEurnnModel({ seed: options.seed ?? 0 });
  const optimizer =
    options.optimizer ?? new RMSprop({ learningRate: options.learningRate ?? EURNN_DEFAULTS.learningRate });
  const rng = data.rng;
  const dir = options.checkpointDir;
  let history: EurnnHistory = { step: [], valLoss: [], valAccuracy: [] };
  let timing: EurnnTiming = { steps: 0, trainMs: 0, validationMs: 0, wallSeconds: 0 };
  let initialStep = 0;

  // what decides the result besides the model and optimiser: a checkpoint of another training is refused
  const settings = {
    walkthrough: 'eurnn',
    trainImages: data.train.size,
    validImages: data.valid.size,
    batchSize,
    validateEvery,
  };
  if (options.resume) {
    if (dir) checkResumeSettings(dir, readTrainingState(dir)?.settings as never, settings);
    const state = await resumeFrom(dir, model, optimizer);
    const saved = state.rng as { key: number[]; pos: number };
    rng.setState({ key: Uint32Array.from(saved.key), pos: saved.pos });
    history = state.history as EurnnHistory;
    timing = (state.timing as EurnnTiming) ?? timing;
    initialStep = state.step ?? 0;
    log(resumeLine(dir!, `step ${initialStep} of ${steps}`));
  }

  // the timing, history and checkpoints the original keeps, around the shared loop's steps
  const wallBefore = timing.wallSeconds;
  let t0 = 0;
  let validationFrom = 0;
  let stepFrom = 0;
  const bookkeeping: Callback = {
    onTrainBegin() {
      t0 = validationFrom = Date.now();
    },
    async onValidationEnd(step, logs) {
      timing.validationMs += Date.now() - validationFrom;
      history.step.push(step);
      history.valLoss.push(logs.val_loss);
      history.valAccuracy.push(100 * logs.val_accuracy);
      log(formatValidationLine(step, 100 * logs.val_accuracy));
      if (dir && step > initialStep) {
        await saveModel(model, dir, {
          optimizer,
          state: {
            step,
            settings,
            rng: { key: Array.from(rng.getState().key), pos: rng.getState().pos },
            history,
            timing: { ...timing, wallSeconds: wallBefore + (Date.now() - t0) / 1000 },
          },
        });
      }
    },
    onBatchBegin() {
      stepFrom = Date.now();
    },
    onBatchEnd() {
      validationFrom = Date.now();
      timing.trainMs += validationFrom - stepFrom;
      timing.steps++;
    },
  };
  // randint(0, train_size, batch_size): indices drawn with replacement from the data's generator
  const sample = () =>
    data.train.batches(batchSize, { order: rng.randint(0, data.train.size, batchSize) }).next().value as Batch;
  await fit(model, sample, {
    steps,
    initialStep,
    optimizer,
    loss: losses.sparseCrossEntropyFromLogits,
    validation: data.valid,
    validationBatchSize,
    validateEvery,
    callbacks: [bookkeeping],
    progress: options.progress === false ? false : 'Steps',
  });
  timing.wallSeconds = wallBefore + (Date.now() - t0) / 1000;
  return {
    model,
    optimizer,
    history,
    stepsRun: Math.max(0, steps - initialStep),
    msPerStep: timing.steps ? timing.trainMs / timing.steps : NaN,
    timing,
  };
}

/**
 * The original's "Validation Loss / Accuracy" figure: loss (left axis, from 0.01 to 1.1× its
 * maximum) and accuracy in % (right axis, from the tens below its minimum to 100) against the
 * training steps.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function eurnnHistoryChart(history: EurnnHistory, options: { display?: boolean } = {}): Figure {
  if (!history || history.step.length === 0) throw new Error('the history holds no validation results');
  const m = Math.floor((Math.min(...history.valAccuracy) - 1) / 10) * 10;
  return lineChart({
    title: 'Validation Loss / Accuracy',
    xTitle: 'Training Steps',
    yTitle: 'Log Loss',
    y2Title: 'Accuracy [%]',
    series: [
      { name: 'validation loss', x: history.step, y: history.valLoss, mode: 'lines+markers', color: '#1f77b4' },
      {
        name: 'validation accuracy',
        x: history.step,
        y: history.valAccuracy,
        mode: 'lines+markers',
        color: '#ff7f0e',
        yaxis: 'y2',
      },
    ],
    xRange: [0, Math.max(100, Math.floor((Math.max(...history.step) + 100) / 100) * 100)],
    yRange: [0.01, 1.1 * Math.max(...history.valLoss)],
    y2Range: [m, 100],
    display: options.display,
  });
}

/** The shipped weights: notebooks/weights/eurnn/. */
export function eurnnWeightsDir(): string {
  return shippedWeightsDir('eurnn');
}

/** What train writes beside the weights (training-log.json). */
export interface EurnnTrainingLog extends TrainingLog<EurnnHistory> {
  /** The EURNN kernel's engine ('wasm-simd' or 'js' on the CPU, 'wgsl' on webgpu). */
  engine: string;
  validImages: number;
  steps: number;
  validationSeconds: number;
  /** Wall-clock seconds of the training loops, over every run of a resumed training. */
  totalSeconds: number;
  timing: EurnnTiming;
  testLoss: number;
}

/**
 * Loads trained weights into a new walkthrough model, with the training log saved beside them;
 * a missing folder or file is named.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function loadEurnnWeights(dir: string = eurnnWeightsDir()): { model: tf.LayersModel; log?: EurnnTrainingLog } {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) {
    throw new Error(
      `no trained EURNN weights: ${file} does not exist (train with 'npm run seqmnist -- train eurnn', or set doTraining = true)`,
    );
  }
  const model = buildEurnnModel();
  loadWeightsInto(model, dir);
  const log = fs.existsSync(path.join(dir, TRAINING_LOG)) ? readTrainingLog<EurnnTrainingLog>(dir, 'eurnn') : undefined;
  return { model, log };
}

/**
 * Test accuracy in [0, 1] of trained weights (default the shipped ones) on the walkthrough's test
 * split (the first `limit` of it when given).
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export async function evaluateEurnn(options: { dir?: string; limit?: number } = {}): Promise<number> {
  const { model } = loadEurnnWeights(options.dir);
  try {
    const data = await loadEurnnData({ limit: options.limit });
    return (await evaluate(model, data.test, { batchSize: EURNN_DEFAULTS.testBatchSize, progress: false })).accuracy;
  } finally {
    model.dispose();
  }
}
