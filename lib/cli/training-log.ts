/**
 * What every `train` command shares: one writer of the training log (it records the command,
 * backend, device, threads, tfjs version, date, parameter count and wall-clock time of the run,
 * and the fields the walkthrough measured, and saves it with the trained model in one atomic
 * write), and the start and end of a training's folders (locks, recovery of interrupted saves,
 * `--resume` without a checkpoint, the checkpoint's removal at the end).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { trainingDevice } from '../backend';
import { testKeepCheckpoint } from '../settings';
import { lockFolders } from '../train/lock';
import { readTrainingState, recoverFolder, saveModel, TRAINING_LOG } from '../train/saving';
import type { TrainingLog } from '../walkthroughs/training-log';
import type { CliFlags, FlagName } from './args';

/**
 * The flags a training log records, in this order (`--out` and `--weights` name local folders;
 * `--resume` is left out: a resumed training ends with the same result, log included).
 */
const RECORDED_FLAGS: FlagName[] = ['epochs', 'steps', 'limit', 'permute', 'seed', 'clipnorm', 'fresh'];

/**
 * The fields of a training log that measure wall-clock time: the only ones in which a training
 * that was killed and resumed differs from one that ran through (the fault-injection test
 * compares everything else byte for byte).
 */
export const WALL_CLOCK_FIELDS = [
  'date',
  'wallSecondsThisRun',
  'msPerStep',
  'epochSeconds',
  'meanEpochSeconds',
  'validationSeconds',
  'totalSeconds',
  'timing',
] as const;

/**
 * The command line that ran a training, as its training log records it:
 * `npm run seqmnist -- train <name>` and the recorded flags that were given.
 */
export function trainCommandLine(name: string, flags: CliFlags): string {
  const given = RECORDED_FLAGS.filter((f) => flags[f] !== undefined && flags[f] !== false);
  const shown = given.map((f) => (flags[f] === true ? `--${f}` : `--${f} ${flags[f]}`));
  return [`npm run seqmnist -- train ${name}`, ...shown].join(' ');
}

/** The run a log describes: which walkthrough, the flags it was given, the trained model. */
export interface TrainingRun {
  name: string;
  flags: CliFlags;
  model: tf.LayersModel;
  /** Threads per training step, the main one included. */
  threads: number;
  /** Date.now() when the run started. */
  startedAt: number;
}

/** What the walkthrough measured: the base fields the writer cannot know, and its own. */
export type MeasuredFields<L extends TrainingLog> = Omit<
  L,
  'walkthrough' | 'command' | 'backend' | 'device' | 'threads' | 'tfjs' | 'date' | 'params' | 'wallSecondsThisRun'
>;

/** Mean of the epochs' seconds, as the logs record it. */
export function meanSeconds(seconds: number[]): number {
  return seconds.length ? seconds.reduce((s, v) => s + v, 0) / seconds.length : NaN;
}

/**
 * Saves a finished run into `out`: the trained model (`run.model`, or `model` when the weights
 * kept are another model's) and `training-log.json`, in one atomic write, and returns the log. The
 * measured fields follow the common ones, the history last.
 */
export async function saveTraining<L extends TrainingLog>(
  out: string,
  run: TrainingRun & { saved?: tf.LayersModel },
  measured: MeasuredFields<L>,
): Promise<L> {
  const { history, ...fields } = measured as MeasuredFields<L> & { history: unknown };
  const log = {
    walkthrough: run.name,
    command: trainCommandLine(run.name, run.flags),
    backend: tf.getBackend(),
    device: trainingDevice(),
    threads: run.threads,
    tfjs: tf.version_core,
    date: new Date().toISOString(),
    params: run.model.countParams(),
    ...fields,
    wallSecondsThisRun: (Date.now() - run.startedAt) / 1000,
    history,
  } as unknown as L;
  await saveModel(run.saved ?? run.model, out, { files: { [TRAINING_LOG]: JSON.stringify(log, null, 2) + '\n' } });
  console.log(`saved ${out} (model.json, weights.bin, ${TRAINING_LOG})`);
  return log;
}

/** A training's folders, locked for this process. */
export interface TrainingFolders {
  out: string;
  checkpointDir: string;
  /** Whether to resume: `--resume` given and a checkpoint there. */
  resume: boolean;
  /** Removes the checkpoint (the training is saved in `out`) and releases the locks. */
  finish(): void;
  /** Releases the locks (on an error: the checkpoint stays to resume from). */
  release(): void;
}

/**
 * The start of a `train` command: locks `out` and `checkpointDir` (a second training of the
 * same folders refuses, naming this one), puts back in order what an interrupted save left
 * (`nested` names folders inside the checkpoint), and decides whether to resume: `--resume`
 * without a checkpoint starts from the beginning, with one line saying so, so that a job that is
 * killed at any moment can always be restarted with the same `--resume` command.
 */
export function startTraining(
  name: string,
  flags: CliFlags,
  out: string,
  checkpointDir: string,
  nested: string[] = [],
): TrainingFolders {
  const locks = lockFolders([out, checkpointDir], { command: trainCommandLine(name, flags) });
  try {
    for (const d of [out, checkpointDir, ...nested.map((n) => path.join(checkpointDir, n))]) recoverFolder(d);
    let resume = flags.resume ?? false;
    if (resume && !readTrainingState(checkpointDir)) {
      console.log(`no checkpoint in ${checkpointDir} yet: starting from the beginning`);
      resume = false;
    } else if (!resume && fs.existsSync(checkpointDir)) {
      // or a later --resume would go on with that training's checkpoint until this one saves its first
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

/**
 * Runs a `train` command's body on its folders (startTraining): on success the checkpoint is
 * removed (the training is saved in `out`); either way the locks are released.
 */
export async function runTraining(
  name: string,
  flags: CliFlags,
  out: string,
  body: (folders: TrainingFolders) => Promise<void>,
  options: { checkpointDir?: string; nested?: string[] } = {},
): Promise<void> {
  // beside the output folder, which is replaced whole at each save
  const folders = startTraining(name, flags, out, options.checkpointDir ?? `${out}-checkpoint`, options.nested);
  try {
    await body(folders);
    folders.finish();
  } finally {
    folders.release();
  }
}
