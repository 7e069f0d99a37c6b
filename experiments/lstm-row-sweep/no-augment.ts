/**
 * The row LSTM's 10-epoch run without augmentation: `train lstm-row --epochs 10 --seed N` with
 * `loadLstmData({ augment: false })`, everything else the same (the CLI has no flag for it: the
 * original augments, and the checkpoint does not record the choice, so a `--resume` could not check
 * it). Writes `training-log.json` in the shape `train` writes (LstmTrainingLog), without the weights.
 *
 * Run from the repository root: `npx tsx experiments/lstm-row-sweep/no-augment.ts <seed> <out dir>`
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, trainingDevice } from '../../lib/backend';
import { losses } from '../../lib/train/gradients';
import { evaluate } from '../../lib/train/loop';
import { loadLstmData, LSTM_DEFAULTS, trainLstm } from '../../lib/walkthroughs/lstm';

const EPOCHS = 10;

async function main(): Promise<void> {
  const [seedArg, outArg] = process.argv.slice(2);
  const seed = Number(seedArg);
  if (!Number.isInteger(seed) || seed < 0 || !outArg) {
    throw new Error(`usage: no-augment.ts <seed: a non-negative integer> <out dir> (got '${seedArg}', '${outArg}')`);
  }
  await initBackend();
  const startedAt = Date.now();
  const data = await loadLstmData({ variant: 'row', seed, augment: false });
  console.log(`data: ${data.train.size} training images (not augmented), ${data.test.size} test images; seed ${seed}`);
  const r = await trainLstm({ data, epochs: EPOCHS, seed });
  const loss = losses.sparseCrossEntropy;
  const test = await evaluate(r.model, data.test, { batchSize: LSTM_DEFAULTS.testSize, loss, progress: false });
  const all = await evaluate(r.model, data.testAll, { batchSize: 1000, loss, progress: false });
  const log = {
    walkthrough: 'lstm-row',
    command: `npx tsx experiments/lstm-row-sweep/no-augment.ts ${seed} ${outArg}`,
    backend: tf.getBackend(),
    device: trainingDevice(),
    threads: 1,
    tfjs: tf.version_core,
    date: new Date().toISOString(),
    params: r.model.countParams(),
    seed,
    augmentation: 'none (loadLstmData({ augment: false }))',
    trainImages: data.train.size,
    testImages: data.test.size,
    epochs: r.history.epoch.length,
    weightsFromEpoch: r.weightsFromEpoch,
    epochSeconds: r.epochSeconds,
    meanEpochSeconds: r.epochSeconds.reduce((s, v) => s + v, 0) / r.epochSeconds.length,
    testAccuracy: test.accuracy,
    testLoss: test.loss,
    fullTestAccuracy: all.accuracy,
    fullTestImages: data.testAll.size,
    wallSecondsThisRun: (Date.now() - startedAt) / 1000,
    history: r.history,
  };
  fs.mkdirSync(outArg, { recursive: true });
  fs.writeFileSync(path.join(outArg, 'training-log.json'), JSON.stringify(log, null, 2) + '\n');
  const best = Math.max(...(r.history.history.val_accuracy ?? [0]));
  console.log(`best val_accuracy within ${EPOCHS} epochs: ${(best * 100).toFixed(2)}%`);
  r.model.dispose();
}

main().catch((e) => {
  console.error((e as Error).message);
  process.exit(1);
});
