/** The CLI's 'tcn': training with the original's console output, and evaluation. */
import * as path from 'path';
import { MNIST_PIXELS } from '../data/mnist';
import { losses } from '../train/gradients';
import { trainingThreads } from '../train/parallel';
import { formatDuration } from '../train/progress';
import { buildTcnModel } from '../models/tcn';
import {
  evaluateTcn,
  loadTcnData,
  TCN_DEFAULTS,
  TcnTrainingLog,
  tcnModelRecipe,
  tcnOptimizer,
  tcnWeightsDir,
  trainTcn,
} from '../walkthroughs/tcn';
import type { CliFlags } from './args';
import type { WalkthroughCommands } from './commands';
import { runTraining, saveTraining, TrainingFolders } from './training-log';

async function train(flags: CliFlags): Promise<void> {
  const out = path.resolve(flags.out ?? tcnWeightsDir(flags.permute ?? false));
  await runTraining('tcn', flags, out, (folders) => trainInto(folders, flags));
}

async function trainInto(folders: TrainingFolders, flags: CliFlags): Promise<void> {
  const { out, checkpointDir } = folders;
  const permute = flags.permute ?? false;
  const epochs = flags.epochs ?? TCN_DEFAULTS.epochs;
  const data = await loadTcnData({ permute, limit: flags.limit });
  const threads = trainingThreads();
  console.log(
    `data: ${data.train.size} training, ${data.test.size} test sequences [784, 1]${permute ? ', permuted' : ''}; ${threads} thread(s)`,
  );
  const startedAt = Date.now();
  const seed = flags.seed ?? TCN_DEFAULTS.seed;
  const r = await trainTcn({ data, epochs, checkpointDir, resume: folders.resume, threads, seed });
  const accuracies = r.history.history.val_accuracy;
  await saveTraining<TcnTrainingLog>(
    out,
    { name: 'tcn', flags, model: r.model, threads, startedAt },
    {
      seed,
      permute,
      trainImages: data.train.size,
      testImages: data.test.size,
      epochs,
      msPerStep: r.msPerStep,
      epochSeconds: r.epochSeconds,
      testAccuracy: accuracies[accuracies.length - 1],
      history: r.history,
    },
  );
  console.log(`test accuracy per epoch: ${accuracies.map((a) => (100 * a).toFixed(2)).join(', ')}`);
  const perEpoch = r.epochSeconds.map((s) => formatDuration(s)).join(', ');
  console.log(`${r.msPerStep.toFixed(0)} ms per training step, ${perEpoch} per epoch (training only)`);
  r.model.dispose();
  r.optimizer.dispose();
}

/** The CLI's TCN walkthrough. */
export const tcn: WalkthroughCommands = {
  name: 'tcn',
  title: 'weight-normalised dilated causal TCN (8 levels × 30 channels, kernel 7), sequential MNIST',
  notebook: 'notebooks/04-tcn-smnist.ipynb',
  torchPeer: 'tcn',
  trainFlags: ['epochs', 'limit', 'resume', 'out', 'permute', 'seed'],
  evalFlags: ['weights', 'limit', 'permute'],
  bench: {
    batchSize: TCN_DEFAULTS.batchSize,
    input: [MNIST_PIXELS, 1],
    model: () => buildTcnModel(),
    optimizer: () => tcnOptimizer(),
    loss: losses.nll,
    workers: tcnModelRecipe(),
    threads: trainingThreads,
  },
  describeSize: (n) => console.log(`Model Size: ${(n / 1000).toFixed(2)} K`),
  train,
  evaluate: (flags) =>
    evaluateTcn({
      permute: flags.permute,
      dir: flags.weights ? path.resolve(flags.weights) : undefined,
      limit: flags.limit,
    }),
};
