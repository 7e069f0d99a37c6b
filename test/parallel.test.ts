import test from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { scaleImages } from '../lib/data/transforms';
import { localGradients, losses } from '../lib/train/gradients';
import { GradientWorkers, trainingThreads, weightedSum } from '../lib/train/parallel';
import { seededValues as values } from './helpers/arrays';
import { tinyModel } from './helpers/models';

test('gradients split over a worker thread equal the one-thread gradients of the whole batch', async () => {
  await useBackend('wasm', { quiet: true });
  const mnist = await loadMnist();
  const n = 37; // uneven split on purpose
  const x = tf.tensor3d(scaleImages(mnist.trainImages.subarray(0, n * 784)), [n, 784, 1]);
  const y = tf.tensor1d(Int32Array.from(mnist.trainLabels.subarray(0, n)), 'int32');
  const model = tinyModel();
  // move the weights away from the worker's initial ones, so equality shows they were sent
  model.weights.forEach((w) => tf.tidy(() => void w.write(tf.add(w.read(), 0.01))));
  const pool = await GradientWorkers.start(
    { module: path.join(__dirname, 'helpers', 'models'), exportName: 'tinyModel' },
    { threads: 2 },
  );
  try {
    const split = await pool.gradients(model, x, y, losses.sparseCrossEntropyFromLogits);
    // the loss travels by name: a function of one's own cannot be sent
    await assert.rejects(
      pool.gradients(model, x, y, (out, labels) => losses.nll(out, labels)),
      /must be one of losses/,
    );
    const whole = await localGradients(model, x, y, losses.sparseCrossEntropyFromLogits);
    assert.ok(Math.abs(split.loss - whole.value) < 1e-5, `${split.loss} vs ${whole.value}`);
    assert.equal(split.correct, whole.correct);
    model.trainableWeights.forEach((w, j) => {
      const a = split.grads[(w as unknown as { val: tf.Variable }).val.name].dataSync();
      const b = whole.grads[j].dataSync();
      let max = 0;
      for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
      assert.ok(max < 1e-5, `weight ${j}: max difference ${max}`);
    });
  } finally {
    await pool.terminate();
  }
});

test('a worker whose recipe is wrong fails to start with the reason', async () => {
  await assert.rejects(
    GradientWorkers.start(
      { module: path.join(__dirname, 'helpers', 'models'), exportName: 'noSuchBuilder' },
      { threads: 2 },
    ),
    /gradient worker failed to start: .*has no function 'noSuchBuilder'/,
  );
  await assert.rejects(
    GradientWorkers.start({ module: 'x', exportName: 'y' }, { threads: 0 }),
    /threads must be a positive integer \(got 0\)/,
  );
});

test('trainingThreads: SEQMNIST_THREADS when set, else one per core on the CPU backends', async () => {
  await useBackend('wasm', { quiet: true });
  const saved = process.env.SEQMNIST_THREADS;
  try {
    process.env.SEQMNIST_THREADS = '3';
    assert.equal(trainingThreads(), 3);
    process.env.SEQMNIST_THREADS = 'two';
    assert.throws(() => trainingThreads(), /SEQMNIST_THREADS must be a positive integer \(got 'two'\)/);
    delete process.env.SEQMNIST_THREADS;
    assert.equal(trainingThreads(), os.cpus().length);
  } finally {
    if (saved === undefined) delete process.env.SEQMNIST_THREADS;
    else process.env.SEQMNIST_THREADS = saved;
  }
});

test("weightedSum gives the bytes of tfjs's mul-by-share then add, on wasm and cpu", async () => {
  const parts = [values(1000, 1, 3), values(1000, 2, 1e-3), values(1000, 3, 50)];
  const shares = [187 / 512, 256 / 512, 69 / 512];
  for (const backend of ['wasm', 'cpu']) {
    await useBackend(backend, { quiet: true });
    const ops = tf.tidy(() => {
      let g = tf.mul(tf.tensor(parts[0]), shares[0]);
      parts.slice(1).forEach((p, i) => (g = tf.add(g, tf.mul(tf.tensor(p), shares[i + 1]))));
      return g.dataSync().slice();
    });
    assert.deepEqual(Array.from(weightedSum(parts, shares)), Array.from(ops), backend);
  }
});
