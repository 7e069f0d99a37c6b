/**
 * A gradient worker thread (see parallel.ts): rebuilds the model from its recipe on its own
 * backend, then for each job sets the weights and returns the gradients of its share. It loads
 * only the backend (whose useBackend registers the kernels that backend needs: lib/kernels/all.ts),
 * gradients.ts and the recipe's module (whose model module registers its custom layers), not the
 * whole library.
 */
import * as v8 from 'v8';
import * as vm from 'vm';
import { parentPort, workerData } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../backend';
import { setRandomStreamPositions } from '../data/random-stream';
import { setLstmEngine } from '../kernels/lstm';
import { setTanhRnnEngine } from '../kernels/tanh-rnn';
import { localGradients, losses } from './gradients';
import type { WorkerJob, WorkerStart } from './parallel';

/**
 * The jobs' arrays arrive outside V8's heap, and a worker allocates little else, so V8 collects
 * them only after tens of megabytes have piled up (a worker's resident memory grew ~15 kB a step
 * in lstm-row's training): collect whenever this many bytes have arrived since the last time, a
 * full collection of the worker's small heap every few hundred steps at most.
 */
const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;
v8.setFlagsFromString('--expose-gc');
const collect = vm.runInNewContext('gc') as () => void;
let received = 0;

async function main(): Promise<void> {
  const { recipe, backend, engines } = workerData as WorkerStart;
  await useBackend(backend, { quiet: true });
  setLstmEngine(engines.lstm);
  setTanhRnnEngine(engines.tanhRnn);
  const builder = ((await import(recipe.module)) as Record<string, unknown>)[recipe.exportName];
  if (typeof builder !== 'function') throw new Error(`${recipe.module} has no function '${recipe.exportName}'`);
  const model = (await builder(...(recipe.args ?? []))) as tf.LayersModel;
  parentPort!.postMessage({ ready: true });
  parentPort!.on('message', async (job: WorkerJob) => {
    try {
      tf.tidy(() => model.weights.forEach((w, i) => void w.write(tf.tensor(job.weights[i], w.shape as number[]))));
      setRandomStreamPositions(model, job.streams.positions, job.streams.offset);
      const x = tf.tensor(job.x, job.xShape);
      const y = tf.tensor1d(job.y, 'int32');
      const r = await localGradients(model, x, y, losses[job.loss]);
      const grads = (await Promise.all(r.grads.map((g) => g.data()))) as Float32Array[];
      tf.dispose([x, y, ...r.grads]);
      parentPort!.postMessage(
        { grads, loss: r.value, correct: r.correct },
        grads.map((g) => g.buffer as ArrayBuffer),
      );
      received += job.x.byteLength + job.y.byteLength + job.weights.reduce((s, w) => s + w.byteLength, 0);
      if (received > COLLECT_EVERY_BYTES) {
        received = 0;
        collect();
      }
    } catch (e) {
      parentPort!.postMessage({ error: (e as Error).stack ?? String(e) });
    }
  });
}

main().catch((e) => parentPort!.postMessage({ error: (e as Error).stack ?? String(e) }));
