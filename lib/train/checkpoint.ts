/**
 * One checkpoint writer and reader for every walkthrough, epoch-counted or step-counted: the
 * writer is a callback of fit() that saves the model, the optimiser and the training state
 * {epoch | step, config, history, epochSeconds, …extra} in one atomic folder write (saving.ts),
 * with hooks for the state and files a walkthrough adds (a ModelCheckpoint's best value, the
 * LSTM's early-stopping counters and best weights, EURNN's generator); the reader restores the
 * model and optimiser, refuses a checkpoint of another config, and says where it goes back to.
 */
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs';
import type { History } from '../history';
import type { Callback, Logs, TrainContext } from './loop';
import { loadOptimizerState, loadWeightsInto, readTrainingState, saveModel, TrainingState } from './saving';

/** Options of Checkpoint. */
export interface CheckpointOptions {
  /** Folder for model, optimiser and training state (replaced at each save). Default none: only timing. */
  dir?: string;
  /**
   * 'epoch': save after every epoch (epoch-counted fit); 'validation': after every validation but
   * the one a run starts with (step-counted fit, whose checkpoint is saved right after a validation).
   */
  every?: 'epoch' | 'validation';
  /** What decides the result (the walkthrough's config without its length): saved, and checked on resume. */
  config?: Record<string, unknown>;
  /** Seconds of the epochs trained before (a resumed run's). Default none. */
  epochSeconds?: number[];
  /** Time each epoch to its end, validation included (the LSTMs' logs always have). Default: its training steps only. */
  timeValidation?: boolean;
  /** More state to save with each checkpoint. */
  extraState?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** More files to save in the same atomic write (their names must not be the saver's own). */
  extraFiles?: () => Promise<Record<string, Buffer>> | Record<string, Buffer>;
  /** Where a step-counted run's history comes from (default ctx.history). */
  history?: () => unknown;
}

/**
 * The bookkeeping of a resumable training: the seconds each epoch's training steps took (validation
 * excluded), the mean time per step, and with a folder a checkpoint after every epoch or
 * validation that `train --resume` starts from. Put it after the callbacks whose state it saves.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export class Checkpoint implements Callback {
  readonly epochSeconds: number[];
  private stepMs = 0;
  private steps = 0;
  private epochStart = 0;
  private lastBatchEnd = 0;

  constructor(private readonly options: CheckpointOptions = {}) {
    this.epochSeconds = [...(options.epochSeconds ?? [])];
  }

  /** Mean milliseconds per training step in this run (NaN before the first). */
  get msPerStep(): number {
    return this.steps ? this.stepMs / this.steps : NaN;
  }

  onTrainBegin(): void {
    this.lastBatchEnd = Date.now();
  }

  onEpochBegin(): void {
    this.epochStart = this.lastBatchEnd = Date.now();
  }

  onBatchBegin(): void {
    // step-counted training validates between steps: time only the steps themselves
    if (this.options.every === 'validation') this.lastBatchEnd = Date.now();
  }

  onBatchEnd(): void {
    const now = Date.now();
    this.stepMs += now - this.lastBatchEnd;
    this.steps++;
    this.lastBatchEnd = now;
  }

  async onEpochEnd(epoch: number, _logs: Logs, ctx: TrainContext): Promise<void> {
    if (this.options.every === 'validation') return;
    const end = this.options.timeValidation ? Date.now() : this.lastBatchEnd;
    this.epochSeconds[epoch] = (end - this.epochStart) / 1000;
    await this.save(ctx, { epoch: epoch + 1 });
  }

  async onValidationEnd(step: number, _logs: Logs, ctx: TrainContext): Promise<void> {
    if (this.options.every !== 'validation') return;
    // a run's validation before its first step would write the checkpoint it started from
    if (this.steps === 0) return;
    await this.save(ctx, { step });
  }

  /** Saves now: model, optimiser and state, with the walkthrough's extra state and files. */
  async save(ctx: TrainContext, where: { epoch?: number; step?: number }): Promise<void> {
    const { dir, config, extraState, extraFiles, history } = this.options;
    if (!dir) return;
    const state: TrainingState = {
      ...where,
      ...(config ? { config } : {}),
      history: history ? history() : ctx.history,
      epochSeconds: this.epochSeconds,
      ...(extraState ? await extraState() : {}),
    };
    await saveModel(ctx.model, dir, {
      optimizer: ctx.optimizer,
      state,
      files: extraFiles ? await extraFiles() : undefined,
    });
  }
}

/**
 * Restores a checkpoint written during training (weights, optimiser state) into `model` and
 * `optimizer`, and returns its training state: what `train --resume` starts from.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export async function resumeFrom(
  dir: string | undefined,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
): Promise<TrainingState> {
  if (!dir) throw new Error('resume needs a checkpoint folder');
  const state = readTrainingState(dir);
  if (!state) throw new Error(`nothing to resume: ${path.join(dir, 'state.json')} not found`);
  loadWeightsInto(model, dir);
  await loadOptimizerState(optimizer, dir);
  return state;
}

/**
 * The first line of a resumed training: it goes back to the last checkpoint, saved after `where`
 * ('epoch 3 of 5', 'step 1500 of 40000'), and trains anything after it again.
 */
export function resumeLine(dir: string, where: string): string {
  return `resuming from the last checkpoint (${dir}), saved after ${where}: anything trained after it is trained again`;
}

/** Where a training starts: from scratch, or where its checkpoint left off. */
export interface TrainingStart {
  /** Epochs (epoch-counted) or steps (step-counted) already trained. */
  initial: number;
  /** The history saved with the checkpoint (undefined from scratch). */
  history?: unknown;
  /** Seconds of the epochs already trained. */
  epochSeconds: number[];
  /** The saved training state when resuming (for the walkthrough's own state). */
  state?: TrainingState;
}

const text = (v: unknown) => (v === undefined ? 'none' : JSON.stringify(v));

/**
 * Refuses to resume a checkpoint made with another config: `saved` and `current` are the settings
 * that decide the result; a difference names both values. A checkpoint from before these were
 * recorded (no `saved`) is accepted.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function checkResumeConfig(
  dir: string,
  saved: Record<string, unknown> | undefined,
  current: Record<string, unknown>,
): void {
  if (!saved) return;
  const differ = Object.keys({ ...saved, ...current }).filter((k) => text(saved[k]) !== text(current[k]));
  if (differ.length) {
    throw new Error(
      `the checkpoint in ${dir} belongs to another training (${differ.map((k) => `${k} ${text(saved[k])}, not ${text(current[k])}`).join('; ')}): resume with the same settings, or delete it to start again`,
    );
  }
}

/**
 * The start of a training: from scratch, or with `resume` from the checkpoint in `dir` (weights
 * and optimiser restored; epochs or steps, history and epoch times read back), after checking that
 * it was made with the same `config`. Prints the resume line.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export async function startTraining(options: {
  resume?: boolean;
  dir?: string;
  model: tf.LayersModel;
  optimizer: tf.Optimizer;
  /** 'epoch' or 'step', and the run's total of them, for the resume line. */
  unit: 'epoch' | 'step';
  total: number;
  config?: Record<string, unknown>;
  log?: (line: string) => void;
}): Promise<TrainingStart> {
  const { dir, unit } = options;
  if (!options.resume) return { initial: 0, epochSeconds: [] };
  if (!dir) throw new Error('resume needs a checkpoint folder');
  if (options.config) checkResumeConfig(dir, readTrainingState(dir)?.config as never, options.config);
  const state = await resumeFrom(dir, options.model, options.optimizer);
  const initial = (unit === 'epoch' ? state.epoch : state.step) ?? 0;
  (options.log ?? console.log)(resumeLine(dir, `${unit} ${initial} of ${options.total}`));
  return {
    initial,
    history: state.history,
    epochSeconds: (state.epochSeconds as number[]) ?? [],
    state,
  };
}

/** An empty Keras-style history. */
export function emptyHistory(): History {
  return { epoch: [], history: {} };
}
