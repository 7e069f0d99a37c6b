/**
 * The CLI's 'keras-lmu' and 'nengo-lmu': training from the terminal with KerasLMU's and
 * NengoDL's console output, evaluation, and `npm start`'s replay of KerasLMU's walkthrough.
 */
import * as path from 'path';
import { loadPsmnist } from '../data/psmnist';
import { MNIST_PIXELS } from '../data/mnist';
import { losses } from '../train/gradients';
import { evaluate } from '../train/loop';
import { trainingThreads } from '../train/parallel';
import {
  buildLmuModel,
  evaluateLmu,
  LMU_DEFAULTS,
  LMU_NAMES,
  LmuTrainingLog,
  LmuVariant,
  lmuModelRecipe,
  lmuOptimizer,
  lmuWeightsDir,
  loadLmuModel,
  loadLmuTrainingLog,
  trainLmu,
  validationAccuracyAtBestLoss,
} from '../walkthroughs/lmu';
import type { CliFlags } from './args';
import type { WalkthroughCommands } from './commands';
import { meanSeconds, runTraining, saveTraining, TrainingFolders } from './training-log';

async function train(variant: LmuVariant, flags: CliFlags): Promise<void> {
  const out = path.resolve(flags.out ?? lmuWeightsDir(variant));
  await runTraining(LMU_NAMES[variant], flags, out, (folders) => trainInto(variant, folders, flags), {
    nested: ['best'],
  });
}

async function trainInto(variant: LmuVariant, folders: TrainingFolders, flags: CliFlags): Promise<void> {
  const name = LMU_NAMES[variant];
  const { out, checkpointDir } = folders;
  const startedAt = Date.now();
  const data = await loadPsmnist({ validation: LMU_DEFAULTS.validation[variant], limit: flags.limit });
  console.log(
    `data: ${data.train.size} training, ${data.validation?.size ?? 0} validation, ${data.test.size} test sequences of [784, 1]`,
  );
  const seed = flags.seed ?? 0;
  let initialTestAccuracy: number | undefined;
  if (variant === 'nengo') {
    // the untrained model is the same on a resumed run (same seed), so this is measured every time
    const initial = buildLmuModel(variant, { seed });
    initialTestAccuracy = (
      await evaluate(initial, data.test, { batchSize: LMU_DEFAULTS.evalBatchSize, progress: false })
    ).accuracy;
    initial.dispose();
    console.log(`Initial test accuracy: ${(initialTestAccuracy * 100).toFixed(2)}%`);
  }
  // KerasLMU's checkpoint keeps the best model inside the checkpoint folder while training runs, so
  // that the folder alone resumes a run and `out` only ever holds a finished training
  const best = path.join(checkpointDir, 'best');
  const r = await trainLmu({
    variant,
    data,
    epochs: flags.epochs,
    out: variant === 'keras' ? best : undefined,
    checkpointDir,
    resume: folders.resume,
    seed,
    clipNorm: flags.clipnorm,
  });
  const trained = variant === 'keras' ? loadLmuModel(variant, best) : r.model;
  const test = await evaluate(trained, data.test, { batchSize: LMU_DEFAULTS.evalBatchSize, progress: false });
  const atBest = variant === 'keras' ? validationAccuracyAtBestLoss(r.history) : undefined;
  const log = await saveTraining<LmuTrainingLog>(
    out,
    { name, flags, model: r.model, saved: trained, threads: r.threads, startedAt },
    {
      seed,
      ...(flags.clipnorm !== undefined ? { clipNorm: flags.clipnorm } : {}),
      trainImages: data.train.size,
      validationImages: data.validation?.size ?? 0,
      testImages: data.test.size,
      epochs: r.history.epoch.length,
      epochSeconds: r.epochSeconds,
      meanEpochSeconds: meanSeconds(r.epochSeconds),
      msPerStep: r.msPerStep,
      testAccuracy: test.accuracy,
      ...(atBest ? { bestEpoch: atBest.epoch + 1, maxValidationAccuracy: atBest.accuracy } : {}),
      ...(initialTestAccuracy !== undefined ? { initialTestAccuracy } : {}),
      history: r.history,
    },
  );
  const total = (Date.now() - startedAt) / 1000;
  console.log(
    `total ${total.toFixed(0)} s; ${log.meanEpochSeconds.toFixed(0)} s per epoch, ${r.msPerStep.toFixed(0)} ms per step (${r.threads} threads, ${log.backend})`,
  );
  if (atBest)
    console.log(`Maximum validation accuracy: ${(atBest.accuracy * 100).toFixed(2)}% (epoch ${atBest.epoch + 1})`);
  console.log(`${variant === 'nengo' ? 'Final test accuracy' : 'Test accuracy'}: ${(test.accuracy * 100).toFixed(2)}%`);
  if (trained !== r.model) trained.dispose();
  r.model.dispose();
}

/**
 * KerasLMU's walkthrough from the terminal (`npm start`): the data, the permutation, the model, the
 * shipped training's log, then the kept model on the test set.
 */
async function replayKeras(): Promise<number> {
  const data = await loadPsmnist({ validation: LMU_DEFAULTS.validation.keras });
  console.log(
    `permutation: RandomState(0).permutation(784) = [${Array.from(data.permutation.subarray(0, 6)).join(', ')}, …]`,
  );
  for (const [name, ds] of [
    ['Training', data.train],
    ['Validation', data.validation!],
    ['Testing', data.test],
  ] as const) {
    console.log(`${name} input/target shapes: (${ds.size}, 784, 1), (${ds.size},)`);
  }
  const log = loadLmuTrainingLog('keras');
  const model = loadLmuModel('keras');
  try {
    console.log(
      `model: LMU(memory_d 1, order 256, theta 784, SimpleRNN(212)) + Dense(10), ${model.countParams().toLocaleString('en-US')} parameters`,
    );
    console.log(
      `trained with '${log.command}': ${log.epochs} epochs, ${log.meanEpochSeconds.toFixed(0)} s per epoch on ${log.backend} (${log.device}, ${log.threads} threads)`,
    );
    const acc = log.history.history.val_accuracy ?? [];
    console.log(`validation accuracy by epoch: ${acc.map((a) => (100 * a).toFixed(2)).join(', ')}`);
    const best = validationAccuracyAtBestLoss(log.history);
    console.log(
      `Maximum validation accuracy: ${(best.accuracy * 100).toFixed(2)}% (epoch ${best.epoch + 1}, the model kept)`,
    );
    return (await evaluate(model, data.test, { batchSize: LMU_DEFAULTS.evalBatchSize, progress: 'Test' })).accuracy;
  } finally {
    model.dispose();
  }
}

function lmuCommands(variant: LmuVariant): WalkthroughCommands {
  return {
    name: LMU_NAMES[variant],
    title:
      variant === 'keras'
        ? "KerasLMU's psMNIST example: LMU(order 256, θ 784, SimpleRNN 212) + Dense(10)"
        : "NengoDL's LMU example: the LMU cell from its parts (212 units, order 256, θ 784)",
    notebook: variant === 'keras' ? 'notebooks/01-keras-lmu-psmnist.ipynb' : 'notebooks/02-nengo-lmu-psmnist.ipynb',
    torchPeer: 'lmu-fft',
    trainFlags: ['epochs', 'limit', 'resume', 'out', 'seed', 'clipnorm'],
    evalFlags: ['weights', 'limit'],
    bench: {
      batchSize: LMU_DEFAULTS.batchSize,
      input: [MNIST_PIXELS, 1],
      model: () => buildLmuModel(variant, { seed: 0 }),
      optimizer: () => lmuOptimizer(),
      loss: losses.sparseCrossEntropyFromLogits,
      workers: lmuModelRecipe(variant, { seed: 0 }),
      threads: trainingThreads,
    },
    train: (flags) => train(variant, flags),
    evaluate: (flags) =>
      evaluateLmu(variant, { dir: flags.weights ? path.resolve(flags.weights) : undefined, limit: flags.limit }),
    replay: variant === 'keras' ? replayKeras : undefined,
  };
}

/** The CLI's two LMU walkthroughs. */
export const kerasLmu = lmuCommands('keras');
export const nengoLmu = lmuCommands('nengo');
