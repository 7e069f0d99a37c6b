/**
 * Saving and loading as files: models, weights and optimiser state (tfjs's `file://` handler
 * lives in tfjs-node, which is optional here, so this is our own), the training state a
 * checkpoint holds, the training logs shipped beside trained weights and the shipped weights'
 * folders. Every folder is written whole or not at all, with a manifest that reading checks
 * (folders.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { projectPath } from '../root';
import { readableFolder, readJson, verifyFolder, writeFolderAtomically } from './folders';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
const OPTIMIZER_BIN = 'optimizer.bin';
const OPTIMIZER_JSON = 'optimizer.json';
const STATE_JSON = 'state.json';
function toArrayBuffer(data: ArrayBuffer | ArrayBuffer[]): ArrayBuffer {
  return Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
}

/** What a checkpoint folder holds besides the model: where training stands. */
export interface TrainingState {
  /** Epochs (or steps) completed. */
  epoch?: number;
  step?: number;
  [key: string]: unknown;
}

/**
 * Saves the model (topology + weights), and optionally the optimiser's state and a training state,
 * into `dir` (created; replaced atomically if it exists).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function saveModel(
  model: tf.LayersModel,
  dir: string,
  options: {
    optimizer?: tf.Optimizer;
    state?: TrainingState;
    /** More files to save in the same atomic write (a training log, a best model's weights). */
    files?: Record<string, Buffer | string>;
  } = {},
): Promise<void> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts) throw new Error('model.save produced no artifacts');
  const files: Record<string, Buffer | string> = {
    [MODEL_JSON]: JSON.stringify(
      {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: `seqmnist (tfjs ${tf.version_core})`,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
      },
      null,
      1,
    ),
    [WEIGHTS_BIN]: Buffer.from(toArrayBuffer(artifacts.weightData as ArrayBuffer)),
  };
  if (options.optimizer) {
    const named = await options.optimizer.getWeights();
    const { data, specs } = await tf.io.encodeWeights(named);
    named[0]?.tensor.dispose(); // the step counter is a new tensor; the rest are the optimiser's own variables
    files[OPTIMIZER_BIN] = Buffer.from(data);
    const extra = await exactOptimizerExtras(options.optimizer);
    files[OPTIMIZER_JSON] = JSON.stringify(
      { className: options.optimizer.getClassName(), specs, ...(extra ? { extra } : {}) },
      null,
      1,
    );
  }
  if (options.state) files[STATE_JSON] = JSON.stringify(options.state, null, 2);
  Object.assign(files, options.files);
  writeFolderAtomically(dir, files);
}

/** Adam's running powers of β1 and β2, which tfjs's getWeights leaves out. */
type AdamLike = tf.Optimizer & { accBeta1?: tf.Variable; accBeta2?: tf.Variable };

/**
 * State an optimiser's getWeights leaves out but its next steps read: Adam's β1^t and β2^t.
 * tfjs's setWeights recomputes them as pow(β, t + 1), which differs in the last bits from the
 * running product the uninterrupted run has, so a resumed run would drift; we save them exactly.
 */
async function exactOptimizerExtras(optimizer: tf.Optimizer): Promise<Record<string, number> | undefined> {
  const o = optimizer as AdamLike;
  if (!(o.accBeta1 instanceof tf.Variable) || !(o.accBeta2 instanceof tf.Variable)) return undefined;
  return { accBeta1: (await o.accBeta1.data())[0], accBeta2: (await o.accBeta2.data())[0] };
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

function readWeights(folder: string): { json: ModelJson; specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } {
  const dir = readableFolder(folder);
  verifyFolder(dir);
  const json = readJson<ModelJson>(path.join(dir, MODEL_JSON), 'model file');
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  const buffers = json.weightsManifest
    .flatMap((g) => g.paths)
    .map((p) => {
      const file = path.join(dir, p);
      if (!fs.existsSync(file)) throw new Error(`weights file not found: ${file}`);
      const b = fs.readFileSync(file);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    });
  const data = tf.io.concatenateArrayBuffers(buffers);
  const expectedBytes = specs.reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  if (data.byteLength !== expectedBytes) {
    throw new Error(
      `weights file ${path.join(dir, WEIGHTS_BIN)} holds ${data.byteLength} bytes; its manifest expects ${expectedBytes}`,
    );
  }
  return { json, specs, data };
}

/**
 * Loads a whole model saved by saveModel (the library's layers must be registered first: registerModelClasses()).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const { json, specs, data } = readWeights(dir);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(json.modelTopology, specs, data));
  } catch (e) {
    const m = /Unknown (layer|initializer): (\w+)/.exec((e as Error).message);
    if (m)
      throw new Error(
        `${dir}: unknown ${m[1]} class ${m[2]}: call registerModelClasses() (lib/models/classes.ts) first`,
      );
    throw e;
  }
}

const shapeText = (s: number[]) => `[${s.join(', ')}]`;

/**
 * Loads the weights saved in `dir` into `model`, in order, after checking that their number and
 * shapes match: a mismatch names the file and both shapes.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function loadWeightsInto(model: tf.LayersModel, dir: string): void {
  const { specs, data } = readWeights(dir);
  const file = path.join(dir, WEIGHTS_BIN);
  const weights = model.weights;
  if (specs.length !== weights.length) {
    throw new Error(
      `${file} holds ${specs.length} weight tensors, the model has ${weights.length}: ` +
        `file ${specs.map((s) => shapeText(s.shape)).join(' ')}; model ${weights.map((w) => shapeText(w.shape as number[])).join(' ')}`,
    );
  }
  specs.forEach((s, i) => {
    const expected = weights[i].shape as number[];
    if (shapeText(s.shape) !== shapeText(expected)) {
      throw new Error(
        `${file}: weight ${i} (${s.name}) has shape ${shapeText(s.shape)}, the model expects ${shapeText(expected)} (${weights[i].originalName})`,
      );
    }
  });
  const named = tf.io.decodeWeights(data, specs);
  model.setWeights(specs.map((s) => named[s.name]));
  Object.values(named).forEach((t) => t.dispose());
}

/** Restores an optimiser's state saved by saveModel; false when the folder holds none. */
export async function loadOptimizerState(optimizer: tf.Optimizer, folder: string): Promise<boolean> {
  const dir = readableFolder(folder);
  verifyFolder(dir);
  const specFile = path.join(dir, OPTIMIZER_JSON);
  if (!fs.existsSync(specFile)) return false;
  const { className, specs, extra } = readJson<{
    className: string;
    specs: tf.io.WeightsManifestEntry[];
    extra?: Record<string, number>;
  }>(specFile, 'optimizer state');
  if (className !== optimizer.getClassName()) {
    throw new Error(`${specFile} holds ${className} state, but the optimiser is ${optimizer.getClassName()}`);
  }
  const b = fs.readFileSync(path.join(dir, OPTIMIZER_BIN));
  const named = tf.io.decodeWeights(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength), specs);
  await optimizer.setWeights(specs.map((s) => ({ name: s.name, tensor: named[s.name] })));
  tf.dispose(Object.values(named)); // setWeights made variables of its own from them
  const o = optimizer as AdamLike;
  if (extra && o.accBeta1 && o.accBeta2) {
    tf.tidy(() => {
      o.accBeta1!.assign(tf.scalar(extra.accBeta1));
      o.accBeta2!.assign(tf.scalar(extra.accBeta2));
    });
  }
  return true;
}

/** The training state saved beside a checkpoint, or undefined when there is none. */
export function readTrainingState(folder: string): TrainingState | undefined {
  const dir = readableFolder(folder);
  const file = path.join(dir, STATE_JSON);
  if (!fs.existsSync(file)) return undefined;
  verifyFolder(dir);
  return readJson<TrainingState>(file, 'training state');
}

/**
 * Where the weights this project trained for a walkthrough are shipped: notebooks/weights/<name>/.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function shippedWeightsDir(name: string): string {
  return projectPath('notebooks', 'weights', name);
}

/** The file `train` writes beside the weights it ships: command, backend, timing, accuracy, history. */
export const TRAINING_LOG = 'training-log.json';

/**
 * The training log in `dir`, or a clear error naming the file and the command that writes it.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function readTrainingLog<T = Record<string, unknown>>(dir: string, name: string): T {
  const file = path.join(dir, TRAINING_LOG);
  if (!fs.existsSync(file) && fs.existsSync(path.join(readableFolder(dir), TRAINING_LOG))) {
    return readJson<T>(path.join(readableFolder(dir), TRAINING_LOG), `the training log of ${name}`);
  }
  if (!fs.existsSync(file)) {
    throw new Error(
      `no training log for ${name}: ${file} does not exist (written beside the weights by 'npm run seqmnist -- train ${name}'; or set doTraining = true)`,
    );
  }
  return readJson<T>(file, `the training log of ${name}`);
}

/** True when the walkthrough's trained weights and their training log are in the repository. */
export function hasShippedWeights(name: string): boolean {
  return fs.existsSync(path.join(shippedWeightsDir(name), TRAINING_LOG));
}
