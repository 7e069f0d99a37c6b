/**
 * A gradient worker thread (see parallel.ts): rebuilds the model from its recipe on its own
 * backend, then for each message sets the weights and returns the gradients of its share.
 */
import { parentPort, workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../backend';
import { losses } from './loop';
import { localGradients, LossName, ModelRecipe } from './parallel';

interface Job {
  weights: Float32Array[];
  x: Float32Array;
  xShape: number[];
  y: Int32Array;
}

async function main(): Promise<void> {
  const { recipe, backend, lossName } = workerData as { recipe: ModelRecipe; backend: string; lossName: LossName };
  await useBackend(backend, { quiet: true });
  require('../index'); // registers the lib's custom layers and kernels
  const builder = require(recipe.module)[recipe.exportName];
  if (typeof builder !== 'function') throw new Error(`${recipe.module} has no function '${recipe.exportName}'`);
  const model = (await builder(...(recipe.args ?? []))) as tf.LayersModel;
  const loss = losses[lossName];
  parentPort!.postMessage({ ready: true });
  parentPort!.on('message', (job: Job) => {
    try {
      tf.tidy(() => model.weights.forEach((w, i) => void w.write(tf.tensor(job.weights[i], w.shape as number[]))));
      const x = tf.tensor(job.x, job.xShape);
      const y = tf.tensor1d(job.y, 'int32');
      const r = localGradients(model, x, y, loss);
      const grads = r.grads.map((g) => g.dataSync() as Float32Array);
      tf.dispose([x, y, ...r.grads]);
      parentPort!.postMessage({ grads, loss: r.value, correct: r.correct }, grads.map((g) => g.buffer as ArrayBuffer));
    } catch (e) {
      parentPort!.postMessage({ error: (e as Error).stack ?? String(e) });
    }
  });
}

main().catch((e) => parentPort!.postMessage({ error: (e as Error).stack ?? String(e) }));
