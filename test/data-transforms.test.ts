import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { RandomState, psmnistPermutation } from '../lib/data/random';
import {
  inversePermutation,
  normalize,
  permutePixels,
  resizeBilinear,
  scaleImages,
  splitTrainValidation,
  toPixelSequences,
  toRowSequences,
} from '../lib/data/transforms';

const fixture = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'transforms.json'), 'utf8'),
);
const input = Float32Array.from(new RandomState(3).randomSample(2 * 28 * 28));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('scaleImages is float32 x/255', () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  const scaled = scaleImages(bytes);
  assert.ok(scaled instanceof Float32Array);
  assert.deepEqual(Array.from(scaled), fixture.scaled);
  assert.throws(
    () => scaleImages(new Float32Array(3) as unknown as Uint8Array),
    /scaleImages expects a Uint8Array \(got \[object Float32Array\]\)/,
  );
});

test('normalize matches torchvision Normalize in float32', () => {
  const scaled = Float32Array.from(fixture.scaled as number[]);
  assert.deepEqual(Array.from(normalize(scaled)), fixture.normalized);
  assert.deepEqual(Array.from(normalize(scaled, 0.5, 0.25)), fixture.normalizedMean0p5Std0p25);
  assert.throws(() => normalize(scaled, 0, 0), /std must be a finite non-zero number \(got 0\)/);
  assert.throws(() => normalize(scaled, NaN), /mean must be a finite number \(got NaN\)/);
});

test('permutePixels is KerasLMU X[:, perm]; inversePermutation undoes it', () => {
  const perm = psmnistPermutation(0);
  const x = Float32Array.from({ length: 2 * 784 }, (_, i) => i);
  const p = permutePixels(x, perm);
  assert.ok(p instanceof Float32Array);
  assert.deepEqual(Array.from(p.subarray(784, 804)), fixture.permuted.row1head);
  assert.deepEqual(Array.from(p.subarray(764, 784)), fixture.permuted.row0tail);
  assert.deepEqual(permutePixels(p, inversePermutation(perm)), x);
  const bytes = Uint8Array.from({ length: 784 }, (_, i) => i % 256);
  const pb = permutePixels(bytes, perm);
  assert.ok(pb instanceof Uint8Array);
  assert.deepEqual(scaleImages(pb), permutePixels(scaleImages(bytes), perm));
  const inv = inversePermutation(perm);
  for (let i = 0; i < 784; i++) assert.equal(inv[perm[i]], i);
});

test('permutePixels and inversePermutation reject bad permutations and shapes', () => {
  const perm = psmnistPermutation(0);
  assert.throws(
    () => permutePixels(new Float32Array(785), perm),
    /images length 785 is not a multiple of pixels = 784/,
  );
  assert.throws(() => permutePixels(new Float32Array(784), perm.subarray(1)), /perm has 783 entries, expected 784/);
  const dup = Int32Array.from([0, 1, 1]);
  assert.throws(() => permutePixels(new Float32Array(6), dup, 3), /perm is not a permutation of 0…2: 1 appears twice/);
  assert.throws(() => inversePermutation(Int32Array.from([0, 3, 1])), /perm\[1\] = 3 is outside 0…2/);
  assert.throws(() => permutePixels(new Float32Array(6), dup, 0), /pixels must be a positive integer \(got 0\)/);
});

test('resizeBilinear equals a float32 emulation of TF resize_bilinear and torch bilinear', () => {
  for (const to of [14, 10, 40]) {
    const ours = resizeBilinear(input, 2, 28, to);
    assert.equal(ours.length, 2 * to * to);
    const ref = fixture.resize[String(to)];
    assert.deepEqual(Array.from(ours), ref.tfFloat32, `28→${to} bit-equal to the TF emulation`);
    assert.ok(maxAbsDiff(ours, ref.torch) < 2e-6, `28→${to} vs torch`);
  }
});

test('resizeBilinear 28→14 averages 2×2 blocks and agrees with tfjs resizeBilinear(half-pixel) on cpu', async () => {
  await useBackend('cpu', { quiet: true });
  const ours = resizeBilinear(input, 2);
  const bytes = (r: number, c: number, b: number) => input[b * 784 + r * 28 + c];
  for (const [b, y, x] of [
    [0, 0, 0],
    [1, 13, 13],
    [0, 6, 9],
  ]) {
    const mean =
      (bytes(2 * y, 2 * x, b) +
        bytes(2 * y, 2 * x + 1, b) +
        bytes(2 * y + 1, 2 * x, b) +
        bytes(2 * y + 1, 2 * x + 1, b)) /
      4;
    assert.ok(Math.abs(ours[b * 196 + y * 14 + x] - mean) < 1e-6);
  }
  for (const to of [14, 10, 40]) {
    const theirs = tf.tidy(() =>
      tf.image.resizeBilinear(tf.tensor4d(input, [2, 28, 28, 1]), [to, to], false, true).dataSync(),
    );
    assert.ok(maxAbsDiff(resizeBilinear(input, 2, 28, to), theirs) < 2e-6, `28→${to}`);
  }
  assert.throws(
    () => resizeBilinear(input, 3),
    /images length 1568 does not match \[n, from, from\] = \[3, 28, 28\] \(2352\)/,
  );
  assert.throws(() => resizeBilinear(input, 2, 28, 0), /to must be a positive integer \(got 0\)/);
});

test('toRowSequences and toPixelSequences only relabel the layout', () => {
  const x = new Float32Array(3 * 196);
  const rows = toRowSequences(x, 14);
  assert.equal(rows.images, x);
  assert.deepEqual([rows.steps, rows.features], [14, 14]);
  assert.deepEqual(Object.values(toRowSequences(new Float32Array(784))).slice(1), [28, 28]);
  const pixels = toPixelSequences(new Float32Array(2 * 784));
  assert.deepEqual([pixels.steps, pixels.features], [784, 1]);
  assert.throws(
    () => toRowSequences(new Float32Array(100), 14),
    /images length 100 is not a multiple of side·side = 196/,
  );
  assert.throws(() => toPixelSequences(x, -1), /pixels must be a positive integer \(got -1\)/);
});

test('splitTrainValidation returns views: first nTrain train, rest validation', () => {
  const images = Float32Array.from({ length: 10 * 4 }, (_, i) => i);
  const labels = Uint8Array.from({ length: 10 }, (_, i) => i);
  const { train, validation } = splitTrainValidation(images, labels, 4, 7);
  assert.equal(train.images.length, 28);
  assert.equal(validation.images.length, 12);
  assert.deepEqual(Array.from(validation.labels), [7, 8, 9]);
  assert.equal(validation.images[0], 28);
  assert.equal(train.images.buffer, images.buffer, 'a view, not a copy');
  assert.throws(
    () => splitTrainValidation(images, labels),
    /images length 40 does not match 10 labels × 784 pixels \(7840\)/,
  );
  assert.throws(
    () => splitTrainValidation(images, labels, 4),
    /nTrain must be an integer in \[0, 10\] for 10 images \(got 50000\)/,
  );
});
