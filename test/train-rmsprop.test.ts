import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { RMSprop } from '../lib/train/rmsprop';

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
