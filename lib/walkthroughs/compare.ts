/**
 * The comparison of the trained models (notebooks/06-compare.ipynb, CLI `compare`): every model the
 * registry ships, evaluated with its shipped weights on the standard 10,000 MNIST test images with
 * its own preprocessing, beside what its training log records (budget, time), what its original
 * published, and the PyTorch peer's step time from a bench record in the repository. Figures on
 * the comparison are in compare-figures.ts, per-step predictions in compare-steps.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { positiveInteger } from '../checks';
import type { SequenceDataset } from '../data/batches';
import { loadMnist } from '../data/mnist';
import { psmnistPermutation } from '../data/random';
import { showTable, TableOptions } from '../plot/table';
import { shippedWeightsDir } from '../train/saving';
import { readBenchRecord } from './bench-record';
import { trainingBudget } from './budget';
import { accuracyOf, predictClasses, Predictions } from './predictions';
import { getTrainedModel, TRAINED_MODELS, TrainedModel } from './registry';
import { loadTrained } from './run';
import type {
  InputDescription,
  OutputKind,
  OwnTestSet,
  PublishedFigure,
  TestSetOptions,
  TrainingBudget,
} from './walkthrough';

// ---- the models ----------------------------------------------------------------------------------

/** A shipped model's name (notebooks/weights/<name>/); TRAINED_MODELS lists them. */
export type CompareName = string;

/** Everything the comparison shows of a model besides its weights and log. */
export interface CompareInfo extends InputDescription {
  model: TrainedModel;
  name: CompareName;
  title: string;
  notebook: string;
  outputs: OutputKind;
  /** Batch size of the walkthrough's own evaluation (the same here, so that the numbers match `eval`). */
  evalBatchSize: number;
  published: PublishedFigure;
  /** The bench entry whose step times apply: its walkthrough's (tcn-permuted has the same step as tcn). */
  bench: string;
  caveats: string[];
}

/**
 * The names of the models compared, in the registry's order.
 * @see notebooks/06-compare.ipynb
 */
export function compareNames(): CompareName[] {
  return TRAINED_MODELS.map((m) => m.name);
}

/** A model's config: its walkthrough's defaults with the overrides it was trained with. */
function configOf(m: TrainedModel) {
  return m.walkthrough.config(m.overrides);
}

/**
 * What the comparison shows of a model: its input, output, evaluation batch, published figure and caveats.
 * @see notebooks/06-compare.ipynb
 */
export function compareInfo(name: CompareName): CompareInfo {
  const m = getTrainedModel(name);
  const w = m.walkthrough;
  return {
    ...w.input(configOf(m)),
    model: m,
    name: m.name,
    title: m.title,
    notebook: w.notebook,
    outputs: w.outputs,
    evalBatchSize: w.evalBatchSize,
    published: m.published,
    bench: w.name,
    caveats: m.caveats,
  };
}

function checkNames(names: readonly unknown[] | undefined): CompareName[] {
  if (names === undefined) return compareNames();
  if (!Array.isArray(names) || names.length === 0)
    throw new Error(`names must be a non-empty array of model names (got ${JSON.stringify(names)})`);
  return names.map((n) => getTrainedModel(n as string).name);
}

/**
 * The folder of a model's weights: `<weightsRoot>/<name>` (default notebooks/weights/<name>).
 * @see notebooks/06-compare.ipynb
 */
export function weightsDir(name: CompareName, weightsRoot?: string): string {
  return weightsRoot === undefined ? shippedWeightsDir(name) : path.join(path.resolve(weightsRoot), name);
}

/**
 * The model's architecture as its walkthrough builds it (no trained weights).
 * @see notebooks/06-compare.ipynb
 */
export function buildCompareModel(name: CompareName): tf.LayersModel {
  const m = getTrainedModel(name);
  return m.walkthrough.buildModel(configOf(m));
}

/**
 * Why a model's weights cannot be loaded (the missing file), or undefined when they can.
 * @see notebooks/06-compare.ipynb
 */
export function missingWeights(name: CompareName, weightsRoot?: string): string | undefined {
  const dir = weightsDir(getTrainedModel(name).name, weightsRoot);
  for (const file of ['model.json', 'weights.bin']) {
    if (!fs.existsSync(path.join(dir, file))) return `${path.join(dir, file)} does not exist`;
  }
  return undefined;
}

/**
 * The model with its trained weights (default the shipped ones); a missing file is named.
 * @see notebooks/06-compare.ipynb
 */
export function loadCompareModel(name: CompareName, weightsRoot?: string): tf.LayersModel {
  const m = getTrainedModel(name);
  return loadTrained(m.walkthrough, { dir: weightsDir(m.name, weightsRoot), config: m.overrides }).model;
}

/** Options of the functions that load test images. */
export type CompareDataOptions = TestSetOptions;

/**
 * The standard MNIST test images (the first `limit`, in file order) as the model reads them,
 * prepared by its own walkthrough's loader.
 * @see notebooks/06-compare.ipynb
 */
export async function compareTestSet(name: CompareName, options: CompareDataOptions = {}): Promise<SequenceDataset> {
  const m = getTrainedModel(name);
  return m.walkthrough.standardTestSet(configOf(m), options);
}

/**
 * The walkthrough's own test set where it differs from the standard 10,000 (EURNN's split, the
 * LSTMs' 1,000 shuffled test images), else undefined. With `limit`, as its `eval --limit` takes it.
 * @see notebooks/06-compare.ipynb
 */
export async function compareOwnTestSet(
  name: CompareName,
  options: CompareDataOptions = {},
): Promise<OwnTestSet | undefined> {
  const m = getTrainedModel(name);
  return m.walkthrough.ownTestSet?.(configOf(m), options);
}

/**
 * The pixel order a model reads its digits in: RandomState(0).permutation(784) for the permuted
 * task, else undefined (image order).
 * @see notebooks/06-compare.ipynb
 */
export function comparePixelOrder(name: CompareName): Int32Array | undefined {
  return compareInfo(name).task === 'permuted' ? psmnistPermutation(0) : undefined;
}

// ---- the table -----------------------------------------------------------------------------------

const grouped = (n: number) => n.toLocaleString('en-US');

/** One row of the comparison (`compare --json` prints an array of these). */
export interface CompareRow {
  name: CompareName;
  title: string;
  notebook: string;
  task: 'sequential' | 'permuted';
  input: { side: number; steps: number; featuresPerStep: number; pixelOrder: string; preprocessing: string };
  /** 'shipped' when the weights were found and evaluated; 'missing' otherwise, with the reason. */
  weights: 'shipped' | 'missing';
  missing?: string;
  params: number;
  /** Accuracy on the standard MNIST test images (all 10,000, or the first `limit`); null when missing. */
  testAccuracy: number | null;
  testImages: number;
  /** The walkthrough's own test figure where its test set differs, labelled. */
  ownTest: { label: string; accuracy: number | null; images: number } | null;
  training: TrainingBudget | null;
  published: PublishedFigure;
  /** The PyTorch peer's step time (and ours) from the bench record, where it has this model's entry. */
  torch: {
    peer: string;
    msPerStep: number;
    oursMsPerStep: number;
    ratio: number;
    record: string;
    note?: string;
  } | null;
  caveats: string[];
  /** Seconds this comparison spent evaluating the model. */
  evaluationSeconds: number;
}

/** Options of compareModels. */
export interface CompareOptions extends CompareDataOptions {
  /** Which models, in this order. Default all seven. */
  names?: CompareName[];
  /** Folder holding one folder of weights per model. Default notebooks/weights. */
  weightsRoot?: string;
  /** The bench record to read; null for none. Default the newest in benchmarks/. */
  benchRecord?: string | null;
  /** Where progress lines go (one per model). Default nowhere. */
  log?: (line: string) => void;
}

/** What compareModels returns: the table and every model's answers on the standard test images. */
export interface CompareResult {
  rows: CompareRow[];
  /** The standard test labels used (the first `limit`). */
  labels: Int32Array;
  /** By model: its answers on the standard test images; absent for missing weights. */
  predictions: Partial<Record<CompareName, Predictions>>;
}

/**
 * Evaluates every model's shipped weights on the standard MNIST test images (with its own
 * preprocessing and its walkthrough's batch size, so each accuracy equals `eval`'s) and on its own
 * test set where that differs, and builds the comparison table from the training logs, the
 * originals' published figures and the bench record. A model whose weights are missing gets a row
 * that says so. Models are loaded one at a time.
 * @see notebooks/06-compare.ipynb
 */
export async function compareModels(options: CompareOptions = {}): Promise<CompareResult> {
  const names = checkNames(options.names);
  if (options.limit !== undefined) positiveInteger('limit', options.limit);
  const mnist = options.mnist ?? (await loadMnist());
  const nTest = Math.min(options.limit ?? Infinity, mnist.testLabels.length);
  const labels = Int32Array.from(mnist.testLabels.subarray(0, nTest));
  const bench = options.benchRecord === null ? undefined : readBenchRecord(options.benchRecord);
  const say = options.log ?? (() => undefined);
  const rows: CompareRow[] = [];
  const predictions: CompareResult['predictions'] = {};
  for (const name of names) {
    const info = compareInfo(name);
    const started = Date.now();
    const missing = missingWeights(name, options.weightsRoot);
    const caveats = [...(info.model.walkthrough.caveats?.(mnist) ?? []), ...info.caveats];
    let params: number;
    let testAccuracy: number | null = null;
    let ownTest: CompareRow['ownTest'] = null;
    if (missing) {
      const model = buildCompareModel(name);
      params = model.countParams();
      model.dispose();
      const own = await compareOwnTestSet(name, { mnist, limit: options.limit });
      if (own) ownTest = { label: own.label, accuracy: null, images: own.data.size };
      say(`${name}: weights missing (${missing})`);
    } else {
      const model = loadCompareModel(name, options.weightsRoot);
      try {
        params = model.countParams();
        const test = await compareTestSet(name, { mnist, limit: options.limit });
        const p = await predictClasses(model, test, info.outputs, info.evalBatchSize);
        predictions[name] = p;
        testAccuracy = accuracyOf(p.classes, test.labels);
        const own = await compareOwnTestSet(name, { mnist, limit: options.limit });
        if (own) {
          const q = await predictClasses(model, own.data, info.outputs, info.evalBatchSize);
          ownTest = { label: own.label, accuracy: accuracyOf(q.classes, own.data.labels), images: own.data.size };
        }
      } finally {
        model.dispose();
      }
      const pct = (a: number) => `${(100 * a).toFixed(2)}%`;
      say(
        `${name}: ${pct(testAccuracy)} on ${grouped(nTest)} standard test images` +
          (ownTest ? `, ${pct(ownTest.accuracy!)} on its own ${grouped(ownTest.images)}` : '') +
          ` (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
    const entry = bench?.results.find((r) => r.name === info.bench);
    rows.push({
      name,
      title: info.title,
      notebook: info.notebook,
      task: info.task,
      input: {
        side: info.side,
        steps: info.steps,
        featuresPerStep: info.featuresPerStep,
        pixelOrder: info.pixelOrder,
        preprocessing: info.preprocessing,
      },
      weights: missing ? 'missing' : 'shipped',
      ...(missing ? { missing } : {}),
      params,
      testAccuracy,
      testImages: nTest,
      ownTest,
      training: trainingBudget(info.model.walkthrough, weightsDir(name, options.weightsRoot)) ?? null,
      published: info.published,
      torch:
        bench && entry?.torchPeer && entry.torchMsPerStep !== undefined
          ? {
              peer: entry.torchPeer,
              msPerStep: entry.torchMsPerStep,
              oursMsPerStep: entry.msPerStep,
              ratio: entry.msPerStep / entry.torchMsPerStep,
              record: bench.file,
              ...(info.bench !== name ? { note: `the ${info.bench} bench entry: the same training step` } : {}),
            }
          : null,
      caveats,
      evaluationSeconds: (Date.now() - started) / 1000,
    });
  }
  return { rows, labels, predictions };
}

const pct = (a: number | null | undefined, digits = 2) =>
  a === null || a === undefined || !Number.isFinite(a) ? null : `${(100 * a).toFixed(digits)}%`;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 120) return `${seconds.toFixed(0)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(0)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)}k`;
  return String(n);
}

/**
 * The comparison as table cells (the same for the CLI's text, the notebook's HTML and the README's
 * Markdown): one row per model, missing weights marked.
 * @see notebooks/06-compare.ipynb
 */
export function compareTableCells(rows: CompareRow[]): TableOptions {
  const columns = [
    'model',
    'task',
    'input',
    'params',
    'test acc. (standard)',
    'own test set',
    'training',
    'images seen',
    'training time',
    'ms/step',
    'published',
    'PyTorch peer ms/step',
  ];
  return {
    columns,
    align: ['left', 'left', 'left', 'right', 'right', 'left', 'left', 'right', 'right', 'right', 'left', 'right'],
    rows: rows.map((r) => {
      const t = r.training;
      return [
        r.name,
        r.task,
        `${r.input.side}×${r.input.side}, ${r.input.steps} × ${r.input.featuresPerStep}`,
        grouped(r.params),
        r.weights === 'missing'
          ? 'weights missing'
          : `${pct(r.testAccuracy)}${r.testImages !== 10000 ? ` (${grouped(r.testImages)})` : ''}`,
        r.ownTest ? `${pct(r.ownTest.accuracy) ?? 'missing'} (${grouped(r.ownTest.images)})` : null,
        t ? t.budget : 'no training log',
        t ? compact(t.imagesSeen) : null,
        t ? duration(t.seconds) : null,
        t && Number.isFinite(t.msPerStep)
          ? `${t.msPerStep.toFixed(0)}${t.msPerStepNote === 'from the log' ? '' : '*'}`
          : null,
        r.published.accuracy ?? 'none',
        r.torch ? `${r.torch.msPerStep.toFixed(0)} (${r.torch.peer}; ours ${r.torch.oursMsPerStep.toFixed(0)})` : null,
      ];
    }),
  };
}

/**
 * Shows the comparison table (HTML in a notebook, aligned text elsewhere).
 * @see notebooks/06-compare.ipynb
 */
export function showCompareTable(rows: CompareRow[]): void {
  showTable(compareTableCells(rows));
}
