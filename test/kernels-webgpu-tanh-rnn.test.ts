/**
 * The WGSL tanh RNN and linear scan (lib/kernels/tanh-rnn-webgpu.ts) against the cpu backend's JS
 * kernels: outputs and the gradients of p, scale, w, b and U, with every step's output or the
 * last's, at small shapes, at two units per thread, and at the LMU walkthroughs' 212 units.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import { linearScan, tanhRnnSequence } from '../lib/kernels/tanh-rnn';
import { relativeError } from './helpers/arrays';

interface Case {
  batch: number;
  steps: number;
  units: number;
}

/** Random inputs as plain arrays (made on the cpu backend), so that each backend builds its own tensors. */
async function arraysOf(c: Case, seed: number) {
  await useBackend('cpu', { quiet: true });
  const r = (shape: number[], lo: number, hi: number, i: number) =>
    tf.randomUniform(shape, lo, hi, 'float32', seed + i).data() as Promise<Float32Array>;
  const bound = 1.5 / Math.sqrt(c.units); // keeps h away from saturation over the steps
  return {
    p: await r([c.batch, c.steps, c.units], -1, 1, 0),
    x: await r([c.batch, c.steps, 1], 0, 1, 1),
    w: await r([1, c.units], -0.5, 0.5, 2),
    b: await r([c.units], -0.2, 0.2, 3),
    u: await r([c.units, c.units], -bound, bound, 4),
    dy: await r([c.batch, c.steps, c.units], -1, 1, 5),
  };
}

type Arrays = Awaited<ReturnType<typeof arraysOf>>;

/** h (or its last step) and the gradients of Σ h⊙dy w.r.t. p, scale, w, b, U on `backend`. */
async function run(backend: string, c: Case, a: Arrays, returnSequences: boolean): Promise<Float32Array[]> {
  await useBackend(backend, { quiet: true });
  const { batch, steps, units } = c;
  const p = tf.tensor3d(a.p, [batch, steps, units]);
  const scale = tf.scalar(0.7);
  const x = tf.tensor3d(a.x, [batch, steps, 1]);
  const w = tf.tensor2d(a.w, [1, units]);
  const b = tf.tensor1d(a.b);
  const u = tf.tensor2d(a.u, [units, units]);
  const dy = returnSequences
    ? tf.tensor3d(a.dy, [batch, steps, units])
    : tf.tensor2d(a.dy.slice(0, batch * units), [batch, units]);
  const f = (pp: tf.Tensor, ss: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor, uu: tf.Tensor) =>
    tanhRnnSequence(pp as tf.Tensor3D, uu as tf.Tensor2D, {
      scale: ss as tf.Scalar,
      x,
      inputKernel: ww as tf.Tensor2D,
      bias: bb as tf.Tensor1D,
      returnSequences,
    }) as tf.Tensor;
  const h = f(p, scale, w, b, u);
  const grads = tf.grads((pp, ss, ww, bb, uu) => tf.sum(tf.mul(f(pp, ss, ww, bb, uu), dy)))([p, scale, w, b, u]);
  const out = await Promise.all([h, ...grads].map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([p, scale, x, w, b, u, dy, h, ...grads]);
  return out;
}

const NAMES = ['h', 'dp', 'dscale', 'dw', 'db', 'dU'];

async function compare(c: Case, seed: number): Promise<void> {
  const a = await arraysOf(c, seed);
  for (const returnSequences of [true, false]) {
    const want = await run('cpu', c, a, returnSequences);
    const got = await run('webgpu', c, a, returnSequences);
    NAMES.forEach((name, i) => {
      const e = relativeError(got[i], want[i]);
      assert.ok(e < 1e-4, `${JSON.stringify(c)} returnSequences ${returnSequences}: ${name} off by ${e}`);
    });
  }
}

/** The compute dispatches `f` records (tfjs's and ours), counted at Dawn's compute pass encoder. */
async function dispatches(f: () => Promise<unknown>): Promise<number> {
  const encoder = (globalThis as unknown as { GPUComputePassEncoder: { prototype: Record<string, unknown> } })
    .GPUComputePassEncoder.prototype;
  const original = encoder.dispatchWorkgroups as (...args: unknown[]) => void;
  let count = 0;
  encoder.dispatchWorkgroups = function (this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  try {
    await f();
  } finally {
    encoder.dispatchWorkgroups = original;
  }
  return count;
}

test('TANH_RNN on webgpu equals the cpu backend: h and the gradients of p, scale, w, b, U', async () => {
  await compare({ batch: 3, steps: 5, units: 7 }, 10);
  await compare({ batch: 2, steps: 1, units: 5 }, 20); // one step: dh of the last step is all of dh
  await compare({ batch: 2, steps: 3, units: 300 }, 30); // two units per thread
});

test('TANH_RNN on webgpu equals the cpu backend at the LMU walkthroughs’ 212 units, over all 784 steps', async () => {
  await compare({ batch: 2, steps: 4, units: 212 }, 40);
  // llvmpipe ends a thread's loops after 65,535 iterations: the later steps would be left unwritten
  await compare({ batch: 1, steps: 784, units: 212 }, 50);
});

test('TANH_RNN on webgpu: one dispatch forward, six backward, no intermediate left behind', async () => {
  await useBackend('webgpu', { quiet: true });
  const buffers = () => tf.engine().backend.numDataIds();
  const [batch, steps, units] = [2, 3, 9];
  const p = tf.randomUniform([batch, steps, units], -1, 1, 'float32', 1) as tf.Tensor3D;
  const u = tf.randomUniform([units, units], -0.3, 0.3, 'float32', 2) as tf.Tensor2D;
  const scale = tf.scalar(0.5);
  const x = tf.ones([batch, steps, 1]) as tf.Tensor3D;
  const w = tf.ones([1, units]) as tf.Tensor2D;
  const b = tf.zeros([units]) as tf.Tensor1D;
  const dh = tf.randomUniform([batch, steps, units], -1, 1, 'float32', 3);
  await Promise.all([p, u, scale, x, w, b, dh].map((t) => t.data())); // uploaded before counting
  const before = buffers();
  let outs: tf.Tensor[] = [];
  const forward = await dispatches(async () => {
    outs = tf
      .engine()
      .runKernel('SeqmnistTanhRnn', { p, scale, x, inputKernel: w, bias: b, recurrentKernel: u }, {}) as tf.Tensor[];
  });
  let grads: tf.Tensor[] = [];
  const backward = await dispatches(async () => {
    grads = tf
      .engine()
      .runKernel(
        'SeqmnistTanhRnnGrad',
        { dh, h: outs[0], p, scale, x, inputKernel: w, bias: b, recurrentKernel: u },
        {},
      ) as tf.Tensor[];
  });
  assert.deepEqual(
    grads.map((g) => g.shape),
    [[batch, steps, units], [], [1, units], [units], [units, units]],
  );
  await Promise.all(grads.map((g) => g.data()));
  assert.deepEqual({ forward, backward }, { forward: 1, backward: 6 });
  assert.equal(buffers(), before + outs.length + grads.length);
  tf.dispose([p, u, scale, x, w, b, dh, ...outs, ...grads]);
});

test('LINEAR_SCAN on webgpu equals the cpu backend in one dispatch, also at the LMU’s [·, 49, 256]', async () => {
  for (const [batch, steps, n, seed] of [
    [3, 6, 5, 1],
    [2, 49, 256, 2],
  ]) {
    await useBackend('cpu', { quiet: true });
    const g = (await tf.randomUniform([batch, steps, n], -1, 1, 'float32', seed).data()) as Float32Array;
    const bound = 0.9 / Math.sqrt(n);
    const m = (await tf.randomUniform([n, n], -bound, bound, 'float32', seed + 1).data()) as Float32Array;
    const scan = async () => {
      const ts = [tf.tensor3d(g, [batch, steps, n]), tf.tensor2d(m, [n, n])] as const;
      const s = linearScan(...ts);
      const values = (await s.data()) as Float32Array;
      tf.dispose([...ts, s]);
      return values;
    };
    const want = await scan();
    await useBackend('webgpu', { quiet: true });
    let got: Float32Array | undefined;
    const count = await dispatches(async () => (got = await scan()));
    const e = relativeError(got!, want);
    assert.ok(e < 1e-4, `[${batch}, ${steps}, ${n}]: off by ${e}`);
    assert.equal(count, 1, 'one dispatch');
  }
});
