/**
 * One training loop for every walkthrough: epochs over a batch source, an optimiser step per batch,
 * a live progress bar, validation after each epoch, Keras-style callbacks and a Keras-style history.
 */
import * as tf from '@tensorflow/tfjs';
import { RandomState } from '../data/random';
import { ProgressBar } from './progress';
import { localGradients, type BatchGradients, type GradientWorkers } from './parallel';

/** A batch of sequences and integer labels; the loop disposes both. */
export interface Batch {
  x: tf.Tensor; // [batch, steps, features]
  y: tf.Tensor; // [batch] int32
}

/** What the loop trains on: lib/data's SequenceDataset fits this. */
export interface BatchSource {
  size: number;
  batches(batchSize: number, options?: { shuffle?: RandomState; dropRemainder?: boolean }): Iterable<Batch>;
}

/** Per-epoch (or per-batch) metrics, named as Keras names them: loss, accuracy, val_loss, val_accuracy. */
export type Logs = Record<string, number>;

/** Keras-style history: `history.loss[e]` is epoch e's training loss. */
export interface History {
  epoch: number[];
  history: Record<string, number[]>;
}

/** Shared state callbacks read and change; setting `stopTraining` ends training after this epoch. */
export interface TrainContext {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  history: History;
  stopTraining: boolean;
  epochs: number;
}

/** Keras-style callback hooks; all optional, each may be async. */
export interface Callback {
  onTrainBegin?(ctx: TrainContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: TrainContext): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs, ctx: TrainContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs, ctx: TrainContext): void | Promise<void>;
  onTrainEnd?(ctx: TrainContext): void | Promise<void>;
}

/** A loss of (model outputs, integer labels) → scalar mean over the batch. */
export type LossFn = (outputs: tf.Tensor, labels: tf.Tensor) => tf.Scalar;

/** The losses the walkthroughs use. */
export const losses = {
  /** Keras `SparseCategoricalCrossentropy(from_logits=True)`, PyTorch `cross_entropy`. */
  sparseCrossEntropyFromLogits: ((logits, labels) =>
    tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels as tf.Tensor1D, logits.shape[1]!), logits))) as LossFn,
  /** Keras `sparse_categorical_crossentropy` on softmax probabilities (clipped as Keras clips, 1e-7). */
  sparseCrossEntropy: ((probs, labels) =>
    tf.tidy(() => {
      const p = tf.clipByValue(probs, 1e-7, 1 - 1e-7);
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels as tf.Tensor1D, probs.shape[1]!), tf.log(p)), -1)));
    })) as LossFn,
  /** PyTorch `nll_loss` on log-probabilities (a log-softmax output). */
  nll: ((logProbs, labels) =>
    tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels as tf.Tensor1D, logProbs.shape[1]!), logProbs), -1))))) as LossFn,
};

/** Options of fit(); defaults follow Keras's `model.fit`. */
export interface FitOptions {
  /** Last epoch (exclusive), as Keras's `epochs`. */
  epochs: number;
  batchSize: number;
  optimizer: tf.Optimizer;
  /** Default: sparse cross-entropy from logits. */
  loss?: LossFn;
  /** Evaluated after each epoch as val_loss / val_accuracy. */
  validation?: BatchSource;
  /** Batch size for validation; default batchSize. */
  validationBatchSize?: number;
  /** Shuffle each epoch with RandomState(shuffleSeed + epoch) (reproducible when resuming); null keeps the order. Default 0. */
  shuffleSeed?: number | null;
  /** First epoch to run (resume), as Keras's `initial_epoch`. Default 0. */
  initialEpoch?: number;
  /** History of the epochs before initialEpoch, when resuming. */
  history?: History;
  callbacks?: Callback[];
  /** Progress bar label prefix; false for none. Default 'Epoch'. */
  progress?: string | false;
  /** Split each batch's gradient over these worker threads (lib/train/parallel.ts); its loss replaces `loss`. */
  workers?: GradientWorkers;
  /**
   * Clip each step's gradients to this global L2 norm (Keras's `global_clipnorm`); each epoch's
   * logs then also hold `max_grad_norm` (before clipping) and `clipped_steps`. Default none.
   */
  clipNorm?: number;
}

/** Mean loss and accuracy of the model over a batch source (no training). */
export async function evaluate(
  model: tf.LayersModel,
  data: BatchSource,
  options: { batchSize?: number; loss?: LossFn; progress?: string | false } = {},
): Promise<{ loss: number; accuracy: number }> {
  const batchSize = options.batchSize ?? 1000;
  const loss = options.loss ?? losses.sparseCrossEntropyFromLogits;
  const total = Math.ceil(data.size / batchSize);
  const bar = options.progress === false ? undefined : new ProgressBar(total, { label: options.progress ?? 'Evaluate' });
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  let i = 0;
  for (const { x, y } of data.batches(batchSize)) {
    const [l, c] = tf.tidy(() => {
      const out = model.apply(x, { training: false }) as tf.Tensor;
      return [tf.mul(loss(out, y), y.shape[0]), tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), y), 'int32'))];
    });
    lossSum += (await l.data())[0];
    correct += (await c.data())[0];
    seen += y.shape[0];
    tf.dispose([x, y, l, c]);
    bar?.update(++i, { loss: lossSum / seen, accuracy: correct / seen });
  }
  bar?.done({ loss: lossSum / seen, accuracy: correct / seen });
  return { loss: lossSum / seen, accuracy: correct / seen };
}

/** The variables behind a model's trainable weights (what the optimiser updates). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
}

/**
 * Scales gradients down to global L2 norm `clipNorm` when their norm exceeds it, as Keras's
 * `global_clipnorm` (tf.clip_by_global_norm); disposes the originals it replaces. Returns the
 * norm before clipping.
 */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, clipNorm: number): number {
  const names = Object.keys(grads);
  const norm = tf.tidy(() => tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n])))))).dataSync()[0];
  if (norm > clipNorm) {
    const scale = clipNorm / norm;
    for (const n of names) {
      const g = grads[n];
      grads[n] = tf.mul(g, scale);
      g.dispose();
    }
  }
  return norm;
}

/** What one training step reports. */
export interface StepResult {
  /** The batch's mean loss. */
  loss: number;
  /** Correct predictions in the batch. */
  correct: number;
  /** The gradients' global L2 norm before clipping (only when clipping). */
  gradNorm?: number;
}

/**
 * One optimiser step on a batch, split over `workers` when given (as `fit` takes it, and `bench`
 * times it), with the gradients clipped to global norm `clipNorm` when given; its mean loss and
 * number of correct predictions.
 */
export async function trainStep(
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  x: tf.Tensor,
  y: tf.Tensor,
  loss: LossFn,
  workers?: GradientWorkers,
  clipNorm?: number,
): Promise<StepResult> {
  const r = workers ? await workers.gradients(model, x, y) : named(vars, localGradients(model, x, y, loss));
  const gradNorm = clipNorm === undefined ? undefined : clipByGlobalNorm(r.grads, clipNorm);
  optimizer.applyGradients(r.grads);
  tf.dispose(Object.values(r.grads));
  return { loss: r.loss, correct: r.correct, gradNorm };
}

/** localGradients' result named by variable, as GradientWorkers returns it. */
function named(vars: tf.Variable[], r: ReturnType<typeof localGradients>): BatchGradients {
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v, i) => (grads[v.name] = r.grads[i]));
  return { grads, loss: r.value, correct: r.correct };
}

/**
 * Trains `model` as Keras's `fit` would, with our loop: per batch one optimiser step on the
 * trainable weights; after each epoch validation and the callbacks. Returns the history.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function fit(model: tf.LayersModel, data: BatchSource, options: FitOptions): Promise<History> {
  const { epochs, batchSize, optimizer } = options;
  if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`epochs must be a positive integer (got ${epochs})`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer (got ${batchSize})`);
  const loss = options.loss ?? losses.sparseCrossEntropyFromLogits;
  const callbacks = options.callbacks ?? [];
  const history: History = options.history ?? { epoch: [], history: {} };
  const ctx: TrainContext = { model, optimizer, history, stopTraining: false, epochs };
  const vars = trainableVariables(model);
  const shuffleSeed = options.shuffleSeed === undefined ? 0 : options.shuffleSeed;
  const { clipNorm } = options;
  if (clipNorm !== undefined && !(typeof clipNorm === 'number' && clipNorm > 0 && Number.isFinite(clipNorm))) {
    throw new Error(`clipNorm must be a positive number (got ${clipNorm})`);
  }

  for (const c of callbacks) await c.onTrainBegin?.(ctx);
  for (let epoch = options.initialEpoch ?? 0; epoch < epochs && !ctx.stopTraining; epoch++) {
    for (const c of callbacks) await c.onEpochBegin?.(epoch, ctx);
    const total = Math.ceil(data.size / batchSize);
    const bar = options.progress === false ? undefined : new ProgressBar(total, { label: `${options.progress ?? 'Epoch'} ${epoch + 1}/${epochs}` });
    const shuffle = shuffleSeed === null ? undefined : new RandomState(shuffleSeed + epoch);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let batch = 0;
    let maxGradNorm = 0;
    let clipped = 0;
    for (const { x, y } of data.batches(batchSize, { shuffle })) {
      const n = y.shape[0];
      const { loss: batchLoss, correct: batchCorrect, gradNorm } = await trainStep(model, optimizer, vars, x, y, loss, options.workers, clipNorm);
      if (gradNorm !== undefined) {
        maxGradNorm = Math.max(maxGradNorm, gradNorm);
        if (gradNorm > clipNorm!) clipped++;
      }
      if (!Number.isFinite(batchLoss)) throw new Error(`loss became ${batchLoss} at epoch ${epoch + 1}, batch ${batch + 1}`);
      lossSum += batchLoss * n;
      correct += batchCorrect;
      seen += n;
      tf.dispose([x, y]);
      const logs = { loss: lossSum / seen, accuracy: correct / seen };
      batch++; // not inside bar?.update(…): optional chaining would skip it when there is no bar
      bar?.update(batch, logs);
      for (const c of callbacks) await c.onBatchEnd?.(batch - 1, { loss: batchLoss, size: n, ...(gradNorm === undefined ? {} : { grad_norm: gradNorm }) }, ctx);
    }
    const logs: Logs = { loss: lossSum / seen, accuracy: correct / seen };
    bar?.done(logs);
    if (clipNorm !== undefined) Object.assign(logs, { max_grad_norm: maxGradNorm, clipped_steps: clipped });
    if (options.validation) {
      const v = await evaluate(model, options.validation, {
        batchSize: options.validationBatchSize ?? batchSize,
        loss,
        progress: options.progress === false ? false : 'Validate',
      });
      logs.val_loss = v.loss;
      logs.val_accuracy = v.accuracy;
    }
    history.epoch.push(epoch);
    for (const [k, val] of Object.entries(logs)) (history.history[k] ??= []).push(val);
    for (const c of callbacks) await c.onEpochEnd?.(epoch, logs, ctx);
  }
  for (const c of callbacks) await c.onTrainEnd?.(ctx);
  return history;
}
