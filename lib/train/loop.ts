/**
 * One training loop for every walkthrough, in two modes of one `fit` (as Keras's fit counts
 * epochs, or steps with a generator): epoch-counted, passes over a batch source with validation
 * after each epoch; step-counted, a batch drawn per step with validation every N steps. Either
 * way an optimiser step per batch (trainStep), a live progress bar, Keras-style callbacks and a
 * Keras-style history.
 */
import * as tf from '@tensorflow/tfjs';
import { nonNegativeInteger, positiveInteger, positiveNumber } from '../checks';
import { RandomState } from '../data/random';
import type { History } from '../history';
import { clipByGlobalNorm, localGradients, losses, LossFn, trainableVariables } from './gradients';
import type { BatchGradients, GradientWorkers } from './parallel';
import { ProgressBar } from './progress';

/** A batch of sequences and integer labels (fit disposes the batches it draws). */
export interface Batch {
  x: tf.Tensor; // [batch, steps, features]
  y: tf.Tensor; // [batch] int32
}

/** What the epoch-counted loop trains on: lib/data's SequenceDataset fits this. */
export interface BatchSource {
  size: number;
  batches(batchSize: number, options?: { shuffle?: RandomState; dropRemainder?: boolean }): Iterable<Batch>;
}

/** What the step-counted loop trains on: the batch of step `step` (0-based), drawn as the caller likes. */
export type BatchSampler = (step: number) => Batch;

/** Per-epoch (or per-batch) metrics, named as Keras names them: loss, accuracy, val_loss, val_accuracy. */
export type Logs = Record<string, number>;

/** Shared state callbacks read and change; setting `stopTraining` ends training after this epoch (or step). */
export interface TrainContext {
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  history: History;
  stopTraining: boolean;
  /** Epoch-counted training: the last epoch (exclusive). */
  epochs?: number;
  /** Step-counted training: the last step (exclusive). */
  steps?: number;
}

/**
 * Keras-style callback hooks; all optional, each may be async. `batch` counts the batches of the
 * epoch in epoch-counted training and is the step in step-counted training, where validations
 * are reported by onValidationEnd instead of onEpochEnd.
 */
export interface Callback {
  onTrainBegin?(ctx: TrainContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: TrainContext): void | Promise<void>;
  onBatchBegin?(batch: number, ctx: TrainContext): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs, ctx: TrainContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs, ctx: TrainContext): void | Promise<void>;
  /** Step-counted training: after the validation run before step `step`, with val_loss and val_accuracy. */
  onValidationEnd?(step: number, logs: Logs, ctx: TrainContext): void | Promise<void>;
  onTrainEnd?(ctx: TrainContext): void | Promise<void>;
}

/** What both modes of fit() take. */
export interface FitCommonOptions {
  optimizer: tf.Optimizer;
  /** Default: sparse cross-entropy from logits. With `workers`, one of `losses`. */
  loss?: LossFn;
  /** Evaluated after each epoch (or every validateEvery steps) as val_loss / val_accuracy. */
  validation?: BatchSource;
  /** Batch size for validation; default batchSize (step-counted: 1,000). */
  validationBatchSize?: number;
  /** History of the epochs (or validations) before the resumed ones. */
  history?: History;
  callbacks?: Callback[];
  /** Progress bar label prefix; false for none. Default 'Epoch' (step-counted: 'Steps'). */
  progress?: string | false;
  /** Split each batch's gradient over these worker threads (lib/train/parallel.ts). */
  workers?: GradientWorkers;
  /**
   * Clip each step's gradients to this global L2 norm (Keras's `global_clipnorm`); each epoch's
   * logs then also hold `max_grad_norm` (before clipping) and `clipped_steps`. Default none.
   */
  clipNorm?: number;
}

/** Options of epoch-counted fit(); defaults follow Keras's `model.fit`. */
export interface FitOptions extends FitCommonOptions {
  /** Last epoch (exclusive), as Keras's `epochs`. */
  epochs: number;
  batchSize: number;
  /** Shuffle each epoch with RandomState(shuffleSeed + epoch) (reproducible when resuming); null keeps the order. Default 0. */
  shuffleSeed?: number | null;
  /** First epoch to run (resume), as Keras's `initial_epoch`. Default 0. */
  initialEpoch?: number;
}

/** Options of step-counted fit(). */
export interface StepFitOptions extends FitCommonOptions {
  /** Last step (exclusive). */
  steps: number;
  /**
   * With `validation`: validate before step s when s is a multiple of validateEvery and before
   * the last step (a loop that validates at the top of its step body, as torch_eunn's). Required
   * with `validation`.
   */
  validateEvery?: number;
  /**
   * First step to run (resume). Default 0. A resumed run (initialStep > 0) does not validate
   * again before its first step: its checkpoint was saved right after that validation.
   */
  initialStep?: number;
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
  const bar =
    options.progress === false ? undefined : new ProgressBar(total, { label: options.progress ?? 'Evaluate' });
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

/** Options of trainStep. */
export interface StepOptions {
  optimizer: tf.Optimizer;
  /** Default: sparse cross-entropy from logits. With `workers`, one of `losses` (sent to them by name). */
  loss?: LossFn;
  /** Split the batch's gradient over these worker threads. */
  workers?: GradientWorkers;
  /** Clip the gradients to this global L2 norm before the update. Default none. */
  clipNorm?: number;
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
 * One optimiser step on a batch (as `fit` takes it, and `bench` times it): the gradients of the
 * mean loss w.r.t. the model's trainable weights, split over `workers` when given, clipped to
 * global norm `clipNorm` when given, then applied. Returns the batch's mean loss and number of
 * correct predictions; the caller disposes the batch.
 */
export async function trainStep(model: tf.LayersModel, batch: Batch, options: StepOptions): Promise<StepResult> {
  const { x, y } = batch;
  const { optimizer, workers, clipNorm } = options;
  const loss = options.loss ?? losses.sparseCrossEntropyFromLogits;
  const r = workers
    ? await workers.gradients(model, x, y, loss)
    : named(trainableVariables(model), await localGradients(model, x, y, loss));
  const gradNorm = clipNorm === undefined ? undefined : await clipByGlobalNorm(r.grads, clipNorm);
  optimizer.applyGradients(r.grads);
  tf.dispose(Object.values(r.grads));
  return { loss: r.loss, correct: r.correct, gradNorm };
}

/** localGradients' result named by variable, as GradientWorkers returns it. */
function named(vars: tf.Variable[], r: Awaited<ReturnType<typeof localGradients>>): BatchGradients {
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v, i) => (grads[v.name] = r.grads[i]));
  return { grads, loss: r.value, correct: r.correct };
}

/**
 * Trains `model` as Keras's `fit` would, with our loop, and returns the history.
 *
 * - Epoch-counted, `fit(model, data, { epochs, batchSize, … })`: per epoch, one optimiser step
 *   per batch of `data` (shuffled unless shuffleSeed is null), then validation and onEpochEnd.
 *   `history.epoch` lists the epochs run; `history.history` their loss, accuracy, val_loss, val_accuracy.
 * - Step-counted, `fit(model, sample, { steps, validateEvery, … })`: per step, one optimiser step
 *   on `sample(step)`; validation before the steps StepFitOptions.validateEvery names, reported to
 *   onValidationEnd and recorded as `history.step` and `history.history.val_loss`/`val_accuracy`.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function fit(model: tf.LayersModel, data: BatchSource, options: FitOptions): Promise<History>;
export async function fit(model: tf.LayersModel, sample: BatchSampler, options: StepFitOptions): Promise<History>;
export async function fit(
  model: tf.LayersModel,
  data: BatchSource | BatchSampler,
  options: FitOptions | StepFitOptions,
): Promise<History> {
  return typeof data === 'function'
    ? fitSteps(model, data, options as StepFitOptions)
    : fitEpochs(model, data, options as FitOptions);
}

function checkClipNorm(clipNorm: number | undefined): number | undefined {
  return clipNorm === undefined ? undefined : positiveNumber('clipNorm', clipNorm);
}

/** One step of fit: trainStep on a batch it then disposes, stopping on a loss that is not finite. */
async function fitStep(
  model: tf.LayersModel,
  batch: Batch,
  options: FitCommonOptions,
  loss: LossFn,
  where: string,
): Promise<StepResult> {
  let r: StepResult;
  try {
    r = await trainStep(model, batch, {
      optimizer: options.optimizer,
      loss,
      workers: options.workers,
      clipNorm: options.clipNorm,
    });
  } finally {
    tf.dispose([batch.x, batch.y]);
  }
  if (!Number.isFinite(r.loss)) throw new Error(`loss became ${r.loss} at ${where}`);
  return r;
}

/** The logs of one batch, as callbacks' onBatchEnd gets them. */
function batchLogs(r: StepResult, size: number): Logs {
  return { loss: r.loss, size, ...(r.gradNorm === undefined ? {} : { grad_norm: r.gradNorm }) };
}

async function fitEpochs(model: tf.LayersModel, data: BatchSource, options: FitOptions): Promise<History> {
  const epochs = positiveInteger('epochs', options.epochs);
  const batchSize = positiveInteger('batchSize', options.batchSize);
  const clipNorm = checkClipNorm(options.clipNorm);
  const { optimizer } = options;
  const loss = options.loss ?? losses.sparseCrossEntropyFromLogits;
  const callbacks = options.callbacks ?? [];
  const history: History = options.history ?? { epoch: [], history: {} };
  const ctx: TrainContext = { model, optimizer, history, stopTraining: false, epochs };
  const shuffleSeed = options.shuffleSeed === undefined ? 0 : options.shuffleSeed;

  for (const c of callbacks) await c.onTrainBegin?.(ctx);
  for (let epoch = options.initialEpoch ?? 0; epoch < epochs && !ctx.stopTraining; epoch++) {
    for (const c of callbacks) await c.onEpochBegin?.(epoch, ctx);
    const total = Math.ceil(data.size / batchSize);
    const bar =
      options.progress === false
        ? undefined
        : new ProgressBar(total, { label: `${options.progress ?? 'Epoch'} ${epoch + 1}/${epochs}` });
    const shuffle = shuffleSeed === null ? undefined : new RandomState(shuffleSeed + epoch);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    let batch = 0;
    let maxGradNorm = 0;
    let clipped = 0;
    for (const b of data.batches(batchSize, { shuffle })) {
      const n = b.y.shape[0];
      for (const c of callbacks) await c.onBatchBegin?.(batch, ctx);
      const r = await fitStep(model, b, options, loss, `epoch ${epoch + 1}, batch ${batch + 1}`);
      if (r.gradNorm !== undefined) {
        maxGradNorm = Math.max(maxGradNorm, r.gradNorm);
        if (r.gradNorm > clipNorm!) clipped++;
      }
      lossSum += r.loss * n;
      correct += r.correct;
      seen += n;
      batch++; // not inside bar?.update(…): optional chaining would skip it when there is no bar
      bar?.update(batch, { loss: lossSum / seen, accuracy: correct / seen });
      for (const c of callbacks) await c.onBatchEnd?.(batch - 1, batchLogs(r, n), ctx);
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

async function fitSteps(model: tf.LayersModel, sample: BatchSampler, options: StepFitOptions): Promise<History> {
  const steps = positiveInteger('steps', options.steps);
  const validateEvery = options.validation ? positiveInteger('validateEvery', options.validateEvery) : undefined;
  const initialStep = options.initialStep === undefined ? 0 : nonNegativeInteger('initialStep', options.initialStep);
  checkClipNorm(options.clipNorm);
  const { optimizer } = options;
  const loss = options.loss ?? losses.sparseCrossEntropyFromLogits;
  const callbacks = options.callbacks ?? [];
  const history: History = options.history ?? { epoch: [], history: {} };
  const ctx: TrainContext = { model, optimizer, history, stopTraining: false, steps };
  const bar =
    options.progress === false || initialStep >= steps
      ? undefined
      : new ProgressBar(steps - initialStep, { label: `${options.progress ?? 'Steps'} ${initialStep}…${steps}` });
  const validatesBefore = (step: number) =>
    validateEvery !== undefined &&
    !(step === initialStep && initialStep > 0) &&
    (step % validateEvery === 0 || step === steps - 1);

  for (const c of callbacks) await c.onTrainBegin?.(ctx);
  let lastLoss = NaN;
  for (let step = initialStep; step < steps && !ctx.stopTraining; step++) {
    if (validatesBefore(step)) {
      // no bar of its own: the steps' bar stays on one line
      const v = await evaluate(model, options.validation!, {
        batchSize: options.validationBatchSize ?? 1000,
        loss,
        progress: false,
      });
      const logs: Logs = { val_loss: v.loss, val_accuracy: v.accuracy };
      (history.step ??= []).push(step);
      for (const [k, val] of Object.entries(logs)) (history.history[k] ??= []).push(val);
      for (const c of callbacks) await c.onValidationEnd?.(step, logs, ctx);
      if (ctx.stopTraining) break;
    }
    for (const c of callbacks) await c.onBatchBegin?.(step, ctx);
    const batch = sample(step);
    const n = batch.y.shape[0];
    const r = await fitStep(model, batch, options, loss, `step ${step}`);
    lastLoss = r.loss;
    bar?.update(step - initialStep + 1, { loss: lastLoss });
    for (const c of callbacks) await c.onBatchEnd?.(step, batchLogs(r, n), ctx);
  }
  bar?.done({ loss: lastLoss });
  for (const c of callbacks) await c.onTrainEnd?.(ctx);
  return history;
}
