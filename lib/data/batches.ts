/**
 * Minibatches of sequences as tensors, cut from one float array materialised once.
 */
import * as tf from '@tensorflow/tfjs';
import { positiveInteger } from '../checks';
import type { RandomState } from './random';
import type { LabelArray } from './transforms';

/** One minibatch. The caller disposes `x` and `y` (or uses forEachBatch, which does). */
export interface SequenceBatch {
  /** [b, steps, features] float32 */
  x: tf.Tensor3D;
  /** [b] int32 labels */
  y: tf.Tensor1D;
  /** 0-based index of this batch in the epoch. */
  index: number;
  /** Number of batches in the epoch. */
  count: number;
}

export interface BatchOptions {
  /** Shuffles the examples with `rng.permutation(size)`, drawn once per call (default: no shuffle). */
  shuffle?: RandomState;
  /** Drops a last batch smaller than batchSize (default false, as Keras `fit`). */
  dropRemainder?: boolean;
  /** Explicit example order (indices into the dataset, may be a subset); excludes `shuffle`. */
  order?: Int32Array;
}

/** What a SequenceDataset is built from: [size, steps, features] images and [size] labels. */
export interface SequenceDatasetArgs {
  /** [size, steps, features] row-major float32. */
  images: Float32Array;
  /** [size], integer class labels. */
  labels: LabelArray;
  /** Time steps per example (784 for pixel sequences, 28 or 14 for rows). */
  steps: number;
  /** Features per time step (1 for pixels, the row width for rows). */
  features: number;
}

/**
 * Sequences and labels held as flat typed arrays, cut into tensors one batch at a time:
 * unshuffled batches are views of `images` (no copy on our side), shuffled ones copy one batch.
 *
 * @example
 * const ds = new SequenceDataset({ ...toPixelSequences(x), labels: y });
 * for (const { x, y } of ds.batches(100, { shuffle: rng })) { …; tf.dispose([x, y]); }
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export class SequenceDataset {
  /** [size, steps, features] float32, row-major. */
  readonly images: Float32Array;
  /** [size] labels as int32 (converted once from bytes if needed). */
  readonly labels: Int32Array;
  readonly steps: number;
  readonly features: number;
  /** Number of examples. */
  readonly size: number;

  constructor(args: SequenceDatasetArgs) {
    const { images, labels, steps, features } = args;
    if (!(images instanceof Float32Array)) {
      throw new Error(
        `images must be a Float32Array (got ${Object.prototype.toString.call(images)}); scale bytes with scaleImages()`,
      );
    }
    if (!(labels instanceof Int32Array || labels instanceof Uint8Array)) {
      throw new Error(`labels must be an Int32Array or Uint8Array (got ${Object.prototype.toString.call(labels)})`);
    }
    positiveInteger('steps', steps);
    positiveInteger('features', features);
    const per = steps * features;
    if (images.length !== labels.length * per) {
      throw new Error(
        `images length ${images.length} does not match ${labels.length} labels × ${steps} steps × ${features} features (${labels.length * per})`,
      );
    }
    this.images = images;
    this.labels = labels instanceof Int32Array ? labels : Int32Array.from(labels);
    this.steps = steps;
    this.features = features;
    this.size = labels.length;
  }

  /** Batches per epoch of `size` examples (or `order.length`). */
  numBatches(batchSize: number, dropRemainder = false, size = this.size): number {
    positiveInteger('batchSize', batchSize);
    return dropRemainder ? Math.floor(size / batchSize) : Math.ceil(size / batchSize);
  }

  /** The examples [start, end) as a dataset over views of the same arrays (negative = from the end). */
  slice(start = 0, end = this.size): SequenceDataset {
    const clamp = (i: number, name: string) => {
      if (!Number.isInteger(i)) throw new Error(`slice ${name} must be an integer (got ${i})`);
      return Math.min(Math.max(i < 0 ? this.size + i : i, 0), this.size);
    };
    const s = clamp(start, 'start');
    const e = Math.max(clamp(end, 'end'), s);
    const per = this.steps * this.features;
    return new SequenceDataset({
      images: this.images.subarray(s * per, e * per),
      labels: this.labels.subarray(s, e),
      steps: this.steps,
      features: this.features,
    });
  }

  /** The first n examples (all if n ≥ size), for quick runs. */
  take(n: number): SequenceDataset {
    if (!Number.isInteger(n) || n < 0) throw new Error(`take needs a non-negative integer (got ${n})`);
    return this.slice(0, Math.min(n, this.size));
  }

  /**
   * Yields the epoch's batches in order. Each x, y is a new tensor the caller must dispose;
   * breaking out of the loop leaves later batches uncreated.
   */
  *batches(batchSize: number, options: BatchOptions = {}): Generator<SequenceBatch, void, undefined> {
    positiveInteger('batchSize', batchSize);
    const { shuffle, dropRemainder = false } = options;
    if (shuffle && options.order) throw new Error('batches takes either shuffle or order, not both');
    const order = options.order ?? shuffle?.permutation(this.size);
    if (order) {
      if (!(order instanceof Int32Array))
        throw new Error(`order must be an Int32Array (got ${Object.prototype.toString.call(order)})`);
      for (let i = 0; i < order.length; i++) {
        if (order[i] < 0 || order[i] >= this.size)
          throw new Error(`order[${i}] = ${order[i]} is outside 0…${this.size - 1}`);
      }
    }
    const total = order ? order.length : this.size;
    const count = this.numBatches(batchSize, dropRemainder, total);
    const per = this.steps * this.features;
    for (let index = 0; index < count; index++) {
      const start = index * batchSize;
      const b = Math.min(batchSize, total - start);
      let xs: Float32Array;
      let ys: Int32Array;
      if (order) {
        xs = new Float32Array(b * per);
        ys = new Int32Array(b);
        for (let k = 0; k < b; k++) {
          const j = order[start + k];
          xs.set(this.images.subarray(j * per, (j + 1) * per), k * per);
          ys[k] = this.labels[j];
        }
      } else {
        xs = this.images.subarray(start * per, (start + b) * per);
        ys = this.labels.subarray(start, start + b);
      }
      yield {
        x: tf.tensor3d(xs, [b, this.steps, this.features], 'float32'),
        y: tf.tensor1d(ys, 'int32'),
        index,
        count,
      };
    }
  }

  /** Runs fn on every batch, awaiting it, and disposes x and y after each call (also on error). */
  async forEachBatch(
    batchSize: number,
    fn: (batch: SequenceBatch) => void | Promise<void>,
    options: BatchOptions = {},
  ): Promise<void> {
    for (const batch of this.batches(batchSize, options)) {
      try {
        await fn(batch);
      } finally {
        tf.dispose([batch.x, batch.y]);
      }
    }
  }
}
