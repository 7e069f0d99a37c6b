import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { EarlyStopping, getLearningRate, pythonFloat, ReduceLROnPlateau } from '../lib/train/callbacks';
import type { TrainContext } from '../lib/train/loop';

test.before(async () => {
  await useBackend('cpu', { quiet: true });
});

function context(lr = 0.01): TrainContext {
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 1, inputShape: [1], kernelInitializer: 'zeros', biasInitializer: 'zeros' })],
  });
  return {
    model,
    optimizer: tf.train.rmsprop(lr, 0.9, 0, 1e-7),
    history: { epoch: [], history: {} },
    stopTraining: false,
    epochs: 100,
  };
}

/** Runs a callback over a scripted metric curve; before epoch e the model's weights are all e. */
async function script(cb: ReduceLROnPlateau | EarlyStopping, curve: number[], ctx: TrainContext, monitor = 'val_loss') {
  const lrs: number[] = [];
  cb.onTrainBegin?.();
  for (let epoch = 0; epoch < curve.length && !ctx.stopTraining; epoch++) {
    ctx.model.setWeights(ctx.model.getWeights().map((w) => tf.fill(w.shape, epoch)));
    lrs.push(getLearningRate(ctx.optimizer));
    cb.onEpochEnd(epoch, { loss: 1, [monitor]: curve[epoch] }, ctx);
  }
  if (cb instanceof EarlyStopping) cb.onTrainEnd();
  return lrs;
}

test('pythonFloat prints as Python repr (Keras messages)', () => {
  // Python: repr(float(np.float32(0.01)) * 0.2), Keras's new_lr with NumPy 1.x promotion
  assert.equal(pythonFloat(Math.fround(0.01) * 0.2), '0.0019999999552965165');
  assert.equal(pythonFloat(4e-5), '4e-05');
  assert.equal(pythonFloat(1e-4), '0.0001');
  assert.equal(pythonFloat(1.5e-7), '1.5e-07');
  assert.equal(pythonFloat(100), '100.0');
  assert.equal(pythonFloat(0.5), '0.5');
  assert.equal(pythonFloat(1e16), '1e+16');
  assert.equal(pythonFloat(-2.5e-5), '-2.5e-05');
});

test('ReduceLROnPlateau on a scripted curve: patience, min_delta, cooldown, min_lr, messages as Keras', async () => {
  const lines: string[] = [];
  const cb = new ReduceLROnPlateau({
    factor: 0.5,
    patience: 2,
    cooldown: 1,
    minLr: 0.002,
    minDelta: 0.01,
    verbose: 1,
    print: (l) => lines.push(l),
  });
  const ctx = context(0.01);
  // epoch:        0    1     2      3    4    5    6    7    8    9   10
  const curve = [1.0, 0.9, 0.895, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8];
  const lrs = await script(cb, curve, ctx);
  const f = Math.fround;
  // 2: 0.895 is within min_delta of 0.9 → wait 1; 3: wait 2 → halve, cooldown 1; 4: the cooldown
  // ends (wait reset), improvement; 5, 6: wait 1, 2 → halve; 7: cooldown ends, yet no improvement
  // counts at once (Keras decrements first), wait 1; 8: wait 2 → halve, clamped to min_lr;
  // 9: cooldown; 10: wait 2, but lr is no longer above min_lr
  const l1 = f(0.01) * 0.5;
  const l2 = f(l1) * 0.5;
  assert.deepEqual(lrs, [0.01, 0.01, 0.01, 0.01, l1, l1, l1, l2, l2, 0.002, 0.002]);
  assert.deepEqual(lines, [
    `\nEpoch 4: ReduceLROnPlateau reducing learning rate to ${pythonFloat(l1)}.`,
    `\nEpoch 7: ReduceLROnPlateau reducing learning rate to ${pythonFloat(l2)}.`,
    '\nEpoch 9: ReduceLROnPlateau reducing learning rate to 0.002.',
  ]);
  assert.equal(lines[0], '\nEpoch 4: ReduceLROnPlateau reducing learning rate to 0.004999999888241291.');
  assert.deepEqual(ctx.history.history.lr, lrs.map(f));
  ctx.model.dispose();
});

test('ReduceLROnPlateau stops reducing at min_lr, and watches accuracy upwards in auto mode', async () => {
  const cb = new ReduceLROnPlateau({ factor: 0.1, patience: 1, minLr: 0.001 });
  const ctx = context(0.001);
  const lrs = await script(cb, [1, 1, 1, 1], ctx);
  assert.deepEqual(lrs, [0.001, 0.001, 0.001, 0.001]);
  const acc = new ReduceLROnPlateau({ monitor: 'val_accuracy', factor: 0.5, patience: 1, minDelta: 0 });
  const ctx2 = context(0.01);
  const lrs2 = await script(acc, [0.5, 0.6, 0.7, 0.65], ctx2, 'val_accuracy');
  assert.deepEqual(lrs2, [0.01, 0.01, 0.01, 0.01]);
  assert.equal(getLearningRate(ctx2.optimizer), Math.fround(0.01) * 0.5);
  [ctx, ctx2].forEach((c) => c.model.dispose());
});

test('EarlyStopping stops after patience epochs without improvement and restores the best weights', async () => {
  const lines: string[] = [];
  const cb = new EarlyStopping({ patience: 2, restoreBestWeights: true, verbose: 1, print: (l) => lines.push(l) });
  const ctx = context();
  await script(cb, [1.0, 0.8, 0.85, 0.9, 0.5], ctx);
  assert.equal(ctx.stopTraining, true);
  assert.equal(cb.stoppedEpoch, 3);
  assert.equal(cb.bestEpoch, 1);
  assert.deepEqual(Array.from(ctx.model.getWeights()[0].dataSync()), [1]); // weights of epoch 1
  assert.deepEqual(lines, ['Restoring model weights from the end of the best epoch: 2.', 'Epoch 4: early stopping']);
  cb.dispose();
  ctx.model.dispose();
});

test('EarlyStopping without restore keeps the last weights; min_delta and baseline count as Keras', async () => {
  const ctx = context();
  const plain = new EarlyStopping({ patience: 1, minDelta: 0.1 });
  await script(plain, [1.0, 0.95, 0.7], ctx); // 0.95 is not 0.1 better → stops at epoch 1
  assert.equal(plain.stoppedEpoch, 1);
  assert.deepEqual(Array.from(ctx.model.getWeights()[0].dataSync()), [1]);
  const ctx2 = context();
  const baseline = new EarlyStopping({ patience: 2, baseline: 0.5 });
  await script(baseline, [0.9, 0.8, 0.7, 0.6], ctx2); // improving but never below the baseline
  assert.equal(baseline.stoppedEpoch, 1);
  const ctx3 = context();
  const never = new EarlyStopping({ patience: 2, restoreBestWeights: true });
  await script(never, [0.9, 0.8, 0.7, 0.6], ctx3);
  assert.equal(ctx3.stopTraining, false);
  assert.deepEqual(Array.from(ctx3.model.getWeights()[0].dataSync()), [3]); // Keras 2: no restore without an early stop
  // patience 0 stops at the second epoch even while improving (Keras 2.11's `epoch > 0` rule)
  const ctx4 = context();
  const zero = new EarlyStopping({ patience: 0 });
  await script(zero, [0.9, 0.8, 0.7], ctx4);
  assert.equal(zero.stoppedEpoch, 1);
  never.dispose();
  [ctx, ctx2, ctx3, ctx4].forEach((c) => c.model.dispose());
});

test('EarlyStopping and ReduceLROnPlateau resume from saved state as if never interrupted', async () => {
  const curve = [1.0, 0.8, 0.85, 0.9, 0.95, 0.97];
  const whole = new EarlyStopping({ patience: 3, restoreBestWeights: true });
  const ctxA = context();
  await script(whole, curve, ctxA);
  const first = new EarlyStopping({ patience: 3, restoreBestWeights: true });
  const ctxB = context();
  await script(first, curve.slice(0, 3), ctxB);
  const resumed = new EarlyStopping({ patience: 3, restoreBestWeights: true });
  resumed.resumeFrom(first.getState(), first.getBestWeights());
  resumed.onTrainBegin();
  for (let epoch = 3; epoch < curve.length && !ctxB.stopTraining; epoch++) {
    ctxB.model.setWeights(ctxB.model.getWeights().map((w) => tf.fill(w.shape, epoch)));
    resumed.onEpochEnd(epoch, { val_loss: curve[epoch] }, ctxB);
  }
  assert.equal(resumed.stoppedEpoch, whole.stoppedEpoch);
  assert.deepEqual(
    Array.from(ctxB.model.getWeights()[0].dataSync()),
    Array.from(ctxA.model.getWeights()[0].dataSync()),
  );
  const r = new ReduceLROnPlateau({ patience: 1 });
  r.resumeFrom({ best: 0.5, wait: 1, cooldownCounter: 0 });
  const ctxC = context(0.01);
  r.onTrainBegin();
  r.onEpochEnd(5, { val_loss: 0.6 }, ctxC);
  assert.equal(getLearningRate(ctxC.optimizer), Math.fround(0.01) * 0.1);
  [whole, first, resumed].forEach((c) => c.dispose());
  [ctxA, ctxB, ctxC].forEach((c) => c.model.dispose());
});

test('bad settings are refused with the value', () => {
  assert.throws(
    () => new ReduceLROnPlateau({ factor: 1 }),
    /ReduceLROnPlateau does not support a factor >= 1.0 \(got 1\)/,
  );
  assert.throws(() => new ReduceLROnPlateau({ factor: 1.5 }), /factor >= 1.0 \(got 1.5\)/);
  assert.throws(() => new ReduceLROnPlateau({ patience: -1 }), /patience must be a non-negative integer \(got -1\)/);
  assert.throws(() => new EarlyStopping({ patience: -2 }), /patience must be a non-negative integer \(got -2\)/);
  assert.throws(() => new EarlyStopping({ patience: 1.5 }), /patience must be a non-negative integer \(got 1.5\)/);
  assert.throws(() => new EarlyStopping({ mode: 'up' as 'max' }), /mode must be 'auto', 'min' or 'max' \(got "up"\)/);
});
