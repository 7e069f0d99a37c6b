/**
 * Callbacks of our training loop (lib/train/loop.ts). Keras 2's that tfjs lacks:
 * ReduceLROnPlateau, EarlyStopping (restore_best_weights included) and ModelCheckpoint (save the
 * model, or only when a monitored metric improves). (Checkpoint, the timing and resume checkpoint
 * of a long training, is in checkpoint.ts; HistoryPlot, which draws the history, in lib/plot/history.ts.)
 *
 * Porting note: tfjs has no ReduceLROnPlateau, and its earlyStopping cannot restore the best
 * weights; these follow tf.keras 2.11–2.15 (keras/callbacks.py) line by line, messages included.
 * As in Keras 2 (not Keras 3), the best weights are restored only when training stops early.
 */
import * as tf from '@tensorflow/tfjs';
import { nonNegativeInteger } from '../checks';
import type { Callback, Logs, TrainContext } from './loop';
import { saveModel } from './saving';

/** 'min': lower is better; 'max': higher is better; 'auto': from the monitored name, as Keras. */
export type MonitorMode = 'auto' | 'min' | 'max';

function checkMode(mode: unknown): MonitorMode {
  if (mode !== 'auto' && mode !== 'min' && mode !== 'max')
    throw new Error(`mode must be 'auto', 'min' or 'max' (got ${JSON.stringify(mode)})`);
  return mode;
}

function checkNumber(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${name} must be a finite number (got ${v})`);
  return v;
}

/**
 * A number as Python's repr() prints it (shortest round-trip digits; exponent form below 1e-4
 * or from 1e16), so that messages read as Keras's: 0.0019999999552965164, 4e-05.
 */
export function pythonFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = x < 0 ? '-' : '';
  if (exp >= 0) {
    const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
    const frac = digits.slice(exp + 1);
    return `${sign}${intPart}.${frac || '0'}`;
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

type Optimizer = tf.Optimizer & { learningRate?: number };

/** The optimiser's learning rate (tfjs keeps it in a `learningRate` field). */
export function getLearningRate(optimizer: tf.Optimizer): number {
  const lr = (optimizer as Optimizer).learningRate;
  if (typeof lr !== 'number') throw new Error(`optimizer ${optimizer.getClassName()} has no numeric learningRate`);
  return lr;
}

/** Sets the optimiser's learning rate; later steps use it. */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  getLearningRate(optimizer);
  (optimizer as Optimizer).learningRate = lr;
}

/** Options of ReduceLROnPlateau; defaults are Keras's. */
export interface ReduceLROnPlateauOptions {
  /** Metric to watch. Default 'val_loss'. */
  monitor?: string;
  /** New lr = lr · factor; must be < 1. Default 0.1. */
  factor?: number;
  /** Epochs without improvement before the lr is reduced. Default 10. */
  patience?: number;
  /** 1: print a message on every reduction. Default 0. */
  verbose?: number;
  /** Default 'auto' ('max' when the monitored name contains 'acc'). */
  mode?: MonitorMode;
  /** Smallest change that counts as an improvement. Default 1e-4. */
  minDelta?: number;
  /** Epochs to wait after a reduction before counting again. Default 0. */
  cooldown?: number;
  /** Lower bound of the lr. Default 0. */
  minLr?: number;
  /** Where messages go. Default console.log. */
  print?: (line: string) => void;
}

/** What ReduceLROnPlateau carries between epochs (saved with checkpoints to resume). */
export interface ReduceLROnPlateauState {
  best: number;
  wait: number;
  cooldownCounter: number;
}

/**
 * Keras's ReduceLROnPlateau: when `monitor` has not improved by `minDelta` for `patience` epochs,
 * multiply the learning rate by `factor` (not below `minLr`), then wait `cooldown` epochs. Adds
 * the epoch's learning rate to the logs and the history as `lr`, as Keras does.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export class ReduceLROnPlateau implements Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly verbose: number;
  readonly mode: MonitorMode;
  readonly minDelta: number;
  readonly cooldown: number;
  readonly minLr: number;
  private readonly print: (line: string) => void;
  private readonly lowerIsBetter: boolean;
  best = Infinity;
  wait = 0;
  cooldownCounter = 0;
  private resumed?: ReduceLROnPlateauState;

  constructor(options: ReduceLROnPlateauOptions = {}) {
    this.monitor = options.monitor ?? 'val_loss';
    this.factor = checkNumber('factor', options.factor ?? 0.1);
    if (this.factor >= 1) throw new Error(`ReduceLROnPlateau does not support a factor >= 1.0 (got ${this.factor})`);
    this.patience = nonNegativeInteger('patience', options.patience ?? 10);
    this.verbose = options.verbose ?? 0;
    this.mode = checkMode(options.mode ?? 'auto');
    this.minDelta = checkNumber('minDelta', options.minDelta ?? 1e-4);
    this.cooldown = nonNegativeInteger('cooldown', options.cooldown ?? 0);
    this.minLr = checkNumber('minLr', options.minLr ?? 0);
    this.print = options.print ?? ((line) => console.log(line));
    this.lowerIsBetter = this.mode === 'min' || (this.mode === 'auto' && !this.monitor.includes('acc'));
    this.reset();
  }

  private reset(): void {
    this.best = this.lowerIsBetter ? Infinity : -Infinity;
    this.cooldownCounter = 0;
    this.wait = 0;
  }

  private improved(current: number): boolean {
    return this.lowerIsBetter ? current < this.best - this.minDelta : current > this.best + this.minDelta;
  }

  private inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  onTrainBegin(): void {
    this.reset();
    if (this.resumed) {
      Object.assign(this, this.resumed);
      this.resumed = undefined;
    }
  }

  onEpochEnd(epoch: number, logs: Logs, ctx: TrainContext): void {
    const lr = Math.fround(getLearningRate(ctx.optimizer)); // Keras reads a float32 variable
    logs.lr = lr;
    (ctx.history.history.lr ??= []).push(lr);
    const current = logs[this.monitor];
    if (current === undefined) {
      console.warn(
        `Learning rate reduction is conditioned on metric \`${this.monitor}\` which is not available. Available metrics are: ${Object.keys(logs).join(',')}`,
      );
      return;
    }
    if (this.inCooldown()) {
      this.cooldownCounter -= 1;
      this.wait = 0;
    }
    if (this.improved(current)) {
      this.best = current;
      this.wait = 0;
    } else if (!this.inCooldown()) {
      this.wait += 1;
      if (this.wait >= this.patience) {
        if (lr > Math.fround(this.minLr)) {
          const newLr = Math.max(lr * this.factor, this.minLr);
          setLearningRate(ctx.optimizer, newLr);
          if (this.verbose > 0)
            this.print(`\nEpoch ${epoch + 1}: ReduceLROnPlateau reducing learning rate to ${pythonFloat(newLr)}.`);
          this.cooldownCounter = this.cooldown;
          this.wait = 0;
        }
      }
    }
  }

  /** The counters, to save with a checkpoint. */
  getState(): ReduceLROnPlateauState {
    return { best: this.best, wait: this.wait, cooldownCounter: this.cooldownCounter };
  }

  /** Resumes from counters saved by getState, at the next onTrainBegin. */
  resumeFrom(state: ReduceLROnPlateauState): void {
    this.resumed = { ...state };
  }
}

/** Options of EarlyStopping; defaults are Keras's. */
export interface EarlyStoppingOptions {
  /** Metric to watch. Default 'val_loss'. */
  monitor?: string;
  /** Smallest change that counts as an improvement (its absolute value is used). Default 0. */
  minDelta?: number;
  /** Epochs without improvement before stopping. Default 0. */
  patience?: number;
  /** 1: print when stopping and restoring. Default 0. */
  verbose?: number;
  /** Default 'auto' ('max' when the monitored name ends in acc, accuracy or auc). */
  mode?: MonitorMode;
  /** Training stops unless the metric beats this. Default none. */
  baseline?: number;
  /** On an early stop, put back the weights of the best epoch. Default false. */
  restoreBestWeights?: boolean;
  /** Epochs to wait before watching at all. Default 0. */
  startFromEpoch?: number;
  /** Where messages go. Default console.log. */
  print?: (line: string) => void;
}

/** What EarlyStopping carries between epochs, less the best weights. */
export interface EarlyStoppingState {
  best: number;
  bestEpoch: number;
  wait: number;
}

/**
 * Keras 2's EarlyStopping: stops training when `monitor` has not improved by `minDelta` for
 * `patience` epochs (never after the first epoch), optionally restoring the best epoch's weights.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly verbose: number;
  readonly mode: MonitorMode;
  readonly baseline?: number;
  readonly restoreBestWeights: boolean;
  readonly startFromEpoch: number;
  private readonly print: (line: string) => void;
  private readonly higherIsBetter: boolean;
  best = Infinity;
  bestEpoch = 0;
  wait = 0;
  /** The epoch (0-based) at which training was stopped, or 0. */
  stoppedEpoch = 0;
  private bestWeights?: tf.Tensor[];
  private resumed?: { state: EarlyStoppingState; weights?: tf.Tensor[] };

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? 'val_loss';
    this.minDelta = Math.abs(checkNumber('minDelta', options.minDelta ?? 0));
    this.patience = nonNegativeInteger('patience', options.patience ?? 0);
    this.verbose = options.verbose ?? 0;
    this.mode = checkMode(options.mode ?? 'auto');
    if (options.baseline !== undefined) checkNumber('baseline', options.baseline);
    this.baseline = options.baseline;
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    this.startFromEpoch = nonNegativeInteger('startFromEpoch', options.startFromEpoch ?? 0);
    this.print = options.print ?? ((line) => console.log(line));
    const m = this.monitor;
    this.higherIsBetter =
      this.mode === 'max' ||
      (this.mode === 'auto' && (m.endsWith('acc') || m.endsWith('accuracy') || m.endsWith('auc')));
  }

  /** Keras: monitor_op(current - min_delta, reference) with min_delta signed by the mode. */
  private isImprovement(current: number, reference: number): boolean {
    return this.higherIsBetter ? current - this.minDelta > reference : current + this.minDelta < reference;
  }

  private keepWeights(model: tf.LayersModel): void {
    tf.dispose(this.bestWeights);
    this.bestWeights = model.getWeights().map((w) => tf.keep(w.clone()));
  }

  onTrainBegin(): void {
    this.wait = 0;
    this.stoppedEpoch = 0;
    this.best = this.higherIsBetter ? -Infinity : Infinity;
    tf.dispose(this.bestWeights);
    this.bestWeights = undefined;
    this.bestEpoch = 0;
    if (this.resumed) {
      Object.assign(this, {
        best: this.resumed.state.best,
        bestEpoch: this.resumed.state.bestEpoch,
        wait: this.resumed.state.wait,
      });
      this.bestWeights = this.resumed.weights;
      this.resumed = undefined;
    }
  }

  onEpochEnd(epoch: number, logs: Logs, ctx: TrainContext): void {
    const current = logs[this.monitor];
    if (current === undefined) {
      console.warn(
        `Early stopping conditioned on metric \`${this.monitor}\` which is not available. Available metrics are: ${Object.keys(logs).join(',')}`,
      );
      return;
    }
    if (epoch < this.startFromEpoch) return;
    // restore the weights after the first epoch if no progress is ever made
    if (this.restoreBestWeights && this.bestWeights === undefined) this.keepWeights(ctx.model);
    this.wait += 1;
    if (this.isImprovement(current, this.best)) {
      this.best = current;
      this.bestEpoch = epoch;
      if (this.restoreBestWeights) this.keepWeights(ctx.model);
      // only restart waiting when both the baseline and the previous best are beaten
      if (this.baseline === undefined || this.isImprovement(current, this.baseline)) this.wait = 0;
    }
    if (this.wait >= this.patience && epoch > 0) {
      this.stoppedEpoch = epoch;
      ctx.stopTraining = true;
      if (this.restoreBestWeights && this.bestWeights !== undefined) {
        if (this.verbose > 0)
          this.print(`Restoring model weights from the end of the best epoch: ${this.bestEpoch + 1}.`);
        ctx.model.setWeights(this.bestWeights);
      }
    }
  }

  onTrainEnd(): void {
    if (this.stoppedEpoch > 0 && this.verbose > 0) this.print(`Epoch ${this.stoppedEpoch + 1}: early stopping`);
  }

  /** The best weights kept so far (undefined before the first watched epoch or without restoreBestWeights). */
  getBestWeights(): tf.Tensor[] | undefined {
    return this.bestWeights;
  }

  /** The counters, to save with a checkpoint (the best weights are saved as a model). */
  getState(): EarlyStoppingState {
    return { best: this.best, bestEpoch: this.bestEpoch, wait: this.wait };
  }

  /** Resumes from a saved state (and best weights) at the next onTrainBegin. */
  resumeFrom(state: EarlyStoppingState, bestWeights?: tf.Tensor[]): void {
    this.resumed = { state, weights: bestWeights?.map((w) => tf.keep(w.clone())) };
  }

  /** Frees the kept weights. */
  dispose(): void {
    tf.dispose(this.bestWeights);
    this.bestWeights = undefined;
  }
}

/** ModelCheckpoint's mode: the same choice as the other callbacks'. */
export type CheckpointMode = MonitorMode;

/** Python's f"{x:.5f}", which prints infinities as inf and -inf. */
const fixed5 = (x: number) => (Number.isFinite(x) ? x.toFixed(5) : Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf');

/** Options of ModelCheckpoint; defaults are Keras's. */
export interface ModelCheckpointOptions {
  /** Folder the model is saved to (saveModel's format: model.json + weights.bin), replaced atomically. Required. */
  filepath: string;
  /** Metric to watch. Default 'val_loss'. */
  monitor?: string;
  /** 1: print a line at every epoch's decision, as Keras. Default 0. */
  verbose?: number;
  /** Save only when the metric improves on the best so far. Default false (save every epoch). */
  saveBestOnly?: boolean;
  /** Default 'auto' ('max' when the monitored name contains 'acc' or starts with 'fmeasure'). */
  mode?: MonitorMode;
  /** Only values better than this count as an improvement at first. Default none. */
  initialValueThreshold?: number;
  /** Where messages go. Default console.log. */
  print?: (line: string) => void;
}

/** What ModelCheckpoint carries between epochs (saved with a training state to resume). */
export interface ModelCheckpointState {
  best: number;
  /** Epoch (0-based) of the best value, or -1. */
  bestEpoch: number;
}

/**
 * Keras's ModelCheckpoint (save_freq 'epoch'): after each epoch, saves the model to `filepath`,
 * or with `saveBestOnly` only when `monitor` beats the best value so far, with Keras's messages.
 *
 * Porting note: Keras formats `filepath` with the epoch and logs (`{epoch:02d}`) and can save
 * weights only; here `filepath` is one folder and the whole model (topology + weights) is saved.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export class ModelCheckpoint implements Callback {
  readonly filepath: string;
  readonly monitor: string;
  readonly verbose: number;
  readonly saveBestOnly: boolean;
  readonly mode: MonitorMode;
  private readonly print: (line: string) => void;
  private readonly higherIsBetter: boolean;
  private readonly initial: number;
  best: number;
  bestEpoch = -1;
  private resumed?: ModelCheckpointState;

  constructor(options: ModelCheckpointOptions) {
    if (!options || typeof options.filepath !== 'string' || options.filepath === '') {
      throw new Error(
        `filepath must be a non-empty folder path (got ${options ? JSON.stringify(options.filepath) : options})`,
      );
    }
    this.filepath = options.filepath;
    this.monitor = options.monitor ?? 'val_loss';
    this.verbose = options.verbose ?? 0;
    this.saveBestOnly = options.saveBestOnly ?? false;
    const mode = checkMode(options.mode ?? 'auto');
    this.mode = mode;
    this.higherIsBetter =
      mode === 'max' || (mode === 'auto' && (this.monitor.includes('acc') || this.monitor.startsWith('fmeasure')));
    const threshold = options.initialValueThreshold;
    if (threshold !== undefined) checkNumber('initialValueThreshold', threshold);
    this.initial = threshold ?? (this.higherIsBetter ? -Infinity : Infinity);
    this.best = this.initial;
    this.print = options.print ?? ((line) => console.log(line));
  }

  onTrainBegin(): void {
    this.best = this.initial;
    this.bestEpoch = -1;
    if (this.resumed) {
      this.best = this.resumed.best;
      this.bestEpoch = this.resumed.bestEpoch;
      this.resumed = undefined;
    }
  }

  async onEpochEnd(epoch: number, logs: Logs, ctx: TrainContext): Promise<void> {
    if (!this.saveBestOnly) {
      if (this.verbose > 0) this.print(`\nEpoch ${epoch + 1}: saving model to ${this.filepath}`);
      await saveModel(ctx.model, this.filepath);
      return;
    }
    const current = logs[this.monitor];
    if (current === undefined) {
      console.warn(`Can save best model only with ${this.monitor} available, skipping.`);
      return;
    }
    const improved = this.higherIsBetter ? current > this.best : current < this.best;
    if (improved) {
      if (this.verbose > 0) {
        this.print(
          `\nEpoch ${epoch + 1}: ${this.monitor} improved from ${fixed5(this.best)} to ${fixed5(current)}, saving model to ${this.filepath}`,
        );
      }
      this.best = current;
      this.bestEpoch = epoch;
      await saveModel(ctx.model, this.filepath);
    } else if (this.verbose > 0) {
      this.print(`\nEpoch ${epoch + 1}: ${this.monitor} did not improve from ${fixed5(this.best)}`);
    }
  }

  /** The best value and its epoch, to save with a checkpoint. */
  getState(): ModelCheckpointState {
    return { best: this.best, bestEpoch: this.bestEpoch };
  }

  /** Resumes from a state saved by getState, at the next onTrainBegin. */
  resumeFrom(state: ModelCheckpointState): void {
    if (!state || typeof state.best !== 'number')
      throw new Error(`resumeFrom needs a saved {best, bestEpoch} state (got ${JSON.stringify(state)})`);
    this.resumed = { best: state.best, bestEpoch: state.bestEpoch };
  }
}
