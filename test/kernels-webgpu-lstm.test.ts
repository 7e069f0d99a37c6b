/**
 * The fused LSTM's WGSL kernels (lib/kernels/lstm-webgpu.ts) against the cpu backend's kernels
 * (lib/kernels/lstm.ts): forward values and all four gradients, on llvmpipe here.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { lstmSequence } from '../lib/kernels/lstm';
import { seededValues as values } from './helpers/arrays';

/** The largest |actual − expected| relative to max(1, max |expected|). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) worst = d; // NaN counts as worst
  }
  return worst / scale;
}

interface Shape {
  batch: number;
  steps: number;
  features: number;
  units: number;
}

const NAMES = ['h', 'dx', 'dKernel', 'dRecurrentKernel', 'dBias'];

/** h and the gradients of Σ h·r with respect to x, W, U and b on the backend in use. */
async function run({ batch, steps, features, units }: Shape): Promise<Float32Array[]> {
  const x = tf.tensor3d(values(batch * steps * features, 1), [batch, steps, features]);
  const w = tf.tensor2d(values(features * 4 * units, 2, 0.6), [features, 4 * units]);
  const u = tf.tensor2d(values(units * 4 * units, 3, 0.6), [units, 4 * units]);
  const b = tf.tensor1d(values(4 * units, 4, 0.5));
  const r = tf.tensor3d(values(batch * steps * units, 5), [batch, steps, units]); // dL/dh
  const h = lstmSequence(x, w, u, b);
  const grads = tf.grads((xx: tf.Tensor, ww: tf.Tensor, uu: tf.Tensor, bb: tf.Tensor) =>
    tf.sum(tf.mul(lstmSequence(xx as tf.Tensor3D, ww as tf.Tensor2D, uu as tf.Tensor2D, bb as tf.Tensor1D), r)),
  )([x, w, u, b]);
  const out = await Promise.all([h, ...grads].map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([x, w, u, b, r, h, ...grads]);
  return out;
}

async function compare(shape: Shape): Promise<void> {
  await useBackend('cpu', { quiet: true });
  const expected = await run(shape);
  await useBackend('webgpu', { quiet: true });
  const before = tf.memory().numTensors;
  const buffers = tf.backend().numDataIds();
  const actual = await run(shape);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.equal(tf.backend().numDataIds(), buffers, 'no intermediate left behind');
  const errors = NAMES.map((name, i) => relativeError(actual[i], expected[i], name));
  const text = NAMES.map((name, i) => `${name} ${errors[i].toExponential(1)}`).join(', ');
  console.log(`lstm webgpu vs cpu [${Object.values(shape)}] (batch, steps, features, units): ${text}`);
  errors.forEach((e, i) => assert.ok(e <= 1e-4, `${NAMES[i]}: relative error ${e} > 1e-4`));
}

test('webgpu LSTM: 1 feature, units not a multiple of 4', () => compare({ batch: 2, steps: 5, features: 1, units: 3 }));

test('webgpu LSTM: several features, units 5', () => compare({ batch: 3, steps: 4, features: 5, units: 5 }));

test("webgpu LSTM: the walkthroughs' row layer (14 steps of 14 features, 8 units)", () =>
  compare({ batch: 2, steps: 14, features: 14, units: 8 }));

test("webgpu LSTM: the walkthroughs' pixel layer (196 steps of 1 feature, 8 units)", () =>
  compare({ batch: 2, steps: 196, features: 1, units: 8 }));

test('webgpu LSTM: more gate columns than threads in a workgroup (units 260)', () =>
  compare({ batch: 1, steps: 2, features: 2, units: 260 }));

/** Dispatches recorded while `f` runs (nothing may be submitted meanwhile: no reads). */
function countDispatches(f: () => void): number {
  const backend = tf.backend() as unknown as { dispatchCountInPass: number };
  const batchSize = tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE');
  tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 1e9);
  try {
    const start = backend.dispatchCountInPass;
    f();
    return backend.dispatchCountInPass - start;
  } finally {
    tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', batchSize);
  }
}

test('webgpu LSTM: dispatches per call do not grow with the steps', async () => {
  await useBackend('webgpu', { quiet: true });
  const counts = [14, 196].map((steps) => {
    const [batch, features, units] = [4, 14, 8];
    const x = tf.tensor3d(values(batch * steps * features, 1), [batch, steps, features]);
    const w = tf.tensor2d(values(features * 4 * units, 2, 0.6), [features, 4 * units]);
    const u = tf.tensor2d(values(units * 4 * units, 3, 0.6), [units, 4 * units]);
    const b = tf.tensor1d(values(4 * units, 4, 0.5));
    const dh = tf.tensor3d(values(batch * steps * units, 5), [batch, steps, units]);
    for (const t of [x, w, u, b, dh]) tf.add(t, 0).dispose(); // uploaded before counting
    const forward = countDispatches(() => tf.tidy(() => lstmSequence(x, w, u, b)).dispose());
    const inputs = { dh, x, kernel: w, recurrentKernel: u, bias: b };
    const backward = countDispatches(() =>
      tf.dispose(tf.engine().runKernel('SeqmnistLstmSequenceGrad', inputs, {}) as tf.Tensor[]),
    );
    tf.dispose([x, w, u, b, dh]);
    return { forward, backward };
  });
  console.log(`lstm webgpu dispatches: forward ${counts[0].forward}, backward ${counts[0].backward}`);
  assert.deepEqual(counts[1], counts[0]);
  assert.equal(counts[0].forward, 2, 'x·W, then the recurrence');
  // the forward again, the backward recurrence, 3 matMuls (tfjs's split-K ones add a fill) and Sum (transpose, reduce)
  assert.ok(counts[0].backward <= 10, `backward: ${counts[0].backward} dispatches`);
});
