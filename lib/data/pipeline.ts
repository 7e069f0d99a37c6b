/**
 * The tf.data-style steps of the LSTM walkthrough: a buffered shuffle (`ds.shuffle(buffer)`), an
 * augmentation `map`, a bilinear resize and scaling to [0, 1], materialised once (`.cache()`) or
 * drawn afresh every epoch.
 */
import * as tf from '@tensorflow/tfjs';
import { nonNegativeInteger, positiveInteger } from '../checks';
import { augmentImages, ImageAugmentation } from './augment';
import { SequenceDataset } from './batches';
import { MNIST_SIDE } from './mnist';
import { RandomState } from './random';
import { resizeBilinear } from './transforms';

/**
 * The order in which tf.data's `shuffle(bufferSize)` emits n elements: a buffer holds the next
 * `bufferSize` elements, each output is a uniformly chosen buffer slot, refilled from the input.
 * An element can therefore move at most bufferSize − 1 places earlier. Returns input indices.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function shuffleBufferOrder(n: number, bufferSize: number, rng: RandomState): Int32Array {
  nonNegativeInteger('n', n);
  positiveInteger('bufferSize', bufferSize);
  const order = new Int32Array(n);
  const buffer: number[] = [];
  let next = 0;
  while (next < n && buffer.length < bufferSize) buffer.push(next++);
  for (let out = 0; out < n; out++) {
    const slot = rng.randint(buffer.length) as number;
    order[out] = buffer[slot];
    if (next < n) buffer[slot] = next++;
    else {
      buffer[slot] = buffer[buffer.length - 1];
      buffer.pop();
    }
  }
  return order;
}

/** Options of prepareImages. */
export interface PrepareImagesOptions {
  /** [n, 28, 28] bytes. Required. */
  images: Uint8Array;
  /** [n] labels. Required. */
  labels: ArrayLike<number>;
  /** Which images, in which order (default all, in order). */
  order?: Int32Array;
  /** Augmentation applied to each 28×28 image (pixel values 0–255) before resizing. Default none. */
  augment?: ImageAugmentation[];
  /** Random draws of the augmentation. Required with `augment`. */
  rng?: RandomState;
  /** Output side after the bilinear resize. Default 14. */
  side?: number;
}

/**
 * Augment (optional) → resize to side×side (bilinear, as tf.image.resize) → scale to [0, 1], for
 * the images `order` picks. Returns [n, side·side] floats and int32 labels. Works in chunks so a
 * 60,000-image set never exists as 28×28 floats.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function prepareImages(options: PrepareImagesOptions): { images: Float32Array; labels: Int32Array } {
  const { images, labels, augment = [], rng, side = 14 } = options;
  const pixels = MNIST_SIDE * MNIST_SIDE;
  const total = labels.length;
  if (images.length !== total * pixels)
    throw new Error(`images length ${images.length} does not match ${total} labels × 784 pixels`);
  if (augment.length > 0 && !rng) throw new Error('prepareImages needs an rng to draw the augmentation');
  const order = options.order ?? Int32Array.from({ length: total }, (_, i) => i);
  const n = order.length;
  const out = new Float32Array(n * side * side);
  const outLabels = new Int32Array(n);
  const chunk = 1000;
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    let x = new Float32Array(m * pixels);
    for (let i = 0; i < m; i++) {
      const j = order[start + i];
      if (!(j >= 0 && j < total)) throw new Error(`order[${start + i}] = ${j} is outside 0…${total - 1}`);
      x.set(images.subarray(j * pixels, (j + 1) * pixels), i * pixels);
      outLabels[start + i] = labels[j];
    }
    if (augment.length > 0) x = augmentImages(augment, x, m, MNIST_SIDE, MNIST_SIDE, rng!);
    const small = side === MNIST_SIDE ? x : resizeBilinear(x, m, MNIST_SIDE, side);
    for (let i = 0; i < small.length; i++) out[start * side * side + i] = small[i] / 255;
  }
  return { images: out, labels: outLabels };
}

/** Options of AugmentedImageSource. */
export interface AugmentedImageSourceOptions extends Omit<PrepareImagesOptions, 'order' | 'rng'> {
  /** Buffer of the per-epoch shuffle. Default 1024. */
  bufferSize?: number;
  /** Seed of the per-epoch draws (epoch e uses RandomState(seed + e)). Default 0. */
  seed?: number;
  /** [steps, features] each image is read as: [196, 1] for pixels, [14, 14] for rows. Required. */
  sequence: [number, number];
}

/**
 * A training set that is shuffled (buffered) and augmented afresh every epoch, unlike the
 * original's `.cache()`d copy: each `batches()` call (one per epoch) draws a new copy.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export class AugmentedImageSource {
  readonly size: number;
  private epoch = 0;

  constructor(private readonly options: AugmentedImageSourceOptions) {
    this.size = options.labels.length;
    const [steps, features] = options.sequence;
    const side = options.side ?? 14;
    if (steps * features !== side * side)
      throw new Error(`sequence [${steps}, ${features}] does not hold ${side}×${side} images`);
  }

  /** Starts the draws at this epoch (when resuming). */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  *batches(batchSize: number): Generator<{ x: tf.Tensor; y: tf.Tensor }, void, undefined> {
    const rng = new RandomState((this.options.seed ?? 0) + this.epoch++);
    const order = shuffleBufferOrder(this.size, this.options.bufferSize ?? 1024, rng);
    const { images, labels } = prepareImages({ ...this.options, order, rng });
    const [steps, features] = this.options.sequence;
    yield* new SequenceDataset({ images, labels, steps, features }).batches(batchSize);
  }
}
