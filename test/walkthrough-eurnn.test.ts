import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { loadMnist, Mnist } from '../lib/data/mnist';
import { permutePixels, scaleImages } from '../lib/data/transforms';
import {
  eurnn,
  EurnnConfig,
  eurnnHistoryChart,
  eurnnTrainedTestImages,
  formatValidationLine,
} from '../lib/walkthroughs/eurnn';
import { getWalkthrough } from '../lib/walkthroughs/registry';
import { loadTrained, runTraining } from '../lib/walkthroughs/run';
import { LOG_HEAD, logged } from './helpers/console';

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../../test/fixtures/eurnn-torch.json'), 'utf8')) as {
  permutation: number[];
  shuffle70000Head: number[];
};

let mnist: Mnist | undefined;
const getMnist = async () => (mnist ??= await loadMnist());

test("the config: the original's constants as defaults, every field checked, unknown keys refused", () => {
  const c = eurnn.config();
  assert.deepEqual(
    [c.seed, c.dataSeed, c.steps, c.batchSize, c.learningRate, c.testBatchSize, c.hidden, c.capacity],
    [0, 0, 40000, 100, 1e-4, 1000, 256, 2],
  );
  assert.deepEqual(
    [c.trainSize, c.validSize, c.testSize, c.validateEvery, c.limit],
    [50000, 10000, 10000, undefined, undefined],
  );
  for (const k of ['steps', 'limit', 'seed']) assert.ok(k in eurnn.defaults, k);
  for (const k of ['epochs', 'permute', 'clipNorm', 'fresh']) assert.ok(!(k in eurnn.defaults), k);
  assert.throws(() => eurnn.config({ steps: 0 }), /steps must be a positive integer \(got 0\)/);
  assert.throws(() => eurnn.config({ dataSeed: -1 }), /dataSeed must be a non-negative integer \(got -1\)/);
  assert.throws(() => eurnn.config({ validateEvery: 1.5 }), /validateEvery must be a positive integer \(got 1\.5\)/);
  assert.throws(() => eurnn.config({ numSteps: 10 } as never), /eurnn has no config key 'numSteps' \(it has: seed, /);
});

test("the data are the original's: RandomState(0).shuffle permutation, a RandomState(0) shuffle of all 70,000 images, 50,000/10,000/10,000", async () => {
  const m = await getMnist();
  const data = await eurnn.loadData(eurnn.config({ limit: 5 }), { mnist: m });
  assert.deepEqual(Array.from(data.perm), fixture.permutation);
  // the inverse permutation puts a sequence back in image order
  for (let i = 0; i < 784; i++) assert.equal(data.perm[data.revPerm[i]], i);
  assert.deepEqual([data.train.size, data.valid.size, data.test.size], [5, 5, 5]);
  const image = (j: number) =>
    j < 60000
      ? m.trainImages.subarray(j * 784, (j + 1) * 784)
      : m.testImages.subarray((j - 60000) * 784, (j - 59999) * 784);
  const label = (j: number) => (j < 60000 ? m.trainLabels[j] : m.testLabels[j - 60000]);
  for (let i = 0; i < 5; i++) {
    const j = fixture.shuffle70000Head[i];
    assert.deepEqual(
      Array.from(data.train.images.subarray(i * 784, (i + 1) * 784)),
      Array.from(permutePixels(scaleImages(image(j)), data.perm)),
    );
    assert.equal(data.train.labels[i], label(j));
  }
  // the batches continue the shuffle's generator, as the original's np.random.randint does
  assert.deepEqual(Array.from(data.rng.randint(0, 50000, 5)), [45100, 24116, 47654, 26007, 37639]);
  const full = await eurnn.loadData(eurnn.config(), { mnist: m });
  assert.deepEqual([full.train.size, full.valid.size, full.test.size], [50000, 10000, 10000]);
  assert.equal(full.train.steps, 784);
  assert.equal(full.train.features, 1);
  // the split's sizes come from the config; the sets follow each other in the shuffled order
  const split = await eurnn.loadData(eurnn.config({ trainSize: 3, validSize: 1, testSize: 1 }), { mnist: m });
  assert.deepEqual([split.train.size, split.valid.size, split.test.size], [3, 1, 1]);
  assert.deepEqual(Array.from(split.valid.images), Array.from(data.train.images.subarray(3 * 784, 4 * 784)));
  await assert.rejects(
    eurnn.loadData(eurnn.config({ trainSize: 60001 }), { mnist: m }),
    /trainSize \+ validSize \+ testSize must be at most the 70000 MNIST images \(got 60001 \+ 10000 \+ 10000\)/,
  );
  // the caveat for compare: about 5/7 of the standard test images are in the training split
  const n = eurnnTrainedTestImages(m);
  assert.ok(Math.abs(n - 50000 / 7) < 200, `${n}`);
  assert.match(eurnn.caveats!(m)[0], new RegExp(`its training split holds ${n.toLocaleString('en-US')} of the 10,000`));
  const own = await eurnn.ownTestSet!(eurnn.config(), { mnist: m, limit: 5 });
  assert.deepEqual(Array.from(own!.data.labels), Array.from(data.test.labels));
});

test('training prints the validation lines, learns, checkpoints and resumes to the same weights', async () => {
  await useBackend('wasm', { quiet: true });
  const m = await getMnist();
  const small = (steps: number): EurnnConfig =>
    eurnn.config({ hidden: 16, seed: 3, limit: 200, steps, validateEvery: 4, learningRate: 1e-2 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-eurnn-'));
  const run = async (steps: number, resume: boolean) => {
    const c = small(steps);
    const data = await eurnn.loadData(c, { mnist: m });
    let r: Awaited<ReturnType<typeof eurnn.train>> | undefined;
    const lines = await logged(async () => {
      r = await eurnn.train(c, { data, checkpointDir: dir, resume });
    });
    return { r: r!, lines };
  };
  const { r: a, lines: straight } = await run(10, false);
  assert.deepEqual(a.history.step, [0, 4, 8, 9]);
  assert.equal(straight[0], formatValidationLine(0, a.history.valAccuracy[0]));
  assert.match(straight[1], /^Step {5}4\t Valid\. Acc\. = [ \d]\d\.\d\d$/);
  assert.ok(a.history.valLoss[3] < a.history.valLoss[0], `validation loss ${a.history.valLoss}`);
  assert.equal(a.stepsRun, 10);
  assert.ok(a.msPerStep > 0 && a.timing.steps === 10);
  const aWeights = a.model.getWeights().map((w) => Array.from(w.dataSync()));
  a.model.dispose();
  a.optimizer.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  // 7 steps (checkpoints at 4 and 6), then resume to 10
  const { r: f } = await run(7, false);
  f.model.dispose();
  f.optimizer.dispose();
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'));
  assert.equal(state.step, 6);
  assert.deepEqual(state.history.step, [0, 4, 6]);
  assert.equal(state.timing.steps, 6);
  assert.equal(state.config.hidden, 16);
  const { r: b, lines: second } = await run(10, true);
  assert.match(second[0], /^resuming from the last checkpoint \(.*\), saved after step 6 of 10: /);
  assert.deepEqual(b.history.step, [0, 4, 6, 8, 9]);
  assert.equal(b.timing.steps, 10);
  b.model.getWeights().forEach((w, i) => assert.deepEqual(Array.from(w.dataSync()), aWeights[i], `weight ${i}`));
  b.model.dispose();
  b.optimizer.dispose();
  // another config's checkpoint is refused
  await assert.rejects(
    eurnn.train(
      { ...small(10), dataSeed: 1 },
      { checkpointDir: dir, resume: true, data: await eurnn.loadData(small(10), { mnist: m }) },
    ),
    /belongs to another training \(dataSeed 0, not 1\)/,
  );
  // a run leaves no tensors behind (checkpoints aside: lib/train/saving.ts keeps the optimiser's iteration scalars)
  const tensors = tf.memory().numTensors;
  const tiny = eurnn.config({ hidden: 16, seed: 3, limit: 50, steps: 3 });
  const c = await eurnn.train(tiny, { data: await eurnn.loadData(tiny, { mnist: m }), progress: false });
  assert.deepEqual(c.history.step, [0, 1, 2]); // a pass over 50 images is less than a step of 100: validated every step
  c.model.dispose();
  c.optimizer.dispose();
  assert.equal(tf.memory().numTensors, tensors, 'no tensors leak');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the history chart has loss on the left and accuracy on the right axis', () => {
  const fig = eurnnHistoryChart(
    { step: [0, 500, 1000], valLoss: [2.3, 0.9, 0.7], valAccuracy: [6.66, 71.99, 76.4] },
    { display: false },
  );
  assert.equal(fig.data.length, 2);
  assert.equal((fig.data[1] as { yaxis?: string }).yaxis, 'y2');
  assert.deepEqual((fig.layout.yaxis2 as { range: number[] }).range, [0, 100]);
  assert.throws(() => eurnnHistoryChart({ step: [], valLoss: [], valAccuracy: [] }), /no validation results/);
});

test('missing shipped weights are named; the registry knows the walkthrough', async () => {
  const dir = path.join(os.tmpdir(), 'seqmnist-no-such-weights');
  assert.throws(
    () => loadTrained(eurnn, { dir }),
    new RegExp(`${path.join(dir, 'model.json').replace(/[.\\/]/g, '\\$&')} does not exist`),
  );
  const w = getWalkthrough('eurnn');
  assert.equal(w, eurnn);
  assert.equal(w.torchPeer, 'eurnn');
  assert.deepEqual(w.evalKeys, []);
  assert.deepEqual(
    eurnn.shipped.map((s) => eurnn.weightsName(eurnn.config(s.overrides))),
    ['eurnn'],
  );
  const model = eurnn.buildModel(eurnn.config());
  assert.equal(model.countParams(), 3850);
  model.dispose();
  const budget = eurnn.budget({
    steps: 40000,
    timing: { steps: 40000, trainMs: 4000, validationMs: 1, wallSeconds: 5 },
  });
  assert.deepEqual([budget.budget, budget.imagesSeen, budget.seconds], ['40,000 steps of 100', 4000000, 4]);
  const curve = eurnn.learningCurve!({ history: { step: [0, 500], valLoss: [2, 1], valAccuracy: [10, 50] } }, {
    ...budget,
    msPerStep: 90,
  } as never);
  assert.deepEqual(
    [curve.images, curve.seconds, curve.accuracy],
    [
      [0, 50000],
      [0, 45],
      [0.1, 0.5],
    ],
  );
});

test('a training run writes the log in the order of the earlier logs, and the original closing lines', async () => {
  await useBackend('wasm', { quiet: true });
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'eurnn-run-')), 'eurnn');
  try {
    const lines = await logged(async () => {
      await runTraining(eurnn, { hidden: 16, limit: 200, steps: 3 }, { out, command: 'test' });
    });
    assert.match(
      lines[0],
      /^data: 200 training, 200 validation, 200 test sequences \[784, 1\]; EURNN engine \S+, \d+ threads$/,
    );
    assert.match(lines[lines.length - 2], /^3 steps in .*: \d+\.\d ms per training step, .* validating$/);
    assert.match(lines[lines.length - 1], /^Test Accuracy = \d+\.\d\d$/);
    const log = JSON.parse(fs.readFileSync(path.join(out, 'training-log.json'), 'utf8'));
    assert.deepEqual(Object.keys(log), [
      ...LOG_HEAD,
      'engine',
      'trainImages',
      'validImages',
      'testImages',
      'steps',
      'msPerStep',
      'validationSeconds',
      'totalSeconds',
      'timing',
      'testAccuracy',
      'testLoss',
      'wallSecondsThisRun',
      'history',
    ]);
    assert.deepEqual(log.history.step, [0, 2]);
    const { model } = loadTrained(eurnn, { dir: out, config: { hidden: 16 } });
    const again = await eurnn.evaluate(model, eurnn.config({ hidden: 16, limit: 200 }));
    assert.equal(again.accuracy, log.testAccuracy);
    model.dispose();
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});
