import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { loadMnist, Mnist } from '../lib/data/mnist';
import { permutePixels, scaleImages } from '../lib/data/transforms';
import { buildEurnnModel } from '../lib/models/eurnn';
import {
  eurnnHistoryChart,
  formatValidationLine,
  loadEurnnData,
  loadEurnnWeights,
  trainEurnn,
} from '../lib/walkthroughs/eurnn';
import { getWalkthrough } from '../lib/cli/main';

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../../test/fixtures/eurnn-torch.json'), 'utf8')) as {
  permutation: number[];
  shuffle70000Head: number[];
};

let mnist: Mnist | undefined;
const getMnist = async () => (mnist ??= await loadMnist());

test("the data are the original's: RandomState(0).shuffle permutation, a RandomState(0) shuffle of all 70,000 images, 50,000/10,000/10,000", async () => {
  const m = await getMnist();
  const data = await loadEurnnData({ mnist: m, limit: 5 });
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
  const full = await loadEurnnData({ mnist: m });
  assert.deepEqual([full.train.size, full.valid.size, full.test.size], [50000, 10000, 10000]);
  assert.equal(full.train.steps, 784);
  assert.equal(full.train.features, 1);
  await assert.rejects(loadEurnnData({ mnist: m, limit: 0 }), /limit must be a positive integer \(got 0\)/);
});

test('training prints the validation lines, learns, checkpoints and resumes to the same weights', async () => {
  await useBackend('wasm', { quiet: true });
  const m = await getMnist();
  const small = { hiddenSize: 16, seed: 3 };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-eurnn-'));
  const run = async (steps: number, resume: boolean, lines: string[]) => {
    const data = await loadEurnnData({ mnist: m, limit: 200 });
    const model = buildEurnnModel(small);
    return trainEurnn({
      data,
      model,
      steps,
      validateEvery: 4,
      learningRate: 1e-2,
      checkpointDir: dir,
      resume,
      progress: false,
      log: (l) => lines.push(l),
    });
  };
  const straight: string[] = [];
  const a = await run(10, false, straight);
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
  const first: string[] = [];
  const f = await run(7, false, first);
  f.model.dispose();
  f.optimizer.dispose();
  const second: string[] = [];
  const b = await run(10, true, second);
  assert.match(second[0], /^resuming from the last checkpoint \(.*\), saved after step 6 of 10: /);
  assert.deepEqual(b.history.step, [0, 4, 6, 8, 9]);
  assert.equal(b.timing.steps, 10);
  b.model.getWeights().forEach((w, i) => assert.deepEqual(Array.from(w.dataSync()), aWeights[i], `weight ${i}`));
  b.model.dispose();
  b.optimizer.dispose();
  // a run leaves no tensors behind (checkpoints aside: lib/train/saving.ts keeps the optimiser's iteration scalars)
  const tensors = tf.memory().numTensors;
  const c = await trainEurnn({
    data: await loadEurnnData({ mnist: m, limit: 50 }),
    model: buildEurnnModel(small),
    steps: 3,
    progress: false,
    log: () => undefined,
  });
  c.model.dispose();
  c.optimizer.dispose();
  assert.equal(tf.memory().numTensors, tensors, 'no tensors leak');
  await assert.rejects(
    trainEurnn({ data: await loadEurnnData({ mnist: m, limit: 10 }), steps: 0 }),
    /steps must be a positive integer \(got 0\)/,
  );
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

test('missing shipped weights are named; the CLI knows the walkthrough', () => {
  const dir = path.join(os.tmpdir(), 'seqmnist-no-such-weights');
  assert.throws(
    () => loadEurnnWeights(dir),
    new RegExp(`${path.join(dir, 'model.json').replace(/[.\\/]/g, '\\$&')} does not exist`),
  );
  const w = getWalkthrough('eurnn');
  assert.deepEqual(w.trainFlags, ['steps', 'limit', 'resume', 'out']);
  assert.equal(w.torchPeer, 'eurnn');
});
