/**
 * Run-time switches the notebooks and the CLI share, read from the environment so that the
 * committed notebooks run unchanged in CI: SEQMNIST_QUICK=1 (a few hundred images, real shapes)
 * and SEQMNIST_TRAIN=1|0 (override a notebook's `doTraining` switch).
 */

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
