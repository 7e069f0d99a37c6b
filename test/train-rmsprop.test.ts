import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { ArrayRMSProp, RMSprop } from '../lib/train/rmsprop';

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../../test/fixtures/eurnn-torch.json'), 'utf8'))
  .rmsprop as {
  learningRate: number;
  alpha: number;
  epsilon: number;
  start: number[][];
  grads: number[][][];
  after: number[][][];
};
const flat = (v: unknown): number[] => (Array.isArray(v) ? (v as unknown[]).flatMap(flat) : [v as number]);

function run(opt: tf.Optimizer, vars: tf.Variable[], steps: number[][][]): number[][][] {
  const out: number[][][] = [];
  for (const grads of steps) {
    opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: tf.tensor(grads[i], v.shape) })));
    out.push(vars.map((v) => Array.from(v.dataSync())));
  }
  return out;
}

test("RMSprop takes PyTorch's steps (α 0.99, ε 1e-8 after the root)", async () => {
  await useBackend('cpu', { quiet: true });
  const vars = [
    tf.variable(tf.tensor1d(fixture.start[0])),
    tf.variable(tf.tensor2d(fixture.start[1] as unknown as number[][])),
  ];
  const opt = new RMSprop({ learningRate: fixture.learningRate });
  assert.equal(opt.alpha, 0.99);
  assert.equal(opt.epsilon, 1e-8);
  const got = run(opt, vars, fixture.grads);
  got.forEach((step, k) =>
    step.forEach((values, i) => {
      const expected = flat(fixture.after[k][i]);
      values.forEach((v, j) =>
        assert.ok(Math.abs(v - expected[j]) < 2e-6, `step ${k + 1}, tensor ${i}[${j}]: ${v} vs PyTorch ${expected[j]}`),
      );
    }),
  );
  // tfjs's own rmsprop (decay 0.9, ε inside the root) takes other steps
  const tfVars = [
    tf.variable(tf.tensor1d(fixture.start[0])),
    tf.variable(tf.tensor2d(fixture.start[1] as unknown as number[][])),
  ];
  const theirs = run(tf.train.rmsprop(fixture.learningRate), tfVars, fixture.grads.slice(0, 1));
  assert.ok(Math.abs(theirs[0][0][1] - flat(fixture.after[0][0])[1]) > 1e-3);
  tf.dispose([...vars, ...tfVars]);
});

test('RMSprop state saves and restores: a restored optimiser continues identically', async () => {
  await useBackend('cpu', { quiet: true });
  const a = tf.variable(tf.tensor1d(fixture.start[0]));
  const opt = new RMSprop({ learningRate: 0.01 });
  run(
    opt,
    [a],
    fixture.grads.slice(0, 2).map((g) => [g[0]]),
  );
  const saved = await opt.getWeights();
  const copies = saved.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
  const b = tf.variable(tf.clone(a));
  const restored = new RMSprop({ learningRate: 0.01 });
  await restored.setWeights(copies);
  assert.equal(restored.iterations, 2);
  const rest = fixture.grads.slice(2).map((g) => [g[0]]);
  assert.deepEqual(run(restored, [b], rest), run(opt, [a], rest));
  assert.equal(restored.getClassName(), 'SeqmnistRMSprop');
  assert.deepEqual(restored.getConfig(), { learningRate: 0.01, alpha: 0.99, epsilon: 1e-8 });
});

test('RMSprop rejects bad options with the value', () => {
  assert.throws(() => new RMSprop({ learningRate: 0 }), /learningRate must be a positive number \(got 0\)/);
  assert.throws(() => new RMSprop({ learningRate: 1e-4, alpha: 1 }), /alpha must be in \[0, 1\) \(got 1\)/);
  assert.throws(
    () => new RMSprop({ learningRate: 1e-4, epsilon: -1 }),
    /epsilon must be a non-negative number \(got -1\)/,
  );
});

test("ArrayRMSProp takes tf.train.rmsprop's steps byte for byte (wasm, cpu), keeps its state, and leaves momentum to tfjs", async () => {
  for (const backend of ['wasm', 'cpu']) {
    await useBackend(backend, { quiet: true });
    // gradients over many magnitudes (and zeros), a learning rate changed midway as ReduceLROnPlateau does;
    // seeds from 1: tfjs draws seed 0 unseeded
    const shapes = [[14, 32], [32], [8, 10]];
    const draws = (step: number) =>
      shapes.map((s, i) =>
        tf.tidy(() =>
          tf.mul(
            tf.randomNormal(s, 0, 1, 'float32', 10 * step + i + 1),
            tf.pow(10, tf.randomUniform(s, -6, 1, 'float32', 7 * step + i + 1)),
          ),
        ),
      );
    const states = [] as Float32Array[][];
    for (const make of [
      () => tf.train.rmsprop(1e-2, 0.9, 0, 1e-7, false),
      () => new ArrayRMSProp(1e-2, 0.9, 0, 1e-7, false),
    ]) {
      const opt = make();
      const vars = shapes.map((s, i) =>
        tf.variable(tf.randomNormal(s, 0, 0.5, 'float32', 100 + i), true, `w${i}_${states.length}_${backend}`),
      );
      for (let step = 0; step < 12; step++) {
        if (step === 6) (opt as unknown as { learningRate: number }).learningRate = 2e-3;
        const g = draws(step);
        opt.applyGradients(
          vars.map((v, i) => ({ name: v.name, tensor: i === 1 && step === 3 ? tf.zerosLike(g[i]) : g[i] })),
        );
        tf.dispose(g);
      }
      // copies: a wasm read may be a view of memory the next run reuses
      const saved = (await opt.getWeights()).map((w) => (w.tensor.dataSync() as Float32Array).slice());
      states.push([...vars.map((v) => (v.dataSync() as Float32Array).slice()), ...saved]);
      tf.dispose(vars);
      opt.dispose();
    }
    const [tfjs, arrays] = states;
    assert.equal(arrays.length, tfjs.length);
    tfjs.forEach((a, i) =>
      assert.deepEqual(
        Buffer.from(arrays[i].buffer, arrays[i].byteOffset, arrays[i].byteLength),
        Buffer.from(a.buffer, a.byteOffset, a.byteLength),
        `${backend}: array ${i}`,
      ),
    );
  }
  // with momentum tfjs's own update runs (and the two agree, trivially)
  const withMomentum = new ArrayRMSProp(1e-2, 0.9, 0.5, 1e-7, false);
  const v = tf.variable(tf.ones([3]), true, 'momentum_check');
  withMomentum.applyGradients({ [v.name]: tf.ones([3]) });
  withMomentum.applyGradients({ [v.name]: tf.ones([3]) });
  assert.ok(Array.from(v.dataSync()).every((x) => x < 1));
  tf.dispose(v);
  withMomentum.dispose();
});
