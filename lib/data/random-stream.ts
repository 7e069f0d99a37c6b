/**
 * Seeded, resumable randomness for layers that draw during training (the TCN's dropout).
 *
 * A counter-based stream (as JAX's or Philox's): the numbers for sample i of training pass p
 * come from a hash of (key, p, draw within the pass, i), so the stream's whole state is one
 * integer, `position` (training passes drawn so far), which a checkpoint saves and a resumed run
 * restores. Gradient worker threads (lib/train/parallel.ts) are sent the main thread's position
 * and their share's first sample (`offset`) with every job, so every sample gets the same mask
 * however the batch is split over threads, and no thread keeps state of its own.
 */
import * as tf from '@tensorflow/tfjs';

/** One round of MurmurHash3's 32-bit mixing: h combined with v. */
function mix(h: number, v: number): number {
  let k = Math.imul(v | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finaliser: every input bit affects every output bit. */
function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The random stream of one layer. `key` comes from the layer's seed (a random one without a
 * seed); `position` counts the training passes drawn; `offset` is the index, in the whole batch,
 * of this thread's first sample (0 on the main thread).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export class CounterStream {
  readonly key: number;
  position = 0;
  offset = 0;
  private draw = 0;

  constructor(seed?: number) {
    this.key = avalanche(mix(0x5eed, seed ?? Math.floor(Math.random() * 4294967296)));
  }

  /** Starts a training pass: its draws are numbered from 0. */
  beginPass(): void {
    this.draw = 0;
  }

  /** Ends a training pass: the next one draws new numbers. */
  endPass(): void {
    this.position++;
  }

  /**
   * A dropout mask of 0 and 1/(1 − rate) for `shape` ([batch, …]), each sample's values from its
   * own xorshift32 seeded with the hash of (key, position, draw, offset + sample). Drawn in JS:
   * tf.dropout draws its uniforms with seedrandom and runs four more ops, ten times slower on the
   * TCN's [128, 784, 30] activations.
   */
  dropoutMask(shape: number[], rate: number): tf.Tensor {
    const batch = shape[0];
    const size = shape.reduce((a, b) => a * b, 1);
    const per = batch > 0 ? size / batch : 0;
    const values = new Float32Array(size);
    const scale = 1 / (1 - rate);
    const threshold = rate * 4294967296;
    const base = mix(mix(this.key, this.position), this.draw++);
    for (let b = 0; b < batch; b++) {
      let s = avalanche(mix(base, this.offset + b)) || 0x9e3779b9; // xorshift32 needs a non-zero state
      for (let i = b * per, end = i + per; i < end; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        if (s >>> 0 >= threshold) values[i] = scale;
      }
    }
    return tf.tensor(values, shape, 'float32');
  }
}

/** A layer that draws from a CounterStream during training. */
interface StreamLayer {
  randomStream: CounterStream;
}

/** The streams of a model's layers, in layer order. */
export function randomStreams(model: tf.LayersModel): CounterStream[] {
  return model.layers
    .map((l) => (l as unknown as Partial<StreamLayer>).randomStream)
    .filter((s): s is CounterStream => s instanceof CounterStream);
}

/**
 * The positions of a model's random streams (what a checkpoint saves; empty for a model that
 * draws nothing).
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function randomStreamPositions(model: tf.LayersModel): number[] {
  return randomStreams(model).map((s) => s.position);
}

/**
 * Sets a model's random streams to `positions` (from randomStreamPositions), and optionally the
 * batch offset of the samples this thread computes.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export function setRandomStreamPositions(model: tf.LayersModel, positions: number[], offset?: number): void {
  const streams = randomStreams(model);
  if (!Array.isArray(positions) || positions.length !== streams.length)
    throw new Error(
      `the model has ${streams.length} random stream(s), the saved positions list ${JSON.stringify(positions)}`,
    );
  streams.forEach((s, i) => {
    if (!Number.isInteger(positions[i]) || positions[i] < 0)
      throw new Error(`random stream position must be a non-negative integer (got ${JSON.stringify(positions[i])})`);
    s.position = positions[i];
    if (offset !== undefined) s.offset = offset;
  });
}
