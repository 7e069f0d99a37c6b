import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { AugmentedImageSource } from '../lib/data/pipeline';
import { loadMnist, Mnist } from '../lib/data/mnist';
import { SequenceDataset } from '../lib/data/batches';
import { losses } from '../lib/train/gradients';
import { fit } from '../lib/train/loop';
import { readTrainingState, saveModel } from '../lib/train/saving';
import {
  kerasRmsprop,
  lstmMilestones,
  lstmPixel,
  lstmRow,
  LstmTrainingLog,
  perStepFigure,
  perStepPredictions,
} from '../lib/walkthroughs/lstm';
import { configFingerprint, loadTrained, runTraining } from '../lib/walkthroughs/run';
import { LOG_HEAD, quietly } from './helpers/console';

// one thread: the figures below are the single-thread path's (data-parallel runs are the fault-injection test's)
process.env.SEQMNIST_THREADS = '1';

let mnist: Mnist;
test.before(async () => {
  await useBackend('wasm', { quiet: true });
  mnist = await loadMnist({ source: 'mnist' });
});

test("config: the assignment's settings by default, the CLI's keys, every field checked, unknown keys named", () => {
  const c = lstmPixel.config();
  assert.deepEqual(
    [c.seed, c.limit, c.batchSize, c.learningRate, c.epochs, c.fresh, c.augment, c.units, c.layers],
    [0, undefined, 512, 1e-2, 100, false, true, 8, 3],
  );
  assert.deepEqual([c.shuffleBuffer, c.testSize, c.testShuffleSeed], [1024, 1000, 1]);
  assert.deepEqual(
    [c.reduceLrFactor, c.reduceLrPatience, c.minLearningRate, c.earlyStoppingPatience],
    [0.2, 10, 1e-4, 20],
  );
  for (const key of ['epochs', 'limit', 'seed', 'fresh']) assert.ok(key in lstmRow.defaults, key);
  for (const key of ['steps', 'clipNorm', 'permute']) assert.ok(!(key in lstmRow.defaults), key);
  assert.deepEqual(lstmRow.config({ limit: 600, epochs: 4, fresh: true }), {
    ...lstmRow.defaults,
    limit: 600,
    epochs: 4,
    fresh: true,
  });
  assert.throws(
    () => lstmRow.config({ permute: true, steps: 3 } as never),
    /lstm-row has no config keys 'permute', 'steps'/,
  );
  assert.throws(() => lstmRow.config({ epochs: 0 }), /epochs must be a positive integer \(got 0\)/);
  assert.throws(() => lstmRow.config({ limit: 2 ** 60 }), /limit must be a positive integer/);
  assert.throws(() => lstmRow.config({ seed: -1 }), /seed must be a non-negative integer \(got -1\)/);
  assert.throws(() => lstmRow.config({ fresh: 'yes' as never }), /fresh must be true or false \(got "yes"\)/);
  assert.throws(() => lstmRow.config({ learningRate: 0 }), /learningRate must be a positive number \(got 0\)/);
  assert.throws(() => lstmRow.config({ reduceLrFactor: 1 }), /reduceLrFactor must be below 1/);
  assert.throws(() => kerasRmsprop(0), /learningRate must be a positive number \(got 0\)/);
  // what a checkpoint records: everything but the length
  assert.ok(
    !('epochs' in configFingerprint(c)) && !('limit' in configFingerprint(c)) && 'seed' in configFingerprint(c),
  );
});

test('the walkthroughs: names, notebook, input, model sizes, peer, threads, shipped models and budget', () => {
  assert.deepEqual([lstmPixel.name, lstmRow.name], ['lstm-pixel', 'lstm-row']);
  assert.deepEqual([lstmPixel.torchPeer, lstmRow.torchPeer], ['lstm-pixel', 'lstm-row']);
  assert.equal(lstmRow.notebook, 'notebooks/05-lstm-pixel-row.ipynb');
  assert.deepEqual(lstmRow.evalKeys, []);
  const c = lstmRow.config();
  assert.deepEqual(
    [lstmPixel.input(c).steps, lstmPixel.input(c).featuresPerStep, lstmRow.input(c).steps, lstmRow.input(c).side],
    [196, 1, 14, 14],
  );
  const pixel = lstmPixel.buildModel(c);
  const row = lstmRow.buildModel(c);
  assert.deepEqual([pixel.countParams(), row.countParams()], [1498, 1914]);
  [pixel, row].forEach((m) => m.dispose());
  assert.equal(lstmRow.threads(c), 1);
  assert.deepEqual(
    [lstmRow.outputs, lstmRow.evalBatchSize, lstmRow.weightsName(c)],
    ['probabilities', 1000, 'lstm-row'],
  );
  assert.deepEqual(
    lstmPixel.shipped.map((s) => [s.name, s.published.accuracy]),
    [['lstm-pixel', null]],
  );
  const budget = lstmRow.budget({ trainImages: 600, epochs: 3, epochSeconds: [1, 2, 3], weightsFromEpoch: 2 });
  assert.deepEqual(
    [budget.budget, budget.budgetNote, budget.steps, budget.imagesSeen, budget.seconds, budget.msPerStep],
    ['3 epochs × 2 steps of 512', 'early stopping: weights of epoch 2', 6, 1800, 6, 1000],
  );
  assert.equal(lstmRow.budget({ trainImages: 600, epochs: 3, weightsFromEpoch: 3 }).budgetNote, null);
});

test('loadData: cached augmented training set, 1,000-or-fewer test images, both layouts, seeded', async () => {
  const pixel = await lstmPixel.loadData(lstmPixel.config({ limit: 150, seed: 3 }), { mnist });
  assert.ok(pixel.train instanceof SequenceDataset);
  const train = pixel.train as SequenceDataset;
  assert.deepEqual([train.size, train.steps, train.features], [150, 196, 1]);
  assert.deepEqual([pixel.test.size, pixel.test.steps, pixel.testAll.size], [150, 196, 150]);
  assert.ok(train.images.every((v) => v >= 0 && v <= 1 + 1e-6));
  const row = await lstmRow.loadData(lstmRow.config({ limit: 150, seed: 3 }), { mnist });
  const rowTrain = row.train as SequenceDataset;
  assert.deepEqual([rowTrain.steps, rowTrain.features], [14, 14]);
  assert.deepEqual(Array.from(rowTrain.images), Array.from(train.images)); // same images, other reading
  const again = await lstmPixel.loadData(lstmPixel.config({ limit: 150, seed: 3 }), { mnist });
  assert.deepEqual(
    Array.from((again.train as SequenceDataset).images.subarray(0, 500)),
    Array.from(train.images.subarray(0, 500)),
  );
  const other = await lstmPixel.loadData(lstmPixel.config({ limit: 150, seed: 4 }), { mnist });
  assert.notDeepEqual(
    Array.from((other.train as SequenceDataset).images.subarray(0, 500)),
    Array.from(train.images.subarray(0, 500)),
  );
  // the test set is the same 1,000 (here 150) images whatever the training seed
  assert.deepEqual(Array.from(other.test.labels), Array.from(pixel.test.labels));
  assert.deepEqual(Array.from(other.test.images), Array.from(pixel.test.images));
  const full = await lstmRow.loadData(lstmRow.config({ limit: 1500 }), { mnist });
  assert.equal(full.test.size, 1000);
  // without augmentation the training images are the originals, resized and shuffled
  const plain = await lstmPixel.loadData(lstmPixel.config({ limit: 150, seed: 3, augment: false }), { mnist });
  assert.notDeepEqual(
    Array.from((plain.train as SequenceDataset).images.subarray(0, 500)),
    Array.from(train.images.subarray(0, 500)),
  );
  // compare's test sets: all (file order) and the walkthrough's own
  const standard = await lstmRow.standardTestSet(lstmRow.config(), { mnist, limit: 150 });
  assert.deepEqual(Array.from(standard.images), Array.from(row.testAll.images));
  const own = await lstmRow.ownTestSet!(lstmRow.config(), { mnist, limit: 150 });
  assert.deepEqual(Array.from(own!.data.labels), Array.from(row.test.labels));
});

test('fresh draws a new order and augmentation every epoch', async () => {
  const data = await lstmRow.loadData(lstmRow.config({ limit: 64, fresh: true }), { mnist });
  assert.ok(data.train instanceof AugmentedImageSource);
  const epoch = async () => {
    const xs: number[] = [];
    for (const { x, y } of data.train.batches(64)) {
      xs.push(...(await x.data()).subarray(0, 300));
      tf.dispose([x, y]);
    }
    return xs;
  };
  assert.notDeepEqual(await epoch(), await epoch());
});

test('train learns on a small set, checkpoints each epoch with its config and resumes where it stopped', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-train-'));
  const ck = path.join(dir, 'ck');
  try {
    const config = lstmRow.config({ limit: 600, epochs: 2 });
    const data = await lstmRow.loadData(config, { mnist });
    const first = await lstmRow.train(config, { data, checkpointDir: ck, progress: false });
    assert.equal(first.history.epoch.length, 2);
    assert.deepEqual(Object.keys(first.history.history).sort(), ['accuracy', 'loss', 'lr', 'val_accuracy', 'val_loss']);
    assert.ok(first.history.history.loss[1] < first.history.history.loss[0]);
    assert.deepEqual([first.threads, first.weightsFromEpoch, first.epochSeconds.length], [1, 2, 2]);
    assert.ok(first.msPerStep > 0);
    const state = JSON.parse(fs.readFileSync(path.join(ck, 'state.json'), 'utf8'));
    assert.equal(state.epoch, 2);
    assert.deepEqual(state.config, configFingerprint(config));
    assert.deepEqual(Object.keys(state.earlyStopping), ['best', 'bestEpoch', 'wait']);
    assert.ok(fs.existsSync(path.join(ck, 'best-weights.bin')));
    const resumed = await quietly(() =>
      lstmRow.train(lstmRow.config({ limit: 600, epochs: 3 }), {
        data,
        checkpointDir: ck,
        resume: true,
        progress: false,
      }),
    );
    assert.deepEqual(resumed.history.epoch, [0, 1, 2]);
    assert.equal(resumed.epochSeconds.length, 3);
    [first, resumed].forEach((r) => {
      r.model.dispose();
      r.optimizer.dispose();
    });
    await assert.rejects(
      lstmRow.train(lstmRow.config({ limit: 600, epochs: 4, seed: 5 }), {
        data,
        checkpointDir: ck,
        resume: true,
        progress: false,
      }),
      /the checkpoint in .*ck belongs to another training \(seed 0, not 5\)/,
    );
    await assert.rejects(
      lstmRow.train(config, { data, checkpointDir: path.join(dir, 'none'), resume: true }),
      /nothing to resume: .*state.json not found/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a checkpoint written before the config fingerprint is resumed, and refused with another seed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-legacy-'));
  const ck = path.join(dir, 'ck');
  try {
    const config = lstmRow.config({ limit: 300, epochs: 1 });
    const data = await lstmRow.loadData(config, { mnist });
    const first = await lstmRow.train(config, { data, checkpointDir: ck, progress: false });
    // as the code before it saved its state: seed, freshEachEpoch and settings, no config, best weights in <dir>-best
    const { config: _config, bestWeights: _best, ...rest } = readTrainingState(ck)!;
    const legacy = {
      ...rest,
      seed: 0,
      freshEachEpoch: false,
      settings: { variant: 'row', trainImages: 300, testImages: 300 },
    };
    fs.rmSync(path.join(ck, 'best-weights.bin'));
    await saveModel(first.model, ck, { optimizer: first.optimizer, state: legacy });
    await saveModel(first.model, `${ck}-best`);
    [first.model, first.optimizer].forEach((x) => x.dispose());
    await assert.rejects(
      lstmRow.train(lstmRow.config({ limit: 300, epochs: 2, seed: 1 }), { data, checkpointDir: ck, resume: true }),
      /the checkpoint in .*ck belongs to another training \(seed 0, not 1\)/,
    );
    await assert.rejects(
      lstmRow.train(lstmRow.config({ limit: 300, epochs: 2, fresh: true }), {
        data: await lstmRow.loadData(lstmRow.config({ limit: 300, fresh: true }), { mnist }),
        checkpointDir: ck,
        resume: true,
      }),
      /belongs to another training \(fresh false, not true\)/,
    );
    const resumed = await quietly(() =>
      lstmRow.train(lstmRow.config({ limit: 300, epochs: 2 }), {
        data,
        checkpointDir: ck,
        resume: true,
        progress: false,
      }),
    );
    assert.deepEqual(resumed.history.epoch, [0, 1]);
    [resumed.model, resumed.optimizer].forEach((x) => x.dispose());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runTraining: the log in the order it always had, a run resumed after early stopping ends with the same weights', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-run-'));
  const keep = process.env.SEQMNIST_TEST_KEEP_CHECKPOINT;
  try {
    // patience 1: the pixel model on 600 images stops after its second epoch
    const overrides = { limit: 600, epochs: 4, earlyStoppingPatience: 1 };
    process.env.SEQMNIST_TEST_KEEP_CHECKPOINT = '1';
    const log = (await quietly(() =>
      runTraining(lstmPixel, overrides, { out: path.join(dir, 'a'), command: 'test' }),
    )) as LstmTrainingLog;
    assert.deepEqual(Object.keys(log), [
      ...LOG_HEAD,
      'seed',
      'augmentation',
      'trainImages',
      'testImages',
      'epochs',
      'weightsFromEpoch',
      'epochSeconds',
      'meanEpochSeconds',
      'testAccuracy',
      'testLoss',
      'fullTestAccuracy',
      'fullTestImages',
      'wallSecondsThisRun',
      'history',
    ]);
    assert.deepEqual(
      [log.walkthrough, log.threads, log.augmentation],
      ['lstm-pixel', 1, 'once (cached, as the original)'],
    );
    assert.ok(log.epochs < 4 && log.weightsFromEpoch < log.epochs, `stopped at ${log.epochs}`);
    assert.ok((readTrainingState(path.join(dir, 'a-checkpoint'))!.stoppedEpoch as number) > 0);
    // resuming the checkpoint saved after the stop trains nothing and saves the same weights
    fs.cpSync(path.join(dir, 'a-checkpoint'), path.join(dir, 'b-checkpoint'), { recursive: true });
    delete process.env.SEQMNIST_TEST_KEEP_CHECKPOINT;
    const again = (await quietly(() =>
      runTraining(lstmPixel, overrides, { out: path.join(dir, 'b'), command: 'test', resume: true }),
    )) as LstmTrainingLog;
    assert.deepEqual(
      [again.epochs, again.weightsFromEpoch, again.testAccuracy],
      [log.epochs, log.weightsFromEpoch, log.testAccuracy],
    );
    assert.deepEqual(
      fs.readFileSync(path.join(dir, 'b', 'weights.bin')),
      fs.readFileSync(path.join(dir, 'a', 'weights.bin')),
    );
    assert.ok(!fs.existsSync(path.join(dir, 'b-checkpoint')));
    // loadTrained and evaluate read it back
    const { model, log: read } = loadTrained(lstmPixel, { dir: path.join(dir, 'a') });
    assert.equal(read?.testAccuracy, log.testAccuracy);
    const e = await lstmPixel.evaluate(model, lstmPixel.config({ limit: 600 }));
    model.dispose();
    assert.deepEqual([e.accuracy, e.loss, e.testImages], [log.testAccuracy, log.testLoss, 600]);
    assert.deepEqual(e.lines, [`full test set (600 images) accuracy: ${(log.fullTestAccuracy * 100).toFixed(2)}%`]);
  } finally {
    if (keep === undefined) delete process.env.SEQMNIST_TEST_KEEP_CHECKPOINT;
    else process.env.SEQMNIST_TEST_KEEP_CHECKPOINT = keep;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("per-step predictions: one per step, the last equal to the classifier's; the slider figure has a frame each", async () => {
  const model = lstmRow.buildModel(lstmRow.config({ seed: 2 }));
  const data = await lstmRow.loadData(lstmRow.config({ limit: 50 }), { mnist });
  const sample = data.test.images.subarray(0, 196);
  const steps = await perStepPredictions(model, 'row', sample);
  assert.equal(steps.length, 14);
  const last = (model.predict(tf.tensor3d(sample, [1, 14, 14])) as tf.Tensor).dataSync();
  steps[13].forEach((p, k) => assert.ok(Math.abs(p - last[k]) < 1e-6));
  const fig = perStepFigure(sample, steps, 'row', { label: data.test.labels[0], display: false });
  assert.equal((fig.layout.sliders as { steps: unknown[] }[])[0].steps.length, 14);
  await assert.rejects(
    perStepPredictions(model, 'pixel', sample.subarray(0, 100)),
    /sequence must hold 196×1 values \(got 100\)/,
  );
  await assert.rejects(perStepPredictions(model, 'column' as 'row', sample), /variant must be 'pixel' or 'row'/);
  model.dispose();
});

test("training steps equal PyTorch's: the row model, clipped softmax cross-entropy and Keras's RMSprop (fixture)", async () => {
  // test/fixtures/lstm-torch.py: 6 full-batch steps on 32 random sequences, weights in Keras's layout
  const torch = JSON.parse(fs.readFileSync(path.join(__dirname, '../../test/fixtures/lstm-torch.json'), 'utf8')) as {
    x: number[];
    y: number[];
    initial: number[][];
    losses: number[];
    final: number[][];
  };
  const config = lstmRow.config();
  const model = lstmRow.buildModel(config);
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(torch.initial[i], w.shape)));
  const data = new SequenceDataset({
    images: Float32Array.from(torch.x),
    labels: Int32Array.from(torch.y),
    steps: 14,
    features: 14,
  });
  const optimizer = lstmRow.optimizer(config);
  assert.equal(lstmRow.loss, losses.sparseCrossEntropy);
  const history = await fit(model, data, {
    epochs: torch.losses.length,
    batchSize: 32,
    optimizer,
    loss: lstmRow.loss,
    shuffleSeed: null,
    progress: false,
  });
  history.history.loss.forEach((l, k) =>
    assert.ok(Math.abs(l - torch.losses[k]) < 1e-5, `step ${k}: loss ${l} vs PyTorch ${torch.losses[k]}`),
  );
  model.getWeights().forEach((w, i) => {
    const ours = w.dataSync();
    const worst = Math.max(...torch.final[i].map((v, j) => Math.abs(v - ours[j])));
    assert.ok(worst < 1e-4, `${model.weights[i].name}: largest difference from PyTorch ${worst}`);
  });
  optimizer.dispose();
  model.dispose();
});

test("lstmMilestones reads the assignment's milestones from a history", () => {
  const history = (val: number[]) => ({ epoch: val.map((_, i) => i), history: { val_accuracy: val } });
  // row: ≥ 90% within 10 epochs; reached at epoch 12 here
  const row = [0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.895, 0.91];
  assert.deepEqual(lstmMilestones(history(row), 'row'), [
    '≥ 90% validation accuracy within 10 epochs: not met; best 89.0% in epochs 1–10, first reached at epoch 12',
  ]);
  row[8] = 0.9;
  assert.match(lstmMilestones(history(row), 'row')[0], /: met; best 90\.0% in epochs 1–10, first reached at epoch 9$/);
  const pixel = lstmMilestones(history([0.3, 0.55]), 'pixel');
  assert.deepEqual(pixel, [
    '≥ 50% validation accuracy within 10 epochs: met; best 55.0% in epochs 1–2, first reached at epoch 2',
    '≥ 80% validation accuracy within 50 epochs: not yet (2 epochs run); best 55.0% in epochs 1–2, never reached in 2 epochs',
  ]);
  assert.throws(() => lstmMilestones({ epoch: [], history: {} }, 'row'), /the history has no val_accuracy/);
});

test('missing weights are named with the way to make them', () => {
  assert.throws(
    () => loadTrained(lstmPixel, { dir: '/nonexistent/lstm' }),
    /no trained weights for lstm-pixel: \/nonexistent\/lstm\/model.json does not exist \(train with 'npm run seqmnist -- train lstm-pixel'/,
  );
});
