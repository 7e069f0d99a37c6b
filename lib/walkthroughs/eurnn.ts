/**
 * The EURNN walkthrough (notebooks/03-eurnn-psmnist.ipynb): torch_eunn's "MNIST Task", an
 * efficient unitary RNN (capacity 2, modReLU, 256 complex units) reading permuted MNIST one pixel
 * per step, trained for 40,000 RMSprop steps on random batches of 100, as one object (`eurnn`,
 * lib/walkthroughs/walkthrough.ts) that the notebook, the CLI and `compare` call.
 */
import * as tf from '@tensorflow/tfjs';
import { onGpu } from '../backend-traits';
import { nonNegativeInteger, positiveInteger, positiveNumber } from '../checks';
import { SequenceDataset } from '../data/batches';
import { loadMnist, Mnist, MNIST_PIXELS } from '../data/mnist';
import { loadPsmnist } from '../data/psmnist';
import { psmnistPermutation, RandomState } from '../data/random';
import { inversePermutation, permutePixels, scaleImages } from '../data/transforms';
import { getEurnnEngine, getEurnnThreads } from '../kernels/eurnn';
import { buildEurnnModel } from '../models/eurnn';
import { ensurePlotlyAsset, Figure, figureBundle, lineChart } from '../plot/charts';
import { DisplayHandle, newDisplayHandle } from '../plot/display';
import { Checkpoint, startTraining } from '../train/checkpoint';
import { losses } from '../train/gradients';
import { Batch, Callback, evaluate, fit } from '../train/loop';
import { formatDuration } from '../train/progress';
import { RMSprop } from '../train/rmsprop';
import { mergeConfig } from './config';
import { configFingerprint } from './run';
import type { TrainingLog } from './training-log';
import type { CommonConfig, EvalResult, TrainOptions, TrainResult, Walkthrough } from './walkthrough';

/** The walkthrough's settings: the original notebook's constants, with its values. */
export interface EurnnConfig extends CommonConfig {
  /** Seed of the initialisers: input weights seed, angles seed + 1, readout seed + 2. Default 0. */
  seed: number;
  /**
   * Seed of the generator that shuffles the 70,000 images and then draws the training batches
   * (the original uses NumPy's unseeded global one). Default 0.
   */
  dataSeed: number;
  /** Only the first `limit` images of each of the three sets (quick runs). Default all. */
  limit?: number;
  /** Training images per step, drawn with replacement (batch_size). Default 100. */
  batchSize: number;
  /** RMSprop's learning rate (learning_rate). Default 1e-4. */
  learningRate: number;
  /** Training steps (num_steps). Default 40,000. */
  steps: number;
  /** Batch size of the validation and test passes (test_batch_size). Default 1,000. */
  testBatchSize: number;
  /** Complex components of the hidden state (num_hidden_rnn). Default 256. */
  hidden: number;
  /** Layers of 2×2 rotations in the unitary matrix (capacity_rnn). Default 2. */
  capacity: number;
  /** Training images: the first of the 70,000 shuffled (train_size). Default 50,000. */
  trainSize: number;
  /** Validation images: the next (valid_size). Default 10,000. */
  validSize: number;
  /** Test images: the next (test_size). Default 10,000. */
  testSize: number;
  /**
   * Validate (and checkpoint) every this many steps, and before the last. Default one pass over
   * the training images: trainSize / batchSize = 500 (with `limit`, the limited set's).
   */
  validateEvery?: number;
}

const DEFAULTS: Readonly<EurnnConfig> = Object.freeze({
  seed: 0,
  dataSeed: 0,
  limit: undefined,
  batchSize: 100,
  learningRate: 1e-4,
  steps: 40000,
  testBatchSize: 1000,
  hidden: 256,
  capacity: 2,
  trainSize: 50000,
  validSize: 10000,
  testSize: 10000,
  validateEvery: undefined,
});

/**
 * The defaults with `overrides`, every field checked; an unknown key is refused, naming it.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
function config(overrides: Partial<EurnnConfig> = {}): EurnnConfig {
  const c = mergeConfig('eurnn', DEFAULTS, overrides);
  const count = positiveInteger;
  const seed = nonNegativeInteger;
  return {
    seed: seed('seed', c.seed),
    dataSeed: seed('dataSeed', c.dataSeed),
    limit: c.limit === undefined ? undefined : count('limit', c.limit),
    batchSize: count('batchSize', c.batchSize),
    learningRate: positiveNumber('learningRate', c.learningRate),
    steps: count('steps', c.steps),
    testBatchSize: count('testBatchSize', c.testBatchSize),
    hidden: count('hidden', c.hidden),
    capacity: count('capacity', c.capacity),
    trainSize: count('trainSize', c.trainSize),
    validSize: count('validSize', c.validSize),
    testSize: count('testSize', c.testSize),
    validateEvery: c.validateEvery === undefined ? undefined : count('validateEvery', c.validateEvery),
  };
}

/** The fused kernel's engine: its WGSL version on a GPU backend, else the CPU engine chosen. */
const eurnnEngine = () => (onGpu() ? 'wgsl' : getEurnnEngine());
/** Threads of the fused kernel: its own on the CPU, one on a GPU backend. */
const eurnnThreads = () => (onGpu() ? 1 : getEurnnThreads());

const buildModel = (c: EurnnConfig): tf.LayersModel =>
  buildEurnnModel({ hiddenSize: c.hidden, capacity: c.capacity, seed: c.seed });

/** PyTorch's RMSprop (α 0.99, ε 1e-8 after the square root), as the original. */
const optimizer = (c: EurnnConfig): tf.Optimizer => new RMSprop({ learningRate: c.learningRate });

// ---- data ----------------------------------------------------------------------------------------

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

/**
 * The original's data: the 60,000 training and 10,000 test images stacked, shuffled with
 * RandomState(dataSeed), split into the first trainSize (train), the next validSize (validation)
 * and the next testSize (test); pixels scaled to [0, 1] and permuted with the original's perm_idxs,
 * RandomState(0).shuffle(0…783) (the psMNIST permutation).
 *
 * Porting note: the original shuffles with NumPy's unseeded global generator, so its split (and
 * its batches) change from run to run; here a RandomState(dataSeed) of its own, separate from the
 * permutation's, makes them reproducible.
 */
async function loadData(c: EurnnConfig, options: { mnist?: Mnist; limit?: number } = {}): Promise<EurnnData> {
  const limit = options.limit ?? c.limit;
  const perm = psmnistPermutation(0);
  const revPerm = inversePermutation(perm);
  const mnist = options.mnist ?? (await loadMnist());
  const nTrainFile = mnist.trainLabels.length;
  const total = nTrainFile + mnist.testLabels.length;
  const rng = new RandomState(c.dataSeed);
  const order = rng.permutation(total); // np.random.shuffle of the stacked rows
  const { trainSize, validSize, testSize } = c;
  if (trainSize + validSize + testSize > total) {
    throw new Error(
      `trainSize + validSize + testSize must be at most the ${total} MNIST images (got ${trainSize} + ${validSize} + ${testSize})`,
    );
  }
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

/**
 * How many of the standard test images the training split holds: the loader shuffles the
 * 60,000 training and 10,000 test images together with RandomState(dataSeed).permutation(70,000)
 * and trains on the first trainSize, so about 5/7 of the standard test images are training
 * images for it.
 * @see notebooks/06-compare.ipynb
 */
export function eurnnTrainedTestImages(
  mnist: Mnist,
  c: Pick<EurnnConfig, 'dataSeed' | 'trainSize'> = DEFAULTS,
): number {
  const nTrain = mnist.trainLabels.length;
  const order = new RandomState(c.dataSeed).permutation(nTrain + mnist.testLabels.length);
  let n = 0;
  for (let i = 0; i < c.trainSize; i++) if (order[i] >= nTrain) n++;
  return n;
}

// ---- training ------------------------------------------------------------------------------------

/** Validation results at the steps where the original measures them. */
export interface EurnnHistory {
  step: number[];
  /** Mean cross-entropy on the validation set. */
  valLoss: number[];
  /** Validation accuracy in % (as the original prints it). */
  valAccuracy: number[];
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

/** What the EURNN's `train` returns: the contract's result, with the time spent. */
export interface EurnnTrainResult extends TrainResult<EurnnHistory> {
  /** Steps run by this call (fewer than `steps` when resumed). */
  stepsRun: number;
  /** Time spent over all runs of this training; `msPerStep` is over all of them too. */
  timing: EurnnTiming;
}

/** The original's progress line. */
export function formatValidationLine(step: number, accuracyPercent: number): string {
  return `Step ${String(step).padStart(5)}\t Valid. Acc. = ${accuracyPercent.toFixed(2).padStart(5)}`;
}

/**
 * Trains as the original: each step draws `batchSize` training indices with replacement
 * (`randint(0, train_size, batch_size)`) from the data's generator and takes one RMSprop step on
 * the mean cross-entropy; before step 0, every `validateEvery` steps and before the last step it
 * measures the validation loss and accuracy and prints "Step n  Valid. Acc. = x". With a
 * checkpoint folder it saves everything needed to resume (the generator, the history and the
 * time spent included) at each of those validations.
 */
async function train(c: EurnnConfig, options: TrainOptions<EurnnData> = {}): Promise<EurnnTrainResult> {
  const data = options.data ?? (await loadData(c));
  // the original validates (and we checkpoint) after every pass over the training set
  const validateEvery = c.validateEvery ?? Math.max(1, Math.floor(data.train.size / c.batchSize));
  const show = options.progress !== false;
  const model = buildModel(c);
  const opt = optimizer(c);
  const rng = data.rng;
  const dir = options.checkpointDir;
  const fingerprint = configFingerprint(c);
  try {
    const start = await startTraining({
      resume: options.resume,
      dir,
      model,
      optimizer: opt,
      unit: 'step',
      total: c.steps,
      config: fingerprint,
    });
    let history: EurnnHistory = { step: [], valLoss: [], valAccuracy: [] };
    let timing: EurnnTiming = { steps: 0, trainMs: 0, validationMs: 0, wallSeconds: 0 };
    if (start.state) {
      const saved = start.state.rng as { key: number[]; pos: number };
      rng.setState({ key: Uint32Array.from(saved.key), pos: saved.pos });
      history = start.history as EurnnHistory;
      timing = (start.state.timing as EurnnTiming) ?? timing;
    }

    // the timing and history the original keeps, around the shared loop's steps
    const wallBefore = timing.wallSeconds;
    let t0 = 0;
    let validationFrom = 0;
    let stepFrom = 0;
    const bookkeeping: Callback = {
      onTrainBegin() {
        t0 = validationFrom = Date.now();
      },
      onValidationEnd(step, logs) {
        timing.validationMs += Date.now() - validationFrom;
        history.step.push(step);
        history.valLoss.push(logs.val_loss);
        history.valAccuracy.push(100 * logs.val_accuracy);
        if (show) console.log(formatValidationLine(step, 100 * logs.val_accuracy));
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
    const checkpoint = new Checkpoint({
      dir,
      every: 'validation',
      config: fingerprint,
      history: () => history,
      extraState: () => ({
        rng: { key: Array.from(rng.getState().key), pos: rng.getState().pos },
        timing: { ...timing, wallSeconds: wallBefore + (Date.now() - t0) / 1000 },
      }),
    });
    const callbacks: Callback[] = [bookkeeping, checkpoint];
    if (options.plot) callbacks.push(redrawEachValidation(() => eurnnHistoryChart(history, { display: false })));
    // randint(0, train_size, batch_size): indices drawn with replacement from the data's generator
    const sample = () =>
      data.train.batches(c.batchSize, { order: rng.randint(0, data.train.size, c.batchSize) }).next().value as Batch;
    await fit(model, sample, {
      steps: c.steps,
      initialStep: start.initial,
      optimizer: opt,
      loss: losses.sparseCrossEntropyFromLogits,
      validation: data.valid,
      validationBatchSize: c.testBatchSize,
      validateEvery,
      callbacks,
      progress: show ? 'Steps' : false,
    });
    timing.wallSeconds = wallBefore + (Date.now() - t0) / 1000;
    return {
      model,
      optimizer: opt,
      history,
      stepsRun: Math.max(0, c.steps - start.initial),
      msPerStep: timing.steps ? timing.trainMs / timing.steps : NaN,
      threads: eurnnThreads(),
      timing,
    };
  } catch (e) {
    model.dispose();
    opt.dispose();
    throw e;
  }
}

/** A callback that redraws `chart` in one notebook output after every validation. */
function redrawEachValidation(chart: () => Figure): Callback {
  let handle: DisplayHandle | undefined;
  return {
    onTrainBegin() {
      ensurePlotlyAsset();
      handle = newDisplayHandle();
    },
    onValidationEnd() {
      (handle ??= newDisplayHandle()).show(figureBundle(chart()));
    },
  };
}

/** Test accuracy and loss of a trained model on the config's test split, as `eval` prints it. */
async function evaluateEurnn(
  model: tf.LayersModel,
  c: EurnnConfig,
  options: { data?: EurnnData; progress?: string | false } = {},
): Promise<EvalResult> {
  const data = options.data ?? (await loadData(c));
  const r = await evaluate(model, data.test, { batchSize: c.testBatchSize, progress: options.progress ?? false });
  return { accuracy: r.accuracy, loss: r.loss, testImages: data.test.size, lines: [] };
}

// ---- the walkthrough -----------------------------------------------------------------------------

/** What `train eurnn` writes beside the weights (training-log.json). */
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

/** The EURNN walkthrough: the contract, with `train`'s result typed. */
export interface EurnnWalkthrough extends Walkthrough<EurnnConfig, EurnnData, EurnnHistory, EurnnTrainingLog> {
  train(config: EurnnConfig, options?: TrainOptions<EurnnData>): Promise<EurnnTrainResult>;
}

const grouped = (n: number) => n.toLocaleString('en-US');

/**
 * The EURNN walkthrough: config, data, model, training, evaluation and the shipped model, for
 * the notebook, the CLI (`train eurnn`) and `compare`.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export const eurnn: EurnnWalkthrough = {
  name: 'eurnn',
  title: 'efficient unitary RNN (capacity 2, modReLU, 256 complex units), permuted pixel MNIST',
  notebook: 'notebooks/03-eurnn-psmnist.ipynb',
  defaults: DEFAULTS,
  config,
  quickConfig: { limit: 300, steps: 12 },
  evalKeys: [],

  input: () => ({
    task: 'permuted',
    side: 28,
    steps: MNIST_PIXELS,
    featuresPerStep: 1,
    pixelOrder: 'RandomState(0).permutation(784)',
    preprocessing: 'pixels / 255',
  }),
  buildModel,
  optimizer,
  loss: losses.sparseCrossEntropyFromLogits,
  outputs: 'logits',
  evalBatchSize: DEFAULTS.testBatchSize,
  // the fused kernel splits the batch over threads of its own (on the CPU)
  threads: () => eurnnThreads(),
  torchPeer: 'eurnn',

  loadData: (c, options = {}) => loadData(c, { mnist: options.mnist }),
  train,
  evaluate: evaluateEurnn,

  weightsName: () => 'eurnn',
  shipped: [
    {
      name: 'eurnn',
      title: "torch_eunn's MNIST task: efficient unitary RNN, 256 complex units",
      overrides: {},
      published: { accuracy: '91.31%', source: "torch_eunn's MNIST example (40,000 steps)" },
      caveats: [], // the overlap with the standard test set needs the data: caveats()
      color: '#9467bd',
      curveMetric: 'validation accuracy (its 10,000-image validation split)',
    },
  ],

  async run(c, { checkpointDir, resume }) {
    const data = await loadData(c);
    console.log(
      `data: ${data.train.size} training, ${data.valid.size} validation, ${data.test.size} test sequences [784, 1]; ` +
        `EURNN engine ${eurnnEngine()}, ${eurnnThreads()} threads`,
    );
    const r = await train(c, { data, checkpointDir, resume });
    r.optimizer.dispose();
    let test: { loss: number; accuracy: number };
    try {
      test = await evaluate(r.model, data.test, { batchSize: c.testBatchSize, progress: false });
    } catch (e) {
      r.model.dispose();
      throw e;
    }
    const t = r.timing;
    return {
      model: r.model,
      threads: r.threads,
      // in the order of the logs written before
      fields: {
        engine: eurnnEngine(),
        trainImages: data.train.size,
        validImages: data.valid.size,
        testImages: data.test.size,
        steps: c.steps,
        msPerStep: r.msPerStep,
        validationSeconds: t.validationMs / 1000,
        totalSeconds: t.wallSeconds,
        timing: t,
        testAccuracy: test.accuracy,
        testLoss: test.loss,
        history: r.history,
      },
      lines: [
        `${t.steps} steps in ${formatDuration(t.wallSeconds)}: ${r.msPerStep.toFixed(1)} ms per training step, ${formatDuration(t.validationMs / 1000)} validating`,
        `Test Accuracy = ${(100 * test.accuracy).toFixed(2)}`,
      ],
    };
  },

  budget(log) {
    const steps = log.steps ?? log.timing?.steps ?? 0;
    const batchSize = DEFAULTS.batchSize;
    const trainMs = log.timing?.trainMs;
    return {
      budget: `${grouped(steps)} steps of ${batchSize}`,
      budgetNote: 'batches drawn with replacement',
      epochs: null,
      steps,
      batchSize,
      imagesSeen: steps * batchSize,
      seconds: trainMs !== undefined ? trainMs / 1000 : (log.totalSeconds ?? NaN),
      secondsNote:
        trainMs !== undefined ? 'training steps only (validation excluded)' : 'wall clock, validation included',
      msPerStep: log.msPerStep ?? NaN,
      msPerStepNote: 'from the log',
    };
  },

  // its log keeps no per-validation clock: the time is the step count times the mean step time
  learningCurve(log, budget) {
    const h = log.history ?? { step: [], valLoss: [], valAccuracy: [] };
    return {
      metric: 'validation accuracy (its 10,000-image validation split)',
      images: h.step.map((s) => s * budget.batchSize),
      seconds: h.step.map((s) => (s * budget.msPerStep) / 1000),
      accuracy: h.valAccuracy.map((a) => a / 100),
    };
  },

  caveats(mnist) {
    const n = eurnnTrainedTestImages(mnist);
    return [
      `its training split holds ${grouped(n)} of the ${grouped(mnist.testLabels.length)} standard test images, so its standard-test figure is not a held-out figure; its own test split is held out`,
    ];
  },

  standardTestSet: async (_c, options = {}) => (await loadPsmnist({ mnist: options.mnist, limit: options.limit })).test,

  async ownTestSet(c, options = {}) {
    return {
      label: "EURNN's own test split: the last 10,000 of all 70,000 images shuffled together",
      data: (await loadData(c, options)).test,
    };
  },
};

// ---- the original's chart ------------------------------------------------------------------------

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
