/**
 * Saving and loading as files: models, weights and optimiser state (tfjs's `file://` handler
 * lives in tfjs-node, which is optional here, so this is our own), the checkpoints a training
 * resumes from, and the training logs shipped beside trained weights.
 *
 * Crash consistency. A folder NAME is never changed in place; a save
 *   1. writes every file into a temporary sibling `.NAME.tmp-PID-RANDOM` (each file fsynced, a
 *      `manifest.json` with every file's size and SHA-256 written last, the folder fsynced),
 *   2. renames it to `.NAME.new` (complete by construction: nothing incomplete ever has that name),
 *   3. renames the current NAME to `.NAME.old`,
 *   4. renames `.NAME.new` to NAME and fsyncs the parent folder,
 *   5. removes `.NAME.old`.
 * A kill at any moment therefore leaves a complete version under a known name: NAME, or between
 * steps 3 and 4 `.NAME.new` (the newer) and `.NAME.old`. Readers take NAME, else `.NAME.new`, else
 * `.NAME.old` (readableFolder); the next save, or a training's start (recoverFolder), renames the
 * newest complete version back to NAME and removes the leftovers, printing one line saying so.
 * (Node has no renameat2(RENAME_EXCHANGE), and the shipped weights must stay plain folders, so
 * a symlink or pointer-file scheme would change the layout every reader and git sees.)
 * Files of the old folder that a save does not write (a keras-lmu checkpoint's best model) are
 * carried into the new one as hard links (copies where links fail), never modified in place.
 * Reading a folder with a manifest checks every file's size and checksum, so a truncated or
 * corrupted file is an error naming it, never a silently wrong model; folders saved before
 * manifests existed (the shipped weights) are read as before, with the weights' size check.
 * Single JSON files (writeJsonAtomically) go through a uniquely named, fsynced temporary file
 * renamed over the old one.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { History } from '../history';
import { fsyncDir, writeFileAtomically, writeFileDurably } from '../files';
import { projectPath } from '../root';
import { testSlowSaveMs } from '../settings';

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
const OPTIMIZER_BIN = 'optimizer.bin';
const OPTIMIZER_JSON = 'optimizer.json';
const STATE_JSON = 'state.json';
/** Every file of a saved folder with its size and SHA-256, written last. */
export const MANIFEST_JSON = 'manifest.json';

function toArrayBuffer(data: ArrayBuffer | ArrayBuffer[]): ArrayBuffer {
  return Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
}

/** Sleeps synchronously for the fault-injection tests (SEQMNIST_TEST_SLOW_SAVE_MS), so that kills land inside saves. */
function slowForTests(): void {
  const ms = testSlowSaveMs();
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** A manifest: every file of the folder (not of its subfolders) with its size and SHA-256. */
interface Manifest {
  format: 1;
  files: Record<string, { bytes: number; sha256: string }>;
}

/** The leftover names of folder `dir`'s saves. */
function siblings(dir: string): { parent: string; base: string; next: string; old: string; tmpPrefix: string } {
  const abs = path.resolve(dir);
  const parent = path.dirname(abs);
  const base = path.basename(abs);
  return {
    parent,
    base,
    next: path.join(parent, `.${base}.new`),
    old: path.join(parent, `.${base}.old`),
    tmpPrefix: `.${base}.tmp-`,
  };
}

/** A leftover of an interrupted save (never carried into a new version of a folder). */
const isLeftover = (name: string) => name.startsWith('.') && /\.(new|old|tmp-.*)$/.test(name);

/**
 * Carries `from/name` into `to/name` (recursively for folders): hard links, which share the
 * already durable data, or copies flushed to disk where linking fails.
 */
function carry(from: string, to: string, name: string): void {
  const src = path.join(from, name);
  const dst = path.join(to, name);
  if (fs.statSync(src).isDirectory()) {
    fs.mkdirSync(dst);
    for (const child of fs.readdirSync(src)) if (!isLeftover(child)) carry(src, dst, child);
    fsyncDir(dst);
    return;
  }
  try {
    fs.linkSync(src, dst);
  } catch {
    writeFileDurably(dst, fs.readFileSync(src));
  }
}

/**
 * The files a folder's manifest lists: its own, not those of its subfolders, which are saved (and
 * listed) on their own (a keras-lmu checkpoint's best/ is replaced between two checkpoints).
 */
function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .sort()
    .filter((name) => fs.statSync(path.join(dir, name)).isFile());
}

/**
 * Puts folder `dir` back in order after an interrupted save: with `dir` missing, the newest
 * complete version (`.NAME.new`, else `.NAME.old`) is renamed back to it; leftovers are removed.
 * Prints one line when it did anything (via `log`) and returns it. Call it with the folder
 * locked (a training's start, or a save).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function recoverFolder(dir: string, log: (line: string) => void = console.log): string | undefined {
  const { parent, base, next, old, tmpPrefix } = siblings(dir);
  if (!fs.existsSync(parent)) return undefined;
  const done: string[] = [];
  const tmps = fs.readdirSync(parent).filter((n) => n.startsWith(tmpPrefix));
  for (const t of tmps) fs.rmSync(path.join(parent, t), { recursive: true, force: true });
  if (tmps.length) done.push(`removed ${tmps.length} unfinished save${tmps.length > 1 ? 's' : ''}`);
  if (!fs.existsSync(dir)) {
    for (const [from, what] of [
      [next, 'the version an interrupted save had completed'],
      [old, 'the previous version, left by an interrupted save'],
    ] as const) {
      if (fs.existsSync(from)) {
        fs.renameSync(from, dir);
        done.push(`restored ${what} (${path.basename(from)})`);
        break;
      }
    }
  }
  for (const leftover of [next, old]) {
    if (fs.existsSync(leftover) && fs.existsSync(dir)) {
      fs.rmSync(leftover, { recursive: true, force: true });
      done.push(`removed ${path.basename(leftover)}`);
    }
  }
  if (!done.length) return undefined;
  fsyncDir(parent);
  const line = `recovered ${path.join(parent, base)} after an interrupted save: ${done.join(', ')}`;
  log(line);
  return line;
}

/**
 * The folder to read for `dir`: `dir` itself, or while a save is between its renames (or was
 * killed there) the complete version it left, `.NAME.new` or `.NAME.old`. Renames nothing.
 */
export function readableFolder(dir: string): string {
  if (fs.existsSync(dir)) return dir;
  const { next, old } = siblings(dir);
  return [next, old].find((d) => fs.existsSync(d)) ?? dir;
}

/**
 * Checks every file of a saved folder against its manifest (size, then SHA-256); folders saved
 * before manifests existed pass unchecked. A missing, truncated or changed file is an error
 * naming it.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function verifyFolder(dir: string): void {
  const file = path.join(dir, MANIFEST_JSON);
  if (!fs.existsSync(file)) return;
  const manifest = readJson<Manifest>(file, 'manifest');
  if (!manifest || typeof manifest.files !== 'object')
    throw new Error(`manifest ${file} lists no files: the folder cannot be checked`);
  for (const [name, want] of Object.entries(manifest.files)) {
    const f = path.join(dir, name);
    if (!fs.existsSync(f)) throw new Error(`${f} is missing (listed in ${file}): the folder is incomplete`);
    const b = fs.readFileSync(f);
    if (b.length !== want.bytes)
      throw new Error(`${f} is truncated or damaged: ${b.length} bytes, ${file} records ${want.bytes}`);
    if (sha256(b) !== want.sha256)
      throw new Error(`${f} is corrupted: its SHA-256 differs from the one ${file} records`);
  }
}

/**
 * Writes `files` into `dir` atomically (see the header): all of them appear together or none
 * does, files of the old folder it does not write are kept, and a manifest is added.
 */
function writeFolderAtomically(dir: string, files: Record<string, Buffer | string>): void {
  const { parent, base, next, old, tmpPrefix } = siblings(dir);
  fs.mkdirSync(parent, { recursive: true });
  recoverFolder(dir);
  const tmp = path.join(parent, `${tmpPrefix}${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  let current = '';
  try {
    current = 'the temporary folder';
    fs.mkdirSync(tmp);
    for (const [name, content] of Object.entries(files)) {
      current = name;
      writeFileDurably(path.join(tmp, name), content);
      slowForTests();
    }
    if (fs.existsSync(dir)) {
      for (const name of fs.readdirSync(dir)) {
        if (!(name in files) && name !== MANIFEST_JSON && !isLeftover(name)) {
          current = name;
          carry(dir, tmp, name);
        }
      }
    }
    current = MANIFEST_JSON;
    const manifest: Manifest = { format: 1, files: {} };
    for (const rel of listFiles(tmp)) {
      const b = fs.readFileSync(path.join(tmp, rel));
      manifest.files[rel] = { bytes: b.length, sha256: sha256(b) };
    }
    writeFileDurably(path.join(tmp, MANIFEST_JSON), JSON.stringify(manifest, null, 1));
    fsyncDir(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(
      `could not save ${path.join(parent, base)}: writing ${current} failed (${(e as Error).message}); the previous version is untouched`,
    );
  }
  try {
    fs.renameSync(tmp, next);
    slowForTests();
    if (fs.existsSync(dir)) {
      fs.renameSync(dir, old);
      slowForTests();
    }
    fs.renameSync(next, dir);
    fsyncDir(parent);
    slowForTests();
    fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    throw new Error(
      `could not put the new ${path.join(parent, base)} in place (${(e as Error).message}); a complete version is kept as ${readableFolder(dir)}`,
    );
  }
}

/**
 * Writes one JSON file atomically (lib/files.ts: a flushed temporary file renamed over the old one).
 */
export function writeJsonAtomically(file: string, value: unknown): void {
  writeFileAtomically(file, JSON.stringify(value, null, 2) + '\n');
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

function readJson<T>(file: string, what: string): T {
  if (!fs.existsSync(file)) throw new Error(`${what} not found: ${file}`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${file} (${(e as Error).message})`);
  }
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
 * Loads a whole model saved by saveModel (custom layers must be registered, i.e. the lib imported).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const { json, specs, data } = readWeights(dir);
  return tf.loadLayersModel(tf.io.fromMemory(json.modelTopology, specs, data));
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
  if (!state) throw new Error(`nothing to resume: ${path.join(dir, STATE_JSON)} not found`);
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

/**
 * Refuses to resume a checkpoint made by another run: `saved` and `current` are the settings that
 * decide the result (walkthrough, seed, data limit, …); a difference names both values. A
 * checkpoint from before these were recorded (no `saved`) is accepted.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function checkResumeSettings(
  dir: string,
  saved: Record<string, unknown> | undefined,
  current: Record<string, unknown>,
): void {
  if (!saved) return;
  const text = (v: unknown) => (v === undefined ? 'none' : JSON.stringify(v));
  const differ = Object.keys({ ...saved, ...current }).filter((k) => text(saved[k]) !== text(current[k]));
  if (differ.length) {
    throw new Error(
      `the checkpoint in ${dir} belongs to another training (${differ.map((k) => `${k} ${text(saved[k])}, not ${text(current[k])}`).join('; ')}): resume with the same settings, or delete it to start again`,
    );
  }
}

/** Where an epoch-counted training starts: from scratch, or where its checkpoint left off. */
export interface EpochStart {
  initialEpoch: number;
  history: History;
  /** Seconds of the epochs already trained. */
  epochSeconds: number[];
  /** The saved training state when resuming (for callbacks' own state). */
  state?: TrainingState;
}

/**
 * The start of an epoch-counted training: from scratch, or with `resume` from the checkpoint in
 * `dir` (weights and optimiser restored by resumeFrom; epochs, history and epoch times read back).
 * With `settings`, a checkpoint whose recorded `settings` differ is refused (checkResumeSettings).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export async function startEpochs(
  resume: boolean | undefined,
  dir: string | undefined,
  model: tf.LayersModel,
  optimizer: tf.Optimizer,
  epochs: number,
  settings?: Record<string, unknown>,
): Promise<EpochStart> {
  if (!resume) return { initialEpoch: 0, history: { epoch: [], history: {} }, epochSeconds: [] };
  if (settings && dir) checkResumeSettings(dir, readTrainingState(dir)?.settings as never, settings);
  const state = await resumeFrom(dir, model, optimizer);
  const initialEpoch = state.epoch ?? 0;
  console.log(resumeLine(dir!, `epoch ${initialEpoch} of ${epochs}`));
  return {
    initialEpoch,
    history: (state.history as History) ?? { epoch: [], history: {} },
    epochSeconds: (state.epochSeconds as number[]) ?? [],
    state,
  };
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
