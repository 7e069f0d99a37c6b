/**
 * When does each model know? (notebooks/06-compare.ipynb): every model's per-step twin
 * (lib/models/per-step.ts) run on the first test digits, giving its class probabilities after
 * every input step; the mean probability of the true class against the share of the sequence
 * read; instructive digits picked from them; and one slider figure in which all seven models read
 * the same digit, each in its own pixel order.
 *
 * Every model was trained on its last step only: at an earlier step its readout (the LMUs' and the
 * EURNN's Dense, the TCN's linear layer, the LSTMs' softmax) is applied to a state it was never
 * trained to read, so the early probabilities show what the state holds, not a trained guess.
 */
import * as tf from '@tensorflow/tfjs';
import { positiveInteger } from '../checks';
import { loadMnist, Mnist, MNIST_PIXELS } from '../data/mnist';
import { scaleImages } from '../data/transforms';
import { digitDataUri } from '../plot/digit';
import { Figure, lineChart, PlotLayout, sliderFigure } from '../plot/charts';
import { LIGHT_TO_DARK_BLUES } from '../plot/matrix';
import { perStepModel } from '../models/per-step';
import { prepareImages } from '../data/pipeline';
import {
  compareInfo,
  CompareName,
  compareNames,
  comparePixelOrder,
  compareTestSet,
  loadCompareModel,
  missingWeights,
} from './compare';
import { compareColor } from './compare-figures';
import { toProbabilities } from './predictions';

/** One model's class probabilities after every step, on the first `count` test digits. */
export interface ModelSteps {
  name: CompareName;
  steps: number;
  featuresPerStep: number;
  /** [count, steps, 10] */
  probabilities: Float32Array;
  /**
   * The largest difference between the twin's last step and the model's own output (both as
   * probabilities), over all digits and classes: float32 rounding, or a bug.
   */
  lastStepDifference: number;
  /** Seconds the per-step pass took. */
  seconds: number;
}

/** What perStepComparison returns. */
export interface PerStepComparison {
  /** Digits: the first `count` standard test images. */
  count: number;
  labels: Int32Array;
  models: ModelSteps[];
  /** Models left out because their weights are missing, with the reason. */
  missing: { name: CompareName; why: string }[];
  /** The digits as 28×28 images in [0, 1], [count, 784]. */
  images28: Float32Array;
  /** The digits as the LSTMs read them, 14×14 in [0, 1], [count, 196]. */
  images14: Float32Array;
}

/** Options of perStepComparison. */
export interface PerStepOptions {
  /** Digits (the first of the standard test file). Default 1,000. */
  count?: number;
  /** Digits per batch (the LMU's hidden sequence is batch × 784 × 212 floats). Default 100. */
  batchSize?: number;
  mnist?: Mnist;
  /** Which models. Default all seven. */
  names?: CompareName[];
  /** Folder with one folder of weights per model. Default notebooks/weights. */
  weightsRoot?: string;
  /** Where progress lines go. Default nowhere. */
  log?: (line: string) => void;
}

/**
 * Every model's class probabilities after every input step on the first `count` standard test
 * digits, from its per-step twin, checked against the model itself: the twin's last step must
 * equal the model's output (lastStepDifference).
 * @see notebooks/06-compare.ipynb
 */
export async function perStepComparison(options: PerStepOptions = {}): Promise<PerStepComparison> {
  const mnist = options.mnist ?? (await loadMnist());
  const count = Math.min(positiveInteger('count', options.count ?? 1000), mnist.testLabels.length);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100);
  const names = options.names ?? compareNames();
  const say = options.log ?? (() => undefined);
  const models: ModelSteps[] = [];
  const missing: PerStepComparison['missing'] = [];
  for (const name of names) {
    const why = missingWeights(name, options.weightsRoot);
    if (why) {
      missing.push({ name, why });
      say(`${name}: weights missing (${why})`);
      continue;
    }
    const started = Date.now();
    const info = compareInfo(name);
    const model = loadCompareModel(name, options.weightsRoot);
    const twin = perStepModel(model);
    try {
      const data = await compareTestSet(name, { mnist, limit: count });
      const steps = data.steps;
      const probabilities = new Float32Array(count * steps * 10);
      let lastStepDifference = 0;
      let done = 0;
      await data.forEachBatch(batchSize, async ({ x, y }) => {
        const b = y.shape[0];
        const [seq, diff] = tf.tidy(() => {
          const all = toProbabilities(twin.apply(x, { training: false }) as tf.Tensor, info.outputs); // [b, steps, 10]
          const own = toProbabilities(model.apply(x, { training: false }) as tf.Tensor, info.outputs); // [b, 10]
          const last = all.slice([0, steps - 1, 0], [b, 1, 10]).reshape([b, 10]);
          return [all, tf.max(tf.abs(tf.sub(last, own)))];
        });
        try {
          probabilities.set((await seq.data()) as Float32Array, done * steps * 10);
          lastStepDifference = Math.max(lastStepDifference, (await diff.data())[0]);
        } finally {
          tf.dispose([seq, diff]);
        }
        done += b;
      });
      const seconds = (Date.now() - started) / 1000;
      models.push({ name, steps, featuresPerStep: data.features, probabilities, lastStepDifference, seconds });
      say(
        `${name}: ${steps} steps × ${count} digits in ${seconds.toFixed(1)} s; last step vs model output: ${lastStepDifference.toExponential(1)}`,
      );
    } finally {
      twin.dispose();
      model.dispose();
    }
  }
  // the digits as 14×14 models read them (resized, bilinear), for their panels
  const small = prepareImages({
    images: mnist.testImages.subarray(0, count * MNIST_PIXELS),
    labels: Int32Array.from(mnist.testLabels.subarray(0, count)),
  });
  return {
    count,
    labels: Int32Array.from(mnist.testLabels.subarray(0, count)),
    models,
    missing,
    images28: scaleImages(mnist.testImages.subarray(0, count * MNIST_PIXELS)),
    images14: small.images,
  };
}

function checkIndex(ps: PerStepComparison, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= ps.count)
    throw new Error(`digit index must be an integer in [0, ${ps.count - 1}] (got ${index})`);
}

/** Probabilities of digit i after step t (0-based) of a model. */
function at(m: ModelSteps, i: number, t: number): Float32Array {
  const o = (i * m.steps + t) * 10;
  return m.probabilities.subarray(o, o + 10);
}

function argmax(p: ArrayLike<number>): number {
  let best = 0;
  for (let k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
  return best;
}

/**
 * A model's mean probability of the true class after each step, over the digits: [steps].
 * @see notebooks/06-compare.ipynb
 */
export function meanTrueClassProbability(m: ModelSteps, labels: Int32Array): Float64Array {
  const count = labels.length;
  if (m.probabilities.length !== count * m.steps * 10)
    throw new Error(
      `${m.name}: probabilities hold ${m.probabilities.length} values, not ${count} digits × ${m.steps} steps × 10`,
    );
  const mean = new Float64Array(m.steps);
  for (let i = 0; i < count; i++) for (let t = 0; t < m.steps; t++) mean[t] += at(m, i, t)[labels[i]];
  for (let t = 0; t < m.steps; t++) mean[t] /= count;
  return mean;
}

/**
 * The step (1-based) from which a model's prediction is the label and stays so to the end, or
 * null when its last prediction is wrong.
 * @see notebooks/06-compare.ipynb
 */
export function decisionStep(m: ModelSteps, label: number, index: number): number | null {
  if (argmax(at(m, index, m.steps - 1)) !== label) return null;
  let t = m.steps - 1;
  while (t > 0 && argmax(at(m, index, t - 1)) === label) t--;
  return t + 1;
}

/** When a model settles on its final, right answer, over the digits it gets right. */
export interface Settling {
  name: CompareName;
  steps: number;
  /** Digits it gets right at the last step, of `count`. */
  right: number;
  /** Shares of its sequence after which it keeps the right answer: 10th percentile, median, 90th. */
  p10: number;
  median: number;
  p90: number;
}

/**
 * For every model, the share of its sequence after which it keeps its right answer (decisionStep
 * over the steps), summarised over the digits it gets right.
 * @see notebooks/06-compare.ipynb
 */
export function settlingShares(ps: PerStepComparison): Settling[] {
  return ps.models.map((m) => {
    const shares: number[] = [];
    for (let i = 0; i < ps.count; i++) {
      const s = decisionStep(m, ps.labels[i], i);
      if (s !== null) shares.push(s / m.steps);
    }
    shares.sort((a, b) => a - b);
    const q = (f: number) => (shares.length ? shares[Math.round(f * (shares.length - 1))] : NaN);
    return { name: m.name, steps: m.steps, right: shares.length, p10: q(0.1), median: q(0.5), p90: q(0.9) };
  });
}

/** A digit picked for the slider figure, and why. */
export interface DigitChoice {
  index: number;
  label: number;
  why: string;
}

const pct1 = (f: number) => `${(100 * f).toFixed(1)}%`;

/**
 * Two instructive digits among those computed. `early`: of the digits every model gets right, the
 * one whose true class has the largest probability on average over all models and all steps
 * (each model's steps weighted as shares of its sequence), i.e. the one the models know earliest
 * and most firmly. `disagree`: the one on whose final answer the models split most (the most
 * distinct answers, then the most even split between right and wrong, then the lowest index).
 * @see notebooks/06-compare.ipynb
 */
export function instructiveDigits(ps: PerStepComparison): { early: DigitChoice; disagree: DigitChoice } {
  if (ps.models.length === 0) throw new Error('no per-step predictions (all weights missing)');
  let early: { index: number; score: number } | undefined;
  let disagree: { index: number; distinct: number; balance: number } | undefined;
  for (let i = 0; i < ps.count; i++) {
    const label = ps.labels[i];
    const finals = ps.models.map((m) => argmax(at(m, i, m.steps - 1)));
    const right = finals.filter((f) => f === label).length;
    if (right === finals.length) {
      let score = 0;
      for (const m of ps.models) {
        let area = 0;
        for (let t = 0; t < m.steps; t++) area += at(m, i, t)[label];
        score += area / m.steps;
      }
      score /= ps.models.length;
      if (!early || score > early.score) early = { index: i, score };
    }
    const distinct = new Set(finals).size;
    const balance = Math.min(right, finals.length - right);
    if (!disagree || distinct > disagree.distinct || (distinct === disagree.distinct && balance > disagree.balance))
      disagree = { index: i, distinct, balance };
  }
  if (!early) throw new Error(`no digit among the first ${ps.count} is right for every model`);
  const e = early;
  const d = disagree!;
  const settled = ps.models
    .map((m) => `${m.name} ${pct1(decisionStep(m, ps.labels[e.index], e.index)! / m.steps)}`)
    .join(', ');
  const finals = ps.models.map((m) => `${m.name} ${argmax(at(m, d.index, m.steps - 1))}`).join(', ');
  return {
    early: {
      index: e.index,
      label: ps.labels[e.index],
      why:
        `every model gets this ${ps.labels[e.index]} right, and its mean probability over all models and steps ` +
        `(${e.score.toFixed(2)}) is the highest of the ${ps.count} digits; each keeps the right answer from: ${settled} of its sequence`,
    },
    disagree: {
      index: d.index,
      label: ps.labels[d.index],
      why: `label ${ps.labels[d.index]}; final answers ${finals}: ${d.distinct} different answers, the most among the ${ps.count} digits`,
    },
  };
}

/**
 * The mean probability of the true class against the share of the sequence read, one line per
 * model (the 784-step models, lstm-pixel's 196 steps and lstm-row's 14 on one axis); `xRange`
 * zooms, e.g. [0.95, 1] for the last 5%. To keep notebooks small, sequences longer than 200 steps
 * are drawn at every 4th step (whole rows of 28 fall on them) and at every one of their last 28,
 * and only the steps inside `xRange` are kept.
 * @see notebooks/06-compare.ipynb
 */
export function trueClassFigure(
  ps: PerStepComparison,
  options: { xRange?: [number, number]; display?: boolean } = {},
): Figure {
  if (ps.models.length === 0) throw new Error('no per-step predictions (all weights missing)');
  const [lo, hi] = options.xRange ?? [0, 1];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi))
    throw new Error(`xRange must be [low, high] with low < high (got ${JSON.stringify(options.xRange)})`);
  return lineChart({
    series: ps.models.map((m) => {
      const mean = meanTrueClassProbability(m, ps.labels);
      const kept = Array.from({ length: m.steps }, (_, t) => t).filter((t) => {
        const x = (t + 1) / m.steps;
        const stride = m.steps <= 200 ? 1 : 4;
        const drawn = stride === 1 || (t + 1) % stride === 0 || t >= m.steps - 28;
        // one drawn step before the range, so that the line enters from its edge
        return drawn && x >= lo - stride / m.steps && x <= hi;
      });
      return {
        name: `${m.name} (${m.steps} steps)`,
        x: kept.map((t) => +((t + 1) / m.steps).toFixed(5)),
        y: kept.map((t) => +mean[t].toFixed(4)),
        color: compareColor(m.name),
        mode: m.steps < 50 ? ('lines+markers' as const) : ('lines' as const),
      };
    }),
    title: `mean probability of the true class after each step (${ps.count} test digits)`,
    xTitle: 'share of the sequence read',
    yTitle: 'mean probability of the true class',
    yRange: [0, 1],
    xRange: [lo, hi],
    display: options.display,
  });
}

/** Models that show the same revealed image: the same side, pixel order and pixels per step. */
interface View {
  names: CompareName[];
  side: number;
  steps: number;
  featuresPerStep: number;
  order?: Int32Array;
}

function views(ps: PerStepComparison): View[] {
  const byKey = new Map<string, View>();
  for (const m of ps.models) {
    const info = compareInfo(m.name);
    const key = `${info.side}|${info.pixelOrder}|${info.featuresPerStep}`;
    const v = byKey.get(key);
    if (v) v.names.push(m.name);
    else
      byKey.set(key, {
        names: [m.name],
        side: info.side,
        steps: m.steps,
        featuresPerStep: m.featuresPerStep,
        order: comparePixelOrder(m.name),
      });
  }
  return [...byKey.values()];
}

/** Options of whenDoesItKnowFigure. */
export interface WhenDoesItKnowOptions {
  /** Slider positions over the sequence, each 1/positions of it. Default 28 (one row of 28 of 784 pixels). */
  positions?: number;
  /**
   * The last of those shares split into this many positions more, since the models whose
   * readouts only ever saw the last step change their answer there. Default 14 (every other one
   * of the last 28 pixels of 784, its last row); 1 for none.
   */
  finalSteps?: number;
  /** The position shown first, as a share of the sequence. Default 0.25. */
  start?: number;
  display?: boolean;
}

/**
 * The slider figure: one position per 1/`positions` of the sequence (the last share split into
 * `finalSteps`); at each, the digit as each pixel order has revealed it so far (read pixels grey
 * to white, unread black) and a heatmap of every model's class probabilities after the steps it
 * has read by then.
 * @see notebooks/06-compare.ipynb
 */
export function whenDoesItKnowFigure(
  ps: PerStepComparison,
  index: number,
  options: WhenDoesItKnowOptions = {},
): Figure {
  if (ps.models.length === 0) throw new Error('no per-step predictions (all weights missing)');
  checkIndex(ps, index);
  const positions = positiveInteger('positions', options.positions ?? 28);
  const finalSteps = positiveInteger('finalSteps', options.finalSteps ?? 14);
  const start = options.start ?? 0.25;
  if (!(start >= 0 && start <= 1)) throw new Error(`start must be a share of the sequence in [0, 1] (got ${start})`);
  const shares = [
    ...Array.from({ length: positions - 1 }, (_, j) => (j + 1) / positions),
    ...Array.from({ length: finalSteps }, (_, i) => (positions - 1) / positions + (i + 1) / (positions * finalSteps)),
  ];
  const label = ps.labels[index];
  const shown = views(ps);
  const classes = Array.from({ length: 10 }, (_, c) => (c === label ? `${c} (label)` : String(c)));
  const names = ps.models.map((m) => m.name);
  // steps read by a share f of a sequence of T steps (rounded up; the tolerance absorbs k/T's rounding)
  const stepAt = (steps: number, f: number) => Math.min(steps, Math.max(1, Math.ceil(f * steps - 1e-9)));
  const images = shown.map((v) => {
    const pixels = v.side * v.side;
    const base = (v.side === 28 ? ps.images28 : ps.images14).subarray(index * pixels, (index + 1) * pixels);
    return { v, base, pixels };
  });
  const width = 1 / images.length;
  const percent = (f: number) => `${+(100 * f).toFixed(1)}%`;
  const steps = shares.map((f) => {
    const z = ps.models.map((m) => Array.from(at(m, index, stepAt(m.steps, f) - 1), (p) => +p.toFixed(2)));
    const layoutImages = images.map(({ v, base, pixels }, g) => {
      const revealed = new Float32Array(pixels).fill(-1); // unread: black
      const read = Math.min(pixels, stepAt(v.steps, f) * v.featuresPerStep);
      for (let s = 0; s < read; s++) {
        const p = v.order ? v.order[s] : s;
        revealed[p] = base[p];
      }
      const scale = Math.round(84 / v.side);
      return {
        source: digitDataUri(revealed, { width: v.side, height: v.side, valueRange: [-1, 1], scale }),
        x: g * width + width * 0.1,
        y: 1,
        sizex: width * 0.8,
        sizey: 0.33,
      };
    });
    const detail = [...new Set(ps.models.map((m) => m.steps))].map((t) => `${stepAt(t, f)} of ${t} steps`).join(', ');
    return {
      label: percent(f),
      traces: [
        {
          type: 'heatmap',
          z,
          x: classes,
          y: names,
          zmin: 0,
          zmax: 1,
          colorscale: LIGHT_TO_DARK_BLUES,
          texttemplate: '%{z:.2f}',
          textfont: { size: 10 },
        },
      ],
      images: layoutImages,
      title: `test digit ${index} (label ${label}) after ${percent(f)} of the sequence: ${detail}`,
    };
  });
  let active = 0;
  shares.forEach((f, j) => {
    if (Math.abs(f - start) < Math.abs(shares[active] - start)) active = j;
  });
  const layout: PlotLayout = {
    height: 780,
    xaxis: { domain: [0, 1], type: 'category', title: { text: 'class' } },
    yaxis: { domain: [0, 0.5], type: 'category', autorange: 'reversed' },
    margin: { t: 70, l: 110 },
    title: { font: { size: 13 } },
    annotations: images.map(({ v }, g) => ({
      text: `${v.names.join(', ')}<br>${compareInfo(v.names[0]).pixelOrder}<br>${v.side}×${v.side}`,
      xref: 'paper',
      yref: 'paper',
      x: g * width + width / 2,
      y: 0.655,
      xanchor: 'center',
      yanchor: 'top',
      showarrow: false,
      font: { size: 10 },
    })),
  };
  const fig = sliderFigure({ steps, layout, active, prefix: 'sequence read: ', display: false });
  // only the probabilities, the digits' pixels and the title change from step to step: update
  // those alone, so that each step does not repeat the heatmap's labels and colour scale or the
  // images' placement (the figure stays small enough for a notebook)
  for (const step of (fig.layout.sliders as { steps: { args: Record<string, unknown>[] }[] }[])[0].steps) {
    const [restyle, relayout] = step.args;
    const sources = (relayout.images as { source: string }[]).map((im, g) => [`images[${g}].source`, im.source]);
    step.args = [{ z: restyle.z }, { ...Object.fromEntries(sources), 'title.text': relayout['title.text'] }];
  }
  if (options.display ?? true) fig.show();
  return fig;
}
