/**
 * Every run-time switch the notebooks and the CLI share, read from the environment here and
 * nowhere else, so that the committed notebooks run unchanged in CI: SEQMNIST_QUICK=1 (a few
 * hundred images, real shapes), SEQMNIST_TRAIN=1|0 (override a notebook's `doTraining` switch),
 * SEQMNIST_BACKEND (the tfjs backend) and SEQMNIST_THREADS (threads per training step); and for
 * the fault-injection test only, SEQMNIST_TEST_SLOW_SAVE_MS and SEQMNIST_TEST_KEEP_CHECKPOINT.
 */
import { positiveInteger } from './checks';

function flag(name: string): boolean | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  if (v === '1' || v.toLowerCase() === 'true') return true;
  if (v === '0' || v.toLowerCase() === 'false') return false;
  throw new Error(`${name} must be 1 or 0 (got '${v}')`);
}

/**
 * True in quick mode (SEQMNIST_QUICK=1): notebooks use a few hundred images and one short epoch.
 * @see notebooks/00-data-psmnist.ipynb
 */
export function quickMode(): boolean {
  return flag('SEQMNIST_QUICK') ?? false;
}

/**
 * A notebook's `doTraining` switch: the committed value unless SEQMNIST_TRAIN overrides it.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function trainingSwitch(committed: boolean): boolean {
  return flag('SEQMNIST_TRAIN') ?? committed;
}

/**
 * `full` normally, `quick` in quick mode: e.g. `sm.quickOr(60000, 300)` images.
 * @see notebooks/00-data-psmnist.ipynb
 */
export function quickOr<T>(full: T, quick: T): T {
  return quickMode() ? quick : full;
}

/**
 * The backend SEQMNIST_BACKEND asks for (e.g. 'wasm'), or undefined to pick the fastest that works.
 * @see notebooks/00-data-psmnist.ipynb
 */
export function requestedBackend(): string | undefined {
  return process.env.SEQMNIST_BACKEND || undefined;
}

/**
 * Threads per training step that SEQMNIST_THREADS asks for, or undefined for the default.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function requestedThreads(): number | undefined {
  const v = process.env.SEQMNIST_THREADS;
  if (v === undefined || v === '') return undefined;
  // a number when it reads as one, else the text itself, so that the error shows what was set
  return positiveInteger('SEQMNIST_THREADS', v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);
}

/**
 * Fault-injection tests only: milliseconds every save sleeps after each file and rename
 * (SEQMNIST_TEST_SLOW_SAVE_MS), so that a kill at a random moment often lands inside a save. Default 0.
 */
export function testSlowSaveMs(): number {
  const v = process.env.SEQMNIST_TEST_SLOW_SAVE_MS;
  if (v === undefined || v === '') return 0;
  const ms = Number(v);
  if (!Number.isInteger(ms) || ms < 0)
    throw new Error(`SEQMNIST_TEST_SLOW_SAVE_MS must be a whole number of milliseconds (got '${v}')`);
  return ms;
}

/**
 * Fault-injection tests only: a finished `train` keeps its last checkpoint (SEQMNIST_TEST_KEEP_CHECKPOINT=1),
 * so that the optimiser state of two runs can be compared. Default false.
 */
export function testKeepCheckpoint(): boolean {
  return flag('SEQMNIST_TEST_KEEP_CHECKPOINT') ?? false;
}
