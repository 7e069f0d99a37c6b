/**
 * A training history (Keras's `History`: the epochs run and each metric's value per epoch) and
 * its chart: drawn once, or redrawn in place after every epoch by the HistoryPlot callback.
 */
import { ensurePlotlyAsset, Figure, figureBundle, lineChart, LineSeries } from './charts';
import { DisplayHandle, newDisplayHandle } from './display';
import type { History } from '../history';
export type { History } from '../history';

/** Options of historyChart. */
export interface HistoryChartOptions {
  /** Series as [history key, legend name]. Default [['val_accuracy', 'Validation'], ['accuracy', 'Training']]. */
  series?: [string, string][];
  /** Default none. */
  title?: string;
  /** Default 'Accuracy'. */
  yTitle?: string;
  /**
   * The y range when every value drawn lies inside it (KerasLMU's notebook passes [0.85, 1], its
   * ylim), else the range fitted to the data: a short run's accuracies below 0.85 would otherwise
   * be drawn off the chart. Default: fitted to the data.
   */
  yRange?: [number, number];
  /**
   * Epochs on the x axis, numbered from 1: at least this many (a training's planned epochs, so
   * the axis does not grow while it runs), and never fewer than the history holds. Default: the history's.
   */
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
  if (options.epochs !== undefined && !(Number.isInteger(options.epochs) && options.epochs >= 0)) {
    throw new Error(`epochs must be a non-negative integer (got ${String(options.epochs)})`);
  }
  const epochs = Math.max(options.epochs ?? 0, x.length === 0 ? 0 : Math.max(...x));
  const values = series.flatMap((s) => Array.from(s.y)).filter(Number.isFinite);
  const fits = (r: [number, number]) => values.every((v) => v >= r[0] && v <= r[1]);
  return lineChart({
    series,
    title: options.title,
    xTitle: 'Epoch',
    yTitle: options.yTitle ?? 'Accuracy',
    yRange: options.yRange && fits(options.yRange) ? options.yRange : undefined,
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
    ensurePlotlyAsset();
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
