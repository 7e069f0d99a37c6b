/**
 * Figures on the comparison (notebooks/06-compare.ipynb): accuracy against cost, learning curves
 * from the training logs, confusion matrices, the hardest digits and how often the models agree.
 */
import * as fs from 'fs';
import * as path from 'path';
import { positiveInteger } from '../checks';
import { Mnist, MNIST_PIXELS } from '../data/mnist';
import { scaleImages } from '../data/transforms';
import type { History } from '../history';
import { Figure, lineChart, showFigure } from '../plot/charts';
import { showDigits } from '../plot/digit';
import { heatmap, heatmapGrid } from '../plot/matrix';
import { labelledScatter } from '../plot/scatter';
import { showTable } from '../plot/table';
import { readTrainingLog, TRAINING_LOG } from '../train/saving';
import { trainingBudget } from './budget';
import { CompareName, compareNames, CompareResult, CompareRow, weightsDir } from './compare';
import { confusionMatrix } from './predictions';
import { getTrainedModel, TRAINED_MODELS } from './registry';
import type { LearningCurvePoints } from './walkthrough';

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const grouped = (n: number) => n.toLocaleString('en-US');

// ---- accuracy against cost ------------------------------------------------------------------------

/** Colours for models whose registry entry names none. */
const FALLBACK_COLORS = ['#e377c2', '#7f7f7f', '#bcbd22', '#aec7e8', '#ffbb78'];

/**
 * A model's colour, the same in every figure: its registry entry's.
 * @see notebooks/06-compare.ipynb
 */
export function compareColor(name: CompareName): string {
  const m = getTrainedModel(name);
  return m.color ?? FALLBACK_COLORS[TRAINED_MODELS.indexOf(m) % FALLBACK_COLORS.length];
}

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
    color: compareColor(r.name),
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
export interface LearningCurve extends LearningCurvePoints {
  name: CompareName;
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
  for (const name of options.names ?? compareNames()) {
    const m = getTrainedModel(name);
    const dir = weightsDir(m.name, options.weightsRoot);
    if (!fs.existsSync(path.join(dir, TRAINING_LOG))) continue;
    const log = readTrainingLog<Partial<EpochTrainingLog>>(dir, m.name);
    const budget = trainingBudget(m.walkthrough, dir)!;
    const points = m.walkthrough.learningCurve?.(log, budget) ?? epochCurve(log, m.curveMetric);
    curves.push({ name: m.name, ...points });
  }
  return curves;
}

/** The fields of an epoch-counted training's log that its learning curve reads. */
interface EpochTrainingLog {
  trainImages: number;
  epochSeconds: number[];
  history: History;
}

/**
 * An epoch-counted training's curve: after every epoch its validation accuracy (or where it has
 * none, its running training accuracy), against epoch × training images and the summed epoch times.
 */
function epochCurve(log: Partial<EpochTrainingLog>, metric?: string): LearningCurvePoints {
  const history = log.history?.history ?? {};
  const perEpoch = log.trainImages ?? 0;
  const epochSeconds = log.epochSeconds ?? [];
  const cumulative = epochSeconds.map((_, i) => sum(epochSeconds.slice(0, i + 1)));
  const useValidation = Array.isArray(history.val_accuracy);
  const accuracy = (useValidation ? history.val_accuracy : history.accuracy) ?? [];
  return {
    metric: useValidation
      ? (metric ?? 'validation accuracy')
      : 'training accuracy (running mean over each epoch; the original has no validation)',
    images: accuracy.map((_, i) => (i + 1) * perEpoch),
    seconds: accuracy.map((_, i) => cumulative[i] ?? NaN),
    accuracy,
  };
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
        color: compareColor(c.name),
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
