import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { psmnistPermutation } from '../lib/data/random';
import { getWalkthrough } from '../lib/walkthroughs/registry';
import { loadTrained, runTraining } from '../lib/walkthroughs/run';
import { tcn, TcnConfig, tcnHistoryChart, tcnProgress } from '../lib/walkthroughs/tcn';
import { LOG_HEAD, captured, logged } from './helpers/console';

// one thread: the same steps on any machine (worker threads are tested in parallel.test.ts)
process.env.SEQMNIST_THREADS = '1';

/** A small TCN (8 levels of 4 channels) on a few images: the walkthrough's code, seconds to train. */
const small = (overrides: Partial<TcnConfig> = {}) => tcn.config({ nhid: 4, seed: 2, limit: 256, ...overrides });

test("the config: the original's arguments as defaults, every field checked, unknown keys refused", () => {
  const c = tcn.config();
  assert.deepEqual(
    [c.seed, c.batchSize, c.learningRate, c.epochs, c.permute, c.dropout, c.clipNorm, c.optimizer],
    [1111, 128, 2e-3, 5, false, 0.05, undefined, 'Adam'],
  );
  assert.deepEqual([c.levels, c.nhid, c.kernelSize, c.mean, c.std], [8, 30, 7, 0.1307, 0.3081]);
  // the CLI's train flags are the config keys it has
  for (const k of ['epochs', 'limit', 'seed', 'clipNorm', 'permute']) assert.ok(k in tcn.defaults, k);
  for (const k of ['steps', 'fresh']) assert.ok(!(k in tcn.defaults), k);
  assert.equal(tcn.config({ clipNorm: 0.5, optimizer: 'SGD' }).clipNorm, 0.5);
  assert.throws(() => tcn.config({ limit: 0 }), /limit must be a positive integer \(got 0\)/);
  assert.throws(() => tcn.config({ epochs: 2 ** 60 }), /epochs must be a positive integer \(got 1152921504606847000\)/);
  assert.throws(() => tcn.config({ dropout: 1 }), /dropout must be a number in \[0, 1\) \(got 1\)/);
  assert.throws(() => tcn.config({ clipNorm: -1 }), /clipNorm must be a positive number \(got -1\)/);
  assert.throws(() => tcn.config({ permute: 1 as never }), /permute must be true or false \(got 1\)/);
  assert.throws(
    () => tcn.config({ optimizer: 'Adagrad' as never }),
    /optimizer must be one of 'Adam', 'RMSprop', 'SGD' \(got "Adagrad"\)/,
  );
  assert.throws(() => tcn.config({ clip: -1, ksize: 7 } as never), /tcn has no config keys 'clip', 'ksize' \(it has: /);
});

test('the data: normalised pixel sequences in MNIST order, limited, optionally permuted with RandomState(0)', async () => {
  const mnist = await loadMnist();
  const data = await tcn.loadData(tcn.config({ limit: 300 }), { mnist });
  assert.equal(data.train.size, 300);
  assert.equal(data.test.size, 300);
  assert.deepEqual([data.train.steps, data.train.features], [784, 1]);
  assert.equal(data.train.numBatches(128), 3);
  assert.deepEqual(Array.from(data.train.labels.subarray(0, 5)), Array.from(mnist.trainLabels.subarray(0, 5)));
  const px = (i: number) =>
    Math.fround(Math.fround(mnist.trainImages[i] / 255) - Math.fround(0.1307)) / Math.fround(0.3081);
  for (const i of [0, 200, 783]) assert.ok(Math.abs(data.train.images[i] - px(i)) < 1e-6, `pixel ${i}`);
  const plain = await tcn.loadData(tcn.config({ limit: 10 }), { mnist });
  const permuted = await tcn.loadData(tcn.config({ limit: 10, permute: true }), { mnist });
  const perm = psmnistPermutation(0);
  assert.deepEqual(Array.from(permuted.permutation!), Array.from(perm));
  for (const i of [0, 1, 500]) assert.equal(permuted.test.images[784 + i], plain.test.images[784 + perm[i]]);
  // the standard test set is the same as the walkthrough's own
  const standard = await tcn.standardTestSet(tcn.config({ permute: true }), { mnist, limit: 10 });
  assert.deepEqual(Array.from(standard.images), Array.from(permuted.test.images));
});

test('training prints the original lines, checkpoints every epoch and resumes', async () => {
  await useBackend('wasm', { quiet: true });
  const mnist = await loadMnist();
  const data = await tcn.loadData(small(), { mnist });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcn-train-'));
  try {
    let first: Awaited<ReturnType<typeof tcn.train>> | undefined;
    const printed = await captured(async () => {
      first = await tcn.train(small({ epochs: 1 }), { data, checkpointDir: dir });
    });
    assert.match(printed, /Train Epoch: 1, Loss: \d\.\d{4} .*2\/2/);
    assert.match(printed, /Test set: Average loss: \d\.\d{4}, Accuracy: \d+\/256 \(\d+\.\d\d%\)/);
    assert.deepEqual(first!.history.epoch, [0]);
    assert.equal(first!.epochSeconds.length, 1);
    assert.ok(first!.msPerStep > 0);
    assert.equal(first!.threads, 1);
    assert.ok(fs.existsSync(path.join(dir, 'optimizer.json')) && fs.existsSync(path.join(dir, 'state.json')));
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
    assert.deepEqual(state.randomStreams, [2]); // the dropout stream's position after 2 steps
    assert.equal(state.config.nhid, 4);
    assert.ok(!('epochs' in state.config), 'the length stays out of the fingerprint');
    first!.model.dispose();
    first!.optimizer.dispose();

    const resumed = await tcn.train(small({ epochs: 2 }), { data, checkpointDir: dir, resume: true, progress: false });
    assert.deepEqual(resumed.history.epoch, [0, 1]);
    assert.equal(resumed.history.history.val_accuracy.length, 2);
    assert.equal(resumed.history.history.loss[0], first!.history.history.loss[0]);
    assert.equal(resumed.epochSeconds.length, 2);
    resumed.model.dispose();
    resumed.optimizer.dispose();
    const tensors = tf.memory().numTensors;
    await assert.rejects(tcn.train(small({ epochs: 2 }), { data, resume: true }), /resume needs a checkpoint folder/);
    await assert.rejects(
      tcn.train(small({ epochs: 2, learningRate: 1e-3 }), { data, checkpointDir: dir, resume: true }),
      /belongs to another training \(learningRate 0\.002, not 0\.001\)/,
    );
    assert.equal(tf.memory().numTensors, tensors, 'a refused resume leaves no tensors behind');

    const fig = tcnHistoryChart(resumed.history, { display: false });
    assert.deepEqual(
      fig.data.map((t) => t.name),
      ['test accuracy', 'training loss'],
    );
    assert.throws(() => tcnHistoryChart({ epoch: [], history: {} }, { display: false }), /the history holds no epochs/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("clipNorm clips the gradients as the original's --clip; RMSprop and SGD train too", async () => {
  await useBackend('wasm', { quiet: true });
  const mnist = await loadMnist();
  const c = small({ limit: 128, epochs: 1 });
  const data = await tcn.loadData(c, { mnist });
  const weights = async (config: TcnConfig) => {
    const r = await tcn.train(config, { data, progress: false });
    const w = r.model.getWeights().map((t) => Array.from(t.dataSync()));
    r.model.dispose();
    r.optimizer.dispose();
    return { w, history: r.history };
  };
  const plain = await weights(c);
  const clipped = await weights({ ...c, clipNorm: 1e-3 });
  assert.equal(plain.history.history.max_grad_norm, undefined);
  assert.ok(clipped.history.history.max_grad_norm[0] > 1e-3, 'the gradient was larger than the clip');
  assert.equal(clipped.history.history.clipped_steps[0], 1);
  assert.notDeepEqual(clipped.w, plain.w);
  for (const optimizer of ['RMSprop', 'SGD'] as const) {
    const r = await weights({ ...c, optimizer });
    assert.notDeepEqual(r.w, plain.w, optimizer);
  }
});

test('the progress callback reports the running mean loss and the test line', async () => {
  const cb = tcnProgress(4, 1000);
  const printed = await captured(() => {
    cb.onEpochBegin!(2, undefined as never);
    [2, 1, 3, 2].forEach((loss, i) => cb.onBatchEnd!(i, { loss, size: i === 3 ? 2 : 4 }, undefined as never));
    cb.onEpochEnd!(2, { loss: 1, val_loss: 0.12345, val_accuracy: 0.9559 }, undefined as never);
  });
  assert.match(printed, /Train Epoch: 3, Loss: 2\.0000 .*4\/4/); // (2·4 + 1·4 + 3·4 + 2·2) / 14 = 2
  assert.match(printed, /Test set: Average loss: 0\.1235, Accuracy: 956\/1000 \(95\.59%\)/);
  assert.throws(() => tcnProgress(0, 10), /batchesPerEpoch must be a positive integer \(got 0\)/);
});

test('Adam as PyTorch sets it up, and clear errors for missing weights', () => {
  const adam = tcn.optimizer(tcn.config()) as unknown as {
    learningRate: number;
    beta1: number;
    beta2: number;
    epsilon: number;
  };
  assert.deepEqual([adam.learningRate, adam.beta1, adam.beta2, adam.epsilon], [2e-3, 0.9, 0.999, 1e-8]);
  const missing = path.join(os.tmpdir(), 'no-such-tcn-weights');
  assert.throws(
    () => loadTrained(tcn, { dir: missing, config: { permute: true } }),
    new RegExp(
      `no trained weights for tcn: ${missing.replace(/[/\\]/g, '.')}.model\\.json does not exist \\(train with 'npm run seqmnist -- train tcn --permute'`,
    ),
  );
});

test("the walkthrough 'tcn': 96,040 parameters, shipped models, PyTorch peer", async () => {
  await useBackend('wasm', { quiet: true });
  const w = getWalkthrough('tcn');
  assert.equal(w, tcn);
  assert.equal(w.notebook, 'notebooks/04-tcn-smnist.ipynb');
  assert.equal(w.torchPeer, 'tcn');
  assert.deepEqual(w.evalKeys, ['permute']);
  const model = tcn.buildModel(tcn.config());
  assert.equal(model.countParams(), 96040);
  model.dispose();
  assert.deepEqual(tcn.describeSize!(96040), ['Model Size: 96.04 K']);
  assert.deepEqual(
    tcn.shipped.map((s) => [s.name, tcn.weightsName(tcn.config(s.overrides))]),
    [
      ['tcn', 'tcn'],
      ['tcn-permuted', 'tcn-permuted'],
    ],
  );
  assert.equal(tcn.input(tcn.config()).preprocessing, '(pixels / 255 − 0.1307) / 0.3081');
  assert.equal(tcn.input(tcn.config({ permute: true })).task, 'permuted');
  const budget = tcn.budget({ epochs: 5, trainImages: 60000, epochSeconds: [1, 2], msPerStep: 3, clipNorm: 1 });
  assert.equal(budget.budget, '5 epochs × 469 steps of 128');
  assert.equal(budget.budgetNote, 'gradients clipped to global norm 1');
});

test('a training run writes the log in the order of the earlier logs, and the original closing lines', async () => {
  await useBackend('wasm', { quiet: true });
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tcn-run-')), 'tcn');
  try {
    const lines = await logged(async () => {
      await runTraining(tcn, { nhid: 4, limit: 128, epochs: 1 }, { out, command: 'test' });
    });
    assert.equal(lines[0], 'data: 128 training, 128 test sequences [784, 1]; 1 thread(s)');
    assert.match(lines[lines.length - 2], /^test accuracy per epoch: \d+\.\d\d$/);
    assert.match(lines[lines.length - 1], /^\d+ ms per training step, .* per epoch \(training only\)$/);
    const log = JSON.parse(fs.readFileSync(path.join(out, 'training-log.json'), 'utf8'));
    assert.deepEqual(Object.keys(log), [
      ...LOG_HEAD,
      'seed',
      'permute',
      'trainImages',
      'testImages',
      'epochs',
      'msPerStep',
      'epochSeconds',
      'testAccuracy',
      'wallSecondsThisRun',
      'history',
    ]);
    const { model, log: read } = loadTrained(tcn, { dir: out, config: { nhid: 4 } });
    assert.equal(read?.testAccuracy, log.testAccuracy);
    const again = await tcn.evaluate(model, tcn.config({ nhid: 4, limit: 128 }));
    assert.equal(again.accuracy, log.testAccuracy);
    assert.equal(again.testImages, 128);
    model.dispose();
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});
