import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import {
  getLstmEngine,
  LSTM_SEQUENCE,
  LSTM_SEQUENCE_GRAD,
  LSTM_SEQUENCE_GRAD_KEPT,
  lstmBackward,
  lstmBackwardJs,
  LstmEngine,
  type LstmForwardArrays,
  lstmForwardJs,
  lstmForwardKeeping,
  lstmSequence,
  lstmStack,
  setLstmEngine,
} from '../lib/kernels/lstm';
import { lstmWasmBackward, lstmWasmForward, lstmWasmSupports } from '../lib/kernels/lstm-wasm';
import { assembleModule, emitExp, emitSigmoid, emitTanh, FunctionBuilder, V128 } from '../lib/kernels/wasm-asm';
import { seededValues as values } from './helpers/arrays';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  const scale = Math.max(1, ...Array.from(expected, Math.abs));
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(
    worst <= tol * scale,
    `${what}: max |diff| ${worst} at ${at} (${actual[at]} vs ${expected[at]}) > ${tol}·${scale}`,
  );
}

/** tfjs-layers' own LSTM with Keras's sigmoid gates and our weights: the reference. */
function referenceLstm(features: number, units: number, w: tf.Tensor2D, u: tf.Tensor2D, b: tf.Tensor1D) {
  const layer = tf.layers.lstm({
    units,
    recurrentActivation: 'sigmoid',
    returnSequences: true,
    inputShape: [null, features],
  });
  layer.apply(tf.input({ shape: [null, features] })); // builds the weights
  layer.setWeights([w, u, b]);
  return layer;
}

async function compareWithTfjsLayers(
  engine: LstmEngine,
  batch: number,
  steps: number,
  features: number,
  units: number,
) {
  await useBackend('cpu', { quiet: true });
  setLstmEngine(engine);
  const x = tf.tensor3d(values(batch * steps * features, 1), [batch, steps, features]);
  const w = tf.tensor2d(values(features * 4 * units, 2, 0.6), [features, 4 * units]);
  const u = tf.tensor2d(values(units * 4 * units, 3, 0.6), [units, 4 * units]);
  const b = tf.tensor1d(values(4 * units, 4, 0.5));
  const r = tf.tensor3d(values(batch * steps * units, 5), [batch, steps, units]); // dL/dh
  const layer = referenceLstm(features, units, w, u, b);

  const ours = lstmSequence(x, w, u, b);
  const ref = layer.apply(x) as tf.Tensor;
  assertClose(await ours.data(), await ref.data(), 2e-6, `${engine} forward`);

  const loss = (h: tf.Tensor) => tf.sum(tf.mul(h, r));
  const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor, uu: tf.Tensor, bb: tf.Tensor) =>
    loss(lstmSequence(xx as tf.Tensor3D, ww as tf.Tensor2D, uu as tf.Tensor2D, bb as tf.Tensor1D)),
  )([x, w, u, b]);
  const xv = tf.variable(x);
  const vars = layer.trainableWeights.map((v) => (v as unknown as { val: tf.Variable }).val);
  const refGrads = tf.variableGrads(() => loss(layer.apply(xv) as tf.Tensor) as tf.Scalar, [xv, ...vars]).grads;
  const names = ['x', 'kernel', 'recurrent_kernel', 'bias'];
  const refList = [refGrads[xv.name], ...vars.map((v) => refGrads[v.name])];
  for (let i = 0; i < 4; i++) assertClose(await g[i].data(), await refList[i].data(), 2e-5, `${engine} d${names[i]}`);
  tf.dispose([x, w, u, b, r, ours, ref, ...g, xv, ...refList]);
  layer.dispose();
}

test('fused LSTM (wasm-simd) equals tfjs-layers LSTM on cpu: outputs and all four gradients', async () => {
  await compareWithTfjsLayers('wasm-simd', 3, 6, 2, 8);
});

test('fused LSTM (plain JS) equals tfjs-layers LSTM on cpu, and serves units the wasm code does not (3)', async () => {
  await compareWithTfjsLayers('js', 3, 6, 2, 8);
  await compareWithTfjsLayers('js', 2, 5, 4, 3);
  await compareWithTfjsLayers('wasm-simd', 2, 5, 4, 3); // falls back to JS for units 3
  assert.equal(lstmWasmSupports(3), false);
  setLstmEngine('wasm-simd');
});

test('wasm-simd and JS layers agree for units 4, 16 and 32, features 1, 3 and 14 (one step, many steps)', () => {
  for (const [batch, steps, features, units] of [
    [5, 1, 1, 4],
    [7, 9, 3, 16],
    [3, 4, 14, 32],
    [2, 6, 14, 8],
  ]) {
    const a = {
      x: values(batch * steps * features, 11),
      kernel: values(features * 4 * units, 12, 0.5),
      recurrentKernel: values(4 * units * units, 13, 0.4),
      bias: values(4 * units, 14, 0.3),
      batch,
      steps,
      features,
      units,
    };
    const what = `${units} units, ${features} features`;
    assertClose(lstmWasmForward(a), lstmForwardJs(a), 1e-6, `h, ${what}`);
    const bw = { ...a, dh: values(batch * steps * units, 15) };
    const gjs = lstmBackwardJs(bw);
    const gwa = lstmWasmBackward(bw);
    assertClose(gwa.dx, gjs.dx, 1e-6, `dx, ${what}`);
    assertClose(gwa.dKernel, gjs.dKernel, 1e-6, `dW, ${what}`);
    assertClose(gwa.dRecurrentKernel, gjs.dRecurrentKernel, 1e-6, `dU, ${what}`);
    assertClose(gwa.dBias, gjs.dBias, 1e-6, `db, ${what}`);
  }
});

test('the fused kernel runs on wasm too, equal to cpu (forward and gradients)', async () => {
  const run = async (backend: string) => {
    await useBackend(backend, { quiet: true });
    const x = tf.tensor3d(values(4 * 5 * 3, 21), [4, 5, 3]);
    const w = tf.tensor2d(values(3 * 32, 22, 0.5), [3, 32]);
    const u = tf.tensor2d(values(8 * 32, 23, 0.5), [8, 32]);
    const b = tf.tensor1d(values(32, 24, 0.5));
    const out = tf.tidy(() => {
      const f = (xx: tf.Tensor, ww: tf.Tensor, uu: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.square(lstmSequence(xx as tf.Tensor3D, ww as tf.Tensor2D, uu as tf.Tensor2D, bb as tf.Tensor1D)));
      return [lstmSequence(x, w, u, b), ...tf.grads(f)([x, w, u, b])];
    });
    const data = await Promise.all(out.map((t) => t.data()));
    tf.dispose([x, w, u, b, ...out]);
    return data;
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  ['h', 'dx', 'dW', 'dU', 'db'].forEach((name, i) => assertClose(wasm[i], cpu[i], 1e-6, name));
  await useBackend('cpu', { quiet: true });
});

test('the gradient from the kept gates and cell states is bit for bit the one recomputing the forward (cpu, wasm; both engines)', async () => {
  for (const backend of ['cpu', 'wasm']) {
    await useBackend(backend, { quiet: true });
    for (const engine of ['wasm-simd', 'js'] as const) {
      setLstmEngine(engine);
      const [batch, steps, features, units] = [3, 7, 2, 8];
      const x = tf.tensor3d(values(batch * steps * features, 31), [batch, steps, features]);
      const kernel = tf.tensor2d(values(features * 4 * units, 32, 0.6), [features, 4 * units]);
      const recurrentKernel = tf.tensor2d(values(units * 4 * units, 33, 0.6), [units, 4 * units]);
      const bias = tf.tensor1d(values(4 * units, 34, 0.5));
      const dh = tf.tensor3d(values(batch * steps * units, 35), [batch, steps, units]);
      const run = (name: string, inputs: Record<string, tf.Tensor>, attrs = {}) =>
        tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs) as tf.Tensor | tf.Tensor[];
      const plain = run(LSTM_SEQUENCE, { x, kernel, recurrentKernel, bias }) as tf.Tensor;
      const [h, gates, cell] = run(LSTM_SEQUENCE, { x, kernel, recurrentKernel, bias }, { keep: true }) as tf.Tensor[];
      assert.deepEqual(
        [gates.shape, cell.shape],
        [
          [batch, steps, 4 * units],
          [batch, steps, units],
        ],
      );
      const what = `${backend}, ${engine}`;
      assert.deepEqual(await h.data(), await plain.data(), `h, ${what}`);
      const recomputed = run(LSTM_SEQUENCE_GRAD, { dh, x, kernel, recurrentKernel, bias }) as tf.Tensor[];
      const fromKept = run(LSTM_SEQUENCE_GRAD_KEPT, { dh, x, kernel, recurrentKernel, h, gates, cell }) as tf.Tensor[];
      for (let i = 0; i < 4; i++) {
        assert.deepEqual(fromKept[i].shape, recomputed[i].shape);
        assert.deepEqual(
          await fromKept[i].data(),
          await recomputed[i].data(),
          `${['dx', 'dW', 'dU', 'db'][i]}, ${what}`,
        );
      }
      tf.dispose([x, kernel, recurrentKernel, bias, dh, plain, h, gates, cell, ...recomputed, ...fromKept]);
    }
  }
  setLstmEngine('wasm-simd');
  await useBackend('cpu', { quiet: true });
});

test('the vector exp, sigmoid and tanh are within float32 rounding of Math', () => {
  const xs = new Float32Array([
    -100, -87, -20, -5.5, -1, -0.7, -0.625, -0.3, -1e-4, 0, 1e-4, 0.3, 0.6249, 0.625, 1, 3, 9.5, 20, 88, 100,
  ]);
  const n = xs.length;
  const f = new FunctionBuilder('run', 1);
  const [x, a, b, c, d] = [0, 1, 2, 3, 4].map(() => f.local(V128));
  const mem = new WebAssembly.Memory({ initial: 1 });
  const outs = ['exp', 'sigmoid', 'tanh'];
  for (let i = 0; i < n; i += 4) {
    f.get(0)
      .load(4 * i)
      .set(x);
    f.get(0);
    emitExp(f, x, a, b);
    f.store(4 * (n + i));
    f.get(0);
    emitSigmoid(f, x, [a, b, c]);
    f.store(4 * (2 * n + i));
    f.get(0);
    emitTanh(f, x, [a, b, c, d]);
    f.store(4 * (3 * n + i));
  }
  const inst = new WebAssembly.Instance(new WebAssembly.Module(assembleModule([f])), { env: { memory: mem } });
  const view = new Float32Array(mem.buffer);
  view.set(xs);
  (inst.exports.run as (p: number) => void)(0);
  const refs = [
    (v: number) => Math.exp(Math.min(Math.max(v, -87.3365), 88.3763)),
    (v: number) => 1 / (1 + Math.exp(-v)),
    Math.tanh,
  ];
  outs.forEach((name, k) => {
    for (let i = 0; i < n; i++) {
      if (name === 'exp' && Math.abs(xs[i]) > 85) continue; // the clamp's edge: only saturated sigmoid/tanh use it
      const got = view[(k + 1) * n + i];
      const want = refs[k](xs[i]);
      assert.ok(
        Math.abs(got - want) <= 3e-7 * Math.max(Math.abs(want), 1e-30) + (name === 'exp' ? 0 : 1e-7),
        `${name}(${xs[i]}) = ${got}, expected ${want}`,
      );
    }
  });
});

test('setLstmEngine rejects unknown names; the default is wasm-simd here', () => {
  assert.throws(() => setLstmEngine('gpu' as LstmEngine), /LSTM engine must be 'wasm-simd' or 'js' \(got 'gpu'\)/);
  setLstmEngine('wasm-simd');
  assert.equal(getLstmEngine(), 'wasm-simd');
});

test('lstmSequence checks shapes and names them', () => {
  const x = tf.zeros([2, 3, 5]) as tf.Tensor3D;
  const w = tf.zeros([5, 32]) as tf.Tensor2D;
  assert.throws(
    () => lstmSequence(x, w, tf.zeros([8, 16]) as tf.Tensor2D, tf.zeros([32]) as tf.Tensor1D),
    /recurrentKernel must be \[units, 4·units\] with 4·units = 32 \(got \[8,16\]\)/,
  );
  assert.throws(
    () => lstmSequence(x, w, tf.zeros([8, 32]) as tf.Tensor2D, tf.zeros([31]) as tf.Tensor1D),
    /bias must be \[32\] \(got \[31\]\)/,
  );
  assert.throws(
    () =>
      lstmSequence(
        tf.zeros([2, 3, 5]) as tf.Tensor3D,
        tf.zeros([4, 32]) as tf.Tensor2D,
        tf.zeros([8, 32]) as tf.Tensor2D,
        tf.zeros([32]) as tf.Tensor1D,
      ),
    /kernel must be \[5, 4·units\] for 5 input features \(got \[4,32\]\)/,
  );
});

test('a stack of layers in one memory (lstmStack) gives the bytes of the layers run one by one, on both engines, and refuses a late backward', () => {
  const [batch, steps, features] = [5, 7, 3];
  const units = [8, 4, 8];
  const layers = units.map((n, i) => ({
    kernel: values((i ? units[i - 1] : features) * 4 * n, 10 + i, 0.5),
    recurrentKernel: values(n * 4 * n, 20 + i, 0.5),
    bias: values(4 * n, 30 + i, 0.5),
    units: n,
  }));
  const x = values(batch * steps * features, 1);
  const dh = values(batch * steps * units[2], 2);
  try {
    for (const engine of ['wasm-simd', 'js'] as const) {
      setLstmEngine(engine);
      // one by one: each layer's forward keeping its states, then the backwards top down
      const passes: { a: LstmForwardArrays; r: ReturnType<typeof lstmForwardKeeping> }[] = [];
      layers.forEach((l, i) => {
        const a = { ...l, x: i ? passes[i - 1].r.h : x, batch, steps, features: i ? units[i - 1] : features };
        passes.push({ a, r: lstmForwardKeeping(a) });
      });
      const alone: Float32Array[] = [];
      let d = dh;
      for (let i = passes.length - 1; i >= 0; i--) {
        const g = lstmBackward({ ...passes[i].a, ...passes[i].r, dh: d });
        alone.unshift(g.dKernel, g.dRecurrentKernel, g.dBias);
        d = g.dx;
      }
      const stack = lstmStack(layers, x, [batch, steps, features]);
      assert.deepEqual(Array.from(stack.h), Array.from(passes[2].r.h), `${engine}: h`);
      const together = stack.backward(dh).flatMap((g) => [g.dKernel, g.dRecurrentKernel, g.dBias]);
      together.forEach((g, i) => assert.deepEqual(Array.from(g), Array.from(alone[i]), `${engine}: gradient ${i}`));
    }
    setLstmEngine('wasm-simd');
    const first = lstmStack(layers, x, [batch, steps, features]);
    lstmStack(layers, x, [batch, steps, features]);
    assert.throws(() => first.backward(dh), /another stack ran forward since/);
  } finally {
    setLstmEngine('wasm-simd');
  }
});
