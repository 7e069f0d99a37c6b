/**
 * A trained model's budget, read from its training log (for `compare`): how many steps of which
 * batch it trained, over how many images, in how much time, and on what. The walkthrough says how
 * its log counts (Walkthrough.budget); the common fields are read here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readTrainingLog, TRAINING_LOG } from '../train/saving';
import type { TrainingLog } from './training-log';
import type { AnyWalkthrough } from './run';
import type { TrainingBudget } from './walkthrough';

/** What Walkthrough.budget returns: the fields its own log decides. */
export type OwnBudget = Omit<
  TrainingBudget,
  'command' | 'trainImages' | 'backend' | 'device' | 'threads' | 'tfjs' | 'date' | 'loggedTestAccuracy'
>;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const grouped = (n: number) => n.toLocaleString('en-US');

/** The fields of an epoch-counted training's log that its budget reads. */
export interface EpochLog {
  epochs?: number;
  epochSeconds?: number[];
  trainImages?: number;
  msPerStep?: number;
}

/**
 * The budget of an epoch-counted training: epochs × ⌈training images / batch⌉ steps, the sum of
 * its epoch times (`secondsNote` says what they include), and its ms/step from the log, or where
 * an older log has none, its epoch time over its steps per epoch.
 * @see notebooks/06-compare.ipynb
 */
export function epochBudget(log: EpochLog, batchSize: number, secondsNote: string): OwnBudget {
  const epochs = log.epochs ?? log.epochSeconds?.length ?? 0;
  const trainImages = log.trainImages ?? 0;
  const perEpoch = Math.ceil(trainImages / batchSize);
  const seconds = sum(log.epochSeconds ?? []);
  const steps = epochs * perEpoch;
  return {
    budget: `${epochs} epochs × ${grouped(perEpoch)} steps of ${batchSize}`,
    budgetNote: null,
    epochs,
    steps,
    batchSize,
    imagesSeen: epochs * trainImages,
    seconds,
    secondsNote,
    msPerStep: log.msPerStep ?? (1000 * seconds) / steps,
    msPerStepNote:
      log.msPerStep !== undefined ? 'from the log' : 'epoch time / steps per epoch (the log has no ms/step)',
  };
}

/**
 * A trained model's budget and time from the training log in `dir`, or undefined when it has
 * none. Fields older logs lack are null.
 * @see notebooks/06-compare.ipynb
 */
export function trainingBudget(w: AnyWalkthrough, dir: string): TrainingBudget | undefined {
  if (!fs.existsSync(path.join(dir, TRAINING_LOG))) return undefined;
  const log = readTrainingLog<Partial<TrainingLog>>(dir, w.name);
  return {
    command: log.command ?? '(not recorded)',
    trainImages: log.trainImages ?? 0,
    backend: log.backend ?? '(not recorded)',
    device: log.device ?? '(not recorded)',
    threads: typeof log.threads === 'number' ? log.threads : null,
    tfjs: log.tfjs ?? null,
    date: log.date ?? '(not recorded)',
    loggedTestAccuracy: log.testAccuracy ?? NaN,
    ...w.budget(log),
  };
}
