import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { conv2dBackpropFilterJs, Conv2DBackpropFilterAttrs } from '../lib/kernels/conv2d-backprop-filter';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface Case {
  x: number[];
  filterShape: [number, number, number, number];
  strides: number | [number, number];
  pad: Conv2DBackpropFilterAttrs['pad'];
  dataFormat?: 'NHWC' | 'NCHW';
}

const cases: Case[] = [
  { x: [2, 5, 6, 3], filterShape: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [2, 7, 8, 2], filterShape: [3, 2, 2, 5], strides: [2, 3], pad: 'same' },
  {
    x: [3, 1, 20, 4],
    filterShape: [1, 5, 4, 6],
    strides: 1,
    pad: [
      [0, 0],
      [0, 0],
      [4, 0],
      [0, 0],
    ],
  }, // a causal conv1d
  { x: [1, 6, 6, 2], filterShape: [2, 2, 2, 3], strides: 2, pad: 1 },
  { x: [2, 3, 5, 6], filterShape: [2, 3, 3, 2], strides: 1, pad: 'same', dataFormat: 'NCHW' }, // x is [b, c, h, w]
];

/** dy of the right shape for a case, from the forward conv's output shape on cpu. */
function dyShape(c: Case): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    c.x as [number, number, number, number],
    c.filterShape,
    c.strides,
    1,
    c.pad,
    undefined,
    false,
    tf.backend_util.convertConv2DDataFormat(c.dataFormat ?? 'NHWC'),
  );
  return info.outShape;
}

test('wasm Conv2DBackpropFilter (our fill) equals the cpu backend kernel', async () => {
  for (const [i, c] of cases.entries()) {
    const xv = tf.tidy(() => tf.randomNormal(c.x, 0, 1, 'float32', i + 1).dataSync());
    const dyv = tf.tidy(() => tf.randomNormal(dyShape(c), 0, 1, 'float32', i + 11).dataSync());
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: c.dataFormat ?? 'NHWC', filterShape: c.filterShape };
    const run = async (backend: string) => {
      await useBackend(backend, { quiet: true });
      return tf.tidy(() => {
        const out = tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: tf.tensor(xv, c.x), dy: tf.tensor(dyv, dyShape(c)) },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor;
        assert.deepEqual(out.shape, c.filterShape);
        return out.dataSync();
      });
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    assert.ok(maxAbsDiff(wasm, cpu) < 1e-4, `case ${i}: max difference ${maxAbsDiff(wasm, cpu)}`);
    const direct = conv2dBackpropFilterJs(
      { shape: c.x, dtype: 'float32', values: xv as Float32Array },
      { shape: dyShape(c), dtype: 'float32', values: dyv as Float32Array },
      attrs as Conv2DBackpropFilterAttrs,
    );
    assert.ok(maxAbsDiff(direct.values, cpu) < 1e-4, `case ${i} (direct call)`);
  }
});

test("tfjs-layers' Conv1D trains on wasm as on cpu (its filter gradient needs the fill)", async () => {
  const run = async (backend: string) => {
    await useBackend(backend, { quiet: true });
    const model = tf.sequential({
      layers: [
        tf.layers.conv1d({
          inputShape: [12, 2],
          filters: 3,
          kernelSize: 3,
          strides: 2,
          kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    const x = tf.randomNormal([4, 12, 2], 0, 1, 'float32', 3);
    const vars = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x) as tf.Tensor)) as tf.Scalar, vars);
    return vars.map((v) => grads[v.name].dataSync());
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  wasm.forEach((g, i) => assert.ok(maxAbsDiff(g, cpu[i]) < 1e-4, `gradient ${i}: ${maxAbsDiff(g, cpu[i])}`));
});
