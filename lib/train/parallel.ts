/**
 * Data-parallel gradients over worker threads: tfjs's wasm backend runs on one thread in Node
 * (the threaded build is disabled there, tfjs issue #3830), so the second core is used by a
 * worker that holds its own copy of the model and backend. Each step, the batch is split; the
 * main thread and the workers compute the gradients of their shares at the same weights, and
 * the main thread averages them (weighted by share size) and applies one optimiser update:
 * the same update as one thread computing the whole batch, up to float rounding.
 */
import * as os from 'os';
import { backendTraits } from '../backend-traits';
import * as path from 'path';
import { Worker } from 'worker_threads';
import * as tf from '@tensorflow/tfjs';
import { positiveInteger } from '../checks';
import { FusedEngine } from '../kernels/engine';
import { getLstmEngine } from '../kernels/lstm';
import { getTanhRnnEngine } from '../kernels/tanh-rnn';
import { requestedThreads } from '../settings';
import { randomStreamPositions } from '../data/random-stream';
import { localGradients, lossName, LossFn, LossName, trainableVariables } from './gradients';

/** How a worker rebuilds the model: `require(module)[exportName](...args)` gives a LayersModel (or a promise of one). */
export interface ModelRecipe {
  /** A path `require` resolves in the worker: absolute, or a package path such as 'seqmnist/dist/lib/models/tcn'. */
  module: string;
  exportName: string;
  /** JSON-serialisable arguments (the builder's options). */
  args?: unknown[];
}

/** Gradients of the mean loss over one batch, with the batch's mean loss and correct count. */
export interface BatchGradients {
  grads: tf.NamedTensorMap;
  loss: number;
  correct: number;
}

/** What a worker is sent at start (gradient-worker.ts reads it as its workerData). */
export interface WorkerStart {
  recipe: ModelRecipe;
  backend: string;
  /** The fused recurrences' engines on the main thread, which a worker takes too (the same maths on every thread). */
  engines: { lstm: FusedEngine; tanhRnn: FusedEngine };
}

/** One step's share of the batch, at the main thread's weights, with the loss to take. */
export interface WorkerJob {
  weights: Float32Array[];
  x: Float32Array;
  xShape: number[];
  y: Int32Array;
  loss: LossName;
  /** The main thread's random-stream positions and this share's first sample (lib/data/random-stream.ts). */
  streams: { positions: number[]; offset: number };
}

/** A worker's answer: the gradients of its share (in trainableVariables' order), or the error. */
export interface WorkerReply {
  grads: Float32Array[];
  loss: number;
  correct: number;
  error?: string;
}

/**
 * Threads a data-parallel training step uses, the main one included: SEQMNIST_THREADS if set,
 * else one per core on the CPU backends (tfjs-wasm runs on one thread in Node, so worker threads
 * take the other cores) and one on a GPU (tfjs-node, webgpu), where the device does the parallel
 * work; more than one there is refused.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function trainingThreads(): number {
  const backend = tf.getBackend();
  if (!backendTraits(backend).workerThreads) {
    const asked = requestedThreads();
    if (asked !== undefined && asked > 1) {
      throw new Error(
        `SEQMNIST_THREADS=${asked}: worker threads split a step on the CPU backends only (got ${backend})`,
      );
    }
    return 1;
  }
  return requestedThreads() ?? os.cpus().length;
}

/**
 * A pool of gradient workers; `threads` counts the main thread too (default: the machine's cores).
 * Each step takes the loss it is given (one of `losses`, sent to the workers by name).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export class GradientWorkers {
  private constructor(private readonly workers: Worker[]) {}

  /** Threads taking part in a step, the main thread included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  static async start(recipe: ModelRecipe, options: { threads?: number } = {}): Promise<GradientWorkers> {
    const threads = positiveInteger('threads', options.threads ?? os.cpus().length);
    const workerData: WorkerStart = {
      recipe,
      backend: tf.getBackend(),
      engines: { lstm: getLstmEngine(), tanhRnn: getTanhRnnEngine() },
    };
    const workers: Worker[] = [];
    try {
      for (let i = 1; i < threads; i++) {
        const w = new Worker(path.join(__dirname, 'gradient-worker.js'), { workerData });
        workers.push(w);
        await new Promise<void>((resolve, reject) => {
          w.once('message', (m: { ready?: boolean; error?: string }) =>
            m.ready ? resolve() : reject(new Error(`gradient worker failed to start: ${m.error}`)),
          );
          w.once('error', reject);
        });
      }
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new GradientWorkers(workers);
  }

  /**
   * Gradients of the batch's mean `loss` (one of `losses`) w.r.t. model.trainableWeights (named
   * by variable), computed across the threads. The caller applies them (optimizer.applyGradients)
   * and disposes them.
   */
  async gradients(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, loss: LossFn): Promise<BatchGradients> {
    const name = lossName(loss);
    const n = x.shape[0];
    const parts = Math.min(this.threads, n);
    const bounds = [...Array(parts + 1).keys()].map((i) => Math.round((i * n) / parts));
    const weights = model.weights.map((w) => w.read().dataSync() as Float32Array);
    const xs = x.dataSync() as Float32Array;
    const ys = y.dataSync() as Int32Array;
    const per = xs.length / n;
    const positions = randomStreamPositions(model); // before this thread's pass advances them
    const pending = this.workers.slice(0, parts - 1).map((w, i) => {
      const [a, b] = [bounds[i + 1], bounds[i + 2]];
      return new Promise<WorkerReply>((resolve, reject) => {
        w.once('message', (m: WorkerReply) =>
          m.error ? reject(new Error(`gradient worker: ${m.error}`)) : resolve(m),
        );
        const job: WorkerJob = {
          weights,
          x: xs.slice(a * per, b * per),
          xShape: [b - a, ...x.shape.slice(1)],
          y: ys.slice(a, b),
          loss: name,
          streams: { positions, offset: a },
        };
        w.postMessage(job);
      });
    });
    const mine = tf.tidy(() => x.slice(0, bounds[1]));
    const myY = tf.tidy(() => y.slice(0, bounds[1]));
    const local = await localGradients(model, mine, myY, loss);
    tf.dispose([mine, myY]);
    const replies = await Promise.all(pending);
    const vars = trainableVariables(model);
    const shares = bounds.slice(1).map((b, i) => (b - bounds[i]) / n);
    const grads: tf.NamedTensorMap = {};
    vars.forEach((v, j) => {
      const parts = [local.grads[j].dataSync() as Float32Array, ...replies.map((r) => r.grads[j])];
      grads[v.name] = tf.tensor(weightedSum(parts, shares), v.shape);
    });
    tf.dispose(local.grads);
    const meanLoss = replies.reduce((s, r, i) => s + r.loss * shares[i + 1], local.value * shares[0]);
    const correct = replies.reduce((s, r) => s + r.correct, local.correct);
    return { grads, loss: meanLoss, correct };
  }

  async terminate(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Σ_k shares[k]·parts[k], element by element, in float32 and in the order tfjs's ops take
 * (tf.mul of each part by its share, then tf.add from the first part on), so the result is the
 * bytes those ops give; done here in one pass over small arrays instead of four kernel
 * dispatches per part and weight (≈2 ms a step for lstm-row's eleven weights).
 */
export function weightedSum(parts: Float32Array[], shares: number[]): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(parts[0].length);
  const s0 = f(shares[0]);
  parts[0].forEach((g, i) => (out[i] = f(g * s0)));
  for (let k = 1; k < parts.length; k++) {
    const p = parts[k];
    const s = f(shares[k]);
    for (let i = 0; i < out.length; i++) out[i] = f(out[i] + f(p[i] * s));
  }
  return out;
}
