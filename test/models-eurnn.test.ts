import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerModelClasses } from '../lib/models/classes';
import { useBackend } from '../lib/backend';
import { eurnnSequence, eurnnWasmAvailable, setEurnnEngine } from '../lib/kernels/eurnn';
import { EUNN, EURNN, ModReLU, buildEurnnModel, eunnApply, modRelu } from '../lib/models/eurnn';
import { loadModel, loadWeightsInto, saveModel } from '../lib/train/saving';

// the round trips read models from JSON: the library's classes are registered explicitly
registerModelClasses();

interface TorchCase {
  hiddenSize: number;
  capacity: number;
  x: number[][][];
  y: number[];
  weights: Record<string, number[] | number[][]>;
  logits: number[][];
  loss: number;
  grads: Record<string, number[] | number[][]>;
}
const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '../../test/fixtures/eurnn-torch.json'), 'utf8')) as {
  eurnn: TorchCase[];
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const flat = (v: unknown): number[] => (Array.isArray(v) ? (v as unknown[]).flatMap(flat) : [v as number]);
const engines = eurnnWasmAvailable() ? (['wasm-simd', 'js'] as const) : (['js'] as const);

test('the unitary layer preserves the norm of any input to float32 precision, for random angles', async () => {
  await useBackend('cpu', { quiet: true });
  for (const [n, capacity, seed] of [
    [256, 2, 0],
    [10, 3, 1],
    [6, 1, 2],
    [16, 16, 3],
  ]) {
    const angles = tf.randomUniform([n, capacity], 0, 2 * Math.PI, 'float32', seed);
    const z = tf.randomNormal([5, 2 * n], 0, 3, 'float32', seed + 10);
    const out = eunnApply(z, angles);
    const norms = (t: tf.Tensor) => tf.sum(tf.square(t), 1).dataSync();
    const before = norms(z);
    const after = norms(out);
    for (let b = 0; b < 5; b++)
      assert.ok(
        Math.abs(after[b] - before[b]) < 1e-5 * before[b],
        `N=${n} capacity ${capacity}: ${before[b]} → ${after[b]}`,
      );
    // the layer is not the identity
    assert.ok(maxAbsDiff(out.dataSync(), z.dataSync()) > 0.1);
    tf.dispose([angles, z, out]);
  }
});

test("the unitary layer's gradients match central finite differences", async () => {
  await useBackend('cpu', { quiet: true });
  const n = 6;
  const capacity = 3;
  const angles = tf.randomUniform([n, capacity], 0, 2 * Math.PI, 'float32', 4);
  const z = tf.randomNormal([2, 2 * n], 0, 1, 'float32', 5);
  const w = tf.randomNormal([2, 2 * n], 0, 1, 'float32', 6);
  const loss = (zz: tf.Tensor, aa: tf.Tensor) => tf.sum(tf.mul(w, eunnApply(zz, aa))) as tf.Scalar;
  const [gz, ga] = tf.grads(loss)([z, angles]);
  const h = 1e-2;
  for (const [which, base, grad] of [
    ['angles', angles, ga],
    ['input', z, gz],
  ] as const) {
    const values = base.dataSync();
    const g = grad.dataSync();
    for (let i = 0; i < values.length; i++) {
      const plus = values.slice();
      const minus = values.slice();
      plus[i] += h;
      minus[i] -= h;
      const at = (v: Float32Array) => {
        const t = tf.tensor(v, base.shape);
        const l = which === 'angles' ? loss(z, t) : loss(t, angles);
        const r = l.dataSync()[0];
        tf.dispose([t, l]);
        return r;
      };
      const fd = (at(plus as Float32Array) - at(minus as Float32Array)) / (2 * h);
      assert.ok(
        Math.abs(fd - g[i]) < 2e-3 * Math.max(1, Math.abs(g[i])),
        `d/d${which}[${i}]: autodiff ${g[i]}, finite difference ${fd}`,
      );
    }
  }
  tf.dispose([angles, z, w, gz, ga]);
});

test("the fused recurrence's gradients match central finite differences", async () => {
  await useBackend('cpu', { quiet: true });
  const [batch, steps, n] = [3, 6, 8];
  const x = tf.randomUniform([batch, steps, 1], 0, 1, 'float32', 1);
  const kernel = tf.randomUniform([1, n], -0.5, 0.5, 'float32', 2);
  const bias = tf.randomUniform([n], 0.2, 0.5, 'float32', 3); // away from z = 0, where modReLU bends sharply
  const angles = tf.randomUniform([n, 2], 0, 2 * Math.PI, 'float32', 4);
  const modBias = tf.randomUniform([n], 0.05, 0.3, 'float32', 5);
  const dy = tf.randomNormal([batch, 2 * n], 0, 1, 'float32', 6);
  const inputs = [x, kernel, bias, angles, modBias];
  const loss = (...a: tf.Tensor[]) => tf.sum(tf.mul(dy, eurnnSequence(a[0], a[1], a[2], a[3], a[4]))) as tf.Scalar;
  for (const e of engines) {
    setEurnnEngine(e);
    const grads = tf.grads(loss)(inputs);
    const h = 1e-3;
    ['x', 'kernel', 'bias', 'angles', 'modBias'].forEach((name, k) => {
      const values = inputs[k].dataSync();
      const g = grads[k].dataSync();
      const scale = Math.max(1, maxAbs(g));
      for (let i = 0; i < Math.min(values.length, 8); i++) {
        const at = (delta: number) => {
          const v = values.slice();
          v[i] += delta;
          const args = inputs.slice();
          args[k] = tf.tensor(v, inputs[k].shape);
          const l = loss(...args);
          const r = l.dataSync()[0];
          tf.dispose([args[k], l]);
          return r;
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        assert.ok(Math.abs(fd - g[i]) < 1e-2 * scale, `${e}: d/d${name}[${i}]: ${g[i]} vs finite difference ${fd}`);
      }
    });
    tf.dispose(grads);
  }
  setEurnnEngine(engines[0]);
  tf.dispose([...inputs, dy]);
});

test('modReLU is ReLU(|z| + b)·z/|z| with |z| + 1e-5', async () => {
  await useBackend('cpu', { quiet: true });
  const z = tf.tensor2d([[3, 0, -0.3, 4, 0, 0.4]]); // 3 + 4i, 0, −0.3 + 0.4i
  const b = tf.tensor1d([-1, 0.5, -0.6]);
  const out = modRelu(z, b).dataSync();
  const r = [5 + 1e-5, 1e-5, 0.5 + 1e-5];
  const expected = [(3 * (r[0] - 1)) / r[0], 0, 0, (4 * (r[0] - 1)) / r[0], 0, 0];
  assert.ok(maxAbsDiff(out, expected) < 1e-6, `${Array.from(out)}`);
  tf.dispose([z, b]);
});

for (const c of fixture.eurnn) {
  test(`the model equals the PyTorch peer: logits, loss and every gradient (N=${c.hiddenSize}, capacity ${c.capacity})`, async () => {
    await useBackend('cpu', { quiet: true });
    const steps = c.x[0].length;
    const n = c.hiddenSize;
    const model = buildEurnnModel({ steps, hiddenSize: n, capacity: c.capacity });
    const W = c.weights;
    const transpose = (m: number[][]) => m[0].map((_, j) => m.map((row) => row[j]));
    model.setWeights([
      tf.tensor2d(transpose(W['inp.weight'] as number[][])), // torch [N, 1] → ours [1, N]
      tf.tensor1d(W['inp.bias'] as number[]),
      tf.tensor2d(W['U.angles'] as number[][]),
      tf.tensor1d((W['b'] as number[][])[0]),
      tf.tensor2d(transpose(W['out.weight'] as number[][])),
      tf.tensor1d(W['out.bias'] as number[]),
    ]);
    const x = tf.tensor3d(c.x);
    const y = tf.tensor1d(c.y, 'int32');
    for (const e of engines) {
      setEurnnEngine(e);
      const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
      let logits: tf.Tensor | undefined;
      const { value, grads } = tf.variableGrads(() => {
        logits = tf.keep(model.apply(x) as tf.Tensor);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), logits) as tf.Scalar;
      }, vars);
      assert.ok(maxAbsDiff(logits!.dataSync(), flat(c.logits)) < 1e-5, `${e}: logits`);
      assert.ok(Math.abs(value.dataSync()[0] - c.loss) < 1e-5, `${e}: loss`);
      const torchGrads = [
        flat(transpose(c.grads['inp.weight'] as number[][])),
        flat(c.grads['inp.bias']),
        flat(c.grads['U.angles']),
        flat(c.grads['b']),
        flat(transpose(c.grads['out.weight'] as number[][])),
        flat(c.grads['out.bias']),
      ];
      vars.forEach((v, i) => {
        const d = maxAbsDiff(grads[v.name].dataSync(), torchGrads[i]);
        assert.ok(d < 1e-4 * Math.max(1, maxAbs(torchGrads[i])), `${e}: gradient of ${v.name} differs by ${d}`);
      });
      tf.dispose([value, logits!, ...Object.values(grads)]);
    }
    setEurnnEngine(engines[0]);
    tf.dispose([x, y]);
    model.dispose();
  });
}

test('the walkthrough model has 3,850 trainable parameters in the original shapes', () => {
  const model = buildEurnnModel();
  assert.equal(model.countParams(), 3850);
  assert.deepEqual(
    model.trainableWeights.map((w) => w.shape),
    [[1, 256], [256], [256, 2], [256], [256, 10], [10]],
  );
  assert.deepEqual(model.outputs[0].shape, [null, 10]);
  // the original's initialisation
  const [k, b, a, m, rk, rb] = model.getWeights().map((w) => Array.from(w.dataSync()));
  const v = Math.sqrt(2 / 11);
  assert.ok(k.every((w) => Math.abs(w) <= v) && rk.every((w) => Math.abs(w) <= v) && maxAbs(k) > 0.9 * v);
  for (const bias of [b, m, rb]) assert.ok(bias.every((w) => Math.abs(w - 0.01) < 1e-7));
  assert.ok(a.every((w) => w >= 0 && w <= 2 * Math.PI) && Math.max(...a) > 5.5);
  model.dispose();
});

test('a save/load round trip gives the same outputs', async () => {
  await useBackend('cpu', { quiet: true });
  const model = buildEurnnModel({ steps: 12, hiddenSize: 8, capacity: 3, seed: 4 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-eurnn-'));
  await saveModel(model, dir);
  const loaded = await loadModel(dir);
  const x = tf.randomUniform([3, 12, 1], 0, 1, 'float32', 9);
  const a = model.predict(x) as tf.Tensor;
  const b = loaded.predict(x) as tf.Tensor;
  assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
  assert.deepEqual(loaded.layers[0].getConfig(), model.layers[0].getConfig());
  // the layers on their own round-trip too
  for (const layer of [
    new EUNN({ hiddenSize: 4, capacity: 3, seed: 1 }),
    new ModReLU({ hiddenSize: 4, biasInit: 0.2 }),
    new EURNN({ hiddenSize: 4, outputType: 'complex' }),
  ]) {
    const entry = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
    assert.ok(entry, `${layer.getClassName()} is registered`);
    const [cls, fromConfig] = entry;
    const again = fromConfig(cls, layer.getConfig()) as tf.layers.Layer;
    assert.deepEqual(again.getConfig(), layer.getConfig());
  }
  tf.dispose([x, a, b]);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('each output type reads the last state as it says', async () => {
  await useBackend('cpu', { quiet: true });
  const x = tf.randomUniform([2, 5, 1], 0, 1, 'float32', 3);
  const make = (outputType: 'real' | 'imag' | 'abs' | 'complex') => {
    const m = tf.sequential();
    m.add(new EURNN({ inputShape: [5, 1], hiddenSize: 4, outputType, seed: 7 }));
    return (m.predict(x) as tf.Tensor).arraySync() as number[][];
  };
  const complex = make('complex');
  assert.equal(complex[0].length, 8);
  assert.deepEqual(
    make('real'),
    complex.map((r) => r.slice(0, 4)),
  );
  assert.deepEqual(
    make('imag'),
    complex.map((r) => r.slice(4)),
  );
  const abs = make('abs');
  complex.forEach((r, i) =>
    r.slice(0, 4).forEach((re, j) => assert.ok(Math.abs(abs[i][j] - Math.hypot(re, r[4 + j])) < 1e-6)),
  );
  x.dispose();
});

test('bad input: odd hidden size, capacity below 1, wrong rank, weights of another shape', async () => {
  await useBackend('cpu', { quiet: true });
  assert.throws(() => new EURNN({ hiddenSize: 7 }), /hiddenSize must be a positive even integer.*\(got 7\)/);
  assert.throws(() => new EUNN({ hiddenSize: 5 }), /\(got 5\)/);
  assert.throws(() => new EURNN({ capacity: 0 }), /capacity must be an integer ≥ 1 \(got 0\)/);
  assert.throws(() => buildEurnnModel({ capacity: -1 }), /\(got -1\)/);
  assert.throws(
    () => new EURNN({ outputType: 'phase' as never }),
    /outputType must be one of real, imag, abs, complex \(got "phase"\)/,
  );
  assert.throws(
    () => eunnApply(tf.zeros([2, 6]), tf.zeros([4, 2])),
    /EUNN input must be \[batch, 8\].*got shape \[2, 6\]/,
  );
  const model = buildEurnnModel({ steps: 10, hiddenSize: 8 });
  assert.throws(() => model.predict(tf.zeros([2, 10])), /3 dimension\(s\), but got array with shape \[2,10\]/);
  // weights saved from a model with another hidden size
  const other = buildEurnnModel({ steps: 10, hiddenSize: 6 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-eurnn-'));
  await saveModel(other, dir);
  assert.throws(() => loadWeightsInto(model, dir), /has shape \[1, 6\], the model expects \[1, 8\]/);
  assert.throws(() => model.setWeights(other.getWeights()), /shape/);
  fs.rmSync(dir, { recursive: true, force: true });
  model.dispose();
  other.dispose();
});
