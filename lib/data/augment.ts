/**
 * Keras's image augmentation layers RandomRotation and RandomTranslation, in plain JavaScript over
 * flat float arrays so that they run on every backend (tfjs's `tf.image.transform` has no
 * tfjs-node kernel). The resampling is TensorFlow's ImageProjectiveTransformV3: each output pixel
 * (x, y) reads the input at the projective image of (x, y), with Keras's fill modes and
 * nearest/bilinear interpolation.
 *
 * Porting note: Keras draws its random factors from TensorFlow's generator; here they come from a
 * seeded NumPy-exact RandomState, so the same seed gives other (equally distributed) draws.
 */
import { positiveInteger } from '../checks';
import { RandomState } from './random';

/** How points outside the image are filled (Keras `fill_mode`). */
export type FillMode = 'reflect' | 'wrap' | 'constant' | 'nearest';
/** How the input is sampled between pixels (Keras `interpolation`). */
export type Interpolation = 'nearest' | 'bilinear';

/** Options shared by the augmentation layers; defaults are Keras's. */
export interface ImageTransformOptions {
  /** Default 'reflect' (Keras's default; the LSTM walkthrough uses 'constant'). */
  fillMode?: FillMode;
  /** Default 'bilinear'. */
  interpolation?: Interpolation;
  /** Value outside the image when fillMode is 'constant'. Default 0. */
  fillValue?: number;
}

/** A factor as Python prints it in Keras's messages: 0.1, -0.1, (0.2, 0.1). */
function factorText(f: number | readonly number[]): string {
  return Array.isArray(f) ? `(${f.join(', ')})` : String(f);
}

/** Keras's check_fill_mode_and_interpolation. */
function checkFillAndInterpolation(fillMode: unknown, interpolation: unknown): void {
  if (!['reflect', 'wrap', 'constant', 'nearest'].includes(fillMode as string)) {
    throw new Error(
      `Unknown \`fill_mode\` ${fillMode}. Only \`reflect\`, \`wrap\`, \`constant\` and \`nearest\` are supported.`,
    );
  }
  if (!['nearest', 'bilinear'].includes(interpolation as string)) {
    throw new Error(`Unknown \`interpolation\` ${interpolation}. Only \`nearest\` and \`bilinear\` are supported.`);
  }
}

/** A factor given as one number f (meaning [−f, f]) or a [lower, upper] pair, as Keras reads it. */
function bounds(factor: number | readonly number[], name: string): [number, number] {
  const pair = Array.isArray(factor);
  const [lower, upper] = pair ? [factor[0], factor[1]] : [-(factor as number), factor as number];
  if (
    (pair && factor.length !== 2) ||
    typeof lower !== 'number' ||
    typeof upper !== 'number' ||
    !Number.isFinite(lower) ||
    !Number.isFinite(upper)
  ) {
    throw new Error(`${name} must be a number or a [lower, upper] pair of numbers (got ${JSON.stringify(factor)})`);
  }
  return [lower, upper];
}

/** Maps an out-of-range coordinate into [0, len − 1] as TensorFlow's MapCoordinate does. */
function mapCoordinate(mode: FillMode, coord: number, len: number): number {
  if (mode === 'constant') return coord;
  let c = coord;
  if (mode === 'reflect') {
    if (c < 0) {
      if (len <= 1) c = 0;
      else {
        const sz2 = 2 * len;
        if (c < sz2) c = sz2 * Math.trunc(-c / sz2) + c;
        c = c < -len ? c + sz2 : -c - 1;
      }
    } else if (c > len - 1) {
      if (len <= 1) c = 0;
      else {
        const sz2 = 2 * len;
        c -= sz2 * Math.trunc(c / sz2);
        if (c >= len) c = sz2 - c - 1;
      }
    }
  } else if (mode === 'wrap') {
    if (c < 0) {
      if (len <= 1) c = 0;
      else c += len * (Math.trunc(-c / (len - 1)) + 1);
    } else if (c > len - 1) {
      if (len <= 1) c = 0;
      else c -= len * Math.trunc(c / (len - 1));
    }
  }
  return Math.min(Math.max(c, 0), len - 1);
}

/**
 * Applies one projective transform per image, as tf.raw_ops.ImageProjectiveTransformV3:
 * `transforms` holds 8 numbers [a0, a1, a2, b0, b1, b2, c0, c1] per image, and output pixel
 * (x, y) reads the input at ((a0 x + a1 y + a2)/k, (b0 x + b1 y + b2)/k), k = c0 x + c1 y + 1.
 * images: [n, height, width] (one channel) → a new array of the same shape.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function transformImages(
  images: Float32Array,
  n: number,
  height: number,
  width: number,
  transforms: ArrayLike<number>,
  options: ImageTransformOptions = {},
): Float32Array {
  const fillMode = options.fillMode ?? 'reflect';
  const interpolation = options.interpolation ?? 'bilinear';
  const fillValue = options.fillValue ?? 0;
  checkFillAndInterpolation(fillMode, interpolation);
  positiveInteger('n', n);
  positiveInteger('height', height);
  positiveInteger('width', width);
  if (images.length !== n * height * width) {
    throw new Error(`images length ${images.length} does not match [n, height, width] = [${n}, ${height}, ${width}]`);
  }
  if (transforms.length !== 8 * n)
    throw new Error(`transforms must hold 8 numbers per image (${8 * n}; got ${transforms.length})`);
  const out = new Float32Array(images.length);
  const read = (base: number, y: number, x: number) =>
    y >= 0 && y < height && x >= 0 && x < width ? images[base + y * width + x] : fillValue;
  for (let b = 0; b < n; b++) {
    const [a0, a1, a2, b0, b1, b2, c0, c1] = Array.from({ length: 8 }, (_, i) => transforms[8 * b + i]);
    const base = b * height * width;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = base + y * width + x;
        const k = c0 * x + c1 * y + 1;
        if (k === 0) {
          out[o] = fillValue;
          continue;
        }
        const inX = mapCoordinate(fillMode, (a0 * x + a1 * y + a2) / k, width);
        const inY = mapCoordinate(fillMode, (b0 * x + b1 * y + b2) / k, height);
        if (interpolation === 'nearest') {
          out[o] = read(base, Math.round(inY), Math.round(inX));
          continue;
        }
        const x0 = Math.floor(inX);
        const y0 = Math.floor(inY);
        const x1 = x0 + 1;
        const y1 = y0 + 1;
        const top = (x1 - inX) * read(base, y0, x0) + (inX - x0) * read(base, y0, x1);
        const bottom = (x1 - inX) * read(base, y1, x0) + (inX - x0) * read(base, y1, x1);
        out[o] = (y1 - inY) * top + (inY - y0) * bottom;
      }
    }
  }
  return out;
}

/** Keras's get_rotation_matrix: rotation by `angle` radians (counter-clockwise) about the image centre. */
export function rotationTransform(angle: number, height: number, width: number): number[] {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const xOffset = (width - 1 - (cos * (width - 1) - sin * (height - 1))) / 2;
  const yOffset = (height - 1 - (sin * (width - 1) + cos * (height - 1))) / 2;
  return [cos, -sin, xOffset, sin, cos, yOffset, 0, 0];
}

/** Keras's get_translation_matrix: the image moves by dx pixels right and dy pixels down. */
export function translationTransform(dx: number, dy: number): number[] {
  return [1, 0, -dx, 0, 1, -dy, 0, 0];
}

/** An augmentation layer: draws its random factors from `rng` and transforms a batch. */
export interface ImageAugmentation {
  /** images [n, height, width] → new array, same shape. */
  apply(images: Float32Array, n: number, height: number, width: number, rng: RandomState): Float32Array;
}

/** Options of RandomRotation (Keras `RandomRotation(factor, fill_mode, interpolation, seed, fill_value)`). */
export interface RandomRotationOptions extends ImageTransformOptions {
  /** Fraction of 2π: 0.1 rotates by up to ±36°; a [lower, upper] pair gives the range. Required. */
  factor: number | [number, number];
}

/**
 * Keras's RandomRotation: each image turns by an angle drawn uniformly from
 * [lower·2π, upper·2π] (positive: counter-clockwise).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export class RandomRotation implements ImageAugmentation {
  readonly lower: number;
  readonly upper: number;
  readonly options: Required<ImageTransformOptions>;

  constructor(options: RandomRotationOptions) {
    const factor = options?.factor;
    [this.lower, this.upper] = bounds(factor, 'factor');
    if (this.upper < this.lower) throw new Error(`Factor cannot have negative values, got ${factorText(factor)}`);
    this.options = {
      fillMode: options.fillMode ?? 'reflect',
      interpolation: options.interpolation ?? 'bilinear',
      fillValue: options.fillValue ?? 0,
    };
    checkFillAndInterpolation(this.options.fillMode, this.options.interpolation);
  }

  apply(images: Float32Array, n: number, height: number, width: number, rng: RandomState): Float32Array {
    const angles = rng.uniform(this.lower * 2 * Math.PI, this.upper * 2 * Math.PI, n);
    const transforms = new Float64Array(8 * n);
    for (let b = 0; b < n; b++) transforms.set(rotationTransform(angles[b], height, width), 8 * b);
    return transformImages(images, n, height, width, transforms, this.options);
  }
}

/** Options of RandomTranslation (Keras `RandomTranslation(height_factor, width_factor, fill_mode, interpolation, seed, fill_value)`). */
export interface RandomTranslationOptions extends ImageTransformOptions {
  /** Fraction of the height: 0.2 shifts by up to ±20%; a [lower, upper] pair gives the range. Required. */
  heightFactor: number | [number, number];
  /** Fraction of the width, likewise. Required. */
  widthFactor: number | [number, number];
}

/**
 * Keras's RandomTranslation: each image moves by a fraction of its height and of its width drawn
 * uniformly from the factors' ranges (not rounded to whole pixels, as in Keras 2).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export class RandomTranslation implements ImageAugmentation {
  readonly heightLower: number;
  readonly heightUpper: number;
  readonly widthLower: number;
  readonly widthUpper: number;
  readonly options: Required<ImageTransformOptions>;

  constructor(options: RandomTranslationOptions) {
    const { heightFactor, widthFactor } = options ?? ({} as RandomTranslationOptions);
    [this.heightLower, this.heightUpper] = bounds(heightFactor, 'heightFactor');
    if (this.heightUpper < this.heightLower) {
      throw new Error(
        `\`height_factor\` cannot have upper bound less than lower bound, got ${factorText(heightFactor)}`,
      );
    }
    if (Math.abs(this.heightLower) > 1 || Math.abs(this.heightUpper) > 1) {
      throw new Error(
        `\`height_factor\` argument must have values between [-1, 1]. Received: height_factor=${factorText(heightFactor)}`,
      );
    }
    [this.widthLower, this.widthUpper] = bounds(widthFactor, 'widthFactor');
    if (this.widthUpper < this.widthLower) {
      throw new Error(`\`width_factor\` cannot have upper bound less than lower bound, got ${factorText(widthFactor)}`);
    }
    if (Math.abs(this.widthLower) > 1 || Math.abs(this.widthUpper) > 1) {
      throw new Error(`\`width_factor\` must have values between [-1, 1], got ${factorText(widthFactor)}`);
    }
    this.options = {
      fillMode: options.fillMode ?? 'reflect',
      interpolation: options.interpolation ?? 'bilinear',
      fillValue: options.fillValue ?? 0,
    };
    checkFillAndInterpolation(this.options.fillMode, this.options.interpolation);
  }

  apply(images: Float32Array, n: number, height: number, width: number, rng: RandomState): Float32Array {
    // Keras draws all heights, then all widths
    const dy = rng.uniform(this.heightLower, this.heightUpper, n);
    const dx = rng.uniform(this.widthLower, this.widthUpper, n);
    const transforms = new Float64Array(8 * n);
    for (let b = 0; b < n; b++) transforms.set(translationTransform(dx[b] * width, dy[b] * height), 8 * b);
    return transformImages(images, n, height, width, transforms, this.options);
  }
}

/**
 * Applies augmentation layers in order, as a Keras `Sequential` of them does.
 * images [n, height, width] → new array, same shape.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function augmentImages(
  layers: ImageAugmentation[],
  images: Float32Array,
  n: number,
  height: number,
  width: number,
  rng: RandomState,
): Float32Array {
  let out = images;
  for (const layer of layers) out = layer.apply(out, n, height, width, rng);
  return out === images ? images.slice() : out;
}
