/**
 * A walkthrough's training run and its trained models, for any walkthrough of the registry and
 * any caller (the CLI, a script, a notebook): `runTraining` takes the folders (locks, recovery of
 * interrupted saves, `resume` without a checkpoint), runs data → train → evaluate, and writes the
 * weights with their training log in one atomic write; `loadTrained` and `evaluateTrained` read
 * trained weights back, refusing another walkthrough's folder in one line.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { trainingDevice } from '../backend';
import { testKeepCheckpoint } from '../settings';
import { lockFolders } from '../train/lock';
import { peakRssMiB } from '../train/memory';
import { readableFolder, recoverFolder } from '../train/folders';
import {
  loadWeightsInto,
  readTrainingLog,
  readTrainingState,
  saveModel,
  shippedWeightsDir,
  TRAINING_LOG,
} from '../train/saving';
import type { TrainingLog } from './training-log';
import { CommonConfig, EvalResult, LENGTH_KEYS, Trained, Walkthrough } from './walkthrough';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any walkthrough of the registry, whatever its config
export type AnyWalkthrough = Walkthrough<any, any, any, any>;

/**
 * The fields of a training log that measure wall-clock time, and the process's peak memory, which
 * varies from run to run as well: the only ones in which a training that was killed and resumed
 * differs from one that ran through (the fault-injection test compares everything else byte for byte).
 */
export const WALL_CLOCK_FIELDS = [
  'date',
  'peakRssMiB',
  'wallSecondsThisRun',
  'msPerStep',
  'epochSeconds',
  'meanEpochSeconds',
  'validationSeconds',
  'totalSeconds',
  'timing',
] as const;

/**
 * What decides a training's result: its config without its length (epochs or steps), which a
 * resumed run may change. Saved with every checkpoint and compared on resume.
 */
export function configFingerprint(config: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if (!(LENGTH_KEYS as readonly string[]).includes(k) && v !== undefined) out[k] = v;
  }
  return out;
}

/** Mean of the epochs' seconds, as the logs record it. */
export function meanSeconds(seconds: number[]): number {
  return seconds.length ? seconds.reduce((s, v) => s + v, 0) / seconds.length : NaN;
}

/** A training's folders, locked for this process. */
interface TrainingFolders {
  out: string;
  checkpointDir: string;
  /** Whether to resume: asked for, and a checkpoint there. */
  resume: boolean;
  /** Removes the checkpoint (the training is saved in `out`) and releases the locks. */
  finish(): void;
  /** Releases the locks (on an error: the checkpoint stays to resume from). */
  release(): void;
}

/** The folders saved inside `dir` (a keras-lmu checkpoint's best/), leftovers of interrupted saves included. */
function nestedFolders(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const names = new Set<string>();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const m = /^\.(.+?)\.(new|old|tmp-.*)$/.exec(entry.name);
    names.add(m ? m[1] : entry.name);
  }
  return [...names].map((n) => path.join(dir, n));
}

/**
 * The start of a training: locks `out` and `checkpointDir` (a second training of the same folders
 * refuses, naming this one), puts back in order what an interrupted save left, and decides whether
 * to resume: `resume` without a checkpoint starts from the beginning, with one line saying so, so
 * that a job killed at any moment can always be restarted with the same command.
 */
function openFolders(command: string, resumeAsked: boolean, out: string, checkpointDir: string): TrainingFolders {
  const locks = lockFolders([out, checkpointDir], { command });
  try {
    for (const d of [out, checkpointDir]) recoverFolder(d);
    for (const d of nestedFolders(readableFolder(checkpointDir))) recoverFolder(d);
    let resume = resumeAsked;
    if (resume && !readTrainingState(checkpointDir)) {
      console.log(`no checkpoint in ${checkpointDir} yet: starting from the beginning`);
      resume = false;
    } else if (!resume && fs.existsSync(checkpointDir)) {
      // or a later resume would go on with that training's checkpoint until this one saves its first
      console.log(`starting afresh: removing the checkpoint of an earlier training in ${checkpointDir}`);
      fs.rmSync(checkpointDir, { recursive: true, force: true });
    }
    return {
      out,
      checkpointDir,
      resume,
      finish() {
        if (!testKeepCheckpoint()) fs.rmSync(checkpointDir, { recursive: true, force: true });
        locks.release();
      },
      release: () => locks.release(),
    };
  } catch (e) {
    locks.release();
    throw e;
  }
}

/** Options of runTraining. */
export interface RunOptions {
  /** Output folder for the weights and the training log. Default: the shipped weights' folder for the config. */
  out?: string;
  /** Continue from the checkpoint beside `out` (`<out>-checkpoint`), or start afresh where there is none. */
  resume?: boolean;
  /** The command the training log records. Default `npm run seqmnist -- train <name>` and the config's overrides as JSON. */
  command?: string;
}

/**
 * Trains a walkthrough with the defaults and `overrides` into `out` (default its shipped weights'
 * folder): data → train → evaluate, then the trained weights and `training-log.json` (command,
 * backend, device, threads, tfjs, date, parameters, the walkthrough's own fields, wall-clock time,
 * history) in one atomic write. A checkpoint beside `out` lets `resume` continue a killed run; it is
 * removed when the training ends. Returns the log.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function runTraining<C extends CommonConfig>(
  w: Walkthrough<C>,
  overrides: Partial<C> = {},
  options: RunOptions = {},
): Promise<TrainingLog> {
  const config = w.config(overrides);
  const out = path.resolve(options.out ?? shippedWeightsDir(w.weightsName(config)));
  const command =
    options.command ??
    `npm run seqmnist -- train ${w.name}${Object.keys(overrides).length ? ' ' + JSON.stringify(overrides) : ''}`;
  // beside the output folder, which is replaced whole at each save
  const folders = openFolders(command, options.resume ?? false, out, `${out}-checkpoint`);
  try {
    const startedAt = Date.now();
    const r = await w.run(config, { checkpointDir: folders.checkpointDir, resume: folders.resume });
    try {
      const { history, ...fields } = r.fields;
      const log = {
        walkthrough: w.name,
        command,
        backend: tf.getBackend(),
        device: trainingDevice(),
        threads: r.threads,
        peakRssMiB: Math.round(peakRssMiB()),
        tfjs: tf.version_core,
        date: new Date().toISOString(),
        params: r.model.countParams(),
        ...fields,
        wallSecondsThisRun: (Date.now() - startedAt) / 1000,
        history,
      } as unknown as TrainingLog;
      await saveModel(r.saved ?? r.model, out, {
        files: { [TRAINING_LOG]: JSON.stringify(log, null, 2) + '\n' },
      });
      console.log(`saved ${out} (model.json, weights.bin, ${TRAINING_LOG})`);
      for (const line of r.lines) console.log(line);
      folders.finish();
      return log;
    } finally {
      if (r.saved && r.saved !== r.model) r.saved.dispose();
      r.model.dispose();
    }
  } finally {
    folders.release();
  }
}

type SavedLayer = { class_name: string; config?: { batch_input_shape?: unknown } };

/** The layer classes of a saved model.json, in order, and its input shape. */
function savedLayout(dir: string): { classes: string[]; input?: unknown } | undefined {
  try {
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
    const layers = json?.modelTopology?.config?.layers as SavedLayer[];
    if (!Array.isArray(layers)) return undefined;
    return { classes: layers.map((l) => l.class_name), input: layers[0]?.config?.batch_input_shape };
  } catch {
    return undefined;
  }
}

/** The layer classes and input shape of a model as this library builds it, in model.json's terms. */
function builtLayout<C extends CommonConfig>(w: Walkthrough<C>, config: C): { classes: string[]; input?: unknown } {
  const model = w.buildModel(config);
  try {
    const json = model.toJSON(undefined, false) as unknown as { config: { layers: SavedLayer[] } };
    const layers = json.config.layers;
    return { classes: layers.map((l) => l.class_name), input: layers[0]?.config?.batch_input_shape };
  } finally {
    model.dispose();
  }
}

/**
 * A walkthrough's trained model: the weights in `dir` (default: the shipped ones for the config)
 * in a new model of the walkthrough, with the training log saved beside them. A missing file is
 * named with the command that trains it; a folder of another walkthrough is refused in one line;
 * nothing is left allocated when loading throws.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function loadTrained<C extends CommonConfig, L extends TrainingLog = TrainingLog>(
  w: Walkthrough<C, unknown, unknown, L>,
  options: { dir?: string; config?: Partial<C> } = {},
): Trained<L> {
  const config = w.config(options.config);
  const dir = path.resolve(options.dir ?? shippedWeightsDir(w.weightsName(config)));
  const file = path.join(readableFolder(dir), 'model.json');
  if (!fs.existsSync(file)) {
    const flags = w.evalKeys.filter((k) => config[k] === true).map((k) => ` --${k}`);
    throw new Error(
      `no trained weights for ${w.name}: ${path.join(dir, 'model.json')} does not exist (train with 'npm run seqmnist -- train ${w.name}${flags.join('')}', or set doTraining = true)`,
    );
  }
  const hasLog = fs.existsSync(path.join(readableFolder(dir), TRAINING_LOG));
  const log = hasLog ? readTrainingLog<L>(dir, w.name) : undefined;
  if (log && typeof log.walkthrough === 'string' && log.walkthrough !== w.name) {
    throw new Error(`${dir} holds weights of ${log.walkthrough}, not of ${w.name}`);
  }
  const model = w.buildModel(config);
  try {
    loadWeightsInto(model, dir);
  } catch (e) {
    model.dispose();
    // weights that do not fit: one line when the folder holds another model altogether
    const saved = savedLayout(readableFolder(dir));
    const built = builtLayout(w, config);
    if (saved && JSON.stringify(saved) !== JSON.stringify(built)) {
      throw new Error(
        `${dir} holds another model than ${w.name}'s (layers ${saved.classes.join(', ')}, input ${JSON.stringify(saved.input)}; expected ${built.classes.join(', ')}, input ${JSON.stringify(built.input)})`,
      );
    }
    throw e;
  }
  return { model, log, dir };
}

/**
 * Test accuracy of trained weights (default the shipped ones for the config) on the walkthrough's
 * own test set, the first `config.limit` images when given: what `eval` prints.
 * @see notebooks/06-compare.ipynb
 */
export async function evaluateTrained<C extends CommonConfig>(
  w: Walkthrough<C>,
  options: { dir?: string; config?: Partial<C>; progress?: string | false } = {},
): Promise<EvalResult> {
  const config = w.config(options.config);
  const { model } = loadTrained(w, { dir: options.dir, config: options.config });
  try {
    // without data, evaluate loads only what it tests on (not an augmented training set)
    return await w.evaluate(model, config, { progress: options.progress ?? false });
  } finally {
    model.dispose();
  }
}
