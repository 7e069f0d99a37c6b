import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { getTanhRnnEngine, linearScan, linearScanJs, setTanhRnnEngine, tanhRnnSequence } from '../lib/kernels/tanh-rnn';
import { matMulFastGrad } from '../lib/kernels/matmul';

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

interface Case {
  batch: number;
  steps: number;
  units: number;
}

function inputs(c: Case, seed: number) {
  return {
    p: tf.randomUniform([c.batch, c.steps, c.units], -1, 1, 'float32', seed),
    scale: tf.scalar(0.7),
    x: tf.randomUniform([c.batch, c.steps, 1], 0, 1, 'float32', seed + 1),
    w: tf.randomUniform([1, c.units], -0.5, 0.5, 'float32', seed + 2),
    b: tf.randomUniform([c.units], -0.2, 0.2, 'float32', seed + 3),
    u: tf.randomUniform([c.units, c.units], -0.4, 0.4, 'float32', seed + 4),
    dyW: tf.randomUniform([c.batch, c.steps, c.units], -1, 1, 'float32', seed + 5),
  };
}

/** The same recurrence composed of tfjs ops (autodiff gives the reference gradients). */
function composed(
  p: tf.Tensor3D,
  scale: tf.Scalar,
  x: tf.Tensor3D,
  w: tf.Tensor2D,
  b: tf.Tensor1D,
  u: tf.Tensor2D,
): tf.Tensor3D {
  const z = tf.add(tf.add(tf.mul(p, scale), tf.mul(x, w)), b) as tf.Tensor3D;
  let h: tf.Tensor2D = tf.zeros([p.shape[0], p.shape[2]]);
  const hs: tf.Tensor2D[] = [];
  // slices rather than unstack: tfjs's unstack gradient fails on an axis of length 1
  for (let t = 0; t < p.shape[1]; t++) {
    const zt = tf.reshape(tf.slice(z, [0, t, 0], [-1, 1, -1]), [p.shape[0], p.shape[2]]);
    h = tf.tanh(tf.add(zt, tf.matMul(h, u))) as tf.Tensor2D;
    hs.push(h);
  }
  return tf.stack(hs, 1) as tf.Tensor3D;
}

/** Outputs and gradients w.r.t. p, scale, w, b, U of a weighted sum of the outputs. */
function run(c: Case, seed: number, f: 'fused' | 'composed', returnSequences: boolean) {
  const t = inputs(c, seed);
  const loss = (p: tf.Tensor, scale: tf.Tensor, w: tf.Tensor, b: tf.Tensor, u: tf.Tensor) => {
    const h =
      f === 'fused'
        ? tanhRnnSequence(p as tf.Tensor3D, u as tf.Tensor2D, {
            scale: scale as tf.Scalar,
            x: t.x as tf.Tensor3D,
            inputKernel: w as tf.Tensor2D,
            bias: b as tf.Tensor1D,
            returnSequences,
          })
        : composed(
            p as tf.Tensor3D,
            scale as tf.Scalar,
            t.x as tf.Tensor3D,
            w as tf.Tensor2D,
            b as tf.Tensor1D,
            u as tf.Tensor2D,
          );
    const out =
      f === 'composed' && !returnSequences
        ? (h as tf.Tensor3D).slice([0, c.steps - 1, 0], [-1, 1, -1]).reshape([c.batch, c.units])
        : h;
    const weights = returnSequences ? t.dyW : t.dyW.slice([0, 0, 0], [-1, 1, -1]).reshape([c.batch, c.units]);
    return { out, value: tf.sum(tf.mul(out, weights)) as tf.Scalar };
  };
  const y = tf.tidy(() => loss(t.p, t.scale, t.w, t.b, t.u).out.dataSync());
  const grads = tf.grads((p, scale, w, b, u) => loss(p, scale, w, b, u).value)([t.p, t.scale, t.w, t.b, t.u]);
  return { y, grads: grads.map((g) => g.dataSync()) };
}

function compare(c: Case, returnSequences: boolean): void {
  const ref = run(c, 10, 'composed', returnSequences);
  const got = run(c, 10, 'fused', returnSequences);
  assert.ok(maxDiff(got.y, ref.y) < 2e-6, `${JSON.stringify(c)} ${getTanhRnnEngine()} h: ${maxDiff(got.y, ref.y)}`);
  ['p', 'scale', 'w', 'b', 'U'].forEach((name, i) => {
    const scale = Math.max(1, ...Array.from(ref.grads[i], Math.abs));
    assert.ok(
      maxDiff(got.grads[i], ref.grads[i]) < 2e-5 * scale,
      `${JSON.stringify(c)} ${getTanhRnnEngine()} d${name}: ${maxDiff(got.grads[i], ref.grads[i])}`,
    );
  });
}

const cases: Case[] = [
  { batch: 5, steps: 7, units: 20 }, // row tails (5 = 4 + 1) and a column tail (5 vectors = 3 + 2)
  { batch: 10, steps: 4, units: 28 }, // three row groups (4 + 4 + 2) and two full column blocks (7 vectors = 3 + 3 + 1)
  { batch: 3, steps: 1, units: 12 }, // one step
  { batch: 2, steps: 6, units: 6 }, // not a multiple of 4: the JS version
];

for (const backend of ['cpu', 'wasm']) {
  for (const engine of ['wasm-simd', 'js'] as const) {
    test(`tanhRnnSequence equals the composition of tfjs ops (${backend} backend, ${engine}): outputs and gradients`, async () => {
      await useBackend(backend, { quiet: true });
      setTanhRnnEngine(engine);
      try {
        for (const c of cases) for (const returnSequences of [true, false]) compare(c, returnSequences);
      } finally {
        setTanhRnnEngine('wasm-simd');
        await useBackend('cpu', { quiet: true });
      }
    });
  }
}

test('linearScan gives the states before each step of s ← g + s·M', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await useBackend(backend, { quiet: true });
    for (const [batch, steps, n] of [
      [5, 6, 20],
      [2, 3, 6],
    ]) {
      const g = tf.randomUniform([batch, steps, n], -1, 1, 'float32', 3) as tf.Tensor3D;
      const m = tf.randomUniform([n, n], -0.3, 0.3, 'float32', 4) as tf.Tensor2D;
      // reference by tfjs ops
      const gs = tf.unstack(g, 1) as tf.Tensor2D[];
      const states: tf.Tensor2D[] = [tf.zeros([batch, n])];
      for (let t = 0; t + 1 < steps; t++) states.push(tf.add(gs[t], tf.matMul(states[t], m)));
      const ref = tf.stack(states, 1).dataSync();
      assert.ok(maxDiff(linearScan(g, m).dataSync(), ref) < 1e-5, `${backend} [${batch}, ${steps}, ${n}]`);
      assert.ok(
        maxDiff(linearScanJs(g.dataSync() as Float32Array, m.dataSync() as Float32Array, batch, steps, n), ref) < 1e-5,
      );
    }
  }
  await useBackend('cpu', { quiet: true });
});

test('matMulFastGrad equals matMul, gradients included (both ways of the right operand)', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await useBackend(backend, { quiet: true });
    const a = tf.randomUniform([7, 5], -1, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomUniform([5, 9], -1, 1, 'float32', 2) as tf.Tensor2D;
    const w = tf.randomUniform([7, 9], -1, 1, 'float32', 3);
    const ref = tf.grads((x, y) => tf.sum(tf.mul(tf.matMul(x, y), w)))([a, b]);
    for (const bGradViaDy of [false, true]) {
      assert.ok(maxDiff(matMulFastGrad(a, b, { bGradViaDy }).dataSync(), tf.matMul(a, b).dataSync()) < 1e-6);
      const got = tf.grads((x, y) =>
        tf.sum(tf.mul(matMulFastGrad(x as tf.Tensor2D, y as tf.Tensor2D, { bGradViaDy }), w)),
      )([a, b]);
      got.forEach((g, i) => assert.ok(maxDiff(g.dataSync(), ref[i].dataSync()) < 1e-5, `${backend} grad ${i}`));
    }
  }
  await useBackend('cpu', { quiet: true });
});

test('bad shapes and engines are named', () => {
  assert.throws(
    () => tanhRnnSequence(tf.zeros([2, 3]) as never, tf.zeros([3, 3])),
    /p must be \[batch, steps, units\] \(got \[2,3\]\)/,
  );
  assert.throws(
    () => tanhRnnSequence(tf.zeros([2, 3, 4]), tf.zeros([4, 5])),
    /recurrentKernel must be \[4, 4\] for 4 units \(got \[4,5\]\)/,
  );
  assert.throws(
    () => tanhRnnSequence(tf.zeros([2, 3, 4]), tf.zeros([4, 4]), { bias: tf.zeros([5]) }),
    /bias must be \[4\] \(got \[5\]\)/,
  );
  assert.throws(
    () => tanhRnnSequence(tf.zeros([2, 3, 4]), tf.zeros([4, 4]), { x: tf.zeros([2, 3, 2]) }),
    /x must be \[2,3,1\] \(got \[2,3,2\]\)/,
  );
  assert.throws(() => setTanhRnnEngine('gpu' as never), /tanh RNN engine must be 'wasm-simd' or 'js' \(got 'gpu'\)/);
  assert.throws(
    () => matMulFastGrad(tf.zeros([2, 3]), tf.zeros([2, 3])),
    /expected \[m, k\] × \[k, n\] \(got \[2,3\] × \[2,3\]\)/,
  );
  assert.throws(() => linearScan(tf.zeros([2, 3, 4]), tf.zeros([3, 3])), /m must be \[4, 4\] \(got \[3,3\]\)/);
});
