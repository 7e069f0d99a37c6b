/**
 * The comparison of the seven trained models (notebooks/06-compare.ipynb, CLI `compare`): each
 * walkthrough's shipped weights evaluated on the standard 10,000 MNIST test images with its own
 * preprocessing, beside what its training log records (budget, time) and what its original
 * published, and the PyTorch peer's step time from a bench record in the repository. Also the
 * agreement between the models, their confusion matrices, their hardest digits and their learning
 * curves. Per-step predictions are in compare-steps.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { oneOf, positiveInteger } from '../checks';
import { SequenceDataset } from '../data/batches';
import { loadMnist, Mnist, MNIST_PIXELS } from '../data/mnist';
import { loadPsmnist } from '../data/psmnist';
import { psmnistPermutation, RandomState } from '../data/random';
import { scaleImages } from '../data/transforms';
import { Figure, lineChart, showFigure } from '../plot/charts';
import { showDigits } from '../plot/digit';
import { heatmap, heatmapGrid } from '../plot/matrix';
import { labelledScatter } from '../plot/scatter';
import { showTable, TableOptions } from '../plot/table';
import { loadWeightsInto, readTrainingLog, shippedWeightsDir, TRAINING_LOG } from '../train/saving';
import { buildEurnnModel } from '../models/eurnn';
import { buildTcnModel } from '../models/tcn';
import { EURNN_DEFAULTS, EurnnTrainingLog, loadEurnnData } from './eurnn';
import { buildLmuModel, LMU_DEFAULTS, LmuTrainingLog } from './lmu';
import { buildLstmModel, loadLstmData, LSTM_DEFAULTS, LstmTrainingLog } from './lstm';
import { loadTcnData, TCN_DEFAULTS, TcnTrainingLog } from './tcn';

// ---- the seven models ---------------------------------------------------------------------------

/**
 * The models compared, by their shipped weights' folder names.
 * @see notebooks/06-compare.ipynb
 */
export const COMPARE_NAMES = [
  'keras-lmu',
  'nengo-lmu',
  'eurnn',
  'tcn',
  'tcn-permuted',
  'lstm-pixel',
  'lstm-row',
] as const;
export type CompareName = (typeof COMPARE_NAMES)[number];

/** What a model's last layer outputs (all are turned into probabilities with this). */
export type OutputKind = 'logits' | 'logProbabilities' | 'probabilities';

/** An original's published test accuracy, or why there is none. */
export interface PublishedFigure {
  /** As the source states it, e.g. '96.41–96.53%'; null when there is none. */
  accuracy: string | null;
  /** Where it comes from (or, without a figure, why there is none). */
  source: string;
  note?: string;
}

/** What the comparison knows of one model besides its weights and log. */
export interface CompareModelInfo {
  name: CompareName;
  /** The walkthrough, in a few words. */
  title: string;
  notebook: string;
  /** Pixel by pixel in image order ('sequential') or under RandomState(0).permutation(784) ('permuted'). */
  task: 'sequential' | 'permuted';
  /** Side of the square image the model reads: 28, or 14 for the LSTMs. */
  side: number;
  /** Input steps per image and values per step. */
  steps: number;
  featuresPerStep: number;
  /** How the steps walk the image. */
  pixelOrder: string;
  /** How pixel values are scaled. */
  preprocessing: string;
  outputs: OutputKind;
  /** Batch size of the walkthrough's own evaluation (the same here, so that the numbers match `eval`). */
  evalBatchSize: number;
  published: PublishedFigure;
  /** The bench entry whose step times apply (tcn-permuted has the same step as tcn). */
  bench: string;
  /** Where a comparison with this model is unfair, in plain words. */
  caveats: string[];
}

const LSTM_MILESTONES_TEXT =
  'the assignment publishes no accuracy, only milestones (pixels: ≥ 50% validation accuracy within 10 epochs, ≥ 80% within 50; rows: ≥ 90% within 10)';
const TCN_PAPER = 'Bai, Kolter & Koltun 2018, An Empirical Evaluation of Generic Convolutional and Recurrent Networks';
const LSTM_CAVEATS = [
  'reads MNIST resized to 14×14 (bilinear), a quarter of the pixels the other models see',
  'trained on augmented images (shifts up to 20%, turns up to ±36°); its early stopping and learning-rate schedule watched its own 1,000 test images, so its own figure is not a clean held-out figure',
];

/**
 * The seven models: each walkthrough's input, preprocessing, output and published figure.
 * @see notebooks/06-compare.ipynb
 */
export const COMPARE_MODELS: Record<CompareName, CompareModelInfo> = {
  'keras-lmu': {
    name: 'keras-lmu',
    title: 'KerasLMU psMNIST example: LMU (order 256) + SimpleRNN(212)',
    notebook: 'notebooks/01-keras-lmu-psmnist.ipynb',
    task: 'permuted',
    side: 28,
    steps: 784,
    featuresPerStep: 1,
    pixelOrder: 'RandomState(0).permutation(784)',
    preprocessing: 'pixels / 255',
    outputs: 'logits',
    evalBatchSize: LMU_DEFAULTS.evalBatchSize,
    published: { accuracy: '96.41–96.53%', source: "KerasLMU's psMNIST example notebook" },
    bench: 'keras-lmu',
    caveats: [
      'trained on 50,000 images (10,000 held out for validation); the model kept is the epoch of lowest validation loss',
    ],
  },
  'nengo-lmu': {
    name: 'nengo-lmu',
    title: "NengoDL's LMU example: the LMU cell from its parts, 212 units",
    notebook: 'notebooks/02-nengo-lmu-psmnist.ipynb',
    task: 'permuted',
    side: 28,
    steps: 784,
    featuresPerStep: 1,
    pixelOrder: 'RandomState(0).permutation(784)',
    preprocessing: 'pixels / 255',
    outputs: 'logits',
    evalBatchSize: LMU_DEFAULTS.evalBatchSize,
    published: { accuracy: '96.15%', source: "NengoDL's LMU example (documentation)" },
    bench: 'nengo-lmu',
    caveats: [
      'trained with gradients clipped to global norm 1, which the original does not do (unclipped runs collapsed)',
    ],
  },
  eurnn: {
    name: 'eurnn',
    title: "torch_eunn's MNIST task: efficient unitary RNN, 256 complex units",
    notebook: 'notebooks/03-eurnn-psmnist.ipynb',
    task: 'permuted',
    side: 28,
    steps: 784,
    featuresPerStep: 1,
    pixelOrder: 'RandomState(0).permutation(784)',
    preprocessing: 'pixels / 255',
    outputs: 'logits',
    evalBatchSize: EURNN_DEFAULTS.testBatchSize,
    published: { accuracy: '91.31%', source: "torch_eunn's MNIST example (40,000 steps)" },
    bench: 'eurnn',
    caveats: [], // the overlap with the standard test set is counted when the row is built
  },
  tcn: {
    name: 'tcn',
    title: "locuslab/TCN's sequential MNIST example: 8 levels of 30 channels, kernel 7",
    notebook: 'notebooks/04-tcn-smnist.ipynb',
    task: 'sequential',
    side: 28,
    steps: 784,
    featuresPerStep: 1,
    pixelOrder: 'row by row, left to right',
    preprocessing: '(pixels / 255 − 0.1307) / 0.3081',
    outputs: 'logProbabilities',
    evalBatchSize: 500,
    published: {
      accuracy: '99.0%',
      source: `${TCN_PAPER} (sequential MNIST)`,
      note: "the paper trains longer than the example's 5 epochs",
    },
    bench: 'tcn',
    caveats: [
      'the sequential task keeps neighbouring pixels neighbouring steps, which a convolution exploits; the permuted task is harder',
      'its training log tracks the standard test set after every epoch (the original has no validation split)',
    ],
  },
  'tcn-permuted': {
    name: 'tcn-permuted',
    title: 'the same TCN on permuted sequential MNIST (`train tcn --permute`)',
    notebook: 'notebooks/04-tcn-smnist.ipynb',
    task: 'permuted',
    side: 28,
    steps: 784,
    featuresPerStep: 1,
    pixelOrder: 'RandomState(0).permutation(784)',
    preprocessing: '(pixels / 255 − 0.1307) / 0.3081',
    outputs: 'logProbabilities',
    evalBatchSize: 500,
    published: {
      accuracy: '97.2%',
      source: `${TCN_PAPER} (permuted MNIST)`,
      note: "the example's permuted mode crashes, so there is no figure of its own; the paper trains longer",
    },
    bench: 'tcn',
    caveats: ['its training log tracks the standard test set after every epoch (the original has no validation split)'],
  },
  'lstm-pixel': {
    name: 'lstm-pixel',
    title: 'stacked LSTMs (3 × 8 units) reading a 14×14 digit pixel by pixel',
    notebook: 'notebooks/05-lstm-pixel-row.ipynb',
    task: 'sequential',
    side: 14,
    steps: 196,
    featuresPerStep: 1,
    pixelOrder: 'row by row, left to right',
    preprocessing: 'resized to 14×14 (bilinear), / 255',
    outputs: 'probabilities',
    evalBatchSize: LSTM_DEFAULTS.testSize,
    published: { accuracy: null, source: LSTM_MILESTONES_TEXT },
    bench: 'lstm-pixel',
    caveats: LSTM_CAVEATS,
  },
  'lstm-row': {
    name: 'lstm-row',
    title: 'stacked LSTMs (3 × 8 units) reading a 14×14 digit row by row',
    notebook: 'notebooks/05-lstm-pixel-row.ipynb',
    task: 'sequential',
    side: 14,
    steps: 14,
    featuresPerStep: 14,
    pixelOrder: 'one row of 14 per step, top to bottom',
    preprocessing: 'resized to 14×14 (bilinear), / 255',
    outputs: 'probabilities',
    evalBatchSize: LSTM_DEFAULTS.testSize,
    published: { accuracy: null, source: LSTM_MILESTONES_TEXT },
    bench: 'lstm-row',
    caveats: LSTM_CAVEATS,
  },
};

function checkName(name: unknown): CompareName {
  return oneOf('model', name, COMPARE_NAMES);
}

function checkNames(names: readonly unknown[] | undefined): CompareName[] {
  if (names === undefined) return [...COMPARE_NAMES];
  if (!Array.isArray(names) || names.length === 0)
    throw new Error(`names must be a non-empty array of model names (got ${JSON.stringify(names)})`);
  return names.map(checkName);
}

/** The folder of a model's weights: `<weightsRoot>/<name>` (default notebooks/weights/<name>). */
function weightsDir(name: CompareName, weightsRoot?: string): string {
  return weightsRoot === undefined ? shippedWeightsDir(name) : path.join(path.resolve(weightsRoot), name);
}

/** The repository's root (notebooks/weights/ sits two folders below it). */
function repoRoot(): string {
  return path.resolve(shippedWeightsDir('.'), '..', '..');
}

/**
 * The model's architecture as its walkthrough builds it (no trained weights).
 * @see notebooks/06-compare.ipynb
 */
export function buildCompareModel(name: CompareName): tf.LayersModel {
  switch (checkName(name)) {
    case 'keras-lmu':
      return buildLmuModel('keras');
    case 'nengo-lmu':
      return buildLmuModel('nengo');
    case 'eurnn':
      return buildEurnnModel();
    case 'tcn':
    case 'tcn-permuted':
      return buildTcnModel();
    case 'lstm-pixel':
      return buildLstmModel('pixel');
    case 'lstm-row':
      return buildLstmModel('row');
  }
}

/**
 * Why a model's weights cannot be loaded (the missing file), or undefined when they can.
 * @see notebooks/06-compare.ipynb
 */
export function missingWeights(name: CompareName, weightsRoot?: string): string | undefined {
  const dir = weightsDir(checkName(name), weightsRoot);
  for (const file of ['model.json', 'weights.bin']) {
    if (!fs.existsSync(path.join(dir, file))) return `${path.join(dir, file)} does not exist`;
  }
  return undefined;
}

/**
 * The model with its trained weights (default the shipped ones); a missing file is named.
 * @see notebooks/06-compare.ipynb
 */
export function loadCompareModel(name: CompareName, weightsRoot?: string): tf.LayersModel {
  const missing = missingWeights(name, weightsRoot);
  if (missing) throw new Error(`no trained weights for ${name}: ${missing} (train with 'npm run seqmnist -- train …')`);
  const model = buildCompareModel(name);
  try {
    loadWeightsInto(model, weightsDir(name, weightsRoot));
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Options of the functions that load test images. */
export interface CompareDataOptions {
  /** Only the first `limit` test images. Default all 10,000. */
  limit?: number;
  /** MNIST already loaded. Default loadMnist(). */
  mnist?: Mnist;
}

/**
 * The standard MNIST test images (the first `limit`, in file order) as the model reads them,
 * prepared by its own walkthrough's loader: psMNIST for the LMUs and the EURNN, normalised
 * sequential MNIST for the TCN (permuted for tcn-permuted), 14×14 for the LSTMs.
 * @see notebooks/06-compare.ipynb
 */
export async function compareTestSet(name: CompareName, options: CompareDataOptions = {}): Promise<SequenceDataset> {
  const mnist = options.mnist ?? (await loadMnist());
  const limit = options.limit;
  switch (checkName(name)) {
    case 'keras-lmu':
    case 'nengo-lmu':
    case 'eurnn':
      return (await loadPsmnist({ mnist, limit })).test;
    case 'tcn':
      return (await loadTcnData({ mnist, limit })).test;
    case 'tcn-permuted':
      return (await loadTcnData({ mnist, limit, permute: true })).test;
    case 'lstm-pixel':
    case 'lstm-row': {
      const variant = name === 'lstm-pixel' ? 'pixel' : 'row';
      return (await loadLstmData({ variant, mnist, limit, augment: false })).testAll;
    }
  }
}

/** A walkthrough's own test set, where it is not the standard one. */
export interface OwnTestSet {
  label: string;
  data: SequenceDataset;
}

/**
 * The walkthrough's own test set where it differs from the standard 10,000: EURNN's last 10,000
 * of the 70,000 images shuffled together, the LSTMs' 1,000 shuffled test images; else undefined.
 * With `limit`, as its `eval --limit` takes it.
 * @see notebooks/06-compare.ipynb
 */
export async function compareOwnTestSet(
  name: CompareName,
  options: CompareDataOptions = {},
): Promise<OwnTestSet | undefined> {
  const mnist = options.mnist ?? (await loadMnist());
  const limit = options.limit;
  switch (checkName(name)) {
    case 'eurnn':
      return {
        label: "EURNN's own test split: the last 10,000 of all 70,000 images shuffled together",
        data: (await loadEurnnData({ mnist, limit })).test,
      };
    case 'lstm-pixel':
    case 'lstm-row': {
      const variant = name === 'lstm-pixel' ? 'pixel' : 'row';
      return {
        label: "the assignment's 1,000 test images (the first 1,000 after a 1,024-image shuffle buffer)",
        data: (await loadLstmData({ variant, mnist, limit, augment: false })).test,
      };
    }
    default:
      return undefined;
  }
}

/**
 * How many of the standard test images EURNN's training split holds: its loader shuffles the
 * 60,000 training and 10,000 test images together with RandomState(seed).permutation(70,000)
 * and trains on the first 50,000 (loadEurnnData), so about 5/7 of the standard test images are
 * training images for it.
 * @see notebooks/06-compare.ipynb
 */
export function eurnnTrainedTestImages(mnist: Mnist, seed = 0): number {
  const nTrain = mnist.trainLabels.length;
  const order = new RandomState(seed).permutation(nTrain + mnist.testLabels.length);
  let n = 0;
  for (let i = 0; i < EURNN_DEFAULTS.trainSize; i++) if (order[i] >= nTrain) n++;
  return n;
}

// ---- predictions ---------------------------------------------------------------------------------

/**
 * Class probabilities from a model's outputs [batch, …, classes].
 * @see notebooks/06-compare.ipynb
 */
export function toProbabilities(out: tf.Tensor, kind: OutputKind): tf.Tensor {
  // softmax of log-probabilities gives the probabilities back (they sum to one)
  return kind === 'probabilities' ? out.clone() : tf.softmax(out);
}

/** A model's answers on a test set. */
export interface Predictions {
  /** The class of the largest output, per image (as `eval` counts it). */
  classes: Int32Array;
  /** [images, 10] class probabilities. */
  probabilities: Float32Array;
}

/**
 * The model's predicted class and class probabilities for every image of `data`, in batches of
 * `batchSize` (use the walkthrough's, so that the accuracy equals `eval`'s to the last image).
 * @see notebooks/06-compare.ipynb
 */
export async function predictClasses(
  model: tf.LayersModel,
  data: SequenceDataset,
  kind: OutputKind,
  batchSize: number,
): Promise<Predictions> {
  positiveInteger('batchSize', batchSize);
  const classes = new Int32Array(data.size);
  let probabilities = new Float32Array(0);
  let done = 0;
  await data.forEachBatch(batchSize, async ({ x, y }) => {
    const [p, c] = tf.tidy(() => {
      const out = model.apply(x, { training: false }) as tf.Tensor; // [b, classes]
      return [toProbabilities(out, kind), tf.argMax(out, -1)];
    });
    try {
      const k = p.shape[1] as number;
      if (probabilities.length === 0) probabilities = new Float32Array(data.size * k);
      probabilities.set((await p.data()) as Float32Array, done * k);
      classes.set((await c.data()) as Int32Array, done);
    } finally {
      tf.dispose([p, c]);
    }
    done += y.shape[0];
  });
  return { classes, probabilities };
}

/**
 * The share of `classes` equal to `labels`.
 * @see notebooks/06-compare.ipynb
 */
export function accuracyOf(classes: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (classes.length !== labels.length || labels.length === 0)
    throw new Error(
      `classes and labels must have one equal, non-zero length (got ${classes.length} and ${labels.length})`,
    );
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (classes[i] === labels[i]) right++;
  return right / labels.length;
}

// ---- training logs and bench records ------------------------------------------------------------

/** What a model's training cost, read from its training log. */
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

type AnyLog = LmuTrainingLog & EurnnTrainingLog & TcnTrainingLog & LstmTrainingLog;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const grouped = (n: number) => n.toLocaleString('en-US');

/**
 * A model's training budget and time from its training log, or undefined when it has none.
 * Fields older logs lack are null (the LSTMs' logs hold neither threads nor ms/step: their
 * ms/step is their mean epoch time over the steps of an epoch, validation included).
 * @see notebooks/06-compare.ipynb
 */
export function trainingBudget(name: CompareName, weightsRoot?: string): TrainingBudget | undefined {
  const dir = weightsDir(checkName(name), weightsRoot);
  if (!fs.existsSync(path.join(dir, TRAINING_LOG))) return undefined;
  const log = readTrainingLog<Partial<AnyLog>>(dir, name);
  const common = {
    command: log.command ?? '(not recorded)',
    trainImages: log.trainImages ?? 0,
    backend: log.backend ?? '(not recorded)',
    device: log.device ?? '(not recorded)',
    threads: typeof log.threads === 'number' ? log.threads : null,
    tfjs: log.tfjs ?? null,
    date: log.date ?? '(not recorded)',
    loggedTestAccuracy: log.testAccuracy ?? NaN,
  };
  const epochTraining = (batchSize: number, note: string) => {
    const epochs = log.epochs ?? log.epochSeconds?.length ?? 0;
    const perEpoch = Math.ceil(common.trainImages / batchSize);
    const seconds = sum(log.epochSeconds ?? []);
    const steps = epochs * perEpoch;
    return {
      ...common,
      budget: `${epochs} epochs × ${grouped(perEpoch)} steps of ${batchSize}`,
      budgetNote: null as string | null,
      epochs,
      steps,
      batchSize,
      imagesSeen: epochs * common.trainImages,
      seconds,
      secondsNote: note,
      msPerStep: log.msPerStep ?? (1000 * seconds) / steps,
      msPerStepNote:
        log.msPerStep !== undefined ? 'from the log' : 'epoch time / steps per epoch (the log has no ms/step)',
    };
  };
  switch (name) {
    case 'keras-lmu': {
      const b = epochTraining(LMU_DEFAULTS.batchSize, 'sum of epoch times, training steps only');
      return { ...b, budgetNote: `kept epoch ${log.bestEpoch} of ${b.epochs} (lowest validation loss)` };
    }
    case 'nengo-lmu': {
      const b = epochTraining(LMU_DEFAULTS.batchSize, 'sum of epoch times, training steps only');
      return log.clipNorm ? { ...b, budgetNote: `gradients clipped to global norm ${log.clipNorm}` } : b;
    }
    case 'tcn':
    case 'tcn-permuted':
      return epochTraining(TCN_DEFAULTS.batchSize, 'sum of epoch times, training steps only');
    case 'lstm-pixel':
    case 'lstm-row': {
      const b = epochTraining(LSTM_DEFAULTS.batchSize, 'sum of epoch times, validation on 1,000 images included');
      const stopped = log.weightsFromEpoch !== undefined && log.weightsFromEpoch !== b.epochs;
      return stopped ? { ...b, budgetNote: `early stopping: weights of epoch ${log.weightsFromEpoch}` } : b;
    }
    case 'eurnn': {
      const steps = log.steps ?? log.timing?.steps ?? 0;
      const batchSize = EURNN_DEFAULTS.batchSize;
      const trainMs = log.timing?.trainMs;
      return {
        ...common,
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
    }
  }
}

/** One model's entry in a bench record (what `bench --json` prints per walkthrough). */
export interface BenchEntry {
  name: string;
  msPerStep: number;
  threads?: number;
  batchSize?: number;
  torchPeer?: string;
  torchMsPerStep?: number;
}

/** A bench record saved in benchmarks/: `bench --json --torch`'s output and where it ran. */
export interface BenchRecord {
  /** The file, relative to the repository root. */
  file: string;
  date?: string;
  machine?: string;
  conditions?: string;
  results: BenchEntry[];
}

/**
 * The newest bench record in the repository's benchmarks/ folder (by file name, which starts with
 * its date), or the given file; undefined when there is none. A record is `bench --json`'s array
 * or an object with it under `results` beside its date and machine.
 * @see notebooks/06-compare.ipynb
 */
export function readBenchRecord(file?: string): BenchRecord | undefined {
  const root = repoRoot();
  let chosen = file;
  if (chosen === undefined) {
    const dir = path.join(root, 'benchmarks');
    if (!fs.existsSync(dir)) return undefined;
    const names = fs
      .readdirSync(dir)
      .filter((f) => /^\d{4}-\d{2}-\d{2}.*\.json$/.test(f))
      .sort();
    if (names.length === 0) return undefined;
    chosen = path.join(dir, names[names.length - 1]);
  }
  const text = fs.readFileSync(chosen, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`bench record ${chosen} is not valid JSON (${(e as Error).message})`);
  }
  const body = (Array.isArray(parsed) ? { results: parsed } : parsed) as Partial<BenchRecord>;
  if (!Array.isArray(body.results) || !body.results.every((r) => r && typeof r.name === 'string'))
    throw new Error(`bench record ${chosen} holds no results (expected bench --json's array, or { results: [...] })`);
  return {
    file: path.relative(root, path.resolve(chosen)),
    date: body.date,
    machine: body.machine,
    conditions: body.conditions,
    results: body.results,
  };
}

// ---- the table -----------------------------------------------------------------------------------

/** One row of the comparison (`compare --json` prints an array of these). */
export interface CompareRow {
  name: CompareName;
  title: string;
  notebook: string;
  task: 'sequential' | 'permuted';
  input: { side: number; steps: number; featuresPerStep: number; pixelOrder: string; preprocessing: string };
  /** 'shipped' when the weights were found and evaluated; 'missing' otherwise, with the reason. */
  weights: 'shipped' | 'missing';
  missing?: string;
  params: number;
  /** Accuracy on the standard MNIST test images (all 10,000, or the first `limit`); null when missing. */
  testAccuracy: number | null;
  testImages: number;
  /** The walkthrough's own test figure where its test set differs, labelled. */
  ownTest: { label: string; accuracy: number | null; images: number } | null;
  training: TrainingBudget | null;
  published: PublishedFigure;
  /** The PyTorch peer's step time (and ours) from the bench record, where it has this model's entry. */
  torch: {
    peer: string;
    msPerStep: number;
    oursMsPerStep: number;
    ratio: number;
    record: string;
    note?: string;
  } | null;
  caveats: string[];
  /** Seconds this comparison spent evaluating the model. */
  evaluationSeconds: number;
}

/** Options of compareModels. */
export interface CompareOptions extends CompareDataOptions {
  /** Which models, in this order. Default all seven. */
  names?: CompareName[];
  /** Folder holding one folder of weights per model. Default notebooks/weights. */
  weightsRoot?: string;
  /** The bench record to read; null for none. Default the newest in benchmarks/. */
  benchRecord?: string | null;
  /** Where progress lines go (one per model). Default nowhere. */
  log?: (line: string) => void;
}

/** What compareModels returns: the table and every model's answers on the standard test images. */
export interface CompareResult {
  rows: CompareRow[];
  /** The standard test labels used (the first `limit`). */
  labels: Int32Array;
  /** By model: its answers on the standard test images; absent for missing weights. */
  predictions: Partial<Record<CompareName, Predictions>>;
}

/**
 * Evaluates every model's shipped weights on the standard MNIST test images (with its own
 * preprocessing and its walkthrough's batch size, so each accuracy equals `eval`'s) and on its own
 * test set where that differs, and builds the comparison table from the training logs, the
 * originals' published figures and the bench record. A model whose weights are missing gets a row
 * that says so. Models are loaded one at a time.
 * @see notebooks/06-compare.ipynb
 */
export async function compareModels(options: CompareOptions = {}): Promise<CompareResult> {
  const names = checkNames(options.names);
  if (options.limit !== undefined) positiveInteger('limit', options.limit);
  const mnist = options.mnist ?? (await loadMnist());
  const nTest = Math.min(options.limit ?? Infinity, mnist.testLabels.length);
  const labels = Int32Array.from(mnist.testLabels.subarray(0, nTest));
  const bench = options.benchRecord === null ? undefined : readBenchRecord(options.benchRecord);
  const say = options.log ?? (() => undefined);
  const rows: CompareRow[] = [];
  const predictions: CompareResult['predictions'] = {};
  for (const name of names) {
    const info = COMPARE_MODELS[name];
    const started = Date.now();
    const missing = missingWeights(name, options.weightsRoot);
    const caveats = [...info.caveats];
    if (name === 'eurnn') {
      const n = eurnnTrainedTestImages(mnist);
      caveats.unshift(
        `its training split holds ${grouped(n)} of the 10,000 standard test images, so its standard-test figure is not a held-out figure; its own test split is held out`,
      );
    }
    let params: number;
    let testAccuracy: number | null = null;
    let ownTest: CompareRow['ownTest'] = null;
    if (missing) {
      const model = buildCompareModel(name);
      params = model.countParams();
      model.dispose();
      const own = await compareOwnTestSet(name, { mnist, limit: options.limit });
      if (own) ownTest = { label: own.label, accuracy: null, images: own.data.size };
      say(`${name}: weights missing (${missing})`);
    } else {
      const model = loadCompareModel(name, options.weightsRoot);
      try {
        params = model.countParams();
        const test = await compareTestSet(name, { mnist, limit: options.limit });
        const p = await predictClasses(model, test, info.outputs, info.evalBatchSize);
        predictions[name] = p;
        testAccuracy = accuracyOf(p.classes, test.labels);
        const own = await compareOwnTestSet(name, { mnist, limit: options.limit });
        if (own) {
          const q = await predictClasses(model, own.data, info.outputs, info.evalBatchSize);
          ownTest = { label: own.label, accuracy: accuracyOf(q.classes, own.data.labels), images: own.data.size };
        }
      } finally {
        model.dispose();
      }
      const pct = (a: number) => `${(100 * a).toFixed(2)}%`;
      say(
        `${name}: ${pct(testAccuracy)} on ${grouped(nTest)} standard test images` +
          (ownTest ? `, ${pct(ownTest.accuracy!)} on its own ${grouped(ownTest.images)}` : '') +
          ` (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
    const entry = bench?.results.find((r) => r.name === info.bench);
    rows.push({
      name,
      title: info.title,
      notebook: info.notebook,
      task: info.task,
      input: {
        side: info.side,
        steps: info.steps,
        featuresPerStep: info.featuresPerStep,
        pixelOrder: info.pixelOrder,
        preprocessing: info.preprocessing,
      },
      weights: missing ? 'missing' : 'shipped',
      ...(missing ? { missing } : {}),
      params,
      testAccuracy,
      testImages: nTest,
      ownTest,
      training: trainingBudget(name, options.weightsRoot) ?? null,
      published: info.published,
      torch:
        bench && entry?.torchPeer && entry.torchMsPerStep !== undefined
          ? {
              peer: entry.torchPeer,
              msPerStep: entry.torchMsPerStep,
              oursMsPerStep: entry.msPerStep,
              ratio: entry.msPerStep / entry.torchMsPerStep,
              record: bench.file,
              ...(info.bench !== name ? { note: `the ${info.bench} bench entry: the same training step` } : {}),
            }
          : null,
      caveats,
      evaluationSeconds: (Date.now() - started) / 1000,
    });
  }
  return { rows, labels, predictions };
}

const pct = (a: number | null | undefined, digits = 2) =>
  a === null || a === undefined || !Number.isFinite(a) ? null : `${(100 * a).toFixed(digits)}%`;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return String(n);
}

/**
 * The comparison as table cells (the same for the CLI's text, the notebook's HTML and the README's
 * Markdown): one row per model, missing weights marked.
 * @see notebooks/06-compare.ipynb
 */
export function compareTableCells(rows: CompareRow[]): TableOptions {
  const columns = [
    'model',
    'task',
    'input',
    'params',
    'test acc. (standard)',
    'own test set',
    'training',
    'images seen',
    'training time',
    'ms/step',
    'published',
    'PyTorch peer ms/step',
  ];
  return {
    columns,
    align: ['left', 'left', 'left', 'right', 'right', 'left', 'left', 'right', 'right', 'right', 'left', 'right'],
    rows: rows.map((r) => {
      const t = r.training;
      return [
        r.name,
        r.task,
        `${r.input.side}×${r.input.side}, ${r.input.steps} × ${r.input.featuresPerStep}`,
        grouped(r.params),
        r.weights === 'missing'
          ? 'weights missing'
          : `${pct(r.testAccuracy)}${r.testImages !== 10000 ? ` (${grouped(r.testImages)})` : ''}`,
        r.ownTest ? `${pct(r.ownTest.accuracy) ?? 'missing'} (${grouped(r.ownTest.images)})` : null,
        t ? t.budget : 'no training log',
        t ? compact(t.imagesSeen) : null,
        t ? duration(t.seconds) : null,
        t && Number.isFinite(t.msPerStep)
          ? `${t.msPerStep.toFixed(0)}${t.msPerStepNote === 'from the log' ? '' : '*'}`
          : null,
        r.published.accuracy ?? 'none',
        r.torch ? `${r.torch.msPerStep.toFixed(0)} (${r.torch.peer}; ours ${r.torch.oursMsPerStep.toFixed(0)})` : null,
      ];
    }),
  };
}

/**
 * Shows the comparison table (HTML in a notebook, aligned text elsewhere).
 * @see notebooks/06-compare.ipynb
 */
export function showCompareTable(rows: CompareRow[]): void {
  showTable(compareTableCells(rows));
}

// ---- accuracy against cost ------------------------------------------------------------------------

/**
 * A colour per model, the same in every figure.
 * @see notebooks/06-compare.ipynb
 */
export const COMPARE_COLORS: Record<CompareName, string> = {
  'keras-lmu': '#1f77b4',
  'nengo-lmu': '#17becf',
  eurnn: '#9467bd',
  tcn: '#d62728',
  'tcn-permuted': '#ff7f0e',
  'lstm-pixel': '#2ca02c',
  'lstm-row': '#8c564b',
};

/**
 * Standard-test accuracy against parameters and against training time (both log scale), one
 * labelled point per evaluated model.
 * @see notebooks/06-compare.ipynb
 */
export function accuracyCostFigures(rows: CompareRow[], options: { display?: boolean } = {}): Figure[] {
  const shown = rows.filter((r) => r.testAccuracy !== null);
  if (shown.length === 0) throw new Error('no model was evaluated (all weights missing)');
  const point = (r: CompareRow, x: number) => ({
    x,
    y: 100 * r.testAccuracy!,
    label: r.name,
    color: COMPARE_COLORS[r.name],
    hover: `${r.task}, ${r.input.side}×${r.input.side}`,
  });
  const yTitle = `test accuracy [%] (standard test, ${grouped(shown[0].testImages)} images)`;
  const byParams = labelledScatter({
    points: shown.map((r) => point(r, r.params)),
    title: 'accuracy against parameters',
    xTitle: 'trainable parameters (log scale)',
    yTitle,
    xLog: true,
    display: options.display,
  });
  const timed = shown.filter((r) => r.training && r.training.seconds > 0);
  const figures = [byParams];
  if (timed.length > 0) {
    figures.push(
      labelledScatter({
        points: timed.map((r) => point(r, r.training!.seconds / 60)),
        title: 'accuracy against training time (2 CPU cores)',
        xTitle: 'training time [min] (log scale)',
        yTitle,
        xLog: true,
        display: options.display,
      }),
    );
  }
  return figures;
}

// ---- learning curves -------------------------------------------------------------------------------

/** A model's accuracy during training, from its training log. */
export interface LearningCurve {
  name: CompareName;
  /** What the accuracy was measured on. */
  metric: string;
  /** Training images drawn so far, training seconds so far, accuracy in [0, 1]. */
  images: number[];
  seconds: number[];
  accuracy: number[];
}

/**
 * Each model's accuracy over its training, from its log: validation accuracy (keras-lmu: 10,000
 * held-out training images; eurnn: its validation split), test accuracy where the original
 * evaluates the test set each epoch (tcn; the LSTMs' 1,000 test images), and for nengo-lmu, which
 * has no validation, its running training accuracy per epoch. Time is the training time so far;
 * EURNN's is its step count times its mean step time (its log keeps no per-validation clock).
 * Models without a log are left out.
 * @see notebooks/06-compare.ipynb
 */
export function learningCurves(options: { names?: CompareName[]; weightsRoot?: string } = {}): LearningCurve[] {
  const curves: LearningCurve[] = [];
  for (const name of checkNames(options.names)) {
    const dir = weightsDir(name, options.weightsRoot);
    if (!fs.existsSync(path.join(dir, TRAINING_LOG))) continue;
    const log = readTrainingLog<Partial<AnyLog>>(dir, name);
    const budget = trainingBudget(name, options.weightsRoot)!;
    if (name === 'eurnn') {
      const h = (log as EurnnTrainingLog).history;
      const msPerStep = budget.msPerStep;
      curves.push({
        name,
        metric: 'validation accuracy (its 10,000-image validation split)',
        images: h.step.map((s) => s * budget.batchSize),
        seconds: h.step.map((s) => (s * msPerStep) / 1000),
        accuracy: h.valAccuracy.map((a) => a / 100),
      });
      continue;
    }
    const history = (log as LmuTrainingLog).history.history;
    const perEpoch = log.trainImages ?? 0;
    const epochSeconds = log.epochSeconds ?? [];
    const cumulative = epochSeconds.map((_, i) => sum(epochSeconds.slice(0, i + 1)));
    const useValidation = Array.isArray(history.val_accuracy);
    const accuracy = (useValidation ? history.val_accuracy : history.accuracy) as number[];
    const metric = !useValidation
      ? 'training accuracy (running mean over each epoch; the original has no validation)'
      : name === 'keras-lmu'
        ? 'validation accuracy (10,000 held-out training images)'
        : name.startsWith('tcn')
          ? 'test accuracy (the standard 10,000, after every epoch)'
          : 'validation accuracy (its 1,000 test images)';
    curves.push({
      name,
      metric,
      images: accuracy.map((_, i) => (i + 1) * perEpoch),
      seconds: accuracy.map((_, i) => cumulative[i] ?? NaN),
      accuracy,
    });
  }
  return curves;
}

/**
 * The learning curves on shared axes: accuracy against training images seen, and against
 * training time (both log scale).
 * @see notebooks/06-compare.ipynb
 */
export function learningCurveFigures(curves: LearningCurve[], options: { display?: boolean } = {}): Figure[] {
  if (!Array.isArray(curves) || curves.length === 0) throw new Error('no learning curves (no training logs found)');
  const make = (x: (c: LearningCurve) => number[], title: string, xTitle: string) => {
    // a log axis cannot show the EURNN's step 0
    const series = curves.map((c) => {
      const xs = x(c);
      const keep = xs.map((v, i) => v > 0 && Number.isFinite(v) && Number.isFinite(c.accuracy[i]));
      return {
        name: c.name,
        x: xs.filter((_, i) => keep[i]),
        y: c.accuracy.filter((_, i) => keep[i]).map((a) => 100 * a),
        mode: 'lines+markers' as const,
        color: COMPARE_COLORS[c.name],
        dash: c.metric.startsWith('training') ? ('dot' as const) : undefined,
      };
    });
    const fig = lineChart({ series, title, xTitle, yTitle: 'accuracy [%]', yRange: [0, 100], display: false });
    (fig.layout.xaxis as Record<string, unknown>).type = 'log';
    if (options.display ?? true) showFigure(fig);
    return fig;
  };
  return [
    make((c) => c.images, 'accuracy against training images seen', 'training images seen (log scale)'),
    make((c) => c.seconds, 'accuracy against training time (2 CPU cores)', 'training time [s] (log scale)'),
  ];
}

// ---- where they fail ---------------------------------------------------------------------------------

/**
 * Counts [true class][predicted class] (10 × 10).
 * @see notebooks/06-compare.ipynb
 */
export function confusionMatrix(classes: ArrayLike<number>, labels: ArrayLike<number>, numClasses = 10): number[][] {
  if (classes.length !== labels.length)
    throw new Error(`classes and labels must have the same length (got ${classes.length} and ${labels.length})`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const [t, p] = [labels[i], classes[i]];
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses))
      throw new Error(`label ${t} or prediction ${p} at ${i} is outside 0…${numClasses - 1}`);
    m[t][p]++;
  }
  return m;
}

function evaluated(result: CompareResult): CompareName[] {
  const names = result.rows.map((r) => r.name).filter((n) => result.predictions[n]);
  if (names.length === 0) throw new Error('no model was evaluated (all weights missing)');
  return names;
}

/**
 * A confusion matrix per model, small multiples on one colour scale. The diagonal (the digits
 * each gets right) is left blank so that the errors set the scale; each title gives the accuracy.
 * @see notebooks/06-compare.ipynb
 */
export function confusionFigure(result: CompareResult, options: { display?: boolean } = {}): Figure {
  const classes = Array.from({ length: 10 }, (_, i) => String(i));
  const panels = evaluated(result).map((name) => {
    const m = confusionMatrix(result.predictions[name]!.classes, result.labels);
    const errors = result.labels.length - m.reduce((s, row, i) => s + row[i], 0);
    const z = m.map((row, i) => row.map((v, j) => (i === j ? null : v)));
    return { title: `${name}: ${errors} errors`, z };
  });
  return heatmapGrid({
    panels,
    x: classes,
    y: classes,
    xTitle: 'predicted',
    yTitle: 'true',
    cellFormat: 'd',
    colorscale: 'Reds',
    title: `errors by true and predicted class (${grouped(result.labels.length)} standard test images)`,
    display: options.display,
  });
}

/** A test digit and how many models get it wrong. */
export interface HardDigit {
  /** Index in the standard test file. */
  index: number;
  label: number;
  /** Models that get it wrong, of those evaluated. */
  wrong: number;
  /** Each evaluated model's predicted class. */
  predicted: Partial<Record<CompareName, number>>;
}

/**
 * The standard test digits most models get wrong, most first (ties by index).
 * @see notebooks/06-compare.ipynb
 */
export function hardestDigits(result: CompareResult, count = 12): HardDigit[] {
  positiveInteger('count', count);
  const names = evaluated(result);
  const all: HardDigit[] = [];
  for (let i = 0; i < result.labels.length; i++) {
    const predicted: HardDigit['predicted'] = {};
    let wrong = 0;
    for (const n of names) {
      const p = result.predictions[n]!.classes[i];
      predicted[n] = p;
      if (p !== result.labels[i]) wrong++;
    }
    if (wrong > 0) all.push({ index: i, label: result.labels[i], wrong, predicted });
  }
  all.sort((a, b) => b.wrong - a.wrong || a.index - b.index);
  return all.slice(0, count);
}

/**
 * Draws the hardest digits (28×28 as in the test file) and tabulates each model's answer.
 * @see notebooks/06-compare.ipynb
 */
export function showHardestDigits(result: CompareResult, mnist: Mnist, count = 12): HardDigit[] {
  const hard = hardestDigits(result, count);
  if (hard.length === 0) {
    console.log('every model gets every digit right');
    return hard;
  }
  const names = evaluated(result);
  showDigits(
    hard.map((h) => ({
      pixels: scaleImages(mnist.testImages.subarray(h.index * MNIST_PIXELS, (h.index + 1) * MNIST_PIXELS)),
      title: `#${h.index}: ${h.label}, ${h.wrong}/${names.length} wrong`,
    })),
    { scale: 3 },
  );
  showTable({
    columns: ['test image', 'label', 'wrong', ...names],
    rows: hard.map((h) => [
      h.index,
      h.label,
      `${h.wrong}/${names.length}`,
      ...names.map((n) => (h.predicted[n] === h.label ? `${h.predicted[n]}` : `${h.predicted[n]} ✗`)),
    ]),
  });
  return hard;
}

/**
 * How often each pair of models predicts the same class, as a share of the test images
 * ([names][names], 1 on the diagonal).
 * @see notebooks/06-compare.ipynb
 */
export function agreementMatrix(result: CompareResult): { names: CompareName[]; agreement: number[][] } {
  const names = evaluated(result);
  const n = result.labels.length;
  const agreement = names.map((a) =>
    names.map((b) => {
      const pa = result.predictions[a]!.classes;
      const pb = result.predictions[b]!.classes;
      let same = 0;
      for (let i = 0; i < n; i++) if (pa[i] === pb[i]) same++;
      return same / n;
    }),
  );
  return { names, agreement };
}

/**
 * The pairwise agreement as a heatmap.
 * @see notebooks/06-compare.ipynb
 */
export function agreementFigure(result: CompareResult, options: { display?: boolean } = {}): Figure {
  const { names, agreement } = agreementMatrix(result);
  const low = Math.min(...agreement.flat());
  return heatmap({
    z: agreement,
    x: names,
    y: names,
    zRange: [Math.max(0, Math.floor(low * 100) / 100 - 0.01), 1],
    cellFormat: '.1%',
    title: `how often two models predict the same class (${grouped(result.labels.length)} standard test images)`,
    height: 520,
    display: options.display,
  });
}

/**
 * The pixel order of a model, for drawing what it has read: step i reads pixel order[i] (the
 * psMNIST permutation, RandomState(0).permutation(784)); undefined for image order.
 * @see notebooks/06-compare.ipynb
 */
export function comparePixelOrder(name: CompareName): Int32Array | undefined {
  return COMPARE_MODELS[checkName(name)].task === 'permuted' ? psmnistPermutation(0) : undefined;
}
