/**
 * The two LMU walkthroughs on psMNIST: KerasLMU's example (notebooks/01-keras-lmu-psmnist.ipynb,
 * CLI 'keras-lmu') and NengoDL's (notebooks/02-nengo-lmu-psmnist.ipynb, CLI 'nengo-lmu'). Both
 * read MNIST scaled to [0, 1] as 784-step sequences under RandomState(0).permutation(784), train
 * with Adam on batches of 100 for 10 epochs, and differ in the model, the split and the checkpoint.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { SequenceDataset } from '../data/batches';
import { loadMnist, Mnist, MNIST_PIXELS } from '../data/mnist';
import { psmnistPermutation } from '../data/random';
import { permutePixels, scaleImages } from '../data/transforms';
import { trainingDevice } from '../backend';
import { buildKerasLmuModel, buildNengoLmuModel, LmuModelOptions } from '../models/lmu';
import { loadWeightsInto, readTrainingLog, resumeFrom, saveModel, shippedWeightsDir, startEpochs, TRAINING_LOG, writeJsonAtomically } from '../train/checkpoint';
import { Callback, evaluate, fit, History, losses, trainableVariables, trainStep } from '../train/loop';
import { EpochCheckpoint, HistoryPlot, ModelCheckpoint, ModelCheckpointState } from '../train/model-checkpoint';
import { GradientWorkers, trainingThreads } from '../train/parallel';
import { CliFlags, printSummary, registerWalkthrough, trainCommandLine } from './registry';

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
} as const;

const NAMES: Record<LmuVariant, string> = { keras: 'keras-lmu', nengo: 'nengo-lmu' };

function checkVariant(variant: unknown): LmuVariant {
  if (variant !== 'keras' && variant !== 'nengo') throw new Error(`variant must be 'keras' or 'nengo' (got ${JSON.stringify(variant)})`);
  return variant;
}

function positiveInteger(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer (got ${String(v)})`);
  return v;
}

/**
 * Keras's Adam (lr 1e-3, β 0.9 / 0.999, ε 1e-7), what both originals train with.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function lmuOptimizer(learningRate: number = LMU_DEFAULTS.learningRate): tf.Optimizer {
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) throw new Error(`learningRate must be a positive number (got ${learningRate})`);
  return tf.train.adam(learningRate, 0.9, 0.999, 1e-7);
}

/**
 * The walkthrough's model: KerasLMU's (101,771 parameters) or NengoDL's (101,549).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function buildLmuModel(variant: LmuVariant, options: LmuModelOptions = {}): tf.LayersModel {
  return checkVariant(variant) === 'keras' ? buildKerasLmuModel(options) : buildNengoLmuModel(options);
}

// ---- data ----------------------------------------------------------------------------------------

/** Options of loadPsmnist. */
export interface PsmnistOptions {
  /** Training images kept for validation, from the end of the training set. Default 0 (KerasLMU: 10,000). */
  validation?: number;
  /** Keep only the first `limit` training and test images (the validation share scaled to 1/6 of them). Default all. */
  limit?: number;
  /** Seed of the permutation. Default 0. */
  seed?: number;
  /** MNIST already loaded. Default: loadMnist(). */
  mnist?: Mnist;
}

/** psMNIST as the walkthroughs use it: [N, 784, 1] sequences in [0, 1], permuted. */
export interface PsmnistData {
  train: SequenceDataset;
  /** The last `validation` training images, when asked for. */
  validation?: SequenceDataset;
  test: SequenceDataset;
  /** RandomState(seed).permutation(784): step i reads pixel permutation[i]. */
  permutation: Int32Array;
}

/**
 * Loads MNIST, scales it to [0, 1], flattens each image to 784 steps of one pixel and permutes
 * the steps with RandomState(seed).permutation(784); the last `validation` training images
 * become the validation set (KerasLMU: X_train[50000:]).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function loadPsmnist(options: PsmnistOptions = {}): Promise<PsmnistData> {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer (got ${seed})`);
  const limit = options.limit === undefined ? Infinity : positiveInteger('limit', options.limit);
  const mnist = options.mnist ?? (await loadMnist());
  const permutation = psmnistPermutation(seed);
  const nAll = Math.min(limit, mnist.trainLabels.length);
  let nValidation = options.validation ?? 0;
  if (!Number.isInteger(nValidation) || nValidation < 0 || nValidation >= mnist.trainLabels.length) {
    throw new Error(`validation must be an integer in [0, ${mnist.trainLabels.length}) (got ${options.validation})`);
  }
  if (options.limit !== undefined) nValidation = Math.round((nValidation * nAll) / mnist.trainLabels.length);
  const nTrain = nAll - nValidation;
  const nTest = Math.min(limit, mnist.testLabels.length);
  const sequences = (bytes: Uint8Array, labels: Uint8Array, from: number, to: number) =>
    new SequenceDataset({
      images: permutePixels(scaleImages(bytes.subarray(from * MNIST_PIXELS, to * MNIST_PIXELS)), permutation),
      labels: labels.subarray(from, to),
      steps: MNIST_PIXELS,
      features: 1,
    });
  return {
    train: sequences(mnist.trainImages, mnist.trainLabels, 0, nTrain),
    validation: nValidation > 0 ? sequences(mnist.trainImages, mnist.trainLabels, nTrain, nAll) : undefined,
    test: sequences(mnist.testImages, mnist.testLabels, 0, nTest),
    permutation,
  };
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
  if (variant === 'keras' && !data.validation) throw new Error("the 'keras' walkthrough validates after every epoch: load the data with loadPsmnist({ validation: 10000 })");
  const epochs = positiveInteger('epochs', options.epochs ?? LMU_DEFAULTS.epochs);
  const threads = positiveInteger('threads', options.threads ?? trainingThreads());
  const modelOptions: LmuModelOptions = { seed: options.seed ?? 0 };
  const model = buildLmuModel(variant, modelOptions);
  const optimizer = lmuOptimizer();
  const dir = options.checkpointDir;
  const checkpoint = variant === 'keras' && options.out ? new ModelCheckpoint({ filepath: options.out, monitor: 'val_loss', saveBestOnly: true, verbose: 1 }) : undefined;
  const { initialEpoch, history, epochSeconds, state } = await startEpochs(options.resume, dir, model, optimizer, epochs);
  if (checkpoint && state?.checkpoint) checkpoint.resumeFrom(state.checkpoint as ModelCheckpointState);

  const workers =
    threads > 1 ? await GradientWorkers.start({ module: require.resolve('../models/lmu'), exportName: variant === 'keras' ? 'buildKerasLmuModel' : 'buildNengoLmuModel', args: [modelOptions] }, { threads }) : undefined;
  // after the ModelCheckpoint, so that each epoch's saved state includes that epoch's best
  const bookkeeping = new EpochCheckpoint({ dir, epochSeconds, extraState: () => ({ checkpoint: checkpoint?.getState() }) });
  const callbacks: Callback[] = [...(checkpoint ? [checkpoint] : []), bookkeeping];
  if (options.plot && variant === 'keras') callbacks.push(new HistoryPlot({ epochs }));
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
  return { model, history, epochSeconds: bookkeeping.epochSeconds, msPerStep: bookkeeping.msPerStep, bestEpoch: checkpoint && checkpoint.bestEpoch >= 0 ? checkpoint.bestEpoch : undefined, threads };
}

/**
 * KerasLMU's "Maximum validation accuracy": the validation accuracy at the epoch of the lowest
 * validation loss (the model the checkpoint kept), not the highest validation accuracy.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function validationAccuracyAtBestLoss(history: History): { epoch: number; accuracy: number; loss: number } {
  const losses_ = history?.history?.val_loss;
  const accuracies = history?.history?.val_accuracy;
  if (!Array.isArray(losses_) || !Array.isArray(accuracies) || losses_.length === 0) throw new Error('the history holds no val_loss and val_accuracy');
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
  return shippedWeightsDir(NAMES[checkVariant(variant)]);
}

/**
 * A model of the variant with the weights saved in `dir` (default: the shipped ones); a missing
 * file is named, and weights of the wrong shapes are reported with the expected ones.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function loadLmuModel(variant: LmuVariant, dir: string = lmuWeightsDir(variant)): tf.LayersModel {
  const name = NAMES[checkVariant(variant)];
  for (const file of ['model.json', 'weights.bin']) {
    const p = path.join(dir, file);
    if (!fs.existsSync(p)) {
      throw new Error(`no trained weights for ${name}: ${p} does not exist (train with 'npm run seqmnist -- train ${name}', or set doTraining = true)`);
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

/** What the CLI's `train` writes beside the weights (training-log.json). */
export interface LmuTrainingLog {
  walkthrough: string;
  command: string;
  /** Initialiser and shuffle seed (absent in logs written before `--seed`: 0). */
  seed?: number;
  /** The global gradient-norm clip, when the training used one (`--clipnorm`). */
  clipNorm?: number;
  backend: string;
  device: string;
  threads: number;
  date: string;
  params: number;
  trainImages: number;
  validationImages: number;
  testImages: number;
  epochs: number;
  epochSeconds: number[];
  meanEpochSeconds: number;
  msPerStep: number;
  testAccuracy: number;
  /** 'keras': the epoch (1-based) whose model was kept, and KerasLMU's "Maximum validation accuracy". */
  bestEpoch?: number;
  maxValidationAccuracy?: number;
  /** 'nengo': the test accuracy before training. */
  initialTestAccuracy?: number;
  history: History;
}

/**
 * The training log saved beside trained weights (written by `npm run seqmnist -- train <name>`).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function loadLmuTrainingLog(variant: LmuVariant, dir: string = lmuWeightsDir(variant)): LmuTrainingLog {
  return readTrainingLog<LmuTrainingLog>(dir, NAMES[checkVariant(variant)]);
}

// ---- the CLI -------------------------------------------------------------------------------------

const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : NaN);

async function trainCommand(variant: LmuVariant, flags: CliFlags): Promise<void> {
  const name = NAMES[variant];
  const out = path.resolve(flags.out ?? lmuWeightsDir(variant));
  // beside the output folder, which is replaced whole at each save
  const checkpointDir = `${out}-checkpoint`;
  const t0 = Date.now();
  const data = await loadPsmnist({ validation: LMU_DEFAULTS.validation[variant], limit: flags.limit });
  console.log(`data: ${data.train.size} training, ${data.validation?.size ?? 0} validation, ${data.test.size} test sequences of [784, 1]`);
  const seed = flags.seed ?? 0;
  let initialTestAccuracy: number | undefined;
  if (variant === 'nengo') {
    // the untrained model is the same on a resumed run (same seed), so this is measured every time
    const initial = buildLmuModel(variant, { seed });
    initialTestAccuracy = (await evaluate(initial, data.test, { batchSize: LMU_DEFAULTS.evalBatchSize, progress: false })).accuracy;
    initial.dispose();
    console.log(`Initial test accuracy: ${(initialTestAccuracy * 100).toFixed(2)}%`);
  }
  // KerasLMU's checkpoint keeps the best model inside the checkpoint folder while training runs, so
  // that the folder alone resumes a run and `out` only ever holds a finished training
  const best = path.join(checkpointDir, 'best');
  const r = await trainLmu({ variant, data, epochs: flags.epochs, out: variant === 'keras' ? best : undefined, checkpointDir, resume: flags.resume, seed, clipNorm: flags.clipnorm });
  const trained = variant === 'keras' ? loadLmuModel(variant, best) : r.model;
  await saveModel(trained, out);
  const test = await evaluate(trained, data.test, { batchSize: LMU_DEFAULTS.evalBatchSize, progress: false });
  const atBest = variant === 'keras' ? validationAccuracyAtBestLoss(r.history) : undefined;
  const log: LmuTrainingLog = {
    walkthrough: name,
    command: trainCommandLine(name, flags),
    seed,
    ...(flags.clipnorm !== undefined ? { clipNorm: flags.clipnorm } : {}),
    backend: tf.getBackend(),
    device: trainingDevice(),
    threads: r.threads,
    date: new Date().toISOString(),
    params: r.model.countParams(),
    trainImages: data.train.size,
    validationImages: data.validation?.size ?? 0,
    testImages: data.test.size,
    epochs: r.history.epoch.length,
    epochSeconds: r.epochSeconds,
    meanEpochSeconds: mean(r.epochSeconds),
    msPerStep: r.msPerStep,
    testAccuracy: test.accuracy,
    ...(atBest ? { bestEpoch: atBest.epoch + 1, maxValidationAccuracy: atBest.accuracy } : {}),
    ...(initialTestAccuracy !== undefined ? { initialTestAccuracy } : {}),
    history: r.history,
  };
  writeJsonAtomically(path.join(out, TRAINING_LOG), log);
  fs.rmSync(checkpointDir, { recursive: true, force: true });
  console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s; ${log.meanEpochSeconds.toFixed(0)} s per epoch, ${r.msPerStep.toFixed(0)} ms per step (${r.threads} threads, ${log.backend})`);
  if (atBest) console.log(`Maximum validation accuracy: ${(atBest.accuracy * 100).toFixed(2)}% (epoch ${atBest.epoch + 1})`);
  console.log(`saved ${out} (model.json, weights.bin, training-log.json)`);
  console.log(`${variant === 'nengo' ? 'Final test accuracy' : 'Test accuracy'}: ${(test.accuracy * 100).toFixed(2)}%`);
  if (trained !== r.model) trained.dispose();
  r.model.dispose();
}

async function evalCommand(variant: LmuVariant, flags: CliFlags): Promise<number> {
  const model = loadLmuModel(variant, flags.weights ? path.resolve(flags.weights) : undefined);
  try {
    const data = await loadPsmnist({ limit: flags.limit });
    return (await evaluate(model, data.test, { batchSize: LMU_DEFAULTS.evalBatchSize, progress: false })).accuracy;
  } finally {
    model.dispose();
  }
}

/**
 * KerasLMU's walkthrough from the terminal (`npm start`): the data, the permutation, the model, the
 * shipped training's log, then the kept model on the test set.
 */
async function replayKeras(): Promise<number> {
  const data = await loadPsmnist({ validation: LMU_DEFAULTS.validation.keras });
  console.log(`permutation: RandomState(0).permutation(784) = [${Array.from(data.permutation.subarray(0, 6)).join(', ')}, …]`);
  for (const [name, ds] of [['Training', data.train], ['Validation', data.validation!], ['Testing', data.test]] as const) {
    console.log(`${name} input/target shapes: (${ds.size}, 784, 1), (${ds.size},)`);
  }
  const log = loadLmuTrainingLog('keras');
  const model = loadLmuModel('keras');
  try {
    console.log(`model: LMU(memory_d 1, order 256, theta 784, SimpleRNN(212)) + Dense(10), ${model.countParams().toLocaleString('en-US')} parameters`);
    console.log(`trained with '${log.command}': ${log.epochs} epochs, ${log.meanEpochSeconds.toFixed(0)} s per epoch on ${log.backend} (${log.device}, ${log.threads} threads)`);
    const acc = log.history.history.val_accuracy ?? [];
    console.log(`validation accuracy by epoch: ${acc.map((a) => (100 * a).toFixed(2)).join(', ')}`);
    const best = validationAccuracyAtBestLoss(log.history);
    console.log(`Maximum validation accuracy: ${(best.accuracy * 100).toFixed(2)}% (epoch ${best.epoch + 1}, the model kept)`);
    return (await evaluate(model, data.test, { batchSize: LMU_DEFAULTS.evalBatchSize, progress: 'Test' })).accuracy;
  } finally {
    model.dispose();
  }
}

for (const variant of ['keras', 'nengo'] as const) {
  registerWalkthrough({
    name: NAMES[variant],
    title:
      variant === 'keras'
        ? "KerasLMU's psMNIST example: LMU(order 256, θ 784, SimpleRNN 212) + Dense(10)"
        : "NengoDL's LMU example: the LMU cell from its parts (212 units, order 256, θ 784)",
    notebook: variant === 'keras' ? 'notebooks/01-keras-lmu-psmnist.ipynb' : 'notebooks/02-nengo-lmu-psmnist.ipynb',
    torchPeer: 'lmu-fft',
    trainFlags: ['epochs', 'limit', 'resume', 'out', 'seed', 'clipnorm'],
    evalFlags: ['weights', 'limit'],
    summary: async () => printSummary(buildLmuModel(variant, { seed: 0 })),
    train: (flags) => trainCommand(variant, flags),
    evaluate: (flags) => evalCommand(variant, flags),
    replay: variant === 'keras' ? replayKeras : undefined,
    async benchStep() {
      const batchSize = LMU_DEFAULTS.batchSize;
      const threads = trainingThreads();
      const modelOptions: LmuModelOptions = { seed: 0 };
      const model = buildLmuModel(variant, modelOptions);
      const optimizer = lmuOptimizer();
      const workers =
        threads > 1 ? await GradientWorkers.start({ module: require.resolve('../models/lmu'), exportName: variant === 'keras' ? 'buildKerasLmuModel' : 'buildNengoLmuModel', args: [modelOptions] }, { threads }) : undefined;
      const vars = trainableVariables(model);
      const x = tf.randomUniform([batchSize, MNIST_PIXELS, 1], 0, 1, 'float32', 1);
      const y = tf.randomUniform([batchSize], 0, 10, 'int32', 2);
      console.log(`${NAMES[variant]}: ${threads} thread${threads > 1 ? 's' : ''} per step (SEQMNIST_THREADS to change)`);
      return {
        batchSize,
        async step() {
          await trainStep(model, optimizer, vars, x, y, losses.sparseCrossEntropyFromLogits, workers);
        },
        dispose() {
          void workers?.terminate();
          tf.dispose([x, y]);
          optimizer.dispose();
          model.dispose();
        },
      };
    },
  });
}
