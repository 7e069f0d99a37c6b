import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { useBackend } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { psmnistPermutation } from '../lib/data/random';
import { printSummary } from '../lib/cli/commands';
import { getWalkthrough } from '../lib/cli/main';
import {
  loadTcnData,
  loadTcnWeights,
  tcnHistoryChart,
  tcnOptimizer,
  tcnProgress,
  trainTcn,
} from '../lib/walkthroughs/tcn';

/** Runs fn with process.stdout.write and console.log captured; returns what they printed. */
async function captured(fn: () => Promise<void> | void): Promise<string> {
  const out: string[] = [];
  const write = process.stdout.write;
  const log = console.log;
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => void out.push(a.join(' ') + '\n');
  try {
    await fn();
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
  return out.join('');
}

test('the data: normalised pixel sequences in MNIST order, limited, optionally permuted with RandomState(0)', async () => {
  const mnist = await loadMnist();
  const data = await loadTcnData({ mnist, limit: 300 });
  assert.equal(data.train.size, 300);
  assert.equal(data.test.size, 300);
  assert.deepEqual([data.train.steps, data.train.features], [784, 1]);
  assert.equal(data.train.numBatches(128), 3);
  assert.deepEqual(Array.from(data.train.labels.subarray(0, 5)), Array.from(mnist.trainLabels.subarray(0, 5)));
  const px = (i: number) =>
    Math.fround(Math.fround(mnist.trainImages[i] / 255) - Math.fround(0.1307)) / Math.fround(0.3081);
  for (const i of [0, 200, 783]) assert.ok(Math.abs(data.train.images[i] - px(i)) < 1e-6, `pixel ${i}`);
  const permuted = await loadTcnData({ mnist, limit: 10, permute: true });
  const perm = psmnistPermutation(0);
  assert.deepEqual(Array.from(permuted.permutation!), Array.from(perm));
  for (const i of [0, 1, 500])
    assert.equal(permuted.test.images[784 + i], (await loadTcnData({ mnist, limit: 10 })).test.images[784 + perm[i]]);
  await assert.rejects(loadTcnData({ mnist, limit: 0 }), /limit must be a positive integer \(got 0\)/);
});

test('training prints the original lines, checkpoints every epoch and resumes', async () => {
  await useBackend('wasm', { quiet: true });
  const mnist = await loadMnist();
  const data = await loadTcnData({ mnist, limit: 256 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcn-train-'));
  const model = { numChannels: [4, 4, 4, 4, 4, 4, 4, 4], seed: 2 };
  try {
    let first: Awaited<ReturnType<typeof trainTcn>> | undefined;
    const printed = await captured(async () => {
      first = await trainTcn({ data, model, epochs: 1, threads: 1, checkpointDir: dir });
    });
    assert.match(printed, /Train Epoch: 1, Loss: \d\.\d{4} .*2\/2/);
    assert.match(printed, /Test set: Average loss: \d\.\d{4}, Accuracy: \d+\/256 \(\d+\.\d\d%\)/);
    assert.deepEqual(first!.history.epoch, [0]);
    assert.equal(first!.epochSeconds.length, 1);
    assert.ok(first!.msPerStep > 0);
    assert.ok(fs.existsSync(path.join(dir, 'optimizer.json')) && fs.existsSync(path.join(dir, 'state.json')));

    const resumed = await trainTcn({
      data,
      model,
      epochs: 2,
      threads: 1,
      checkpointDir: dir,
      resume: true,
      progress: false,
    });
    assert.deepEqual(resumed.history.epoch, [0, 1]);
    assert.equal(resumed.history.history.val_accuracy.length, 2);
    assert.equal(resumed.history.history.loss[0], first!.history.history.loss[0]);
    assert.equal(resumed.epochSeconds.length, 2);
    await assert.rejects(
      trainTcn({ data, model, epochs: 2, threads: 1, resume: true }),
      /resume needs a checkpoint folder/,
    );
    await assert.rejects(trainTcn({ data, model, epochs: 0 }), /epochs must be a positive integer \(got 0\)/);

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
  const adam = tcnOptimizer() as unknown as { learningRate: number; beta1: number; beta2: number; epsilon: number };
  assert.deepEqual([adam.learningRate, adam.beta1, adam.beta2, adam.epsilon], [2e-3, 0.9, 0.999, 1e-8]);
  assert.throws(() => tcnOptimizer(0), /learningRate must be a positive number \(got 0\)/);
  const missing = path.join(os.tmpdir(), 'no-such-tcn-weights');
  assert.throws(
    () => loadTcnWeights({ dir: missing }),
    new RegExp(`no trained TCN weights: ${missing.replace(/[/\\]/g, '.')}.model\\.json does not exist`),
  );
});

test("the CLI walkthrough 'tcn': 96,040 parameters, flags, PyTorch peer", async () => {
  await useBackend('wasm', { quiet: true });
  const w = getWalkthrough('tcn');
  assert.equal(w.notebook, 'notebooks/04-tcn-smnist.ipynb');
  assert.equal(w.torchPeer, 'tcn');
  assert.deepEqual([...w.trainFlags].sort(), ['epochs', 'limit', 'out', 'permute', 'resume', 'seed']);
  let n = 0;
  const printed = await captured(async () => {
    n = printSummary(w.bench.model());
    w.describeSize?.(n);
  });
  assert.equal(n, 96040);
  assert.match(printed, /Model Size: 96\.04 K/);
});
