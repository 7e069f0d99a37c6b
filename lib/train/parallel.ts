/**
 * Data-parallel gradients over worker threads: tfjs's wasm backend runs on one thread in Node
 * (the threaded build is disabled there, tfjs issue #3830), so the second core is used by a
 * worker that holds its own copy of the model and backend. Each step, the batch is split; the
 * main thread and the workers compute the gradients of their shares at the same weights, and
 * the main thread averages them (weighted by share size) and applies one optimiser update:
 * the same update as one thread computing the whole batch, up to float rounding.
 */
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { losses, LossFn, trainableVariables } from './loop';

/** How a worker rebuilds the model: `require(module)[exportName](...args)` gives a LayersModel (or a promise of one). */
export interface ModelRecipe {
  /** A path `require` resolves in the worker: absolute, or a package path such as 'seqmnist/dist/lib/models/tcn'. */
  module: string;
  exportName: string;
  /** JSON-serialisable arguments (the builder's options). */
  args?: unknown[];
}

export type LossName = keyof typeof losses;

/** Gradients of the mean loss over one batch, with the batch's mean loss and correct count. */
export interface BatchGradients {
  grads: tf.NamedTensorMap;
  loss: number;
  correct: number;
}

interface StepReply {
  grads: Float32Array[];
  loss: number;
  correct: number;
  error?: string;
}

/**
 * Threads a data-parallel training step uses, the main one included: SEQMNIST_THREADS if set,
 * else one per core on the CPU backends (tfjs-wasm runs on one thread in Node, so worker threads
 * take the other cores) and one with tfjs-node, which has threads of its own.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function trainingThreads(): number {
  const v = process.env.SEQMNIST_THREADS;
  if (v === undefined || v === '') return tf.getBackend() === 'tensorflow' ? 1 : os.cpus().length;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SEQMNIST_THREADS must be a positive integer (got '${v}')`);
  return n;
}

/** Gradients of `loss` for a batch on this thread; the caller disposes `grads`. */
export function localGradients(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, loss: LossFn): { value: number; grads: tf.Tensor[]; correct: number } {
  const vars = trainableVariables(model);
  let correct: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(x, { training: true }) as tf.Tensor;
    correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), y), 'int32')));
    return loss(out, y);
  }, vars);
  const result = { value: value.dataSync()[0], grads: vars.map((v) => grads[v.name]), correct: correct!.dataSync()[0] };
  tf.dispose([value, correct!]);
  return result;
}

/**
 * A pool of gradient workers; `threads` counts the main thread too (default: the machine's cores).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export class GradientWorkers {
  private constructor(
    private readonly workers: Worker[],
    readonly lossName: LossName,
  ) {}

  /** Threads taking part in a step, the main thread included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  static async start(recipe: ModelRecipe, options: { loss?: LossName; threads?: number } = {}): Promise<GradientWorkers> {
    const lossName = options.loss ?? 'sparseCrossEntropyFromLogits';
    if (!(lossName in losses)) throw new Error(`unknown loss '${lossName}' (expected one of: ${Object.keys(losses).join(', ')})`);
    const threads = options.threads ?? os.cpus().length;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`threads must be a positive integer (got ${threads})`);
    const backend = tf.getBackend();
    const workers: Worker[] = [];
    try {
      for (let i = 1; i < threads; i++) {
        const w = new Worker(path.join(__dirname, 'gradient-worker.js'), { workerData: { recipe, backend, lossName } });
        workers.push(w);
        await new Promise<void>((resolve, reject) => {
          w.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(`gradient worker failed to start: ${m.error}`))));
          w.once('error', reject);
        });
      }
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new GradientWorkers(workers, lossName);
  }

  /**
   * Gradients of the batch's mean loss w.r.t. model.trainableWeights (named by variable), computed
   * across the threads. The caller applies them (optimizer.applyGradients) and disposes them.
   */
  async gradients(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<BatchGradients> {
    const n = x.shape[0];
    const parts = Math.min(this.threads, n);
    const bounds = [...Array(parts + 1).keys()].map((i) => Math.round((i * n) / parts));
    const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
    const xs = x.dataSync() as Float32Array;
    const ys = y.dataSync() as Int32Array;
    const per = xs.length / n;
    const pending = this.workers.slice(0, parts - 1).map((w, i) => {
      const [a, b] = [bounds[i + 1], bounds[i + 2]];
      return new Promise<StepReply>((resolve, reject) => {
        w.once('message', (m: StepReply) => (m.error ? reject(new Error(`gradient worker: ${m.error}`)) : resolve(m)));
        w.postMessage({ weights, x: xs.slice(a * per, b * per), xShape: [b - a, ...x.shape.slice(1)], y: ys.slice(a, b) });
      });
    });
    const mine = tf.tidy(() => x.slice(0, bounds[1]));
    const myY = tf.tidy(() => y.slice(0, bounds[1]));
    const local = localGradients(model, mine, myY, losses[this.lossName]);
    tf.dispose([mine, myY]);
    const replies = await Promise.all(pending);
    const vars = trainableVariables(model);
    const grads: tf.NamedTensorMap = {};
    const share = (i: number) => (bounds[i + 1] - bounds[i]) / n;
    vars.forEach((v, j) => {
      grads[v.name] = tf.tidy(() => {
        let g = tf.mul(local.grads[j], share(0));
        replies.forEach((r, i) => (g = tf.add(g, tf.mul(tf.tensor(r.grads[j], v.shape), share(i + 1)))));
        return g;
      });
    });
    tf.dispose(local.grads);
    const loss = replies.reduce((s, r, i) => s + r.loss * share(i + 1), local.value * share(0));
    const correct = replies.reduce((s, r) => s + r.correct, local.correct);
    return { grads, loss, correct };
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
