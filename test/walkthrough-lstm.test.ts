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
import { timeSteps } from '../lib/cli/bench';
import { printSummary } from '../lib/cli/commands';
import { getWalkthrough } from '../lib/cli/main';
import { losses } from '../lib/train/gradients';
import { fit } from '../lib/train/loop';
import {
  buildLstmModel,
  kerasRmsprop,
  loadLstmData,
  loadLstmWeights,
  lstmMilestones,
  perStepFigure,
  perStepPredictions,
  trainLstm,
} from '../lib/walkthroughs/lstm';

let mnist: Mnist;
test.before(async () => {
  await useBackend('wasm', { quiet: true });
  mnist = await loadMnist({ source: 'mnist' });
});

test('loadLstmData: cached augmented training set, 1,000-or-fewer test images, both layouts, seeded', async () => {
  const pixel = await loadLstmData({ variant: 'pixel', mnist, limit: 150, seed: 3 });
  assert.ok(pixel.train instanceof SequenceDataset);
  const train = pixel.train as SequenceDataset;
  assert.deepEqual([train.size, train.steps, train.features], [150, 196, 1]);
  assert.deepEqual([pixel.test.size, pixel.test.steps, pixel.testAll.size], [150, 196, 150]);
  assert.ok(train.images.every((v) => v >= 0 && v <= 1 + 1e-6));
  const row = await loadLstmData({ variant: 'row', mnist, limit: 150, seed: 3 });
  const rowTrain = row.train as SequenceDataset;
  assert.deepEqual([rowTrain.steps, rowTrain.features], [14, 14]);
  assert.deepEqual(Array.from(rowTrain.images), Array.from(train.images)); // same images, other reading
  const again = await loadLstmData({ variant: 'pixel', mnist, limit: 150, seed: 3 });
  assert.deepEqual(
    Array.from((again.train as SequenceDataset).images.subarray(0, 500)),
    Array.from(train.images.subarray(0, 500)),
  );
  const other = await loadLstmData({ variant: 'pixel', mnist, limit: 150, seed: 4 });
  assert.notDeepEqual(
    Array.from((other.train as SequenceDataset).images.subarray(0, 500)),
    Array.from(train.images.subarray(0, 500)),
  );
  // the test set is the same 1,000 (here 150) images whatever the training seed
  assert.deepEqual(Array.from(other.test.labels), Array.from(pixel.test.labels));
  assert.deepEqual(Array.from(other.test.images), Array.from(pixel.test.images));
  const full = await loadLstmData({ variant: 'row', mnist, limit: 1500 });
  assert.equal(full.test.size, 1000);
  await assert.rejects(
    loadLstmData({ variant: 'column' as 'row', mnist }),
    /variant must be 'pixel' or 'row' \(got "column"\)/,
  );
});

test('freshEachEpoch draws a new order and augmentation every epoch', async () => {
  const data = await loadLstmData({ variant: 'row', mnist, limit: 64, freshEachEpoch: true });
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

test('trainLstm learns on a small set, checkpoints each epoch and resumes where it stopped', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-train-'));
  try {
    const data = await loadLstmData({ variant: 'row', mnist, limit: 600 });
    const first = await trainLstm({ data, epochs: 2, checkpointDir: path.join(dir, 'ck'), progress: false });
    assert.equal(first.history.epoch.length, 2);
    assert.deepEqual(Object.keys(first.history.history).sort(), ['accuracy', 'loss', 'lr', 'val_accuracy', 'val_loss']);
    assert.ok(first.history.history.loss[1] < first.history.history.loss[0]);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'ck', 'state.json'), 'utf8'));
    assert.equal(state.epoch, 2);
    assert.deepEqual([state.seed, state.freshEachEpoch], [0, false]);
    assert.ok(fs.existsSync(path.join(dir, 'ck', 'best-weights.bin')));
    const resumed = await trainLstm({
      data,
      epochs: 3,
      checkpointDir: path.join(dir, 'ck'),
      resume: true,
      progress: false,
    });
    assert.deepEqual(resumed.history.epoch, [0, 1, 2]);
    assert.equal(resumed.epochSeconds.length, 3);
    [first.model, resumed.model].forEach((m) => m.dispose());
    await assert.rejects(
      trainLstm({ data, epochs: 4, seed: 5, checkpointDir: path.join(dir, 'ck'), resume: true, progress: false }),
      /the checkpoint in .*ck was trained with seed 0; resume with the same \(got seed 5\)/,
    );
    await assert.rejects(
      trainLstm({ data, epochs: 1, checkpointDir: path.join(dir, 'none'), resume: true }),
      /nothing to resume: .*state.json not found/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("per-step predictions: one per step, the last equal to the classifier's; the slider figure has a frame each", async () => {
  const model = buildLstmModel('row', { seed: 2 });
  const data = await loadLstmData({ variant: 'row', mnist, limit: 50 });
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
  const model = buildLstmModel('row');
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(torch.initial[i], w.shape)));
  const data = new SequenceDataset({
    images: Float32Array.from(torch.x),
    labels: Int32Array.from(torch.y),
    steps: 14,
    features: 14,
  });
  const optimizer = kerasRmsprop(1e-2);
  const history = await fit(model, data, {
    epochs: torch.losses.length,
    batchSize: 32,
    optimizer,
    loss: losses.sparseCrossEntropy,
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
    () => loadLstmWeights('pixel', '/nonexistent/lstm'),
    /no trained weights for lstm-pixel: \/nonexistent\/lstm\/model.json does not exist \(train with 'npm run seqmnist -- train lstm-pixel'/,
  );
});

test('CLI walkthroughs lstm-pixel and lstm-row: summary counts and one benchmark step', async () => {
  const log = console.log;
  console.log = () => {};
  try {
    assert.equal(printSummary(getWalkthrough('lstm-pixel').bench.model()), 1498);
    assert.equal(printSummary(getWalkthrough('lstm-row').bench.model()), 1914);
  } finally {
    console.log = log;
  }
  const bench = getWalkthrough('lstm-row').bench;
  assert.equal(bench.batchSize, 512);
  const times = await timeSteps(bench, 1);
  assert.equal(times.length, 1);
  assert.ok(times[0] > 0);
  assert.deepEqual(getWalkthrough('lstm-row').trainFlags, ['epochs', 'limit', 'resume', 'out', 'seed', 'fresh']);
  assert.throws(() => kerasRmsprop(0), /learningRate must be a positive number \(got 0\)/);
});
