/** The CLI's 'lstm-pixel' and 'lstm-row': training with Keras's console output, and evaluation. */
import * as fs from 'fs';
import * as path from 'path';
import { losses } from '../train/gradients';
import { evaluate } from '../train/loop';
import { shippedWeightsDir } from '../train/saving';
import {
  buildLstmModel,
  evaluateLstm,
  kerasRmsprop,
  loadLstmData,
  LSTM_DEFAULTS,
  LSTM_SEQUENCES,
  LstmTrainingLog,
  LstmVariant,
  trainLstm,
} from '../walkthroughs/lstm';
import type { CliFlags } from './args';
import type { WalkthroughCommands } from './commands';
import { meanSeconds, runTraining, saveTraining, TrainingFolders } from './training-log';

async function train(variant: LstmVariant, flags: CliFlags): Promise<void> {
  const name = `lstm-${variant}`;
  const out = path.resolve(flags.out ?? shippedWeightsDir(name));
  await runTraining(name, flags, out, (folders) => trainInto(variant, folders, flags));
}

async function trainInto(variant: LstmVariant, folders: TrainingFolders, flags: CliFlags): Promise<void> {
  const name = `lstm-${variant}`;
  const { out, checkpointDir } = folders;
  const startedAt = Date.now();
  const seed = flags.seed ?? 0;
  const fresh = flags.fresh ?? false;
  const data = await loadLstmData({ variant, limit: flags.limit, seed, freshEachEpoch: fresh });
  const drawn = fresh
    ? 'shuffled and augmented afresh every epoch (--fresh)'
    : "augmented once, as the original's cache";
  const shape = LSTM_SEQUENCES[variant].join(', ');
  console.log(
    `data: ${data.train.size} training images (${drawn}), ${data.test.size} test images, [${shape}] sequences; seed ${seed}`,
  );
  const r = await trainLstm({ data, epochs: flags.epochs, seed, checkpointDir, resume: folders.resume });
  const loss = losses.sparseCrossEntropy;
  const test = await evaluate(r.model, data.test, { batchSize: LSTM_DEFAULTS.testSize, loss, progress: false });
  const all = await evaluate(r.model, data.testAll, { batchSize: 1000, loss, progress: false });
  const epochs = r.history.epoch.length;
  await saveTraining<LstmTrainingLog>(
    out,
    { name, flags, model: r.model, threads: 1, startedAt },
    {
      seed,
      augmentation: fresh ? 'fresh each epoch' : 'once (cached, as the original)',
      trainImages: data.train.size,
      testImages: data.test.size,
      epochs,
      weightsFromEpoch: r.weightsFromEpoch,
      epochSeconds: r.epochSeconds,
      meanEpochSeconds: r.epochSeconds.length ? meanSeconds(r.epochSeconds) : null,
      testAccuracy: test.accuracy,
      testLoss: test.loss,
      fullTestAccuracy: all.accuracy,
      fullTestImages: data.testAll.size,
      history: r.history,
    },
  );
  // checkpoints written before the best weights moved into the checkpoint kept them beside it
  fs.rmSync(`${checkpointDir}-best`, { recursive: true, force: true });
  const best = Math.max(...(r.history.history.val_accuracy ?? [0])).toFixed(4);
  console.log(`epochs: ${epochs}; best val_accuracy ${best}; weights from epoch ${r.weightsFromEpoch}`);
  console.log(`test accuracy: ${(test.accuracy * 100).toFixed(2)}%`);
  console.log(`full test set (${data.testAll.size} images) accuracy: ${(all.accuracy * 100).toFixed(2)}%`);
  r.model.dispose();
}

async function evaluateCommand(variant: LstmVariant, flags: CliFlags): Promise<number> {
  const r = await evaluateLstm(variant, {
    dir: flags.weights ? path.resolve(flags.weights) : undefined,
    limit: flags.limit,
  });
  // the CLI prints 'test accuracy' (the walkthrough's 1,000 images) from the return value
  console.log(`full test set (${r.fullImages} images) accuracy: ${(r.fullAccuracy * 100).toFixed(2)}%`);
  return r.accuracy;
}

function lstmCommands(variant: LstmVariant): WalkthroughCommands {
  return {
    name: `lstm-${variant}`,
    title: `stacked LSTM, ${variant === 'pixel' ? 'pixel by pixel (196 steps)' : 'row by row (14 steps)'}, 14×14 augmented MNIST`,
    notebook: 'notebooks/05-lstm-pixel-row.ipynb',
    torchPeer: `lstm-${variant}`,
    trainFlags: ['epochs', 'limit', 'resume', 'out', 'seed', 'fresh'],
    evalFlags: ['weights', 'limit'],
    bench: {
      batchSize: LSTM_DEFAULTS.batchSize,
      input: LSTM_SEQUENCES[variant],
      model: () => buildLstmModel(variant, { seed: 0 }),
      optimizer: () => kerasRmsprop(),
      loss: losses.sparseCrossEntropy,
      threads: () => 1,
    },
    train: (flags) => train(variant, flags),
    evaluate: (flags) => evaluateCommand(variant, flags),
  };
}

/** The CLI's two LSTM walkthroughs. */
export const lstmPixel = lstmCommands('pixel');
export const lstmRow = lstmCommands('row');
