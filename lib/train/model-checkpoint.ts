/**
 * Callbacks for the training loop of lib/train/loop.ts. Keras's that tfjs lacks: ModelCheckpoint
 * (save the model, or only when a monitored metric improves) and HistoryPlot (a chart of the
 * history, redrawn in place after every epoch); and EpochCheckpoint, the per-epoch timing and
 * resume checkpoint of a long training.
 */
import { Figure, figureBundle, lineChart, LineSeries } from '../plot/charts';
import { newDisplayHandle, DisplayHandle } from '../plot/display';
import { saveModel } from './checkpoint';
import type { Callback, History, Logs, TrainContext } from './loop';

/** 'min': lower is better; 'max': higher is better; 'auto': from the monitored name, as Keras. */
export type CheckpointMode = 'auto' | 'min' | 'max';

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
  mode?: CheckpointMode;
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
  readonly mode: CheckpointMode;
  private readonly print: (line: string) => void;
  private readonly higherIsBetter: boolean;
  private readonly initial: number;
  best: number;
  bestEpoch = -1;
  private resumed?: ModelCheckpointState;

  constructor(options: ModelCheckpointOptions) {
    if (!options || typeof options.filepath !== 'string' || options.filepath === '') {
      throw new Error(`filepath must be a non-empty folder path (got ${options ? JSON.stringify(options.filepath) : options})`);
    }
    this.filepath = options.filepath;
    this.monitor = options.monitor ?? 'val_loss';
    this.verbose = options.verbose ?? 0;
    this.saveBestOnly = options.saveBestOnly ?? false;
    const mode = options.mode ?? 'auto';
    if (mode !== 'auto' && mode !== 'min' && mode !== 'max') throw new Error(`mode must be 'auto', 'min' or 'max' (got ${JSON.stringify(mode)})`);
    this.mode = mode;
    this.higherIsBetter = mode === 'max' || (mode === 'auto' && (this.monitor.includes('acc') || this.monitor.startsWith('fmeasure')));
    const threshold = options.initialValueThreshold;
    if (threshold !== undefined && !Number.isFinite(threshold)) throw new Error(`initialValueThreshold must be a finite number (got ${threshold})`);
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
        this.print(`\nEpoch ${epoch + 1}: ${this.monitor} improved from ${fixed5(this.best)} to ${fixed5(current)}, saving model to ${this.filepath}`);
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
    if (!state || typeof state.best !== 'number') throw new Error(`resumeFrom needs a saved {best, bestEpoch} state (got ${JSON.stringify(state)})`);
    this.resumed = { best: state.best, bestEpoch: state.bestEpoch };
  }
}

/** Options of EpochCheckpoint. */
export interface EpochCheckpointOptions {
  /** Folder for model, optimiser and training state after every epoch (replaced each time). Default none: only timing. */
  dir?: string;
  /** Seconds of the epochs trained before (a resumed run's). Default none. */
  epochSeconds?: number[];
  /** More state to save with each epoch (a ModelCheckpoint's best value, say). */
  extraState?: () => Record<string, unknown>;
}

/**
 * The bookkeeping of a resumable training: after every epoch, the seconds its training steps took
 * (validation excluded) and, with a folder, a checkpoint that `train --resume` starts from (model,
 * optimiser, and the state {epoch, history, epochSeconds, …extraState}). Put it after callbacks
 * whose state it saves.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export class EpochCheckpoint implements Callback {
  readonly epochSeconds: number[];
  private stepMs = 0;
  private steps = 0;
  private epochStart = 0;
  private lastBatchEnd = 0;

  constructor(private readonly options: EpochCheckpointOptions = {}) {
    this.epochSeconds = [...(options.epochSeconds ?? [])];
  }

  /** Mean milliseconds per training step in this run (NaN before the first). */
  get msPerStep(): number {
    return this.steps ? this.stepMs / this.steps : NaN;
  }

  onEpochBegin(): void {
    this.epochStart = this.lastBatchEnd = Date.now();
  }

  onBatchEnd(): void {
    const now = Date.now();
    this.stepMs += now - this.lastBatchEnd;
    this.steps++;
    this.lastBatchEnd = now;
  }

  async onEpochEnd(epoch: number, _logs: Logs, ctx: TrainContext): Promise<void> {
    this.epochSeconds[epoch] = (this.lastBatchEnd - this.epochStart) / 1000;
    const { dir, extraState } = this.options;
    if (dir) {
      const state = { epoch: epoch + 1, history: ctx.history, epochSeconds: this.epochSeconds, ...extraState?.() };
      await saveModel(ctx.model, dir, { optimizer: ctx.optimizer, state });
    }
  }
}

/** Options of historyChart; the defaults draw KerasLMU's "Post-epoch training accuracies". */
export interface HistoryChartOptions {
  /** Series as [history key, legend name]. Default [['val_accuracy', 'Validation'], ['accuracy', 'Training']]. */
  series?: [string, string][];
  /** Default 'Post-epoch Training Accuracies'. */
  title?: string;
  /** Default 'Accuracy'. */
  yTitle?: string;
  /** Default [0.85, 1] (KerasLMU's ylim). */
  yRange?: [number, number];
  /** Epochs on the x axis, numbered from 1. Default: the history's. */
  epochs?: number;
  /** Display now. Default true. */
  display?: boolean;
}

/**
 * A history as a line chart by epoch (1-based, one tick per epoch): by default the training and
 * validation accuracy with the y axis from 0.85 to 1, as KerasLMU plots it.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function historyChart(history: History, options: HistoryChartOptions = {}): Figure {
  if (!history || !Array.isArray(history.epoch) || typeof history.history !== 'object') {
    throw new Error(`history must be {epoch: number[], history: {metric: number[]}} (got ${JSON.stringify(history)?.slice(0, 80)})`);
  }
  const pairs = options.series ?? [
    ['val_accuracy', 'Validation'],
    ['accuracy', 'Training'],
  ];
  const x = history.epoch.map((e) => e + 1);
  const series: LineSeries[] = [];
  for (const [key, name] of pairs) {
    const y = history.history[key];
    if (!Array.isArray(y)) throw new Error(`history has no '${key}' (it has: ${Object.keys(history.history).join(', ') || 'nothing'})`);
    series.push({ name, x, y, mode: 'lines+markers' });
  }
  const epochs = options.epochs ?? x.length;
  return lineChart({
    series,
    title: options.title ?? 'Post-epoch Training Accuracies',
    xTitle: 'Epoch',
    yTitle: options.yTitle ?? 'Accuracy',
    yRange: options.yRange ?? [0.85, 1],
    xTicks: Array.from({ length: Math.max(epochs, 1) }, (_, i) => i + 1),
    xRange: [0.5, Math.max(epochs, 1) + 0.5],
    display: options.display ?? true,
  });
}

/**
 * A callback that draws historyChart after every epoch into one notebook output, updated in
 * place (a line of text outside a notebook).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export class HistoryPlot implements Callback {
  private handle?: DisplayHandle;

  constructor(private readonly options: Omit<HistoryChartOptions, 'display'> = {}) {}

  onTrainBegin(): void {
    this.handle = newDisplayHandle();
  }

  onEpochEnd(_epoch: number, _logs: Logs, ctx: TrainContext): void {
    const fig = historyChart(ctx.history, { ...this.options, epochs: this.options.epochs ?? ctx.epochs, display: false });
    (this.handle ??= newDisplayHandle()).show(figureBundle(fig));
  }
}
