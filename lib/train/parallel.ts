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

/**
 * One step's share of the batch, at the main thread's weights, with the loss to take. The arrays
 * travel in a buffer shared with the worker (see jobLayout), sent when it is new: a step posts a
 * few numbers each way, and no thread gets arrays to collect (a worker that received its arrays
 * by copy needed a full collection of its heap, 12–15 ms, every twenty lstm-row steps).
 */
export interface WorkerJob {
  /** The worker's shared buffer, when it is new (the first job, or a larger share). */
  shared?: SharedArrayBuffer;
  xShape: number[];
  loss: LossName;
  /** The main thread's random-stream positions and this share's first sample (lib/data/random-stream.ts). */
  streams: { positions: number[]; offset: number };
}

/** A worker's answer: its share's mean loss and correct count (the gradients are in the shared buffer), or the error. */
export interface WorkerReply {
  loss: number;
  correct: number;
  error?: string;
}

/** Where a job's arrays lie in its shared buffer, as offsets in 4-byte elements. */
export interface JobLayout {
  /** The model's weights (model.weights' order), in. */
  weights: number[];
  /** The share's inputs, in (float32). */
  x: number;
  /** Its labels, in (int32). */
  y: number;
  /** The gradients (trainable weights' order), out. */
  grads: number[];
  /** Elements in all. */
  size: number;
}

/** The layout of a job: weights of these sizes, `samples` inputs of `perSample` floats and their labels, gradients of these sizes. */
export function jobLayout(weightSizes: number[], samples: number, perSample: number, gradSizes: number[]): JobLayout {
  let at = 0;
  const next = (size: number) => ((at += size), at - size);
  const weights = weightSizes.map(next);
  const x = next(samples * perSample);
  const y = next(samples);
  const grads = gradSizes.map(next);
  return { weights, x, y, grads, size: at };
}

/** The arrays of `layout` in `buffer`: float32 views but the labels' int32. */
export function jobArrays(buffer: SharedArrayBuffer, layout: JobLayout, weightSizes: number[], gradSizes: number[]) {
  const f32 = (at: number, size: number) => new Float32Array(buffer, 4 * at, size);
  return {
    weights: layout.weights.map((at, k) => f32(at, weightSizes[k])),
    x: f32(layout.x, layout.y - layout.x),
    y: new Int32Array(buffer, 4 * layout.y, (layout.grads[0] ?? layout.size) - layout.y),
    grads: layout.grads.map((at, k) => f32(at, gradSizes[k])),
  };
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
  /** Each worker's shared buffer (see WorkerJob), made at its first job and again when a share outgrows it. */
  private readonly buffers: (SharedArrayBuffer | undefined)[] = [];

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
    const vars = trainableVariables(model);
    const weightSizes = weights.map((w) => w.length);
    const gradSizes = vars.map((v) => v.size);
    const xs = x.dataSync() as Float32Array;
    const ys = y.dataSync() as Int32Array;
    const per = xs.length / n;
    const positions = randomStreamPositions(model); // before this thread's pass advances them
    const shared = this.workers.slice(0, parts - 1).map((w, i) => {
      const [a, b] = [bounds[i + 1], bounds[i + 2]];
      const layout = jobLayout(weightSizes, b - a, per, gradSizes);
      const fresh = !this.buffers[i] || this.buffers[i]!.byteLength < 4 * layout.size;
      if (fresh) this.buffers[i] = new SharedArrayBuffer(4 * layout.size);
      const arrays = jobArrays(this.buffers[i]!, layout, weightSizes, gradSizes);
      weights.forEach((v, k) => arrays.weights[k].set(v));
      arrays.x.set(xs.subarray(a * per, b * per));
      arrays.y.set(ys.subarray(a, b));
      const reply = new Promise<WorkerReply>((resolve, reject) => {
        w.once('message', (m: WorkerReply) =>
          m.error ? reject(new Error(`gradient worker: ${m.error}`)) : resolve(m),
        );
        const job: WorkerJob = {
          shared: fresh ? this.buffers[i] : undefined,
          xShape: [b - a, ...x.shape.slice(1)],
          loss: name,
          streams: { positions, offset: a },
        };
        w.postMessage(job);
      });
      return { reply, grads: arrays.grads };
    });
    const mine = tf.tidy(() => x.slice(0, bounds[1]));
    const myY = tf.tidy(() => y.slice(0, bounds[1]));
    const local = await localGradients(model, mine, myY, loss);
    tf.dispose([mine, myY]);
    const replies = await Promise.all(shared.map((s) => s.reply));
    const shares = bounds.slice(1).map((b, i) => (b - bounds[i]) / n);
    const grads: tf.NamedTensorMap = {};
    vars.forEach((v, j) => {
      const parts = [local.grads[j].dataSync() as Float32Array, ...shared.map((s) => s.grads[j])];
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
