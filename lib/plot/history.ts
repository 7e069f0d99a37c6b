/**
 * A training history (Keras's `History`: the epochs run and each metric's value per epoch) and
 * its chart: drawn once, or redrawn in place after every epoch by the HistoryPlot callback.
 */
import { Figure, figureBundle, lineChart, LineSeries } from './charts';
import { DisplayHandle, newDisplayHandle } from './display';

/**
 * Keras-style history: `history.loss[e]` is epoch e's training loss. A step-counted training
 * (lib/train/loop.ts) records its validations instead, `step[i]` being where `history.val_loss[i]`
 * was measured.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export interface History {
  epoch: number[];
  history: Record<string, number[]>;
  /** Step-counted training: the step before which each validation ran. */
  step?: number[];
}

/** Options of historyChart. */
export interface HistoryChartOptions {
  /** Series as [history key, legend name]. Default [['val_accuracy', 'Validation'], ['accuracy', 'Training']]. */
  series?: [string, string][];
  /** Default none. */
  title?: string;
  /** Default 'Accuracy'. */
  yTitle?: string;
  /** Default: fitted to the data (KerasLMU's notebook passes [0.85, 1], its ylim). */
  yRange?: [number, number];
  /** Epochs on the x axis, numbered from 1. Default: the history's. */
  epochs?: number;
  /** Display now. Default true. */
  display?: boolean;
}

/**
 * A history as a line chart by epoch (1-based, one tick per epoch): by default the training and
 * validation accuracy.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function historyChart(history: History, options: HistoryChartOptions = {}): Figure {
  if (!history || !Array.isArray(history.epoch) || typeof history.history !== 'object') {
    throw new Error(
      `history must be {epoch: number[], history: {metric: number[]}} (got ${JSON.stringify(history)?.slice(0, 80)})`,
    );
  }
  const pairs = options.series ?? [
    ['val_accuracy', 'Validation'],
    ['accuracy', 'Training'],
  ];
  const x = history.epoch.map((e) => e + 1);
  const series: LineSeries[] = [];
  for (const [key, name] of pairs) {
    const y = history.history[key];
    if (!Array.isArray(y))
      throw new Error(`history has no '${key}' (it has: ${Object.keys(history.history).join(', ') || 'nothing'})`);
    series.push({ name, x, y, mode: 'lines+markers' });
  }
  const epochs = options.epochs ?? x.length;
  return lineChart({
    series,
    title: options.title,
    xTitle: 'Epoch',
    yTitle: options.yTitle ?? 'Accuracy',
    yRange: options.yRange,
    xTicks: Array.from({ length: Math.max(epochs, 1) }, (_, i) => i + 1),
    xRange: [0.5, Math.max(epochs, 1) + 0.5],
    display: options.display ?? true,
  });
}

/**
 * A training callback (lib/train/loop.ts) that draws historyChart after every epoch into one
 * notebook output, updated in place (a line of text outside a notebook).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export class HistoryPlot {
  private handle?: DisplayHandle;

  constructor(private readonly options: Omit<HistoryChartOptions, 'display'> = {}) {}

  onTrainBegin(): void {
    this.handle = newDisplayHandle();
  }

  // the loop's TrainContext, of which this reads only these two (plot/ does not import train/)
  onEpochEnd(_epoch: number, _logs: Record<string, number>, ctx: { history: History; epochs?: number }): void {
    const fig = historyChart(ctx.history, {
      ...this.options,
      epochs: this.options.epochs ?? ctx.epochs,
      display: false,
    });
    (this.handle ??= newDisplayHandle()).show(figureBundle(fig));
  }
}
