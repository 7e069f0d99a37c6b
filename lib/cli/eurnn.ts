/** The CLI's 'eurnn': training with the original's console output, and evaluation. */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import { getEurnnEngine, getEurnnThreads } from '../kernels/eurnn';
import { MNIST_PIXELS } from '../data/mnist';
import { buildEurnnModel } from '../models/eurnn';
import { losses } from '../train/gradients';
import { evaluate } from '../train/loop';
import { formatDuration } from '../train/progress';
import { RMSprop } from '../train/rmsprop';
import {
  EURNN_DEFAULTS,
  EurnnTrainingLog,
  eurnnWeightsDir,
  evaluateEurnn,
  loadEurnnData,
  trainEurnn,
} from '../walkthroughs/eurnn';
import type { CliFlags } from './args';
import type { WalkthroughCommands } from './commands';
import { runTraining, saveTraining, TrainingFolders } from './training-log';

async function train(flags: CliFlags): Promise<void> {
  const out = path.resolve(flags.out ?? eurnnWeightsDir());
  await runTraining('eurnn', flags, out, (folders) => trainInto(folders, flags));
}

/** The fused kernel's engine: its WGSL version on webgpu, else the CPU engine chosen. */
const eurnnEngine = () => (tf.getBackend() === 'webgpu' ? 'wgsl' : getEurnnEngine());
/** Threads of the fused kernel: its own on the CPU, one on webgpu. */
const eurnnThreads = () => (tf.getBackend() === 'webgpu' ? 1 : getEurnnThreads());

async function trainInto(folders: TrainingFolders, flags: CliFlags): Promise<void> {
  const { out, checkpointDir } = folders;
  const steps = flags.steps ?? EURNN_DEFAULTS.numSteps;
  const startedAt = Date.now();
  const data = await loadEurnnData({ limit: flags.limit });
  console.log(
    `data: ${data.train.size} training, ${data.valid.size} validation, ${data.test.size} test sequences [784, 1]; ` +
      `EURNN engine ${eurnnEngine()}, ${eurnnThreads()} threads`,
  );
  // the original validates (and we checkpoint) after every pass over the training set: with
  // --limit a pass is shorter than the full set's 500 steps
  const validateEvery = Math.max(1, Math.floor(data.train.size / EURNN_DEFAULTS.batchSize));
  const r = await trainEurnn({ data, steps, validateEvery, checkpointDir, resume: folders.resume });
  const test = await evaluate(r.model, data.test, { batchSize: EURNN_DEFAULTS.testBatchSize, progress: false });
  await saveTraining<EurnnTrainingLog>(
    out,
    { name: 'eurnn', flags, model: r.model, threads: eurnnThreads(), startedAt },
    {
      engine: eurnnEngine(),
      trainImages: data.train.size,
      validImages: data.valid.size,
      testImages: data.test.size,
      steps,
      msPerStep: r.msPerStep,
      validationSeconds: r.timing.validationMs / 1000,
      totalSeconds: r.timing.wallSeconds,
      timing: r.timing,
      testAccuracy: test.accuracy,
      testLoss: test.loss,
      history: r.history,
    },
  );
  const t = r.timing;
  console.log(
    `${t.steps} steps in ${formatDuration(t.wallSeconds)}: ${r.msPerStep.toFixed(1)} ms per training step, ${formatDuration(t.validationMs / 1000)} validating`,
  );
  console.log(`Test Accuracy = ${(100 * test.accuracy).toFixed(2)}`);
  r.model.dispose();
  r.optimizer.dispose();
}

/** The CLI's EURNN walkthrough. */
export const eurnn: WalkthroughCommands = {
  name: 'eurnn',
  title: 'efficient unitary RNN (capacity 2, modReLU, 256 complex units), permuted pixel MNIST',
  notebook: 'notebooks/03-eurnn-psmnist.ipynb',
  torchPeer: 'eurnn',
  trainFlags: ['steps', 'limit', 'resume', 'out'],
  evalFlags: ['weights', 'limit'],
  bench: {
    batchSize: EURNN_DEFAULTS.batchSize,
    input: [MNIST_PIXELS, 1],
    model: () => buildEurnnModel(),
    optimizer: () => new RMSprop({ learningRate: EURNN_DEFAULTS.learningRate }),
    loss: losses.sparseCrossEntropyFromLogits,
    // the fused kernel splits the batch over threads of its own (on the CPU)
    threads: eurnnThreads,
  },
  train,
  evaluate: (flags) =>
    evaluateEurnn({ dir: flags.weights ? path.resolve(flags.weights) : undefined, limit: flags.limit }),
};
