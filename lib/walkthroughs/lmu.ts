/**
 * The two LMU walkthroughs on psMNIST, as two walkthrough objects of one factory: KerasLMU's
 * example (`kerasLmu`, notebooks/01-keras-lmu-psmnist.ipynb, CLI 'keras-lmu') and NengoDL's
 * (`nengoLmu`, notebooks/02-nengo-lmu-psmnist.ipynb, CLI 'nengo-lmu'). Both read MNIST scaled to
 * [0, 1] as 784-step sequences under RandomState(0).permutation(784), train with Adam on batches
 * of 100 for 10 epochs, and differ in the model, the split and the checkpoint.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { nonNegativeInteger, numberInRange, positiveInteger, positiveNumber } from '../checks';
import { SequenceDataset } from '../data/batches';
import type { Mnist } from '../data/mnist';
import { loadPsmnist, PsmnistData } from '../data/psmnist';
import type { History } from '../history';
import { buildKerasLmuModel, buildNengoLmuModel } from '../models/lmu';
import type { GraphOptions } from '../plot/graph';
import { HistoryPlot } from '../plot/history';
import { ModelCheckpoint, ModelCheckpointState } from '../train/callbacks';
import { Checkpoint, emptyHistory, startTraining } from '../train/checkpoint';
import { losses } from '../train/gradients';
import { Callback, evaluate, fit } from '../train/loop';
import { GradientWorkers, ModelRecipe, trainingThreads } from '../train/parallel';
import { loadWeightsInto } from '../train/saving';
import { epochBudget } from './budget';
import { mergeConfig } from './config';
import { configFingerprint, loadTrained, meanSeconds } from './run';
import type { TrainingLog } from './training-log';
import type {
  CommonConfig,
  InputDescription,
  ShippedModel,
  TrainOptions,
  TrainResult,
  Walkthrough,
} from './walkthrough';

/** The two walkthroughs. */
export type LmuVariant = 'keras' | 'nengo';

/** What the two walkthroughs share besides their config. */
export const LMU_DEFAULTS = {
  /** Batch size for evaluation (memory grows with it: ~1.3 MB per image for the hidden sequence). */
  evalBatchSize: 200,
  /** KerasLMU's accuracy plot: its title and y limits (`plt.ylim(0.85, 1.0)`). */
  historyChart: { title: 'Post-epoch Training Accuracies', yRange: [0.85, 1] as [number, number] },
} as const;

/** The config of an LMU walkthrough; the defaults are the original's. */
export interface LmuConfig extends CommonConfig {
  /** Seed of the weight initialisers and of each epoch's shuffle (the permutation stays RandomState(0)'s). Default 0. */
  seed: number;
  /** Use only the first `limit` training and test images (the validation share scaled to 1/6 of them). Default all. */
  limit?: number;
  /** Sequences per training step. Default 100 (both originals' `batch_size=100`). */
  batchSize: number;
  /** Adam's learning rate (β 0.9 / 0.999, ε 1e-7, as Keras's). Default 1e-3 (both originals' `optimizer="adam"`). */
  learningRate: number;
  /** Training epochs. Default 10 (both originals). */
  epochs: number;
  /**
   * Clip each step's gradients to this global L2 norm (Keras's `global_clipnorm`; the originals do
   * not clip). Default none.
   */
  clipNorm?: number;
  /**
   * Training images held out, from the end of the training set, and validated on after every
   * epoch. KerasLMU: 10,000 (X_train[50000:]; its checkpoint keeps the epoch of lowest val_loss,
   * so it needs at least one); NengoDL: 0.
   */
  validation: number;
}

/** What `train` writes beside the weights (training-log.json). */
export interface LmuTrainingLog extends TrainingLog<History> {
  /** The global gradient-norm clip, when the training used one (`--clipNorm`). */
  clipNorm?: number;
  validationImages: number;
  epochs: number;
  epochSeconds: number[];
  meanEpochSeconds: number;
  /** KerasLMU: the epoch (1-based) whose model was kept, and its "Maximum validation accuracy". */
  bestEpoch?: number;
  maxValidationAccuracy?: number;
  /** NengoDL: the test accuracy before training. */
  initialTestAccuracy?: number;
}

/** What an LMU walkthrough's `train` returns. */
export interface LmuTrainResult extends TrainResult<History> {
  /** Seconds of training (not validation) per epoch, the resumed ones included. */
  epochSeconds: number[];
  /** KerasLMU with a checkpoint folder: the epoch (0-based) of the lowest val_loss, whose model is in `bestDir`. */
  bestEpoch?: number;
  /** KerasLMU with a checkpoint folder: where its ModelCheckpoint keeps that model (`<checkpointDir>/best`). */
  bestDir?: string;
}

/** An LMU walkthrough: the contract, with `train`'s result typed. */
export interface LmuWalkthrough extends Walkthrough<LmuConfig, PsmnistData, History, LmuTrainingLog> {
  train(config: LmuConfig, options?: TrainOptions<PsmnistData>): Promise<LmuTrainResult>;
}

/** MNIST's training images: the most that validation may hold out is one fewer. */
const MNIST_TRAIN_IMAGES = 60000;

/**
 * Keras's Adam (lr 1e-3, β 0.9 / 0.999, ε 1e-7), what both originals train with.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function lmuOptimizer(learningRate = 1e-3): tf.Optimizer {
  return tf.train.adam(positiveNumber('learningRate', learningRate), 0.9, 0.999, 1e-7);
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

/** What tells the two walkthroughs apart. */
interface LmuVariantInfo {
  name: string;
  title: string;
  notebook: string;
  /** The model builder's name in lib/models/lmu.ts (worker threads rebuild the model with it). */
  builder: 'buildKerasLmuModel' | 'buildNengoLmuModel';
  validation: number;
  shipped: ShippedModel<LmuConfig>;
}

const VARIANTS: Record<LmuVariant, LmuVariantInfo> = {
  keras: {
    name: 'keras-lmu',
    title: "KerasLMU's psMNIST example: LMU(order 256, θ 784, SimpleRNN 212) + Dense(10)",
    notebook: 'notebooks/01-keras-lmu-psmnist.ipynb',
    builder: 'buildKerasLmuModel',
    validation: 10000,
    shipped: {
      name: 'keras-lmu',
      title: 'KerasLMU psMNIST example: LMU (order 256) + SimpleRNN(212)',
      overrides: {},
      published: { accuracy: '96.41–96.53%', source: "KerasLMU's psMNIST example notebook" },
      caveats: [
        'trained on 50,000 images (10,000 held out for validation); the model kept is the epoch of lowest validation loss',
      ],
      color: '#1f77b4',
      curveMetric: 'validation accuracy (10,000 held-out training images)',
    },
  },
  nengo: {
    name: 'nengo-lmu',
    title: "NengoDL's LMU example: the LMU cell from its parts (212 units, order 256, θ 784)",
    notebook: 'notebooks/02-nengo-lmu-psmnist.ipynb',
    builder: 'buildNengoLmuModel',
    validation: 0,
    shipped: {
      name: 'nengo-lmu',
      title: "NengoDL's LMU example: the LMU cell from its parts, 212 units",
      // the shipped weights' log: 'npm run seqmnist -- train nengo-lmu --seed 0 --clipnorm 1'
      overrides: { clipNorm: 1 },
      published: { accuracy: '96.15%', source: "NengoDL's LMU example (documentation)" },
      caveats: [
        'trained with gradients clipped to global norm 1, which the original does not do (unclipped runs collapsed)',
      ],
      color: '#17becf',
      curveMetric: 'training accuracy (running mean over each epoch; the original has no validation)',
    },
  },
};

const EPOCH_SECONDS_NOTE = 'sum of epoch times, training steps only';

/** One of the two walkthroughs as an object of the contract. */
function lmuWalkthrough(variant: LmuVariant): LmuWalkthrough {
  const v = VARIANTS[variant];
  const defaults: Readonly<LmuConfig> = Object.freeze({
    seed: 0,
    limit: undefined,
    batchSize: 100,
    learningRate: 1e-3,
    epochs: 10,
    clipNorm: undefined,
    validation: v.validation,
  });

  function config(overrides: Partial<LmuConfig> = {}): LmuConfig {
    const c = mergeConfig(v.name, defaults, overrides);
    const count = positiveInteger;
    const validation =
      variant === 'keras'
        ? positiveInteger('validation', c.validation) // KerasLMU's checkpoint watches val_loss
        : nonNegativeInteger('validation', c.validation);
    return {
      seed: nonNegativeInteger('seed', c.seed),
      limit: c.limit === undefined ? undefined : count('limit', c.limit),
      batchSize: count('batchSize', c.batchSize),
      learningRate: positiveNumber('learningRate', c.learningRate),
      epochs: count('epochs', c.epochs),
      clipNorm: c.clipNorm === undefined ? undefined : positiveNumber('clipNorm', c.clipNorm),
      validation: numberInRange('validation', validation, 0, MNIST_TRAIN_IMAGES - 1),
    };
  }

  const buildModel = (c: LmuConfig): tf.LayersModel =>
    variant === 'keras' ? buildKerasLmuModel({ seed: c.seed }) : buildNengoLmuModel({ seed: c.seed });

  const modelRecipe = (c: LmuConfig): ModelRecipe => ({
    module: require.resolve('../models/lmu'),
    exportName: v.builder,
    args: [{ seed: c.seed }],
  });

  const loadData = (c: LmuConfig, options: { mnist?: Mnist } = {}): Promise<PsmnistData> =>
    loadPsmnist({ validation: c.validation, limit: c.limit, mnist: options.mnist });

  const evaluateModel = async (
    model: tf.LayersModel,
    c: LmuConfig,
    options: { data?: PsmnistData; progress?: string | false } = {},
  ) => {
    const data = options.data ?? (await loadData(c));
    const r = await evaluate(model, data.test, {
      batchSize: LMU_DEFAULTS.evalBatchSize,
      progress: options.progress ?? false,
    });
    return { accuracy: r.accuracy, loss: r.loss, testImages: data.test.size, lines: [] };
  };

  /**
   * Trains as the original: Adam, sparse categorical cross-entropy on the logits, batches shuffled
   * each epoch; with a validation set it validates after each epoch, and KerasLMU with a checkpoint
   * folder keeps the model of lowest val_loss in `<checkpointDir>/best` (ModelCheckpoint,
   * save_best_only, verbose 1). With more than one thread each batch's gradient is split over
   * worker threads (the same update up to rounding).
   */
  async function train(c: LmuConfig, options: TrainOptions<PsmnistData> = {}): Promise<LmuTrainResult> {
    const data = options.data ?? (await loadData(c));
    if (!data || !(data.train instanceof SequenceDataset)) throw new Error('data must come from loadPsmnist()');
    if (variant === 'keras' && !data.validation)
      throw new Error(
        `${v.name} validates after every epoch: its data needs a validation set (loadPsmnist({ validation: 10000 }), as ${v.name}'s loadData loads it)`,
      );
    const threads = positiveInteger('threads', trainingThreads());
    const fingerprint = configFingerprint(c);
    const model = buildModel(c);
    const optimizer = lmuOptimizer(c.learningRate);
    try {
      const dir = options.checkpointDir;
      // the best model lives inside the checkpoint folder while training runs, so that the folder
      // alone resumes a run
      const bestDir = variant === 'keras' && dir ? path.join(dir, 'best') : undefined;
      const checkpoint = bestDir
        ? new ModelCheckpoint({ filepath: bestDir, monitor: 'val_loss', saveBestOnly: true, verbose: 1 })
        : undefined;
      const start = await startTraining({
        resume: options.resume,
        dir,
        model,
        optimizer,
        unit: 'epoch',
        total: c.epochs,
        config: fingerprint,
      });
      if (checkpoint && start.state?.checkpoint) checkpoint.resumeFrom(start.state.checkpoint as ModelCheckpointState);
      const history = (start.history as History | undefined) ?? emptyHistory();

      const workers = threads > 1 ? await GradientWorkers.start(modelRecipe(c), { threads }) : undefined;
      // after the ModelCheckpoint, so that each epoch's saved state includes that epoch's best
      const bookkeeping = new Checkpoint({
        dir,
        every: 'epoch',
        config: fingerprint,
        epochSeconds: start.epochSeconds,
        extraState: () => (checkpoint ? { checkpoint: checkpoint.getState() } : {}),
      });
      const callbacks: Callback[] = [...(checkpoint ? [checkpoint] : []), bookkeeping];
      if (options.plot) {
        // KerasLMU's figure, with its title and ylim; NengoDL's example draws none, so here its accuracies
        callbacks.push(
          new HistoryPlot(
            variant === 'keras'
              ? { epochs: c.epochs, ...LMU_DEFAULTS.historyChart }
              : {
                  epochs: c.epochs,
                  title: 'Accuracy after each epoch',
                  series: data.validation ? undefined : [['accuracy', 'Training (running mean over the epoch)']],
                },
          ),
        );
      }
      try {
        await fit(model, data.train, {
          epochs: c.epochs,
          batchSize: c.batchSize,
          optimizer,
          loss: losses.sparseCrossEntropyFromLogits,
          validation: data.validation,
          validationBatchSize: LMU_DEFAULTS.evalBatchSize,
          shuffleSeed: c.seed,
          initialEpoch: start.initial,
          history,
          callbacks,
          progress: options.progress === false ? false : 'Epoch',
          workers,
          clipNorm: c.clipNorm,
        });
      } finally {
        await workers?.terminate();
      }
      return {
        model,
        optimizer,
        history,
        msPerStep: bookkeeping.msPerStep,
        threads,
        epochSeconds: bookkeeping.epochSeconds,
        bestEpoch: checkpoint && checkpoint.bestEpoch >= 0 ? checkpoint.bestEpoch : undefined,
        bestDir,
      };
    } catch (e) {
      model.dispose();
      optimizer.dispose();
      throw e;
    }
  }

  const w: LmuWalkthrough = {
    name: v.name,
    title: v.title,
    notebook: v.notebook,
    defaults,
    config,
    quickConfig: { limit: 100, epochs: 2 },
    evalKeys: [],

    input: (): InputDescription => ({
      task: 'permuted',
      side: 28,
      steps: 784,
      featuresPerStep: 1,
      pixelOrder: 'RandomState(0).permutation(784)',
      preprocessing: 'pixels / 255',
    }),
    buildModel,
    modelRecipe,
    optimizer: (c) => lmuOptimizer(c.learningRate),
    loss: losses.sparseCrossEntropyFromLogits,
    outputs: 'logits',
    evalBatchSize: LMU_DEFAULTS.evalBatchSize,
    threads: () => trainingThreads(),
    torchPeer: 'lmu-fft',

    loadData,
    train,
    evaluate: evaluateModel,

    weightsName: () => v.name,
    shipped: [v.shipped],

    /**
     * The CLI's training: the data line, NengoDL's initial test accuracy, training with KerasLMU's
     * or NengoDL's console output, then the test accuracy of the model saved (KerasLMU: the epoch
     * of lowest val_loss; NengoDL: the last).
     */
    async run(c, { checkpointDir, resume }) {
      const startedAt = Date.now();
      const data = await loadData(c);
      console.log(
        `data: ${data.train.size} training, ${data.validation?.size ?? 0} validation, ${data.test.size} test sequences of [784, 1]`,
      );
      let initialTestAccuracy: number | undefined;
      if (variant === 'nengo') {
        // the untrained model is the same on a resumed run (same seed), so this is measured every time
        const initial = buildModel(c);
        try {
          initialTestAccuracy = (await evaluateModel(initial, c, { data })).accuracy;
        } finally {
          initial.dispose();
        }
        console.log(`Initial test accuracy: ${(initialTestAccuracy * 100).toFixed(2)}%`);
      }
      const r = await train(c, { data, checkpointDir, resume });
      r.optimizer.dispose();
      let trained = r.model;
      try {
        if (r.bestDir) {
          // unseeded, as Keras's reloaded model: its model.json records no initialiser seeds
          trained = buildKerasLmuModel();
          loadWeightsInto(trained, r.bestDir);
        }
        const test = await evaluateModel(trained, c, { data });
        const atBest = variant === 'keras' ? validationAccuracyAtBestLoss(r.history) : undefined;
        const meanEpochSeconds = meanSeconds(r.epochSeconds);
        const fields: Omit<
          LmuTrainingLog,
          'walkthrough' | 'command' | 'backend' | 'device' | 'threads' | 'tfjs' | 'date' | 'params'
        > = {
          seed: c.seed,
          ...(c.clipNorm !== undefined ? { clipNorm: c.clipNorm } : {}),
          trainImages: data.train.size,
          validationImages: data.validation?.size ?? 0,
          testImages: data.test.size,
          epochs: r.history.epoch.length,
          epochSeconds: r.epochSeconds,
          meanEpochSeconds,
          msPerStep: r.msPerStep,
          testAccuracy: test.accuracy,
          ...(atBest ? { bestEpoch: atBest.epoch + 1, maxValidationAccuracy: atBest.accuracy } : {}),
          ...(initialTestAccuracy !== undefined ? { initialTestAccuracy } : {}),
          history: r.history,
        };
        const total = (Date.now() - startedAt) / 1000;
        const lines = [
          `total ${total.toFixed(0)} s; ${meanEpochSeconds.toFixed(0)} s per epoch, ${r.msPerStep.toFixed(0)} ms per step (${r.threads} threads, ${tf.getBackend()})`,
          ...(atBest
            ? [`Maximum validation accuracy: ${(atBest.accuracy * 100).toFixed(2)}% (epoch ${atBest.epoch + 1})`]
            : []),
          `${variant === 'nengo' ? 'Final test accuracy' : 'Test accuracy'}: ${(test.accuracy * 100).toFixed(2)}%`,
        ];
        return { model: r.model, saved: trained, threads: r.threads, fields, lines };
      } catch (e) {
        if (trained !== r.model) trained.dispose();
        r.model.dispose();
        throw e;
      }
    },

    budget(log) {
      const b = epochBudget(log, defaults.batchSize, EPOCH_SECONDS_NOTE);
      if (variant === 'keras')
        return { ...b, budgetNote: `kept epoch ${log.bestEpoch} of ${b.epochs} (lowest validation loss)` };
      return log.clipNorm ? { ...b, budgetNote: `gradients clipped to global norm ${log.clipNorm}` } : b;
    },

    standardTestSet: async (c, options = {}) =>
      (await loadPsmnist({ mnist: options.mnist, limit: options.limit })).test,
  };

  if (variant === 'keras') {
    /**
     * KerasLMU's walkthrough from the terminal (`npm start`): the data, the permutation, the
     * model, the shipped training's log, then the kept model on the test set.
     */
    w.replay = async (): Promise<number> => {
      const c = config();
      const data = await loadData(c);
      console.log(
        `permutation: RandomState(0).permutation(784) = [${Array.from(data.permutation.subarray(0, 6)).join(', ')}, …]`,
      );
      for (const [name, ds] of [
        ['Training', data.train],
        ['Validation', data.validation!],
        ['Testing', data.test],
      ] as const) {
        console.log(`${name} input/target shapes: (${ds.size}, 784, 1), (${ds.size},)`);
      }
      const { model, log } = loadTrained(w);
      try {
        if (!log) throw new Error(`no training log beside the shipped weights of ${v.name}`);
        console.log(
          `model: LMU(memory_d 1, order 256, theta 784, SimpleRNN(212)) + Dense(10), ${model.countParams().toLocaleString('en-US')} parameters`,
        );
        console.log(
          `trained with '${log.command}': ${log.epochs} epochs, ${log.meanEpochSeconds.toFixed(0)} s per epoch on ${log.backend} (${log.device}, ${log.threads} threads)`,
        );
        const acc = log.history.history.val_accuracy ?? [];
        console.log(`validation accuracy by epoch: ${acc.map((a) => (100 * a).toFixed(2)).join(', ')}`);
        const best = validationAccuracyAtBestLoss(log.history);
        console.log(
          `Maximum validation accuracy: ${(best.accuracy * 100).toFixed(2)}% (epoch ${best.epoch + 1}, the model kept)`,
        );
        return (await evaluateModel(model, c, { data, progress: 'Test' })).accuracy;
      } finally {
        model.dispose();
      }
    };
  }
  return w;
}

/**
 * KerasLMU's psMNIST example: LMU(order 256, θ 784, SimpleRNN 212) + Dense(10), 101,771
 * parameters, 50,000 / 10,000 training / validation images, the model of lowest val_loss kept.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export const kerasLmu: LmuWalkthrough = lmuWalkthrough('keras');

/**
 * NengoDL's LMU example: the LMU cell from its parts (212 units, order 256, θ 784) and a linear
 * readout, 101,549 parameters, trained on all 60,000 training images.
 * @see notebooks/02-nengo-lmu-psmnist.ipynb
 */
export const nengoLmu: LmuWalkthrough = lmuWalkthrough('nengo');

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
