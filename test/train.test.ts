import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerModelClasses } from '../lib/models/classes';
import { useBackend } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { scaleImages } from '../lib/data/transforms';
import { SequenceDataset } from '../lib/data/batches';
import { RandomState } from '../lib/data/random';
import { buildEurnnModel } from '../lib/models/eurnn';
import { clipByGlobalNorm, lossName, losses, trainableVariables } from '../lib/train/gradients';
import { Batch, Callback, evaluate, fit, trainStep } from '../lib/train/loop';
import { RMSprop } from '../lib/train/rmsprop';
import { loadModel, loadOptimizerState, loadWeightsInto, readTrainingState, saveModel } from '../lib/train/saving';
import { tinyModel } from './helpers/models';

// the round trips read models from JSON: the library's classes are registered explicitly
registerModelClasses();

async function digits(n: number): Promise<SequenceDataset> {
  const mnist = await loadMnist();
  return new SequenceDataset({
    images: scaleImages(mnist.trainImages.subarray(0, n * 784)),
    labels: mnist.trainLabels.subarray(0, n),
    steps: 784,
    features: 1,
  });
}

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-train-'));

test('fit lowers the loss on real digits, records a Keras-style history and leaks no tensors', async () => {
  await useBackend('wasm', { quiet: true });
  const data = await digits(500);
  const model = tinyModel();
  const before = await evaluate(model, data, { batchSize: 250, progress: false });
  const tensors = tf.memory().numTensors;
  const seen: number[] = [];
  const history = await fit(model, data, {
    epochs: 3,
    batchSize: 50,
    optimizer: tf.train.adam(1e-2),
    validation: data.take(100),
    progress: false,
    callbacks: [{ onEpochEnd: (e) => void seen.push(e) }],
  });
  assert.deepEqual(history.epoch, [0, 1, 2]);
  assert.deepEqual(seen, [0, 1, 2]);
  for (const k of ['loss', 'accuracy', 'val_loss', 'val_accuracy']) assert.equal(history.history[k].length, 3, k);
  assert.ok(history.history.loss[2] < before.loss / 2, `loss ${history.history.loss} vs initial ${before.loss}`);
  assert.ok(history.history.accuracy[2] > 0.8, `accuracy ${history.history.accuracy}`);
  // only the optimiser's two moment slots per weight (and its step counters) remain
  assert.ok(
    tf.memory().numTensors - tensors <= 2 * model.trainableWeights.length + 2,
    `${tf.memory().numTensors - tensors} tensors left`,
  );
});

test('a callback can stop training; resuming at initialEpoch continues the history', async () => {
  const data = await digits(100);
  const model = tinyModel();
  const history = await fit(model, data, {
    epochs: 5,
    batchSize: 50,
    optimizer: tf.train.adam(1e-3),
    progress: false,
    callbacks: [{ onEpochEnd: (e, _l, ctx) => void (e === 1 && (ctx.stopTraining = true)) }],
  });
  assert.deepEqual(history.epoch, [0, 1]);
  const resumed = await fit(model, data, {
    epochs: 4,
    batchSize: 50,
    optimizer: tf.train.adam(1e-3),
    progress: false,
    initialEpoch: 2,
    history,
  });
  assert.deepEqual(resumed.epoch, [0, 1, 2, 3]);
  await assert.rejects(
    fit(model, data, { epochs: 0, batchSize: 50, optimizer: tf.train.adam(), progress: false }),
    /epochs must be a positive integer \(got 0\)/,
  );
});

test('save/load round trip: same outputs, optimiser state and training state restored', async () => {
  const data = await digits(100);
  const model = tinyModel();
  const optimizer = tf.train.adam(1e-3);
  await fit(model, data, { epochs: 1, batchSize: 50, optimizer, progress: false });
  const dir = path.join(tmp(), 'ckpt');
  await saveModel(model, dir, { optimizer, state: { epoch: 1 } });
  const x = tf.randomUniform([3, 784, 1], 0, 1, 'float32', 7);
  const a = await (model.predict(x) as tf.Tensor).data();
  const loaded = await loadModel(dir);
  assert.deepEqual(Array.from(await (loaded.predict(x) as tf.Tensor).data()), Array.from(a));
  const fresh = tinyModel();
  loadWeightsInto(fresh, dir);
  assert.deepEqual(Array.from(await (fresh.predict(x) as tf.Tensor).data()), Array.from(a));
  const opt2 = tf.train.adam(1e-3);
  assert.equal(await loadOptimizerState(opt2, dir), true);
  const w1 = await optimizer.getWeights();
  const w2 = await opt2.getWeights();
  assert.equal(w2.length, w1.length);
  assert.deepEqual(Array.from(await w2[1].tensor.data()), Array.from(await w1[1].tensor.data()));
  assert.deepEqual(readTrainingState(dir), { epoch: 1 });
  // saving again over it replaces it whole and leaves no temporary folders beside it
  await saveModel(model, dir, { state: { epoch: 2 } });
  assert.deepEqual(readTrainingState(dir), { epoch: 2 });
  assert.deepEqual(fs.readdirSync(path.dirname(dir)), ['ckpt']);
});

test('weights of another shape or a missing file give an error naming the file and the shapes', async () => {
  const dir = path.join(tmp(), 'w');
  await saveModel(tinyModel(16), dir);
  assert.throws(
    () => loadWeightsInto(tinyModel(8), dir),
    (e: Error) => {
      assert.match(e.message, /weights\.bin: weight 0 \(.*\) has shape \[784, 16\], the model expects \[784, 8\]/);
      return true;
    },
  );
  assert.throws(
    () => loadWeightsInto(tinyModel(), path.join(dir, 'nope')),
    /model file not found: .*nope\/model\.json/,
  );
  fs.truncateSync(path.join(dir, 'weights.bin'), 100);
  assert.throws(
    () => loadWeightsInto(tinyModel(16), dir),
    /weights\.bin is truncated or damaged: 100 bytes, .*manifest\.json records 50920/,
  );
  fs.rmSync(path.join(dir, 'manifest.json')); // as a folder saved before manifests: the weights' size check
  assert.throws(() => loadWeightsInto(tinyModel(16), dir), /holds 100 bytes; its manifest expects 50920/);
});

test('the losses agree with their definitions', () => {
  const logits = tf.tensor2d([
    [2, 0, -1],
    [0.5, 0.5, 3],
  ]);
  const y = tf.tensor1d([0, 2], 'int32');
  const fromLogits = losses.sparseCrossEntropyFromLogits(logits, y).dataSync()[0];
  const probs = losses.sparseCrossEntropy(tf.softmax(logits), y).dataSync()[0];
  const nll = losses.nll(tf.logSoftmax(logits), y).dataSync()[0];
  const expected =
    (-Math.log(Math.exp(2) / (Math.exp(2) + 1 + Math.exp(-1))) -
      Math.log(Math.exp(3) / (2 * Math.exp(0.5) + Math.exp(3)))) /
    2;
  for (const v of [fromLogits, probs, nll]) assert.ok(Math.abs(v - expected) < 1e-5, `${v} vs ${expected}`);
});

test('saving and restoring optimiser state leaks no tensors', async () => {
  const data = await digits(100);
  const model = tinyModel();
  const optimizer = tf.train.adam(1e-3);
  await fit(model, data, { epochs: 1, batchSize: 50, optimizer, progress: false });
  const dir = path.join(tmp(), 'ckpt');
  const before = tf.memory().numTensors;
  await saveModel(model, dir, { optimizer });
  assert.equal(tf.memory().numTensors, before, 'saveModel');
  const opt2 = tf.train.adam(1e-3);
  await loadOptimizerState(opt2, dir);
  const slots = 2 * model.trainableWeights.length;
  assert.ok(
    tf.memory().numTensors - before <= slots + 2,
    `${tf.memory().numTensors - before} new tensors for ${slots} slots`,
  );
});

test('clipByGlobalNorm scales every gradient by clipNorm / ‖g‖ only when the global norm exceeds it (tf.clip_by_global_norm)', async () => {
  // global norm √(3² + 4² + 12²) = 13
  const grads = () => ({ a: tf.tensor1d([3, 4]), b: tf.tensor2d([[12]]) });
  const over = grads();
  assert.equal(await clipByGlobalNorm(over, 2.6), 13);
  assert.deepEqual(
    Array.from(over.a.dataSync()).map((v) => +v.toFixed(6)),
    [0.6, 0.8],
  );
  assert.deepEqual(
    Array.from(over.b.dataSync()).map((v) => +v.toFixed(6)),
    [2.4],
  );
  assert.deepEqual(over.b.shape, [1, 1]);
  const under = grads();
  const a = under.a;
  assert.equal(await clipByGlobalNorm(under, 13.5), 13);
  assert.equal(under.a, a, 'below the clip norm the gradients are kept as they are');
  assert.deepEqual(Array.from(under.a.dataSync()), [3, 4]);
  tf.dispose([over.a, over.b, under.a, under.b]);
});

test('fit with clipNorm takes the clipped step, logs the largest norm and the clipped steps, and rejects a bad clipNorm', async () => {
  await useBackend('wasm', { quiet: true });
  const data = await digits(50);
  const x = tf.tensor3d(data.images, [50, 784, 1]);
  const y = tf.tensor1d(data.labels, 'int32');
  const reference = tinyModel();
  const vars = reference.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const { value, grads } = tf.variableGrads(
    () => losses.sparseCrossEntropyFromLogits(reference.apply(x) as tf.Tensor, y),
    vars,
  );
  const norm = Math.sqrt(Object.values(grads).reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0], 0));
  const clip = norm / 4;
  const expected = vars.map((v) => tf.sub(v, tf.mul(grads[v.name], 0.1 * (clip / norm))));
  const model = tinyModel();
  const history = await fit(model, data, {
    epochs: 1,
    batchSize: 50,
    optimizer: tf.train.sgd(0.1),
    clipNorm: clip,
    shuffleSeed: null,
    progress: false,
  });
  assert.ok(
    Math.abs(history.history.max_grad_norm[0] - norm) < 1e-4 * norm,
    `${history.history.max_grad_norm[0]} vs ${norm}`,
  );
  assert.equal(history.history.clipped_steps[0], 1);
  model.trainableWeights.forEach((w, i) => {
    const diff = tf.max(tf.abs(tf.sub(w.read(), expected[i]))).dataSync()[0];
    assert.ok(diff < 1e-6, `${w.name}: ${diff}`);
  });
  for (const bad of [0, -1, NaN, Infinity]) {
    await assert.rejects(
      fit(model, data, { epochs: 1, batchSize: 50, optimizer: tf.train.sgd(0.1), clipNorm: bad, progress: false }),
      new RegExp(`clipNorm must be a positive number \\(got ${bad}\\)`),
    );
  }
  tf.dispose([x, y, value, ...Object.values(grads), ...expected]);
});

test('step-counted fit: a batch drawn per step, validation before step 0, every validateEvery and the last step; resuming does not validate twice', async () => {
  await useBackend('wasm', { quiet: true });
  const data = await digits(200);
  const rng = new RandomState(1);
  const sample = (): Batch => data.batches(20, { order: rng.randint(0, data.size, 20) }).next().value as Batch;
  const model = tinyModel();
  const optimizer = tf.train.adam(1e-2);
  const events: string[] = [];
  const recorder: Callback = {
    onBatchBegin: (step) => void events.push(`begin ${step}`),
    onBatchEnd: (step, logs) => void events.push(`end ${step} ${logs.size}`),
    onValidationEnd: (step, logs) => void events.push(`valid ${step} ${logs.val_accuracy >= 0 && logs.val_loss > 0}`),
  };
  const options = {
    validation: data.take(50),
    validationBatchSize: 25,
    validateEvery: 4,
    optimizer,
    callbacks: [recorder],
    progress: false as const,
  };
  const tensors = tf.memory().numTensors;
  const history = await fit(model, sample, { steps: 10, ...options });
  assert.deepEqual(history.step, [0, 4, 8, 9]);
  assert.deepEqual(history.epoch, []);
  assert.equal(history.history.val_loss.length, 4);
  assert.ok(history.history.val_loss[3] < history.history.val_loss[0], `val_loss ${history.history.val_loss}`);
  assert.deepEqual(events.slice(0, 5), ['valid 0 true', 'begin 0', 'end 0 20', 'begin 1', 'end 1 20']);
  assert.deepEqual(
    events.filter((e) => e.startsWith('valid')),
    ['valid 0 true', 'valid 4 true', 'valid 8 true', 'valid 9 true'],
  );
  assert.equal(events.filter((e) => e.startsWith('end')).length, 10);
  // only the optimiser's two moment slots per weight (and its step counters) remain
  assert.ok(
    tf.memory().numTensors - tensors <= 2 * model.trainableWeights.length + 2,
    `${tf.memory().numTensors - tensors} tensors left`,
  );
  // resumed at step 9 (its checkpoint saved after that validation): on to 12, validating before 11 only
  events.length = 0;
  const resumed = await fit(model, sample, { steps: 12, initialStep: 9, history, ...options });
  assert.deepEqual(resumed.step, [0, 4, 8, 9, 11]);
  assert.deepEqual(events, ['begin 9', 'end 9 20', 'begin 10', 'end 10 20', 'valid 11 true', 'begin 11', 'end 11 20']);
  // a callback stops it; bad settings and a diverging loss are named
  const stopped: number[] = [];
  await fit(model, sample, {
    steps: 10,
    optimizer,
    progress: false,
    callbacks: [{ onBatchEnd: (s, _l, ctx) => void (stopped.push(s), s === 2 && (ctx.stopTraining = true)) }],
  });
  assert.deepEqual(stopped, [0, 1, 2]);
  await assert.rejects(fit(model, sample, { steps: 0, optimizer }), /steps must be a positive integer \(got 0\)/);
  await assert.rejects(
    fit(model, sample, { steps: 3, optimizer, validation: data }),
    /validateEvery must be a positive integer \(got undefined\)/,
  );
  const nan = (): Batch => ({ x: tf.fill([2, 784, 1], NaN), y: tf.tensor1d([0, 1], 'int32') });
  await assert.rejects(
    fit(tinyModel(), nan, { steps: 3, optimizer: tf.train.sgd(0.1), progress: false }),
    /loss became NaN at step 0/,
  );
});

test("trainStep takes the same step as optimizer.minimize, bit for bit (EURNN's RMSprop on its model)", async () => {
  await useBackend('wasm', { quiet: true });
  const data = await digits(60);
  const ours = buildEurnnModel({ hiddenSize: 8, seed: 3 });
  const theirs = buildEurnnModel({ hiddenSize: 8, seed: 3 });
  const [a, b] = [new RMSprop({ learningRate: 1e-2 }), new RMSprop({ learningRate: 1e-2 })];
  for (const batch of data.batches(20)) {
    const r = await trainStep(ours, batch, { optimizer: a, loss: losses.sparseCrossEntropyFromLogits });
    const cost = b.minimize(
      () => losses.sparseCrossEntropyFromLogits(theirs.apply(batch.x, { training: true }) as tf.Tensor, batch.y),
      true,
      trainableVariables(theirs),
    )!;
    assert.equal(r.loss, cost.dataSync()[0]);
    assert.ok(r.correct >= 0 && r.correct <= 20 && r.gradNorm === undefined);
    tf.dispose([batch.x, batch.y, cost]);
  }
  ours
    .getWeights()
    .forEach((w, i) =>
      assert.deepEqual(Array.from(w.dataSync()), Array.from(theirs.getWeights()[i].dataSync()), `weight ${i}`),
    );
  ours.dispose();
  theirs.dispose();
  a.dispose();
  b.dispose();
});

test('a loss is named for worker threads only when it is one of losses', () => {
  assert.equal(lossName(losses.nll), 'nll');
  assert.equal(lossName(losses.sparseCrossEntropyFromLogits), 'sparseCrossEntropyFromLogits');
  const own = (out: tf.Tensor, y: tf.Tensor) => losses.nll(out, y);
  assert.throws(
    () => lossName(own),
    /a loss split over worker threads must be one of losses \(sparseCrossEntropyFromLogits, sparseCrossEntropy, nll\)/,
  );
});
