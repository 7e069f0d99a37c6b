import test from 'node:test';
import assert from 'node:assert/strict';
import {
  augmentImages,
  RandomRotation,
  RandomTranslation,
  rotationTransform,
  transformImages,
  translationTransform,
} from '../lib/data/augment';
import { prepareImages, shuffleBufferOrder } from '../lib/data/pipeline';
import { RandomState } from '../lib/data/random';

const ramp = (h: number, w: number) => Float32Array.from({ length: h * w }, (_, i) => i + 1);

test('Keras factor checks: rotation factors, translation bounds, fill mode and interpolation', () => {
  assert.throws(() => new RandomRotation({ factor: -0.1 }), /^Error: Factor cannot have negative values, got -0.1$/);
  assert.throws(
    () => new RandomRotation({ factor: [0.2, 0.1] }),
    /Factor cannot have negative values, got \(0.2, 0.1\)/,
  );
  assert.throws(
    () => new RandomTranslation({ heightFactor: 1.5, widthFactor: 0.2 }),
    /`height_factor` argument must have values between \[-1, 1\]. Received: height_factor=1.5/,
  );
  assert.throws(
    () => new RandomTranslation({ heightFactor: [0.3, 0.1], widthFactor: 0.2 }),
    /`height_factor` cannot have upper bound less than lower bound, got \(0.3, 0.1\)/,
  );
  assert.throws(
    () => new RandomTranslation({ heightFactor: 0.2, widthFactor: -0.2 }),
    /`width_factor` cannot have upper bound less than lower bound, got -0.2/,
  );
  assert.throws(
    () => new RandomTranslation({ heightFactor: 0.2, widthFactor: [-1.2, 0] }),
    /`width_factor` must have values between \[-1, 1\], got \(-1.2, 0\)/,
  );
  assert.throws(
    () => new RandomRotation({ factor: 0.1, fillMode: 'mirror' as 'reflect' }),
    /Unknown `fill_mode` mirror. Only `reflect`, `wrap`, `constant` and `nearest` are supported./,
  );
  assert.throws(
    () => new RandomRotation({ factor: 0.1, interpolation: 'cubic' as 'nearest' }),
    /Unknown `interpolation` cubic. Only `nearest` and `bilinear` are supported./,
  );
  assert.throws(
    () => new RandomRotation({ factor: 'x' as unknown as number }),
    /factor must be a number or a \[lower, upper\] pair of numbers \(got "x"\)/,
  );
});

test('rotation by +90° turns the image counter-clockwise (top-left to bottom-left), as Keras', () => {
  const [h, w] = [4, 4];
  const img = ramp(h, w);
  const out = transformImages(img, 1, h, w, rotationTransform(Math.PI / 2, h, w), { fillMode: 'constant' });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) assert.ok(Math.abs(out[y * w + x] - img[x * w + (w - 1 - y)]) < 1e-5, `(${x}, ${y})`);
  }
  assert.ok(Math.abs(out[(h - 1) * w] - img[0]) < 1e-5);
  const none = transformImages(img, 1, h, w, rotationTransform(0, h, w));
  assert.deepEqual(Array.from(none), Array.from(img));
});

test('translation by whole pixels shifts, filling per mode as TensorFlow maps coordinates', () => {
  const [h, w] = [1, 5];
  const img = Float32Array.from([10, 20, 30, 40, 50]);
  const shift = (fillMode: 'constant' | 'nearest' | 'reflect' | 'wrap', dx: number) =>
    Array.from(transformImages(img, 1, h, w, translationTransform(dx, 0), { fillMode, fillValue: -1 }));
  assert.deepEqual(shift('constant', 2), [-1, -1, 10, 20, 30]);
  assert.deepEqual(shift('nearest', 2), [10, 10, 10, 20, 30]);
  assert.deepEqual(shift('reflect', 2), [20, 10, 10, 20, 30]);
  assert.deepEqual(shift('wrap', 2), [40, 50, 10, 20, 30]);
  assert.deepEqual(shift('constant', -1), [20, 30, 40, 50, -1]);
  // half a pixel: bilinear mixes neighbours (and the fill value at the edge)
  const half = Array.from(transformImages(img, 1, h, w, translationTransform(0.5, 0), { fillMode: 'constant' }));
  assert.deepEqual(half, [5, 15, 25, 35, 45]);
  const nearest = Array.from(
    transformImages(img, 1, h, w, translationTransform(0.4, 0), { fillMode: 'constant', interpolation: 'nearest' }),
  );
  assert.deepEqual(nearest, [10, 20, 30, 40, 50]);
});

test('RandomRotation and RandomTranslation draw per image from the seeded rng, within their ranges', () => {
  const n = 6;
  const [h, w] = [8, 8];
  const images = Float32Array.from({ length: n * h * w }, (_, i) => (i * 37) % 255);
  const rot = new RandomRotation({ factor: 0.1, fillMode: 'constant' });
  const out = rot.apply(images, n, h, w, new RandomState(3));
  const angles = new RandomState(3).uniform(-0.2 * Math.PI, 0.2 * Math.PI, n);
  for (const a of angles) assert.ok(Math.abs(a) <= (36 * Math.PI) / 180);
  const expected = transformImages(
    images,
    n,
    h,
    w,
    Array.from(angles).flatMap((a) => rotationTransform(a, h, w)),
    { fillMode: 'constant' },
  );
  assert.deepEqual(Array.from(out), Array.from(expected));
  const tr = new RandomTranslation({ heightFactor: 0.2, widthFactor: 0.2, fillMode: 'constant' });
  const rng = new RandomState(4);
  const dy = rng.uniform(-0.2, 0.2, n);
  const dx = rng.uniform(-0.2, 0.2, n);
  const expectedT = transformImages(
    images,
    n,
    h,
    w,
    Array.from(dx).flatMap((x, i) => translationTransform(x * w, dy[i] * h)),
    { fillMode: 'constant' },
  );
  assert.deepEqual(Array.from(tr.apply(images, n, h, w, new RandomState(4))), Array.from(expectedT));
  // the same seed gives the same augmented batch; the input is never changed
  const copy = images.slice();
  const a = augmentImages([tr, rot], images, n, h, w, new RandomState(9));
  const b = augmentImages([tr, rot], images, n, h, w, new RandomState(9));
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.deepEqual(Array.from(images), Array.from(copy));
});

test('transformImages checks its arguments', () => {
  assert.throws(
    () => transformImages(new Float32Array(10), 1, 3, 3, translationTransform(0, 0)),
    /images length 10 does not match \[n, height, width\] = \[1, 3, 3\]/,
  );
  assert.throws(
    () => transformImages(new Float32Array(9), 1, 3, 3, [1, 0, 0]),
    /transforms must hold 8 numbers per image \(8; got 3\)/,
  );
});

test('shuffleBufferOrder: a permutation in which nothing moves earlier than the buffer allows', () => {
  const n = 5000;
  const order = shuffleBufferOrder(n, 1024, new RandomState(0));
  assert.deepEqual(
    Array.from(order).sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i),
  );
  order.forEach((item, position) => assert.ok(position >= item - 1023, `${item} at ${position}`));
  assert.notDeepEqual(Array.from(order.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(Array.from(shuffleBufferOrder(6, 1, new RandomState(0))), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(
    Array.from(shuffleBufferOrder(50, 8, new RandomState(2))),
    Array.from(shuffleBufferOrder(50, 8, new RandomState(2))),
  );
  assert.throws(() => shuffleBufferOrder(10, 0, new RandomState(0)), /bufferSize must be a positive integer \(got 0\)/);
});

test('prepareImages: pick, augment, resize 28→14 bilinear, scale to [0, 1]', () => {
  const images = new Uint8Array(3 * 784);
  images.fill(255, 784, 2 * 784); // image 1 white
  for (let i = 0; i < 784; i++) images[2 * 784 + i] = i % 28 < 14 ? 0 : 200; // image 2: right half 200
  const { images: out, labels } = prepareImages({ images, labels: [7, 8, 9], order: Int32Array.from([2, 1]) });
  assert.equal(out.length, 2 * 196);
  assert.deepEqual(Array.from(labels), [9, 8]);
  assert.ok(out.subarray(196).every((v) => v === 1));
  assert.ok(Math.abs(out[13] - 200 / 255) < 1e-6 && out[0] === 0);
  const aug = prepareImages({
    images,
    labels: [7, 8, 9],
    augment: [new RandomRotation({ factor: 0.1, fillMode: 'constant' })],
    rng: new RandomState(1),
  });
  assert.equal(aug.images.length, 3 * 196);
  assert.ok(aug.images.every((v) => v >= 0 && v <= 1 + 1e-6));
  assert.throws(
    () => prepareImages({ images, labels: [7, 8, 9], augment: [new RandomRotation({ factor: 0.1 })] }),
    /needs an rng/,
  );
});
