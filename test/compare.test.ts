/**
 * The comparison (lib/walkthroughs/compare.ts, compare-steps.ts, lib/models/per-step.ts, the CLI's
 * `compare`): per-step twins whose last step is the model's output, the table with missing weights
 * reported, `compare --json` equal to `eval` on the same images, and the analyses on small inputs.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { loadMnist } from '../lib/data/mnist';
import { buildEurnnModel, EURNN, EURNNSteps } from '../lib/models/eurnn';
import { buildKerasLmuModel, buildNengoLmuModel } from '../lib/models/lmu';
import { buildStackedLstm } from '../lib/models/lstm';
import { perStepModel } from '../lib/models/per-step';
import { buildTcnModel } from '../lib/models/tcn';
import { markdownTable, textTable } from '../lib/plot/table';
import { shippedWeightsDir } from '../lib/train/saving';
import { readBenchRecord } from '../lib/walkthroughs/bench-record';
import { compareModels, compareNames, CompareResult, CompareRow, compareTableCells } from '../lib/walkthroughs/compare';
import { agreementMatrix, hardestDigits } from '../lib/walkthroughs/compare-figures';
import { confusionMatrix } from '../lib/walkthroughs/predictions';
import { TRAINED_MODELS } from '../lib/walkthroughs/registry';
import { evaluateTrained } from '../lib/walkthroughs/run';
import {
  decisionStep,
  instructiveDigits,
  meanTrueClassProbability,
  ModelSteps,
  PerStepComparison,
  settlingShares,
  trueClassFigure,
  whenDoesItKnowFigure,
} from '../lib/walkthroughs/compare-steps';

const cli = path.resolve(__dirname, '../bin/seqmnist.js');

test.before(async () => {
  await useBackend('wasm', { quiet: true });
});

test('each family’s per-step twin outputs every step, and its last step is the model’s output', () => {
  const models: [string, tf.LayersModel][] = [
    ['keras-lmu', buildKerasLmuModel({ steps: 20, order: 8, units: 6, seed: 1 })],
    ['nengo-lmu', buildNengoLmuModel({ steps: 20, order: 8, units: 6, seed: 1 })],
    ['tcn', buildTcnModel({ steps: 29, numChannels: [4, 4, 4], kernelSize: 3, seed: 1 })],
    ['eurnn', buildEurnnModel({ steps: 12, hiddenSize: 8, seed: 1 })],
    ['lstm', buildStackedLstm({ steps: 10, features: 2, units: 4, seed: 1 })],
  ];
  for (const [name, model] of models) {
    const [, steps, features] = model.inputs[0].shape as number[];
    const twin = perStepModel(model);
    tf.tidy(() => {
      const x = tf.randomUniform([3, steps, features], 0, 1, 'float32', 5);
      const own = model.predict(x) as tf.Tensor;
      const all = twin.predict(x) as tf.Tensor;
      assert.deepEqual(all.shape, [3, steps, 10], `${name}: twin output shape`);
      const last = all.slice([0, steps - 1, 0], [3, 1, 10]).reshape([3, 10]);
      const diff = tf.max(tf.abs(tf.sub(last, own))).dataSync()[0];
      assert.ok(diff < 1e-5, `${name}: last step differs from the model by ${diff}`);
      // an early step is a different state, not a copy of the last
      const first = all.slice([0, 0, 0], [3, 1, 10]).reshape([3, 10]);
      assert.ok(tf.max(tf.abs(tf.sub(first, own))).dataSync()[0] > 1e-4, `${name}: step 1 equals the last`);
    });
    assert.deepEqual(
      twin.getWeights().map((w) => w.shape),
      model.getWeights().map((w) => w.shape),
      `${name}: same weights`,
    );
    twin.dispose();
    model.dispose();
  }
});

test('EURNNSteps holds EURNN’s weights and gives every step’s state in each output type', () => {
  for (const outputType of ['real', 'imag', 'abs', 'complex'] as const) {
    tf.tidy(() => {
      const x = tf.randomUniform([2, 9, 1], 0, 1, 'float32', 3);
      const args = { hiddenSize: 6, capacity: 3, outputType, seed: 4 };
      const last = new EURNN(args);
      const steps = new EURNNSteps(args);
      const outLast = last.apply(x) as tf.Tensor;
      steps.apply(x); // builds
      steps.setWeights(last.getWeights());
      // the state after t steps is the last state of the first t steps
      for (const t of [3, 9]) {
        const prefix = x.slice([0, 0, 0], [2, t, 1]);
        const want = t === 9 ? outLast : (last.apply(prefix) as tf.Tensor);
        const got = (steps.apply(x) as tf.Tensor).slice([0, t - 1, 0], [2, 1, -1]).reshape(want.shape);
        const diff = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0];
        assert.ok(diff < 1e-5, `${outputType}, step ${t}: differs by ${diff}`);
      }
    });
  }
});

test('perStepModel refuses a model without a sequence layer, naming its layers', () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 10, inputShape: [4] })] });
  assert.throws(() => perStepModel(model), /has no layer that reads a sequence .*got Dense/);
  model.dispose();
});

test('the table reports missing weights as missing, with every field, and reads a given bench record', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-compare-'));
  try {
    fs.cpSync(shippedWeightsDir('lstm-row'), path.join(root, 'lstm-row'), { recursive: true });
    const record = path.join(root, 'bench.json');
    fs.writeFileSync(
      record,
      JSON.stringify({
        date: '2026-12-03',
        machine: 'test',
        results: [{ name: 'lstm-row', msPerStep: 20, torchPeer: 'lstm-row', torchMsPerStep: 50 }],
      }),
    );
    const mnist = await loadMnist();
    const { rows, labels, predictions } = await compareModels({
      mnist,
      limit: 40,
      weightsRoot: root,
      benchRecord: record,
    });
    assert.deepEqual(
      rows.map((r) => r.name),
      compareNames(),
    );
    assert.equal(labels.length, 40);
    for (const r of rows) {
      for (const key of [
        'task',
        'input',
        'params',
        'testAccuracy',
        'testImages',
        'ownTest',
        'training',
        'published',
        'torch',
        'caveats',
      ])
        assert.ok(key in r, `${r.name} has ${key}`);
      assert.ok(r.params > 1000, `${r.name}: params ${r.params}`);
      assert.ok(r.published.source.length > 0);
      if (r.name === 'lstm-row') continue;
      assert.equal(r.weights, 'missing');
      assert.match(r.missing!, new RegExp(`${r.name}.model\\.json does not exist`));
      assert.equal(r.testAccuracy, null);
      assert.equal(r.training, null);
      assert.equal(predictions[r.name], undefined);
    }
    const row = rows.find((r) => r.name === 'lstm-row')!;
    assert.equal(row.weights, 'shipped');
    assert.ok(row.testAccuracy! > 0.8, `lstm-row on 40 images: ${row.testAccuracy}`);
    assert.equal(row.ownTest?.images, 40);
    assert.equal(row.training?.epochs, 100);
    assert.equal(row.training?.imagesSeen, 100 * 60000);
    assert.equal(row.training?.threads, null, 'the LSTM logs do not record threads');
    assert.equal(row.published.accuracy, null);
    assert.deepEqual(
      { peer: row.torch?.peer, ms: row.torch?.msPerStep, ours: row.torch?.oursMsPerStep, ratio: row.torch?.ratio },
      { peer: 'lstm-row', ms: 50, ours: 20, ratio: 0.4 },
    );
    assert.equal(rows.find((r) => r.name === 'eurnn')!.ownTest?.accuracy, null);
    // the three renderings share the cells
    const cells = compareTableCells(rows);
    assert.match(textTable(cells), /keras-lmu .*weights missing/);
    assert.equal(markdownTable(cells).split('\n').length, 2 + rows.length);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("`compare --json --limit 50` prints seven models as JSON only, each accuracy equal to eval's", async () => {
  const r = spawnSync(process.execPath, [cli, 'compare', '--json', '--limit', '50'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as CompareRow[];
  assert.equal(rows.length, 7);
  assert.deepEqual(
    rows.map((x) => x.name),
    compareNames(),
  );
  const by = Object.fromEntries(rows.map((x) => [x.name, x]));
  for (const x of rows) {
    assert.equal(x.weights, 'shipped', `${x.name} weights`);
    assert.equal(x.testImages, 50);
    assert.ok(x.training && x.training.imagesSeen > 0 && x.training.seconds > 0, `${x.name} training`);
  }
  // eval's figure is on the walkthrough's own test set where it has one, else on the standard one
  for (const m of TRAINED_MODELS) {
    const e = await evaluateTrained(m.walkthrough, { config: { ...m.overrides, limit: 50 } });
    const row = by[m.name];
    assert.equal(row.ownTest?.accuracy ?? row.testAccuracy, e.accuracy, `${m.name}: compare and eval`);
  }
});

test('compare takes only --json and --limit, and no arguments', () => {
  for (const args of [
    ['compare', '--epochs', '3'],
    ['compare', 'tcn'],
  ]) {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, /accepted: --json, --limit|takes no arguments/);
  }
});

test('readBenchRecord reads bench --json arrays and wrapped records, and names a bad file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-bench-'));
  try {
    const array = path.join(dir, 'a.json');
    fs.writeFileSync(array, JSON.stringify([{ name: 'tcn', msPerStep: 1 }]));
    assert.equal(readBenchRecord(array)?.results[0].name, 'tcn');
    const bad = path.join(dir, 'b.json');
    fs.writeFileSync(bad, '{"results": 3}');
    assert.throws(() => readBenchRecord(bad), /b\.json holds no results/);
    fs.writeFileSync(bad, 'not json');
    assert.throws(() => readBenchRecord(bad), /b\.json is not valid JSON/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** A CompareResult of made-up answers on four digits. */
function madeUp(): CompareResult {
  const labels = Int32Array.from([0, 1, 2, 3]);
  const p = (classes: number[]) => ({ classes: Int32Array.from(classes), probabilities: new Float32Array(40) });
  return {
    rows: [{ name: 'tcn' }, { name: 'eurnn' }, { name: 'lstm-row' }] as CompareRow[],
    labels,
    predictions: { tcn: p([0, 1, 2, 3]), eurnn: p([0, 1, 5, 5]), 'lstm-row': p([0, 7, 5, 3]) },
  };
}

test('confusion, agreement and hardest digits count what they say', () => {
  const r = madeUp();
  const m = confusionMatrix(r.predictions.eurnn!.classes, r.labels);
  assert.equal(m[2][5], 1);
  assert.equal(m[0][0], 1);
  assert.equal(
    m.flat().reduce((a, b) => a + b),
    4,
  );
  const { names, agreement } = agreementMatrix(r);
  assert.deepEqual(names, ['tcn', 'eurnn', 'lstm-row']);
  assert.deepEqual(agreement[1], [0.5, 1, 0.5]); // eurnn vs tcn: 0, 1; vs lstm-row: 0, 5
  const hard = hardestDigits(r, 3);
  assert.deepEqual(
    hard.map((h) => [h.index, h.wrong]),
    [
      [2, 2],
      [1, 1],
      [3, 1],
    ],
  );
  assert.throws(() => confusionMatrix([11], [0]), /outside 0…9/);
});

test('per-step analyses: decision step, mean true-class probability, instructive digits', () => {
  // two digits (labels 1 and 2) and two models of 4 steps, one-hot answers per step
  const model = (name: 'lstm-row' | 'tcn', answers: number[][]): ModelSteps => {
    const probabilities = new Float32Array(2 * 4 * 10);
    answers.forEach((row, i) => row.forEach((c, t) => (probabilities[(i * 4 + t) * 10 + c] = 1)));
    return { name, steps: 4, featuresPerStep: 1, probabilities, lastStepDifference: 0, seconds: 0 };
  };
  // a: digit 0 right from step 2; digit 1 wrong at the end. b: both right only at the last step
  const a = model('lstm-row', [
    [0, 1, 1, 1],
    [2, 2, 2, 3],
  ]);
  const b = model('tcn', [
    [0, 0, 0, 1],
    [0, 0, 0, 2],
  ]);
  const labels = Int32Array.from([1, 2]);
  assert.equal(decisionStep(a, 1, 0), 2);
  assert.equal(decisionStep(a, 2, 1), null);
  assert.equal(decisionStep(b, 2, 1), 4);
  assert.deepEqual(Array.from(meanTrueClassProbability(a, labels)), [0.5, 1, 1, 0.5]);
  const ps: PerStepComparison = {
    count: 2,
    labels,
    models: [a, b],
    missing: [],
    images28: new Float32Array(2 * 784),
    images14: new Float32Array(2 * 196),
  };
  const picks = instructiveDigits(ps);
  assert.equal(picks.early.index, 0, 'the only digit both get right');
  assert.equal(picks.disagree.index, 1, 'final answers 3 and 2');
  assert.deepEqual(settlingShares(ps), [
    { name: 'lstm-row', steps: 4, right: 1, p10: 0.5, median: 0.5, p90: 0.5 },
    { name: 'tcn', steps: 4, right: 2, p10: 1, median: 1, p90: 1 },
  ]);
});

test('the slider figure: one position per share, only z, the digits and the title updated per position', () => {
  const probabilities = new Float32Array(2 * 4 * 10).fill(0.1);
  const m = (name: 'lstm-row' | 'tcn'): ModelSteps => ({
    name,
    steps: 4,
    featuresPerStep: name === 'lstm-row' ? 14 : 1,
    probabilities,
    lastStepDifference: 0,
    seconds: 0,
  });
  const ps: PerStepComparison = {
    count: 2,
    labels: Int32Array.from([3, 4]),
    models: [m('tcn'), m('lstm-row')],
    missing: [],
    images28: new Float32Array(2 * 784).fill(0.5),
    images14: new Float32Array(2 * 196).fill(0.5),
  };
  const fig = whenDoesItKnowFigure(ps, 1, { positions: 4, finalSteps: 2, display: false });
  const steps = (fig.layout.sliders as { steps: { label: string; args: Record<string, unknown>[] }[] }[])[0].steps;
  assert.deepEqual(
    steps.map((s) => s.label),
    ['25%', '50%', '75%', '87.5%', '100%'],
  );
  for (const s of steps) {
    assert.deepEqual(Object.keys(s.args[0]), ['z']);
    assert.deepEqual(Object.keys(s.args[1]), ['images[0].source', 'images[1].source', 'title.text']);
  }
  assert.match(String(steps[0].args[1]['title.text']), /test digit 1 \(label 4\) after 25%/);
  assert.equal((fig.layout.images as unknown[]).length, 2, 'one image per pixel order');
  assert.deepEqual(fig.data[0].y, ['tcn', 'lstm-row']);
  assert.throws(() => whenDoesItKnowFigure(ps, 2, { display: false }), /integer in \[0, 1\] \(got 2\)/);
  // the true-class curve keeps the steps in its range and one before
  const zoom = trueClassFigure(ps, { xRange: [0.7, 1], display: false });
  assert.deepEqual(zoom.data[0].x, [0.5, 0.75, 1]);
});

test('tables render as aligned text and Markdown from the same cells, and refuse ragged rows', () => {
  const t = {
    columns: ['a', 'bb'],
    rows: [
      ['x', 1],
      ['yyy', null],
    ],
    align: ['left', 'right'] as ('left' | 'right')[],
  };
  assert.equal(textTable(t), 'a    bb\n---  --\nx     1\nyyy   –');
  assert.equal(markdownTable(t), '| a | bb |\n|---|---:|\n| x | 1 |\n| yyy | – |');
  assert.throws(() => textTable({ columns: ['a'], rows: [['x', 'y']] }), /rows\[0\] must hold 1 cells/);
});
