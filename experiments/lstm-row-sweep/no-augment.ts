/**
 * The row LSTM's 10-epoch run without augmentation: `train lstm-row --epochs 10 --seed N` with the
 * config's `augment: false`, everything else the same (the CLI has no flag for it: the original
 * augments). Trains through runTraining, as `train` does: the weights and `training-log.json` go
 * into the out folder (the log records this command), a checkpoint beside it while it runs.
 *
 * Run from the repository root: `npx tsx experiments/lstm-row-sweep/no-augment.ts <seed> <out dir>`
 */
import { initBackend } from '../../lib/backend';
import { lstmRow, LstmTrainingLog } from '../../lib/walkthroughs/lstm';
import { runTraining } from '../../lib/walkthroughs/run';

const EPOCHS = 10;

async function main(): Promise<void> {
  const [seedArg, outArg] = process.argv.slice(2);
  const seed = Number(seedArg);
  if (!Number.isInteger(seed) || seed < 0 || !outArg) {
    throw new Error(`usage: no-augment.ts <seed: a non-negative integer> <out dir> (got '${seedArg}', '${outArg}')`);
  }
  await initBackend();
  const log = (await runTraining(
    lstmRow,
    { epochs: EPOCHS, seed, augment: false },
    { out: outArg, command: `npx tsx experiments/lstm-row-sweep/no-augment.ts ${seed} ${outArg}` },
  )) as LstmTrainingLog;
  const best = Math.max(...(log.history.history.val_accuracy ?? [0]));
  console.log(`best val_accuracy within ${EPOCHS} epochs: ${(best * 100).toFixed(2)}%`);
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
