import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerModelClasses } from '../lib/models/classes';
import { useBackend } from '../lib/backend';
import {
  buildTcnModel,
  causalConv1d,
  causalConvRelu,
  receptiveField,
  TemporalBlock,
  TemporalConvNet,
  weightNorm,
} from '../lib/models/tcn';
import { losses } from '../lib/train/gradients';
import { loadModel, saveModel } from '../lib/train/saving';
import { GradientWorkers } from '../lib/train/parallel';

// the round trips read models from JSON: the library's classes are registered explicitly
registerModelClasses();

interface TorchFixture {
  config: {
    inputChannels: number;
    numChannels: number[];
    kernelSize: number;
    steps: number;
    classes: number;
    batch: number;
  };
  x: number[];
  labels: number[];
  weights: { name: string; shape: number[]; values: number[] }[];
  logProbs: number[];
  sequence: number[];
  loss: number;
  grads: number[][];
}
const torch = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../test/fixtures/tcn-torch.json'), 'utf8'),
) as TorchFixture;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function close(a: tf.Tensor | ArrayLike<number>, b: tf.Tensor | ArrayLike<number>, tol: number, what: string): void {
  const av = a instanceof tf.Tensor ? a.dataSync() : a;
  const bv = b instanceof tf.Tensor ? b.dataSync() : b;
  const d = maxAbsDiff(av, bv);
  assert.ok(d <= tol, `${what}: max difference ${d} > ${tol}`);
}

/** Variables of a model in trainableWeights order. */
const varsOf = (m: tf.LayersModel) => m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);

/** Gradients of `loss(model(x))` w.r.t. every trainable weight, as arrays. */
function gradients(model: tf.LayersModel, f: () => tf.Scalar): { value: number; grads: Float32Array[] } {
  const vars = varsOf(model);
  const { value, grads } = tf.variableGrads(f, vars);
  const out = { value: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

/** A reference causal convolution by explicit sums over taps, differentiable by tfjs's own gradients. */
function referenceConv(x: tf.Tensor3D, kernel: tf.Tensor3D, d: number): tf.Tensor3D {
  const [b, n, cin] = x.shape;
  const [k, , cout] = kernel.shape;
  const p = (k - 1) * d;
  const xp = tf.pad(x, [
    [0, 0],
    [p, 0],
    [0, 0],
  ]);
  let y: tf.Tensor = tf.zeros([b * n, cout]);
  for (let j = 0; j < k; j++) {
    const xj = tf.slice(xp, [0, j * d, 0], [b, n, cin]).reshape([b * n, cin]);
    y = tf.add(y, tf.matMul(xj, tf.squeeze(tf.slice(kernel, [j, 0, 0], [1, cin, cout]), [0])));
  }
  return y.reshape([b, n, cout]);
}

test('causalConv1d equals explicit sums over taps, with the same gradients, at several dilations', async () => {
  await useBackend('cpu', { quiet: true });
  for (const [k, d, cin, cout, n] of [
    [3, 1, 2, 3, 10],
    [2, 4, 3, 2, 13],
    [5, 2, 1, 4, 9],
    [1, 3, 2, 2, 6],
  ]) {
    tf.tidy(() => {
      const x = tf.randomNormal([2, n, cin], 0, 1, 'float32', 1) as tf.Tensor3D;
      const w = tf.randomNormal([k, cin, cout], 0, 1, 'float32', 2) as tf.Tensor3D;
      const r = tf.randomNormal([2, n, cout], 0, 1, 'float32', 3);
      close(causalConv1d(x, w, d), referenceConv(x, w, d), 1e-5, `output k=${k} d=${d}`);
      const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(causalConv1d(a as tf.Tensor3D, b as tf.Tensor3D, d), r)),
      )([x, w]);
      const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(referenceConv(a as tf.Tensor3D, b as tf.Tensor3D, d), r)),
      )([x, w]);
      close(ours[0], ref[0], 1e-4, `input gradient k=${k} d=${d}`);
      close(ours[1], ref[1], 1e-4, `filter gradient k=${k} d=${d}`);
    });
  }
});

test('causality: changing input step t leaves every output before t unchanged (and changes output t)', async () => {
  await useBackend('cpu', { quiet: true });
  const layer = new TemporalConvNet({
    numChannels: [4, 4, 3],
    kernelSize: 3,
    dropout: 0,
    returnSequences: true,
    seed: 5,
  });
  const x = tf.randomNormal([2, 30, 1], 0, 1, 'float32', 9);
  const y = layer.apply(x) as tf.Tensor;
  const xv = x.arraySync() as number[][][];
  for (const t of [0, 11, 29]) {
    const changed = xv.map((row) => row.map((v, s) => (s === t ? [v[0] + 3] : v)));
    const y2 = layer.apply(tf.tensor3d(changed)) as tf.Tensor;
    if (t > 0) close(y2.slice([0, 0, 0], [2, t, 3]), y.slice([0, 0, 0], [2, t, 3]), 0, `outputs before step ${t}`);
    const at = maxAbsDiff(y2.slice([0, t, 0], [2, 1, 3]).dataSync(), y.slice([0, t, 0], [2, 1, 3]).dataSync());
    assert.ok(at > 1e-4, `output ${t} should depend on input ${t} (difference ${at})`);
  }
});

test('the model matches PyTorch (locuslab/TCN): log-probabilities, per-step TCN outputs, NLL loss and gradients', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await useBackend(backend, { quiet: true });
    const c = torch.config;
    const model = buildTcnModel({
      steps: c.steps,
      inputChannels: c.inputChannels,
      numChannels: c.numChannels,
      kernelSize: c.kernelSize,
      classes: c.classes,
      dropout: 0,
    });
    assert.deepEqual(
      model.weights.map((w) => w.shape),
      torch.weights.map((w) => w.shape),
    );
    model.setWeights(torch.weights.map((w) => tf.tensor(w.values, w.shape)));
    const x = tf.tensor3d(torch.x, [c.batch, c.steps, c.inputChannels]);
    const y = tf.tensor1d(torch.labels, 'int32');
    close(model.predict(x) as tf.Tensor, torch.logProbs, 2e-5, `${backend} log-probabilities`);

    const sequences = new TemporalConvNet({
      numChannels: c.numChannels,
      kernelSize: c.kernelSize,
      dropout: 0,
      returnSequences: true,
    });
    sequences.apply(x); // build
    sequences.setWeights(model.getLayer('tcn').getWeights());
    close(sequences.apply(x) as tf.Tensor, torch.sequence, 2e-5, `${backend} per-step outputs`);

    const g = gradients(model, () => losses.nll(model.apply(x, { training: true }) as tf.Tensor, y));
    assert.ok(Math.abs(g.value - torch.loss) < 1e-5, `${backend} loss ${g.value} vs ${torch.loss}`);
    g.grads.forEach((grad, i) => close(grad, torch.grads[i], 2e-5, `${backend} gradient of ${torch.weights[i].name}`));
  }
});

test('the last-step path equals the last step of the whole sequence, outputs and gradients', async () => {
  await useBackend('cpu', { quiet: true });
  // odd and even kernels, sequences of odd and even length, a top level seeing fewer than k steps
  for (const [k, channels, steps] of [
    [3, [3, 4, 4], 21],
    [4, [2, 2, 3, 3], 16],
    [2, [3, 3, 3, 3, 2], 13],
    [5, [2], 7],
  ] as [number, number[], number][]) {
    const seq = new TemporalConvNet({
      numChannels: channels,
      kernelSize: k,
      dropout: 0,
      returnSequences: true,
      seed: k,
    });
    const last = new TemporalConvNet({ numChannels: channels, kernelSize: k, dropout: 0 });
    const x = tf.randomNormal([3, steps, 2], 0, 1, 'float32', 4) as tf.Tensor3D;
    seq.apply(x);
    last.apply(x);
    last.setWeights(seq.getWeights());
    const c = channels[channels.length - 1];
    const full = () => (seq.apply(x) as tf.Tensor).slice([0, steps - 1, 0], [3, 1, c]).reshape([3, c]);
    close(last.apply(x) as tf.Tensor, full(), 1e-5, `k=${k} steps=${steps} output`);
    const r = tf.randomNormal([3, c], 0, 1, 'float32', 6);
    const gv = (layer: TemporalConvNet, f: () => tf.Tensor) => {
      const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      const { grads } = tf.variableGrads(() => tf.sum(tf.mul(f(), r)) as tf.Scalar, vars);
      return vars.map((v) => grads[v.name]);
    };
    const a = gv(last, () => last.apply(x) as tf.Tensor);
    const b = gv(seq, full);
    a.forEach((g, i) => close(g, b[i], 1e-5, `k=${k} steps=${steps} gradient ${i}`));
  }
});

test('the walkthrough model: 96,040 parameters, log-probabilities of shape [batch, 10], receptive field 3,061', async () => {
  await useBackend('wasm', { quiet: true });
  const model = buildTcnModel({ seed: 1111 });
  assert.equal(model.countParams(), 96040);
  assert.equal(receptiveField(7, 8), 3061);
  const tcn = model.getLayer('tcn') as TemporalConvNet;
  assert.equal(tcn.receptiveField, 3061);
  const out = model.predict(tf.randomNormal([2, 784, 1])) as tf.Tensor;
  assert.deepEqual(out.shape, [2, 10]);
  close(tf.sum(tf.exp(out), 1), [1, 1], 1e-5, 'probabilities sum to 1');
  assert.deepEqual(
    model.weights.slice(0, 8).map((w) => w.originalName),
    [
      'tcn/network.0.conv1.weight_v',
      'tcn/network.0.conv1.weight_g',
      'tcn/network.0.conv1.bias',
      'tcn/network.0.conv2.weight_v',
      'tcn/network.0.conv2.weight_g',
      'tcn/network.0.conv2.bias',
      'tcn/network.0.downsample.weight',
      'tcn/network.0.downsample.bias',
    ],
  );
});

test('initialisation as the original effectively does it; seeded builds are reproducible', async () => {
  await useBackend('cpu', { quiet: true });
  const model = buildTcnModel({ seed: 3 });
  const w = Object.fromEntries(model.weights.map((v) => [v.originalName.replace('tcn/network.', ''), v.read()]));
  const within = (t: tf.Tensor, limit: number, what: string) => {
    const v = t.dataSync();
    const max = Math.max(...Array.from(v, Math.abs));
    assert.ok(max <= limit && max > 0.8 * limit, `${what}: max |value| ${max}, bound ${limit}`);
  };
  within(w['0.conv1.weight_v'], 1 / Math.sqrt(7), 'level 0 conv1 v (fan in 7)');
  within(w['0.conv1.bias'], 1 / Math.sqrt(7), 'level 0 conv1 bias');
  within(w['3.conv2.weight_v'], 1 / Math.sqrt(210), 'level 3 conv2 v (fan in 210)');
  within(w['3.conv2.bias'], 1 / Math.sqrt(210), 'level 3 conv2 bias');
  within(w['0.downsample.bias'], 1, 'downsample bias (fan in 1)');
  within(model.getLayer('linear').getWeights()[0], 1 / Math.sqrt(30), 'linear weight');
  within(model.getLayer('linear').getWeights()[1], 1 / Math.sqrt(30), 'linear bias');
  // g = ‖v‖, so the initial weight-normalised kernel is v itself
  for (const name of ['0.conv1', '5.conv2']) {
    close(
      weightNorm(w[`${name}.weight_v`] as tf.Tensor3D, w[`${name}.weight_g`] as tf.Tensor1D),
      w[`${name}.weight_v`],
      1e-6,
      `${name}: w = v at start`,
    );
  }
  const std = tf.moments(w['0.downsample.weight']).variance.sqrt().dataSync()[0];
  assert.ok(std > 0.005 && std < 0.015, `downsample weight std ${std}, expected about 0.01`);
  const again = buildTcnModel({ seed: 3 });
  model.weights.forEach((v, i) => close(v.read(), again.weights[i].read(), 0, `seeded weight ${v.originalName}`));
  const other = buildTcnModel({ seed: 4 });
  assert.ok(
    maxAbsDiff(model.weights[0].read().dataSync(), other.weights[0].read().dataSync()) > 0,
    'another seed gives other weights',
  );
});

test('weightNorm scales each output channel of v to norm g', async () => {
  await useBackend('cpu', { quiet: true });
  const v = tf.randomNormal([3, 4, 5], 0, 1, 'float32', 1) as tf.Tensor3D;
  const g = tf.tensor1d([1, 2, 0.5, 3, 0.1]);
  const w = weightNorm(v, g);
  close(tf.sqrt(tf.sum(tf.square(w), [0, 1])), g, 1e-5, 'norms');
  close(
    tf.div(w, v).slice([0, 0, 0], [1, 1, 5]).reshape([5]),
    tf.div(g, tf.sqrt(tf.sum(tf.square(v), [0, 1]))),
    1e-5,
    'direction kept',
  );
});

test('dropout in causalConvRelu: about `rate` of the units dropped, the rest scaled by 1/(1 − rate), and gradients through the kept ones', async () => {
  await useBackend('wasm', { quiet: true });
  const x = tf.randomNormal([8, 50, 3], 0, 1, 'float32', 2) as tf.Tensor3D;
  const w = tf.randomNormal([3, 3, 6], 0, 1, 'float32', 3) as tf.Tensor3D;
  const b = tf.fill([6], 30) as tf.Tensor1D; // all pre-activations positive: only dropout makes zeros
  const plain = causalConvRelu(x, w, b).dataSync();
  assert.ok(plain.every((v) => v > 0));
  const rate = 0.3;
  const r = tf.randomNormal([8, 50, 6], 0, 1, 'float32', 4);
  let out: tf.Tensor | undefined;
  const [gb] = tf.grads((bb: tf.Tensor) => {
    out = tf.keep(causalConvRelu(x, w, bb as tf.Tensor1D, { dropout: rate, training: true }));
    return tf.sum(tf.mul(out, r));
  })([b]);
  const y = out!.dataSync();
  let dropped = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 0) dropped++;
    else assert.ok(Math.abs(y[i] - plain[i] / (1 - rate)) < 1e-4 * Math.abs(y[i]), `kept unit ${i} scaled`);
  }
  const fraction = dropped / y.length;
  assert.ok(Math.abs(fraction - rate) < 0.03, `dropped fraction ${fraction}, rate ${rate}`);
  const expected = tf.sum(tf.mul(tf.mul(r, tf.step(out!)), 1 / (1 - rate)), [0, 1]);
  close(gb, expected, 1e-3, 'bias gradient through the kept units');
  close(causalConvRelu(x, w, b, { dropout: rate }), plain, 0, 'no dropout outside training');
});

test('save and load round trip: same outputs, from TemporalConvNet and TemporalBlock configs', async () => {
  await useBackend('wasm', { quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tcn-'));
  try {
    const model = buildTcnModel({ steps: 40, numChannels: [5, 5, 5], kernelSize: 3, seed: 2 });
    const x = tf.randomNormal([3, 40, 1], 0, 1, 'float32', 1);
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    close(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor, 0, 'loaded model output');
    const cfg = (loaded.getLayer('tcn') as TemporalConvNet).getConfig();
    assert.deepEqual(
      [cfg.numChannels, cfg.kernelSize, cfg.dropout, cfg.returnSequences, cfg.seed],
      [[5, 5, 5], 3, 0.05, false, 2],
    );

    const seqModel = tf.sequential({
      layers: [new TemporalBlock({ inputShape: [12, 2], filters: 3, kernelSize: 2, dilation: 4, seed: 1 })],
    });
    const xs = tf.randomNormal([2, 12, 2], 0, 1, 'float32', 2);
    await saveModel(seqModel, dir);
    const seqLoaded = await loadModel(dir);
    close(seqLoaded.predict(xs) as tf.Tensor, seqModel.predict(xs) as tf.Tensor, 0, 'loaded TemporalBlock output');
    assert.deepEqual(
      seqLoaded.predict(xs) instanceof tf.Tensor && (seqLoaded.predict(xs) as tf.Tensor).shape,
      [2, 12, 3],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('TemporalBlock equals one level of TemporalConvNet', async () => {
  await useBackend('cpu', { quiet: true });
  const net = new TemporalConvNet({ numChannels: [4], kernelSize: 3, dropout: 0, returnSequences: true, seed: 8 });
  const block = new TemporalBlock({ filters: 4, kernelSize: 3, dilation: 1, dropout: 0 });
  const x = tf.randomNormal([2, 9, 2], 0, 1, 'float32', 3);
  net.apply(x);
  block.apply(x);
  block.setWeights(net.getWeights());
  close(block.apply(x) as tf.Tensor, net.apply(x) as tf.Tensor, 0, 'block output');
});

test('training steps on wasm equal those on cpu (the filter gradient runs through conv2d on both)', async () => {
  const run = async (backend: string) => {
    await useBackend(backend, { quiet: true });
    const model = buildTcnModel({ steps: 50, numChannels: [6, 6, 6], kernelSize: 3, dropout: 0, seed: 11 });
    const x = tf.randomNormal([8, 50, 1], 0, 1, 'float32', 5);
    const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
    const optimizer = tf.train.adam(2e-3, 0.9, 0.999, 1e-8);
    const costs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const cost = optimizer.minimize(
        () => losses.nll(model.apply(x, { training: true }) as tf.Tensor, y),
        true,
        varsOf(model),
      ) as tf.Scalar;
      costs.push(cost.dataSync()[0]);
      cost.dispose();
    }
    return { costs, weights: model.getWeights().map((w) => w.dataSync()) };
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  assert.ok(cpu.costs[4] < cpu.costs[0], `loss falls: ${cpu.costs.join(', ')}`);
  close(wasm.costs, cpu.costs, 1e-4, 'losses');
  wasm.weights.forEach((w, i) => close(w, cpu.weights[i], 1e-4, `weight ${i} after 5 steps`));
});

test('bad options and inputs are refused with the value named', async () => {
  await useBackend('cpu', { quiet: true });
  assert.throws(() => new TemporalConvNet({ kernelSize: 0 }), /kernelSize must be a positive integer \(got 0\)/);
  assert.throws(
    () => new TemporalConvNet({ numChannels: [] }),
    /numChannels must list at least one level \(got \[\]\)/,
  );
  assert.throws(
    () => new TemporalConvNet({ numChannels: [30, 0] }),
    /numChannels\[1\] must be a positive integer \(got 0\)/,
  );
  assert.throws(() => new TemporalConvNet({ dropout: 1 }), /dropout must be a number in \[0, 1\) \(got 1\)/);
  assert.throws(() => new TemporalConvNet({ dropout: -0.1 }), /dropout must be a number in \[0, 1\) \(got -0.1\)/);
  assert.throws(
    () => new TemporalBlock({ filters: 4, dilation: 1.5 }),
    /dilation must be a positive integer \(got 1.5\)/,
  );
  assert.throws(() => receptiveField(7, 0), /levels must be a positive integer \(got 0\)/);
  assert.throws(() => buildTcnModel({ steps: 0 }), /steps must be a positive integer \(got 0\)/);
  assert.throws(
    () => causalConv1d(tf.zeros([2, 5]) as unknown as tf.Tensor3D, tf.zeros([3, 1, 2]) as tf.Tensor3D),
    /expects input of rank 3, \[batch, steps, channels\] \(got rank 2, shape \[2, 5\]\)/,
  );
  assert.throws(
    () => causalConv1d(tf.zeros([2, 5, 3]) as tf.Tensor3D, tf.zeros([3, 2, 2]) as tf.Tensor3D),
    /kernel takes 2 input channels but the input has 3/,
  );
  const layer = new TemporalConvNet({ numChannels: [4, 4] });
  assert.throws(
    () => layer.apply(tf.zeros([2, 784])),
    /TemporalConvNet expects input of rank 3, \[batch, steps, channels\] \(got rank 2, shape \[2, 784\]\)/,
  );

  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => void warnings.push(m);
  try {
    buildTcnModel({ numChannels: [30, 30, 30], kernelSize: 7 });
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /receptive field \(85 steps\) is shorter than the sequence \(784 steps\)/);
});

test('gradients split over a worker thread (the TCN rebuilt from its recipe) equal the one-thread gradients', async () => {
  await useBackend('wasm', { quiet: true });
  const options = { steps: 40, numChannels: [5, 5, 5], kernelSize: 3, dropout: 0, seed: 4 };
  const model = buildTcnModel(options);
  model.weights.forEach((w) => tf.tidy(() => void w.write(tf.add(w.read(), 0.01)))); // differ from the worker's initial weights
  const x = tf.randomNormal([9, 40, 1], 0, 1, 'float32', 8);
  const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7, 8], 'int32');
  const pool = await GradientWorkers.start(
    { module: require.resolve('../lib/models/tcn'), exportName: 'buildTcnModel', args: [options] },
    { threads: 2 },
  );
  try {
    const split = await pool.gradients(model, x, y, losses.nll);
    const whole = gradients(model, () => losses.nll(model.apply(x, { training: true }) as tf.Tensor, y));
    assert.ok(Math.abs(split.loss - whole.value) < 1e-5, `${split.loss} vs ${whole.value}`);
    varsOf(model).forEach((v, i) => close(split.grads[v.name], whole.grads[i], 1e-5, `gradient ${i}`));
  } finally {
    await pool.terminate();
  }
});
