import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { psmnistPermutation } from '../lib/data/random';
import { loadModel, readTrainingState, saveModel } from '../lib/train/saving';
import { getWalkthrough } from '../lib/cli/main';
import { loadPsmnist } from '../lib/data/psmnist';
import { historyChart } from '../lib/plot/history';
import { ModelCheckpoint } from '../lib/train/callbacks';
import { TrainContext } from '../lib/train/loop';
import {
  buildLmuModel,
  LMU_DEFAULTS,
  lmuOptimizer,
  lmuWeightsDir,
  loadLmuModel,
  loadLmuTrainingLog,
  trainLmu,
  validationAccuracyAtBestLoss,
} from '../lib/walkthroughs/lmu';

test.before(async () => {
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

test('the CLI knows keras-lmu and nengo-lmu, with their parameter counts', async () => {
  for (const [name, params] of [
    ['keras-lmu', 101771],
    ['nengo-lmu', 101549],
  ] as const) {
    const w = getWalkthrough(name);
    assert.equal(w.torchPeer, 'lmu-fft');
    assert.deepEqual(w.trainFlags, ['epochs', 'limit', 'resume', 'out', 'seed', 'clipnorm']);
    assert.equal(buildLmuModel(name === 'keras-lmu' ? 'keras' : 'nengo').countParams(), params);
  }
  assert.throws(() => buildLmuModel('pytorch' as never), /variant must be 'keras' or 'nengo' \(got "pytorch"\)/);
});

test('missing shipped weights: the error names the file and the command that makes it', () => {
  const dir = path.join(os.tmpdir(), 'no-such-lmu-weights');
  assert.throws(
    () => loadLmuModel('keras', dir),
    new RegExp(
      `no trained weights for keras-lmu: ${path.join(dir, 'model.json').replace(/[.\\]/g, '\\$&')} does not exist \\(train with 'npm run seqmnist -- train keras-lmu'`,
    ),
  );
  assert.throws(
    () => loadLmuTrainingLog('nengo', dir),
    /no training log for nengo-lmu: .*training-log.json does not exist/,
  );
  assert.ok(lmuWeightsDir('keras').endsWith(path.join('notebooks', 'weights', 'keras-lmu')));
});

test('weights of the wrong shapes are reported with the expected ones', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmu-shapes-'));
  try {
    const other = buildLmuModel('nengo', { order: 8, units: 4 });
    await saveModel(other, dir);
    assert.throws(
      () => loadLmuModel('nengo', dir),
      /weights\.bin: weight 1 \(lmu_cell\/x_to_h\) has shape \[1, 4\], the model expects \[1, 212\]/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
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

test('trainLmu learns on a few sequences, keeps the best model, and resumes from its checkpoint', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmu-train-'));
  try {
    const mnist = await loadMnist();
    const data = await loadPsmnist({ validation: 10000, limit: 240, mnist }); // 200 train, 40 validation
    const out = path.join(dir, 'best');
    const checkpointDir = path.join(dir, 'checkpoint');
    const r = await trainLmu({ variant: 'keras', data, epochs: 1, out, checkpointDir, threads: 1, progress: false });
    assert.equal(r.history.epoch.length, 1);
    assert.ok(r.history.history.loss[0] < 2.3, `loss ${r.history.history.loss[0]}`);
    assert.ok(fs.existsSync(path.join(out, 'weights.bin')));
    assert.equal(r.bestEpoch, 0);
    assert.equal(readTrainingState(checkpointDir)?.epoch, 1);
    const resumed = await trainLmu({
      variant: 'keras',
      data,
      epochs: 2,
      out,
      checkpointDir,
      resume: true,
      threads: 1,
      progress: false,
    });
    assert.deepEqual(resumed.history.epoch, [0, 1]);
    assert.ok(loadLmuModel('keras', out).countParams() === 101771);
    await assert.rejects(
      trainLmu({ variant: 'keras', data: { ...data, validation: undefined }, threads: 1 }),
      /validates after every epoch/,
    );
    assert.equal(LMU_DEFAULTS.batchSize, 100);
    assert.equal(lmuOptimizer().getClassName(), 'Adam');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
