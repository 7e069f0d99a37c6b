/**
 * One writer of the training log for every walkthrough: it records the command, backend, device,
 * threads, tfjs version, date, parameter count and wall-clock time of the run, and the fields the
 * walkthrough measured (accuracy, history, timing), then prints where it saved.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { trainingDevice } from '../backend';
import { TRAINING_LOG, writeJsonAtomically } from '../train/saving';
import type { TrainingLog } from '../walkthroughs/training-log';
import type { CliFlags, FlagName } from './args';

/** The flags a training log records, in this order (`--out` and `--weights` name local folders). */
const RECORDED_FLAGS: FlagName[] = ['epochs', 'steps', 'limit', 'permute', 'seed', 'clipnorm', 'fresh', 'resume'];

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
 * Writes `<out>/training-log.json` (atomically) for a finished run and returns the log. The
 * measured fields follow the common ones, the history last.
 */
export function writeTrainingLog<L extends TrainingLog>(out: string, run: TrainingRun, measured: MeasuredFields<L>): L {
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
  writeJsonAtomically(path.join(out, TRAINING_LOG), log);
  console.log(`saved ${out} (model.json, weights.bin, ${TRAINING_LOG})`);
  return log;
}
