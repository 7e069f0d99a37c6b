import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerModelClasses } from '../lib/models/classes';
import { useBackend } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { psmnistPermutation } from '../lib/data/random';
import { buildNengoLmuModel } from '../lib/models/lmu';
import { loadModel, readTrainingState, saveModel, shippedWeightsDir } from '../lib/train/saving';
import { loadPsmnist } from '../lib/data/psmnist';
import { historyChart } from '../lib/plot/history';
import { ModelCheckpoint } from '../lib/train/callbacks';
import { TrainContext } from '../lib/train/loop';
import { kerasLmu, LMU_DEFAULTS, nengoLmu, validationAccuracyAtBestLoss } from '../lib/walkthroughs/lmu';
import { loadTrained } from '../lib/walkthroughs/run';

// the round trips read models from JSON: the library's classes are registered explicitly
registerModelClasses();

test.before(async () => {
  process.env.SEQMNIST_THREADS = '1';
  await useBackend('wasm', { quiet: true });
});

test('loadPsmnist: KerasLMU split 50,000 / 10,000 / 10,000, scaled and permuted', async () => {
  const mnist = await loadMnist();
  const data = await loadPsmnist({ validation: 10000, mnist });
  assert.equal(data.train.size, 50000);
  assert.equal(data.validation!.size, 10000);
  assert.equal(data.test.size, 10000);
  assert.deepEqual([data.train.steps, data.train.features], [784, 1]);
  const perm = psmnistPermutation(0);
  assert.deepEqual(Array.from(data.permutation), Array.from(perm));
  // step i of a sequence is pixel perm[i] of the image, scaled to [0, 1]
  for (const i of [0, 1, 400, 783]) {
    assert.equal(data.train.images[i], mnist.trainImages[perm[i]] / 255);
    assert.equal(data.validation!.images[i], mnist.trainImages[50000 * 784 + perm[i]] / 255);
    assert.equal(data.test.images[784 + i], mnist.testImages[784 + perm[i]] / 255);
  }
  assert.equal(data.validation!.labels[0], mnist.trainLabels[50000]);
  const nengo = await loadPsmnist({ mnist });
  assert.equal(nengo.train.size, 60000);
  assert.equal(nengo.validation, undefined);
  const small = await loadPsmnist({ validation: 10000, limit: 600, mnist });
  assert.deepEqual([small.train.size, small.validation!.size, small.test.size], [500, 100, 600]);
  await assert.rejects(loadPsmnist({ limit: 0, mnist }), /limit must be a positive integer \(got 0\)/);
  await assert.rejects(
    loadPsmnist({ validation: -1, mnist }),
    /validation must be an integer in \[0, 60000\) \(got -1\)/,
  );
});

test("validationAccuracyAtBestLoss is KerasLMU's 'Maximum validation accuracy' (at the lowest val_loss)", () => {
  const history = { epoch: [0, 1, 2], history: { val_loss: [0.3, 0.2, 0.25], val_accuracy: [0.9, 0.93, 0.95] } };
  assert.deepEqual(validationAccuracyAtBestLoss(history), { epoch: 1, accuracy: 0.93, loss: 0.2 });
  assert.throws(() => validationAccuracyAtBestLoss({ epoch: [], history: {} }), /no val_loss and val_accuracy/);
});

test("kerasLmu and nengoLmu: the originals' settings as defaults, their models and parameter counts", () => {
  for (const [w, name, params, validation] of [
    [kerasLmu, 'keras-lmu', 101771, 10000],
    [nengoLmu, 'nengo-lmu', 101549, 0],
  ] as const) {
    assert.equal(w.name, name);
    assert.equal(w.torchPeer, 'lmu-fft');
    assert.deepEqual(w.evalKeys, []);
    assert.deepEqual(w.defaults, {
      seed: 0,
      limit: undefined,
      batchSize: 100,
      learningRate: 1e-3,
      epochs: 10,
      clipNorm: undefined,
      validation,
    });
    // the CLI takes a flag for a walkthrough iff its config has the key
    for (const key of ['epochs', 'limit', 'seed', 'clipNorm']) assert.ok(key in w.defaults, key);
    for (const key of ['steps', 'permute', 'fresh']) assert.ok(!(key in w.defaults), key);
    assert.deepEqual(w.config(), w.defaults);
    const model = w.buildModel(w.config());
    assert.equal(model.countParams(), params);
    model.dispose();
    assert.equal(w.weightsName(w.config()), name);
    assert.equal(w.shipped.length, 1);
    assert.equal(w.shipped[0].name, name);
    assert.deepEqual(w.input(w.config()), {
      task: 'permuted',
      side: 28,
      steps: 784,
      featuresPerStep: 1,
      pixelOrder: 'RandomState(0).permutation(784)',
      preprocessing: 'pixels / 255',
    });
    assert.equal(w.outputs, 'logits');
    assert.equal(w.evalBatchSize, 200);
    assert.equal(w.optimizer(w.config()).getClassName(), 'Adam');
    assert.deepEqual(w.modelRecipe!(w.config({ seed: 3 })).args, [{ seed: 3 }]);
  }
  assert.deepEqual(nengoLmu.shipped[0].overrides, { clipNorm: 1 });
  assert.equal(typeof kerasLmu.replay, 'function');
  assert.equal(nengoLmu.replay, undefined);
});

test('config() checks every field, naming the bad value, and refuses unknown keys', () => {
  const c = kerasLmu.config({ epochs: 2, limit: 100, clipNorm: 1, seed: 5, learningRate: 0.01, batchSize: 50 });
  assert.deepEqual(c, {
    seed: 5,
    limit: 100,
    batchSize: 50,
    learningRate: 0.01,
    epochs: 2,
    clipNorm: 1,
    validation: 10000,
  });
  for (const [overrides, message] of [
    [{ epochs: 0 }, /epochs must be a positive integer \(got 0\)/],
    [{ epochs: 1.5 }, /epochs must be a positive integer \(got 1.5\)/],
    [{ epochs: 2 ** 60 }, /epochs must be a positive integer \(got 1152921504606847000\)/],
    [{ limit: -1 }, /limit must be a positive integer \(got -1\)/],
    [{ seed: -1 }, /seed must be a non-negative integer \(got -1\)/],
    [{ batchSize: 0 }, /batchSize must be a positive integer \(got 0\)/],
    [{ learningRate: 0 }, /learningRate must be a positive number \(got 0\)/],
    [{ clipNorm: -1 }, /clipNorm must be a positive number \(got -1\)/],
    [{ validation: 0 }, /validation must be a positive integer \(got 0\)/],
    [{ validation: 60000 }, /validation must be a number in \[0, 59999\] \(got 60000\)/],
    [{ steps: 3 }, /keras-lmu has no config key 'steps' \(it has: seed, limit, batchSize/],
    [{ permute: true, fresh: true }, /keras-lmu has no config keys 'permute', 'fresh'/],
  ] as const) {
    assert.throws(() => kerasLmu.config(overrides as never), message, JSON.stringify(overrides));
  }
  assert.equal(nengoLmu.config({ validation: 0 }).validation, 0);
  assert.throws(() => nengoLmu.config({ validation: -1 }), /validation must be a non-negative integer \(got -1\)/);
});

test('missing shipped weights: the error names the file and the command that makes it', () => {
  const dir = path.join(os.tmpdir(), 'no-such-lmu-weights');
  assert.throws(
    () => loadTrained(kerasLmu, { dir }),
    new RegExp(
      `no trained weights for keras-lmu: ${path.join(dir, 'model.json').replace(/[.\\]/g, '\\$&')} does not exist \\(train with 'npm run seqmnist -- train keras-lmu'`,
    ),
  );
  assert.ok(
    shippedWeightsDir(kerasLmu.weightsName(kerasLmu.config())).endsWith(path.join('notebooks', 'weights', 'keras-lmu')),
  );
});

test('weights of the wrong shapes are reported with the expected ones', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmu-shapes-'));
  try {
    const other = buildNengoLmuModel({ order: 8, units: 4 });
    await saveModel(other, dir);
    other.dispose();
    assert.throws(
      () => loadTrained(nengoLmu, { dir }),
      /weights\.bin: weight 1 \(lmu_cell\/x_to_h\) has shape \[1, 4\], the model expects \[1, 212\]/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('budget: epochs × steps of 100 from the log, with what decides the result', () => {
  const log = { epochs: 10, epochSeconds: [1, 2], trainImages: 50000, msPerStep: 3, bestEpoch: 8 };
  assert.deepEqual(kerasLmu.budget(log), {
    budget: '10 epochs × 500 steps of 100',
    budgetNote: 'kept epoch 8 of 10 (lowest validation loss)',
    epochs: 10,
    steps: 5000,
    batchSize: 100,
    imagesSeen: 500000,
    seconds: 3,
    secondsNote: 'sum of epoch times, training steps only',
    msPerStep: 3,
    msPerStepNote: 'from the log',
  });
  const nengo = { epochs: 2, epochSeconds: [10, 20], trainImages: 60000 };
  assert.equal(nengoLmu.budget(nengo).budgetNote, null);
  assert.equal(nengoLmu.budget(nengo).msPerStep, 30000 / 1200);
  assert.equal(nengoLmu.budget({ ...nengo, clipNorm: 1 }).budgetNote, 'gradients clipped to global norm 1');
});

test('ModelCheckpoint keeps the model of the best monitored value, with Keras messages, and resumes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmu-ckpt-'));
  try {
    const lines: string[] = [];
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
    const ctx = { model, epochs: 3 } as unknown as TrainContext;
    const cb = new ModelCheckpoint({
      filepath: path.join(dir, 'best'),
      saveBestOnly: true,
      verbose: 1,
      print: (l) => lines.push(l.trim()),
    });
    cb.onTrainBegin();
    await cb.onEpochEnd(0, { val_loss: 0.5 }, ctx);
    const first = model.getWeights()[0].dataSync().slice();
    model.setWeights(model.getWeights().map((w) => tf.add(w, 1)));
    await cb.onEpochEnd(1, { val_loss: 0.7 }, ctx);
    assert.deepEqual(lines, [
      'Epoch 1: val_loss improved from inf to 0.50000, saving model to ' + path.join(dir, 'best'),
      'Epoch 2: val_loss did not improve from 0.50000',
    ]);
    const kept = await loadModel(path.join(dir, 'best'));
    assert.deepEqual(Array.from(kept.getWeights()[0].dataSync()), Array.from(first));
    assert.deepEqual(cb.getState(), { best: 0.5, bestEpoch: 0 });
    // resumed, a worse value does not overwrite; accuracy is maximised
    const again = new ModelCheckpoint({ filepath: path.join(dir, 'best'), saveBestOnly: true });
    again.resumeFrom(cb.getState());
    again.onTrainBegin();
    assert.equal(again.best, 0.5);
    const acc = new ModelCheckpoint({ filepath: path.join(dir, 'acc'), monitor: 'val_accuracy', saveBestOnly: true });
    acc.onTrainBegin();
    await acc.onEpochEnd(0, { val_accuracy: 0.8 }, ctx);
    await acc.onEpochEnd(1, { val_accuracy: 0.9 }, ctx);
    assert.equal(acc.bestEpoch, 1);
    assert.throws(() => new ModelCheckpoint({ filepath: '' }), /filepath must be a non-empty folder path \(got ""\)/);
    assert.throws(
      () => new ModelCheckpoint({ filepath: 'x', mode: 'up' as never }),
      /mode must be 'auto', 'min' or 'max' \(got "up"\)/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("historyChart draws KerasLMU's post-epoch accuracies (ticks 1–10, y 0.85–1) and names a missing metric", () => {
  const h = { epoch: [0, 1], history: { accuracy: [0.9, 0.95], val_accuracy: [0.92, 0.96], loss: [0.3, 0.2] } };
  const fig = historyChart(h, { epochs: 10, ...LMU_DEFAULTS.historyChart, display: false });
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ['Validation', 'Training'],
  );
  const layout = fig.layout as { yaxis: { range: number[] }; xaxis: { tickvals: number[] }; title: { text: string } };
  assert.deepEqual(layout.yaxis.range, [0.85, 1]);
  assert.deepEqual(layout.xaxis.tickvals, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(layout.title.text, 'Post-epoch Training Accuracies');
  assert.throws(
    () => historyChart({ epoch: [0], history: { loss: [1] } }, { display: false }),
    /history has no 'val_accuracy' \(it has: loss\)/,
  );
});

test('train learns on a few sequences, keeps the best model in <checkpointDir>/best, and resumes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmu-train-'));
  try {
    const mnist = await loadMnist();
    const config = kerasLmu.config({ limit: 240, epochs: 1 });
    const data = await kerasLmu.loadData(config, { mnist }); // 200 train, 40 validation
    assert.deepEqual([data.train.size, data.validation!.size, data.test.size], [200, 40, 240]);
    const checkpointDir = path.join(dir, 'checkpoint');
    const r = await kerasLmu.train(config, { data, checkpointDir, progress: false });
    r.model.dispose();
    r.optimizer.dispose();
    assert.equal(r.threads, 1);
    assert.equal(r.history.epoch.length, 1);
    assert.ok(r.history.history.loss[0] < 2.3, `loss ${r.history.history.loss[0]}`);
    assert.equal(r.bestDir, path.join(checkpointDir, 'best'));
    assert.ok(fs.existsSync(path.join(checkpointDir, 'best', 'weights.bin')));
    assert.equal(r.bestEpoch, 0);
    assert.equal(readTrainingState(checkpointDir)?.epoch, 1);
    assert.deepEqual(readTrainingState(checkpointDir)?.config, {
      seed: 0,
      limit: 240,
      batchSize: 100,
      learningRate: 1e-3,
      validation: 10000,
    });
    // another config's checkpoint is refused, the length excepted
    await assert.rejects(
      kerasLmu.train(kerasLmu.config({ limit: 240, epochs: 2, seed: 1 }), { data, checkpointDir, resume: true }),
      /belongs to another training \(seed 0, not 1\)/,
    );
    const resumed = await kerasLmu.train(kerasLmu.config({ limit: 240, epochs: 2 }), {
      data,
      checkpointDir,
      resume: true,
      progress: false,
    });
    assert.deepEqual(resumed.history.epoch, [0, 1]);
    assert.equal(resumed.epochSeconds.length, 2);
    const kept = loadTrained(kerasLmu, { dir: resumed.bestDir });
    assert.equal(kept.model.countParams(), 101771);
    assert.equal(kept.log, undefined);
    const e = await kerasLmu.evaluate(kept.model, config, { data });
    assert.deepEqual(Object.keys(e), ['accuracy', 'loss', 'testImages', 'lines']);
    assert.equal(e.testImages, 240);
    kept.model.dispose();
    resumed.model.dispose();
    resumed.optimizer.dispose();
    await assert.rejects(
      kerasLmu.train(config, { data: { ...data, validation: undefined } }),
      /validates after every epoch/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('standardTestSet: the first test images in file order, as psMNIST', async () => {
  const mnist = await loadMnist();
  const test = await nengoLmu.standardTestSet(nengoLmu.config(), { mnist, limit: 3 });
  assert.equal(test.size, 3);
  assert.deepEqual(Array.from(test.labels), Array.from(mnist.testLabels.subarray(0, 3)));
  const perm = psmnistPermutation(0);
  assert.equal(test.images[784 + 5], mnist.testImages[784 + perm[5]] / 255);
});
