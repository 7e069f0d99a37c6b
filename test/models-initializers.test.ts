import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { registerModelClasses } from '../lib/models/classes';
import { quietOrthogonal } from '../lib/models/initializers';

/** console.warn calls made while `fn` runs. */
function warnings(fn: () => void): unknown[][] {
  const seen: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...msg: unknown[]) => void seen.push(msg);
  try {
    fn();
  } finally {
    console.warn = warn;
  }
  return seen;
}

test("quietOrthogonal: tfjs's draws, serialised as 'Orthogonal', without the 'Slowness may result' warning", () => {
  const loud = tf.initializers.orthogonal({ seed: 3 });
  let expected: Float32Array | undefined;
  const tfjsWarnings = warnings(() => (expected = loud.apply([60, 60]).dataSync() as Float32Array));
  assert.equal(
    tfjsWarnings.filter((m) => /Slowness may result/.test(String(m[0]))).length,
    1,
    'tfjs itself warns on a 3,600-element matrix',
  );
  const quiet = quietOrthogonal(3);
  let got: Float32Array | undefined;
  assert.deepEqual(
    warnings(() => (got = quiet.apply([60, 60]).dataSync() as Float32Array)),
    [],
  );
  assert.deepEqual(got, expected);
  assert.equal(quiet.getClassName(), 'Orthogonal');
  // a layer asking for 'orthogonal' by name (as models loaded from JSON do) gets the quiet one, once registered
  registerModelClasses();
  const layer = tf.layers.simpleRNN({ units: 60, recurrentInitializer: 'orthogonal' });
  assert.deepEqual(
    warnings(() => layer.apply(tf.input({ shape: [3, 1] }))),
    [],
  );
  // other warnings still pass while it runs
  const passthrough = warnings(() => {
    const init = quietOrthogonal(1) as unknown as { apply(shape: number[]): tf.Tensor };
    const original = tf.linalg.qr;
    (tf.linalg as { qr: unknown }).qr = (...a: Parameters<typeof original>) => {
      console.warn('another warning');
      return original(...a);
    };
    try {
      init.apply([60, 60]);
    } finally {
      (tf.linalg as { qr: unknown }).qr = original;
    }
  });
  assert.deepEqual(passthrough, [['another warning']]);
});
