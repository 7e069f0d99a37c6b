/**
 * Pure transforms of image batches held as flat typed arrays, row-major: `[N, pixels]` with
 * pixels = side × side. Each returns a new array (or a view, where it says so) and never builds
 * per-pixel JS arrays.
 */
import { positiveInteger } from '../checks';
import { MNIST_PIXELS, MNIST_SIDE } from './mnist';

/** A flat image batch, as bytes or floats. */
export type ImageArray = Uint8Array | Float32Array;
/** Labels as bytes (from the IDX files) or int32 (for tf.Tensor int32). */
export type LabelArray = Uint8Array | Int32Array;

function checkWhole(length: number, per: number, what: string, perName: string): number {
  if (length % per !== 0) {
    throw new Error(`${what} length ${length} is not a multiple of ${perName} = ${per}`);
  }
  return length / per;
}

function checkPermutation(perm: Int32Array, n: number): void {
  if (!(perm instanceof Int32Array))
    throw new Error(`perm must be an Int32Array (got ${Object.prototype.toString.call(perm)})`);
  if (perm.length !== n) throw new Error(`perm has ${perm.length} entries, expected ${n}`);
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const p = perm[i];
    if (p < 0 || p >= n) throw new Error(`perm[${i}] = ${p} is outside 0…${n - 1}`);
    if (seen[p]) throw new Error(`perm is not a permutation of 0…${n - 1}: ${p} appears twice`);
    seen[p] = 1;
  }
}

/**
 * Bytes to floats in [0, 1]: out = in / 255, the float32 nearest to the exact quotient (as
 * `x / 255` in NumPy or `ToTensor()` in torchvision). Shape kept: [N, pixels] → [N, pixels].
 * @see notebooks/00-data-psmnist.ipynb
 */
export function scaleImages(images: Uint8Array): Float32Array {
  if (!(images instanceof Uint8Array))
    throw new Error(`scaleImages expects a Uint8Array (got ${Object.prototype.toString.call(images)})`);
  const out = new Float32Array(images.length);
  // the double quotient rounds to the nearest float32 of k/255 (its binary expansion never ties)
  for (let i = 0; i < images.length; i++) out[i] = images[i] / 255;
  return out;
}

/**
 * Reorders the pixels of every image: out[n, i] = in[n, perm[i]], i.e. KerasLMU's
 * `X[:, perm]` on images flattened to [N, 784, 1]. [N, pixels] → [N, pixels], same array type.
 * @param pixels pixels per image, perm.length (default 784)
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function permutePixels<T extends ImageArray>(images: T, perm: Int32Array, pixels = MNIST_PIXELS): T {
  positiveInteger('pixels', pixels);
  checkPermutation(perm, pixels);
  const n = checkWhole(images.length, pixels, 'images', 'pixels');
  const out = new (images.constructor as { new (length: number): T })(images.length);
  for (let b = 0, base = 0; b < n; b++, base += pixels) {
    for (let i = 0; i < pixels; i++) out[base + i] = images[base + perm[i]];
  }
  return out;
}

/**
 * The permutation that undoes perm: inv[perm[i]] = i, so permutePixels(permutePixels(x, perm), inv) = x.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function inversePermutation(perm: Int32Array): Int32Array {
  checkPermutation(perm, perm.length);
  const inv = new Int32Array(perm.length);
  for (let i = 0; i < perm.length; i++) inv[perm[i]] = i;
  return inv;
}

/**
 * (x − mean) / std elementwise, in float32 steps as torchvision's `Normalize` computes it.
 * Defaults are the MNIST training-set mean and standard deviation of pixels scaled to [0, 1].
 * Shape kept.
 * @see notebooks/00-data-psmnist.ipynb
 */
export function normalize(x: Float32Array, mean = 0.1307, std = 0.3081): Float32Array {
  if (!Number.isFinite(mean)) throw new Error(`mean must be a finite number (got ${mean})`);
  if (!Number.isFinite(std) || std === 0) throw new Error(`std must be a finite non-zero number (got ${std})`);
  const m = Math.fround(mean);
  const s = Math.fround(std);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.fround(x[i] - m) / s;
  return out;
}

interface Taps {
  lower: Int32Array;
  upper: Int32Array;
  lerp: Float32Array;
}

/** TensorFlow's compute_interpolation_weights with HalfPixelScaler, in float32. */
function halfPixelTaps(from: number, to: number): Taps {
  const f = Math.fround;
  const scale = f(from / to);
  const taps: Taps = { lower: new Int32Array(to), upper: new Int32Array(to), lerp: new Float32Array(to) };
  for (let i = 0; i < to; i++) {
    const src = f(f(f(i + 0.5) * scale) - 0.5);
    const floor = Math.floor(src);
    taps.lower[i] = Math.max(floor, 0);
    taps.upper[i] = Math.min(Math.ceil(src), from - 1);
    taps.lerp[i] = f(src - floor);
  }
  return taps;
}

/**
 * Bilinear resize of square single-channel images, as TF2's `tf.image.resize(x, [to, to],
 * 'bilinear')` computes it (half-pixel centres, no antialiasing, float32 arithmetic).
 * [n, from, from] → [n, to, to]. 28 → 14 averages each 2×2 block.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function resizeBilinear(images: Float32Array, n: number, from = MNIST_SIDE, to = 14): Float32Array {
  positiveInteger('n', n);
  positiveInteger('from', from);
  positiveInteger('to', to);
  if (images.length !== n * from * from) {
    throw new Error(
      `images length ${images.length} does not match [n, from, from] = [${n}, ${from}, ${from}] (${n * from * from})`,
    );
  }
  const f = Math.fround;
  const t = halfPixelTaps(from, to);
  const out = new Float32Array(n * to * to);
  let o = 0;
  for (let b = 0; b < n; b++) {
    const base = b * from * from;
    for (let y = 0; y < to; y++) {
      const top = base + t.lower[y] * from;
      const bottom = base + t.upper[y] * from;
      const yl = t.lerp[y];
      for (let x = 0; x < to; x++) {
        const xl = t.lerp[x];
        const l = t.lower[x];
        const r = t.upper[x];
        const tl = images[top + l];
        const bl = images[bottom + l];
        const upper = f(tl + f(f(images[top + r] - tl) * xl));
        const lower = f(bl + f(f(images[bottom + r] - bl) * xl));
        out[o++] = f(upper + f(f(lower - upper) * yl));
      }
    }
  }
  return out;
}

/** Flat images read as sequences: [N, steps, features] over the same array. */
export interface SequenceLayout {
  /** The input array itself (not a copy). */
  images: Float32Array;
  steps: number;
  features: number;
}

/**
 * Images as row sequences: [N, side·side] read as [N, side, side], one row of `side` pixels per
 * time step. Only the layout changes; `images` is the same array. Use side = 14 after
 * resizeBilinear(…, 28, 14).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function toRowSequences(images: Float32Array, side = MNIST_SIDE): SequenceLayout {
  positiveInteger('side', side);
  checkWhole(images.length, side * side, 'images', 'side·side');
  return { images, steps: side, features: side };
}

/**
 * Images as pixel sequences: [N, pixels] read as [N, pixels, 1], one pixel per time step
 * (sequential and permuted MNIST). Only the layout changes; `images` is the same array.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function toPixelSequences(images: Float32Array, pixels = MNIST_PIXELS): SequenceLayout {
  positiveInteger('pixels', pixels);
  checkWhole(images.length, pixels, 'images', 'pixels');
  return { images, steps: pixels, features: 1 };
}

/** Images with their labels. */
export interface LabelledImages<T extends ImageArray = Float32Array, L extends LabelArray = Uint8Array> {
  /** [N, pixels] */
  images: T;
  /** [N] */
  labels: L;
}

/**
 * The walkthroughs' hold-out split: the first nTrain images train, the rest validate (KerasLMU:
 * `X_train[:50000]`, `X_train[50000:]`). Both parts are views of the inputs, not copies.
 * @param pixels pixels per image (default 784)
 * @param nTrain images in the training part (default 50000)
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function splitTrainValidation<T extends ImageArray, L extends LabelArray>(
  images: T,
  labels: L,
  pixels = MNIST_PIXELS,
  nTrain = 50000,
): { train: LabelledImages<T, L>; validation: LabelledImages<T, L> } {
  positiveInteger('pixels', pixels);
  const n = labels.length;
  if (images.length !== n * pixels) {
    throw new Error(`images length ${images.length} does not match ${n} labels × ${pixels} pixels (${n * pixels})`);
  }
  if (!Number.isInteger(nTrain) || nTrain < 0 || nTrain > n) {
    throw new Error(`nTrain must be an integer in [0, ${n}] for ${n} images (got ${nTrain})`);
  }
  return {
    train: { images: images.subarray(0, nTrain * pixels) as T, labels: labels.subarray(0, nTrain) as L },
    validation: { images: images.subarray(nTrain * pixels) as T, labels: labels.subarray(nTrain) as L },
  };
}
