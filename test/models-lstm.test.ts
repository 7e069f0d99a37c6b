import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerModelClasses } from '../lib/models/classes';
import { useBackend } from '../lib/backend';
import {
  buildStackedLstm,
  buildStackedLstmPerStep,
  FusedLSTM,
  fusedLstm,
  transferLstmWeights,
} from '../lib/models/lstm';
import { stackedLstmGradientArrays } from '../lib/models/lstm-gradients';
import { loadMnist } from '../lib/data/mnist';
import { scaleImages } from '../lib/data/transforms';
import { setLstmEngine } from '../lib/kernels/lstm';
import { ownGradientsOf } from '../lib/own-gradients';
import { localGradients, losses, tapeGradients } from '../lib/train/gradients';
import { loadModel, saveModel } from '../lib/train/saving';

// the round trips read models from JSON: the library's classes are registered explicitly
registerModelClasses();

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

test.before(async () => {
  await useBackend('cpu', { quiet: true });
});

test('parameter counts: pixel 1,498 (first LSTM 320), row 1,914 (first LSTM 736)', () => {
  const pixel = buildStackedLstm({ steps: 196, features: 1, seed: 0 });
  const row = buildStackedLstm({ steps: 14, features: 14, seed: 0 });
  assert.equal(pixel.countParams(), 1498);
  assert.equal(row.countParams(), 1914);
  assert.equal(pixel.getLayer('lstm').countParams(), 4 * (8 * (1 + 8) + 8));
  assert.equal(row.getLayer('lstm').countParams(), 4 * (8 * (14 + 8) + 8));
  assert.deepEqual(pixel.outputs[0].shape, [null, 10]);
  const perStep = buildStackedLstmPerStep({ steps: 196, features: 1 });
  assert.equal(perStep.countParams(), 1498);
  assert.deepEqual(perStep.outputs[0].shape, [null, 196, 10]);
  [pixel, row, perStep].forEach((m) => m.dispose());
});

test('FusedLSTM equals tf.layers.lstm (sigmoid gates) with the same weights, last step and sequences', async () => {
  for (const returnSequences of [false, true]) {
    const ours = fusedLstm({ units: 8, returnSequences, seed: 3 });
    const ref = tf.layers.lstm({ units: 8, returnSequences, recurrentActivation: 'sigmoid' });
    const x = tf.randomUniform([4, 7, 3], -1, 1, 'float32', 5);
    const y = ours.apply(x) as tf.Tensor;
    ref.apply(x);
    ref.setWeights(ours.getWeights());
    const yr = ref.apply(x) as tf.Tensor;
    assert.deepEqual(y.shape, returnSequences ? [4, 7, 8] : [4, 8]);
    assert.ok(maxDiff(await y.data(), await yr.data()) < 2e-6);
    assert.deepEqual(
      ours.weights.map((w) => w.originalName.split('/').pop()),
      ['kernel', 'recurrent_kernel', 'bias'],
    );
    tf.dispose([x, y, yr]);
  }
});

test('initialisers: unit forget bias, orthogonal recurrent kernel, glorot kernel, seeded', async () => {
  const layer = fusedLstm({ units: 8, seed: 7 });
  layer.apply(tf.input({ shape: [5, 3] }));
  const [w, u, b] = layer.getWeights();
  assert.deepEqual(Array.from(await b.data()), [
    ...new Array(8).fill(0),
    ...new Array(8).fill(1),
    ...new Array(16).fill(0),
  ]);
  const uut = await tf.matMul(u, u, false, true).data(); // U·Uᵀ = I for [8, 32] with orthonormal rows
  assert.ok(maxDiff(uut, tf.eye(8).dataSync()) < 1e-5);
  const limit = Math.sqrt(6 / (3 + 32));
  assert.ok((await w.abs().max().data())[0] <= limit);
  const again = fusedLstm({ units: 8, seed: 7 });
  again.apply(tf.input({ shape: [5, 3] }));
  assert.deepEqual(Array.from(await again.getWeights()[0].data()), Array.from(await w.data()));
  const noForget = fusedLstm({ units: 4, unitForgetBias: false, biasInitializer: 'zeros' });
  noForget.apply(tf.input({ shape: [5, 3] }));
  assert.deepEqual(Array.from(await noForget.getWeights()[2].data()), new Array(16).fill(0));
  const ones = fusedLstm({
    units: 4,
    unitForgetBias: false,
    biasInitializer: 'ones',
    kernelInitializer: 'zeros',
    recurrentInitializer: 'zeros',
  });
  ones.apply(tf.input({ shape: [5, 3] }));
  assert.deepEqual(Array.from(await ones.getWeights()[2].data()), new Array(16).fill(1));
  assert.deepEqual(Array.from(await ones.getWeights()[1].data()), new Array(64).fill(0));
});

test('bad options name the value', () => {
  assert.throws(() => fusedLstm({ units: 0 }), /units must be a positive integer \(got 0\)/);
  assert.throws(
    () => fusedLstm({ units: 8, activation: 'relu' as 'tanh' }),
    /activation must be 'tanh', the only one the fused LSTM implements \(got "relu"\)/,
  );
  assert.throws(
    () => fusedLstm({ units: 8, recurrentActivation: 'hardSigmoid' as 'sigmoid' }),
    /recurrentActivation must be 'sigmoid'.*\(got "hardSigmoid"\)/,
  );
  assert.throws(
    () => fusedLstm({ units: 8, kernelInitializer: 'bogus' as 'zeros' }),
    /kernelInitializer must be one of glorotUniform, .* \(got "bogus"\)/,
  );
  assert.throws(() => fusedLstm({ units: 8, seed: 1.5 }), /seed must be a non-negative integer \(got 1.5\)/);
  assert.throws(() => buildStackedLstm({ steps: 196, features: 0 }), /features must be a positive integer \(got 0\)/);
  assert.throws(
    () => buildStackedLstm({ steps: 196, features: 1, layers: -1 }),
    /layers must be a positive integer \(got -1\)/,
  );
});

test('a model with FusedLSTM layers saves and loads (config and outputs)', async () => {
  const model = buildStackedLstm({ steps: 12, features: 2, units: 4, layers: 2, seed: 1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lstm-save-'));
  try {
    await saveModel(model, path.join(dir, 'm'));
    const loaded = await loadModel(path.join(dir, 'm'));
    assert.equal(loaded.getLayer('lstm').getClassName(), 'FusedLSTM');
    const config = loaded.getLayer('lstm').getConfig();
    assert.equal(config.units, 4);
    assert.equal(config.returnSequences, true);
    assert.equal(config.unitForgetBias, true);
    assert.equal(config.seed, 1);
    assert.equal(loaded.getLayer('lstm_1').getConfig().returnSequences, false);
    const x = tf.randomUniform([3, 12, 2], 0, 1, 'float32', 2);
    assert.ok(
      maxDiff(await (model.predict(x) as tf.Tensor).data(), await (loaded.predict(x) as tf.Tensor).data()) === 0,
    );
    loaded.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    model.dispose();
  }
});

test("weight transfer: the per-step model ends in the classifier's prediction at every sample", async () => {
  const model = buildStackedLstm({ steps: 10, features: 3, seed: 4 });
  const perStep = buildStackedLstmPerStep({ steps: 10, features: 3, seed: 99 });
  transferLstmWeights(model, perStep);
  const x = tf.randomUniform([5, 10, 3], 0, 1, 'float32', 6);
  const last = model.predict(x) as tf.Tensor; // [5, 10]
  const all = perStep.predict(x) as tf.Tensor; // [5, 10 steps, 10]
  const atEnd = all.slice([0, 9, 0], [5, 1, 10]).reshape([5, 10]);
  assert.ok(maxDiff(await last.data(), await atEnd.data()) < 1e-6);
  const sums = await all.sum(-1).data();
  assert.ok(maxDiff(sums, new Float32Array(50).fill(1)) < 1e-5);
  [model, perStep].forEach((m) => m.dispose());
});

test('weight transfer refuses other architectures, naming layer and shapes', () => {
  const model = buildStackedLstm({ steps: 10, features: 3 });
  assert.throws(
    () => transferLstmWeights(model, buildStackedLstmPerStep({ steps: 10, features: 3, units: 16 })),
    /lstm's kernel has shape \[3, 32\] in the source but \[3, 64\] in the target/,
  );
  assert.throws(
    () => transferLstmWeights(model, buildStackedLstmPerStep({ steps: 10, features: 14 })),
    /lstm's kernel has shape \[3, 32\] in the source but \[14, 32\] in the target/,
  );
  assert.throws(
    () => transferLstmWeights(model, buildStackedLstmPerStep({ steps: 10, features: 3, layers: 2 })),
    /the source has 4 layers with weights .* the target 3/,
  );
  assert.throws(
    () => transferLstmWeights(model, buildStackedLstmPerStep({ steps: 10, features: 3, classes: 5 })),
    /dense's kernel has shape \[8, 10\] in the source but \[8, 5\] in the target/,
  );
});

test('FusedLSTM is registered for deserialisation under its class name', () => {
  assert.equal(FusedLSTM.className, 'FusedLSTM');
  const layer = tf.layers.Layer.fromConfig(FusedLSTM, { units: 4, returnSequences: true } as never) as FusedLSTM;
  assert.equal(layer.units, 4);
});

test("the classifier's own gradient equals the tape's (row and pixel; wasm-simd, JS engine, cpu) and steps aside where it does not apply", async () => {
  const mnist = await loadMnist();
  const n = 37;
  const labels = tf.tensor1d(Int32Array.from(mnist.trainLabels.subarray(0, n)), 'int32');
  const images = scaleImages(mnist.trainImages.subarray(0, n * 784));
  try {
    for (const backend of ['wasm', 'cpu']) {
      await useBackend(backend, { quiet: true });
      for (const engine of ['wasm-simd', 'js'] as const) {
        setLstmEngine(engine);
        for (const [steps, features] of [
          [14, 14],
          [196, 1],
        ]) {
          // 14×14 by averaging 2×2 blocks, as the walkthroughs' images (a stand-in: any real strokes do)
          const small = new Float32Array(n * 196);
          for (let i = 0; i < small.length; i++) {
            const [b, r, c] = [Math.floor(i / 196), Math.floor((i % 196) / 14), i % 14];
            const at = (dr: number, dc: number) => images[b * 784 + (2 * r + dr) * 28 + 2 * c + dc];
            small[i] = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4;
          }
          const x = tf.tensor3d(small, [n, steps, features]);
          const model = buildStackedLstm({ steps, features, seed: 3 });
          // away from the initial weights, so that every gate is exercised
          model.weights.forEach((w, i) =>
            tf.tidy(() => void w.write(tf.add(w.read(), tf.randomNormal(w.shape as number[], 0, 0.3, 'float32', i)))),
          );
          const own = await localGradients(model, x, labels, losses.sparseCrossEntropy);
          const tape = await tapeGradients(model, x, labels, losses.sparseCrossEntropy);
          const where = `${backend}, ${engine}, ${steps}×${features}`;
          assert.ok(Math.abs(own.value - tape.value) < 1e-6, `${where}: loss ${own.value} vs ${tape.value}`);
          assert.equal(own.correct, tape.correct, where);
          own.grads.forEach((g, j) => {
            assert.deepEqual(g.shape, tape.grads[j].shape);
            const d = maxDiff(g.dataSync(), tape.grads[j].dataSync());
            assert.ok(d < 1e-6, `${where}, weight ${j}: max difference ${d}`);
          });
          // another loss, or a frozen layer: the model's gradient steps aside and the tape runs
          const ownGradients = ownGradientsOf(model)!;
          assert.equal(ownGradients(x, labels, 'nll'), undefined);
          model.getLayer('lstm').trainable = false;
          assert.equal(ownGradients(x, labels, 'sparseCrossEntropy'), undefined);
          tf.dispose([x, ...own.grads, ...tape.grads]);
          model.dispose();
        }
      }
    }
    assert.throws(
      () =>
        stackedLstmGradientArrays(
          {
            lstm: [
              {
                kernel: new Float32Array(32),
                recurrentKernel: new Float32Array(256),
                bias: new Float32Array(32),
                units: 8,
              },
            ],
            dense: { kernel: new Float32Array(80), bias: new Float32Array(10), classes: 10 },
          },
          new Float32Array(14),
          [1, 14, 1],
          Int32Array.of(10),
        ),
      /labels must be integers in \[0, 10\) \(got 10\)/,
    );
  } finally {
    setLstmEngine('wasm-simd');
    labels.dispose();
    await useBackend('cpu', { quiet: true });
  }
});
