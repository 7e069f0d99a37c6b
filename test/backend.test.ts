import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend, useBackend } from '../lib/backend';

test('the default backend here is wasm (tfjs-node-gpu is absent), or what SEQMNIST_BACKEND names', async () => {
  const name = await initBackend({ quiet: true });
  const expected = process.env.SEQMNIST_BACKEND || (tryRequire('@tensorflow/tfjs-node-gpu') ? 'tensorflow' : 'wasm');
  assert.equal(name, expected);
  assert.equal(tf.getBackend(), expected);
});

test('useBackend switches, and refuses unknown names with the list', async () => {
  assert.equal(await useBackend('cpu', { quiet: true }), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  await assert.rejects(
    useBackend('gpu', { quiet: true }),
    /unknown backend 'gpu' \(expected one of: tensorflow, webgpu, wasm, cpu\)/,
  );
  assert.equal(await useBackend('wasm', { quiet: true }), 'wasm');
});

test('wasm gets the UnsortedSegmentSum fill, equal to the cpu kernel (gather gradient)', async () => {
  const run = async (backend: string) => {
    await useBackend(backend, { quiet: true });
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.gather(t, [3, 0, 3, 1]),
          tf.tensor2d([
            [1, 2],
            [3, 4],
            [5, 6],
            [7, 8],
          ]),
        ),
      ),
    )(x);
    const s = tf.unsortedSegmentSum(x, tf.tensor1d([2, 0, 2, -1], 'int32'), 3);
    return [Array.from(await g.data()), Array.from(await s.data())];
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  assert.deepEqual(wasm, cpu);
  assert.deepEqual(cpu[1], [3, 4, 0, 0, 6, 8]);
});

test('on wasm a clone shares its data (no copy) and outlives the original; strings still clone', async () => {
  await useBackend('wasm', { quiet: true });
  const before = tf.memory().numDataBuffers;
  const x = tf.tensor2d([
    [1, 2],
    [3, 4],
  ]);
  const y = tf.clone(x);
  assert.equal(y.dataId, x.dataId);
  assert.equal(tf.memory().numDataBuffers - before, 1, 'one buffer for both');
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
  y.dispose();
  assert.equal(tf.memory().numDataBuffers, before);
  const s = tf.clone(tf.tensor1d(['a', 'b'], 'string'));
  assert.deepEqual(s.dataSync(), ['a', 'b']);
  // the gradient of an op that saves its input (through a clone) is unchanged
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.reshape(t, [4]))))(
    tf.tensor2d([
      [1, 2],
      [3, 4],
    ]),
  );
  assert.deepEqual(Array.from(g.dataSync()), [2, 4, 6, 8]);
});

function tryRequire(name: string): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- probing whether an optional package loads
    require(name);
    return true;
  } catch {
    return false;
  }
}
