/**
 * A gradient worker thread (see parallel.ts): rebuilds the model from its recipe on its own
 * backend, then for each job sets the weights and returns the gradients of its share. It loads
 * only the backend (whose useBackend registers the kernels that backend needs: lib/kernels/all.ts),
 * gradients.ts and the recipe's module (whose model module registers its custom layers), not the
 * whole library.
 */
import { parentPort, workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../backend';
import { setRandomStreamPositions } from '../data/random-stream';
import { setLstmEngine } from '../kernels/lstm';
import { setTanhRnnEngine } from '../kernels/tanh-rnn';
import { localGradients, losses, trainableVariables } from './gradients';
import { jobArrays, jobLayout, type WorkerJob, type WorkerReply, type WorkerStart } from './parallel';

async function main(): Promise<void> {
  const { recipe, backend, engines } = workerData as WorkerStart;
  await useBackend(backend, { quiet: true });
  setLstmEngine(engines.lstm);
  setTanhRnnEngine(engines.tanhRnn);
  const builder = ((await import(recipe.module)) as Record<string, unknown>)[recipe.exportName];
  if (typeof builder !== 'function') throw new Error(`${recipe.module} has no function '${recipe.exportName}'`);
  const model = (await builder(...(recipe.args ?? []))) as tf.LayersModel;
  parentPort!.postMessage({ ready: true });
  const weightSizes = model.weights.map((w) => w.read().size);
  const vars = trainableVariables(model);
  const gradSizes = vars.map((v) => v.size);
  let shared: SharedArrayBuffer | undefined;
  parentPort!.on('message', async (job: WorkerJob) => {
    try {
      shared = job.shared ?? shared;
      if (!shared) throw new Error('the first job came without its shared buffer');
      const [samples, ...rest] = job.xShape;
      const layout = jobLayout(
        weightSizes,
        samples,
        rest.reduce((p, d) => p * d, 1),
        gradSizes,
      );
      const arrays = jobArrays(shared, layout, weightSizes, gradSizes);
      tf.tidy(() => model.weights.forEach((w, i) => void w.write(tf.tensor(arrays.weights[i], w.shape as number[]))));
      setRandomStreamPositions(model, job.streams.positions, job.streams.offset);
      const x = tf.tensor(arrays.x, job.xShape);
      const y = tf.tensor1d(arrays.y, 'int32');
      const r = await localGradients(model, x, y, losses[job.loss]);
      const grads = (await Promise.all(r.grads.map((g) => g.data()))) as Float32Array[];
      grads.forEach((g, i) => arrays.grads[i].set(g));
      tf.dispose([x, y, ...r.grads]);
      const reply: WorkerReply = { loss: r.value, correct: r.correct };
      parentPort!.postMessage(reply);
    } catch (e) {
      parentPort!.postMessage({ error: (e as Error).stack ?? String(e) });
    }
  });
}

main().catch((e) => parentPort!.postMessage({ error: (e as Error).stack ?? String(e) }));
