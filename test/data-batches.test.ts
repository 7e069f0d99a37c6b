import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { SequenceDataset } from '../lib/data/batches';
import { RandomState } from '../lib/data/random';
import { toPixelSequences, toRowSequences } from '../lib/data/transforms';

// example i has features i*10 + k, so every value tells which example it came from
function dataset(size: number, steps: number, features: number): SequenceDataset {
  const per = steps * features;
  const images = Float32Array.from({ length: size * per }, (_, j) => Math.floor(j / per) * 10 + (j % per));
  const labels = Uint8Array.from({ length: size }, (_, i) => i % 10);
  return new SequenceDataset({ images, labels, steps, features });
}

test('60,000 examples make 469 batches of 128, the last of 96', async () => {
  await useBackend('cpu', { quiet: true });
  const ds = dataset(60000, 1, 1);
  assert.equal(ds.numBatches(128), 469);
  assert.equal(ds.numBatches(128, true), 468);
  const before = tf.memory().numTensors;
  const sizes: number[] = [];
  await ds.forEachBatch(128, ({ x, y, index, count }) => {
    assert.equal(count, 469);
    assert.equal(index, sizes.length);
    assert.deepEqual(y.shape, [x.shape[0]]);
    sizes.push(x.shape[0]);
  });
  assert.equal(sizes.length, 469);
  assert.ok(sizes.slice(0, 468).every((s) => s === 128));
  assert.equal(sizes[468], 96);
  assert.equal(tf.memory().numTensors, before, 'forEachBatch disposes x and y');
  let dropped = 0;
  await ds.forEachBatch(128, ({ x }) => void (dropped += x.shape[0]), { dropRemainder: true });
  assert.equal(dropped, 468 * 128);
});

test('unshuffled batches hold the examples in order, with shapes [b, steps, features] and int32 labels', async () => {
  await useBackend('cpu', { quiet: true });
  const ds = dataset(10, 3, 2);
  const got = [...ds.batches(4)];
  assert.deepEqual(
    got.map((b) => b.x.shape),
    [
      [4, 3, 2],
      [4, 3, 2],
      [2, 3, 2],
    ],
  );
  assert.equal(got[0].x.dtype, 'float32');
  assert.equal(got[0].y.dtype, 'int32');
  assert.deepEqual(Array.from(got[2].y.dataSync()), [8, 9]);
  assert.deepEqual(Array.from(got[1].x.dataSync().subarray(0, 6)), [40, 41, 42, 43, 44, 45]);
  got.forEach((b) => tf.dispose([b.x, b.y]));
});

test('shuffle draws rng.permutation(size) per epoch; order gives an explicit order', async () => {
  await useBackend('cpu', { quiet: true });
  const ds = dataset(10, 2, 1);
  const expected = new RandomState(5).permutation(10);
  const rng = new RandomState(5);
  const seen: number[] = [];
  await ds.forEachBatch(
    3,
    ({ x, y }) => {
      const xs = x.dataSync();
      const ys = y.dataSync();
      for (let k = 0; k < ys.length; k++) {
        const example = xs[2 * k] / 10;
        assert.equal(ys[k], example % 10);
        assert.equal(xs[2 * k + 1], example * 10 + 1);
        seen.push(example);
      }
    },
    { shuffle: rng },
  );
  assert.deepEqual(seen, Array.from(expected));
  // the next epoch continues the same stream
  const second = new RandomState(5);
  second.permutation(10);
  const epoch2: number[] = [];
  await ds.forEachBatch(10, ({ y }) => void epoch2.push(...y.dataSync()), { shuffle: rng });
  assert.deepEqual(
    epoch2,
    Array.from(second.permutation(10)).map((i) => i % 10),
  );

  const order = Int32Array.from([9, 0, 4]);
  const picked: number[] = [];
  await ds.forEachBatch(2, ({ x }) => void picked.push(...Array.from(x.dataSync()).filter((_, i) => i % 2 === 0)), {
    order,
  });
  assert.deepEqual(picked, [90, 0, 40]);
});

test('take and slice are views for quick runs; layouts from transforms plug in', () => {
  const ds = dataset(100, 28, 28);
  const quick = ds.take(30);
  assert.equal(quick.size, 30);
  assert.equal(quick.images.buffer, ds.images.buffer);
  assert.equal(ds.take(500).size, 100);
  const tail = ds.slice(-10);
  assert.equal(tail.size, 10);
  assert.equal(tail.labels[0], 90 % 10);
  assert.equal(tail.images[0], 900);
  assert.equal(ds.slice(20, 10).size, 0);
  assert.equal(ds.numBatches(32), 4);

  const rows = new SequenceDataset({ ...toRowSequences(ds.images), labels: ds.labels });
  assert.deepEqual([rows.steps, rows.features, rows.size], [28, 28, 100]);
  const pixels = new SequenceDataset({ ...toPixelSequences(ds.images), labels: ds.labels });
  assert.deepEqual([pixels.steps, pixels.features, pixels.size], [784, 1, 100]);
});

test('bad shapes and options throw with the values', async () => {
  await useBackend('cpu', { quiet: true });
  const images = new Float32Array(12);
  const labels = new Uint8Array(3);
  assert.throws(
    () => new SequenceDataset({ images, labels, steps: 5, features: 1 }),
    /images length 12 does not match 3 labels × 5 steps × 1 features \(15\)/,
  );
  assert.throws(
    () => new SequenceDataset({ images, labels, steps: 0, features: 4 }),
    /steps must be a positive integer \(got 0\)/,
  );
  assert.throws(
    () => new SequenceDataset({ images: new Uint8Array(12) as unknown as Float32Array, labels, steps: 4, features: 1 }),
    /images must be a Float32Array \(got \[object Uint8Array\]\)/,
  );
  const ds = new SequenceDataset({ images, labels, steps: 4, features: 1 });
  assert.throws(() => ds.batches(0).next(), /batchSize must be a positive integer \(got 0\)/);
  assert.throws(
    () => ds.batches(2, { shuffle: new RandomState(0), order: new Int32Array(3) }).next(),
    /either shuffle or order/,
  );
  assert.throws(() => ds.batches(2, { order: Int32Array.from([0, 3]) }).next(), /order\[1\] = 3 is outside 0…2/);
  assert.throws(() => ds.take(-1), /take needs a non-negative integer \(got -1\)/);
});
