/**
 * The WGSL EURNN recurrence (lib/kernels/eurnn-webgpu.ts) against the cpu backend's JS kernel:
 * the last state and the gradients of x, kernel, bias, angles and the modReLU bias, at small shapes
 * (odd and even capacity, an odd number of mixing units, several features, steps that do not fill
 * the last checkpoint segment, two units per thread) and at the walkthrough's 256 units; the
 * dispatches per call; every step's state (EURNNSteps, the per-step twin of notebook 06).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import {
  EURNN_SEQUENCE,
  EURNN_SEQUENCE_GRAD,
  eurnnSequence,
  eurnnStatesJs,
  getEurnnEngine,
  setEurnnEngine,
} from '../lib/kernels/eurnn';
import { eurnnStatesWebgpu } from '../lib/kernels/eurnn-webgpu';
import { buildEurnnModel } from '../lib/models/eurnn';
import { perStepModel } from '../lib/models/per-step';
import { relativeError } from './helpers/arrays';

interface Case {
  batch: number;
  steps: number;
  features: number;
  hiddenSize: number;
  capacity: number;
}

/** Random inputs as plain arrays (made on the cpu backend), so that each backend builds its own tensors. */
async function arraysOf(c: Case, seed: number) {
  await useBackend('cpu', { quiet: true });
  const r = (shape: number[], lo: number, hi: number, i: number) =>
    tf.randomUniform(shape, lo, hi, 'float32', seed + i).data() as Promise<Float32Array>;
  const n = c.hiddenSize;
  return {
    x: await r([c.batch, c.steps, c.features], 0, 1, 0),
    kernel: await r([c.features, n], -0.5, 0.5, 1),
    bias: await r([n], -0.1, 0.1, 2),
    // beyond [0, 2π], as training moves them
    angles: await r([n, c.capacity], -2, 9, 3),
    // some units switched off by modReLU at times
    modBias: await r([n], -0.3, 0.1, 4),
    dy: await r([c.batch, 2 * n], -1, 1, 5),
  };
}

type Arrays = Awaited<ReturnType<typeof arraysOf>>;

/** What this test uses of a GPUDevice (no package types WebGPU here). */
interface GPUDeviceLike {
  createCommandEncoder(): { beginComputePass(): { end(): void }; finish(): unknown };
}

/** The layer's inputs x, kernel, bias, angles, modBias as tensors on the current backend. */
function layerInputs(c: Case, a: Arrays): [tf.Tensor3D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D] {
  const n = c.hiddenSize;
  return [
    tf.tensor3d(a.x, [c.batch, c.steps, c.features]),
    tf.tensor2d(a.kernel, [c.features, n]),
    tf.tensor1d(a.bias),
    tf.tensor2d(a.angles, [n, c.capacity]),
    tf.tensor1d(a.modBias),
  ];
}

/** h_T and the gradients of Σ h_T⊙dy w.r.t. x, kernel, bias, angles, modBias on `backend`. */
async function run(backend: string, c: Case, a: Arrays): Promise<Float32Array[]> {
  await useBackend(backend, { quiet: true });
  const n = c.hiddenSize;
  const inputs = layerInputs(c, a);
  const dy = tf.tensor2d(a.dy, [c.batch, 2 * n]);
  const f = (...t: tf.Tensor[]) => eurnnSequence(t[0], t[1], t[2], t[3], t[4]);
  const h = f(...inputs);
  const grads = tf.grads((...t: tf.Tensor[]) => tf.sum(tf.mul(f(...t), dy)))(inputs);
  const out = await Promise.all([h, ...grads].map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([...inputs, dy, h, ...grads]);
  return out;
}

const NAMES = ['h', 'dx', 'dkernel', 'dbias', 'dangles', 'dmodBias'];

/**
 * Tolerance: h 1e-4; the gradients 2e-4, as float32 arithmetic allows here (the wasm engine,
 * float32 too, differs from the float64 reference by 1.8e-4 at 256 units and 20 steps).
 */
const TOLERANCE = [1e-4, 2e-4, 2e-4, 2e-4, 2e-4, 2e-4];

async function compare(t: { diagnostic(message: string): void }, c: Case, seed: number): Promise<void> {
  const a = await arraysOf(c, seed);
  // the reference engine, in float64 arithmetic
  const engine = getEurnnEngine();
  setEurnnEngine('js');
  const want = await run('cpu', c, a).finally(() => setEurnnEngine(engine));
  const got = await run('webgpu', c, a);
  const errors = NAMES.map((name, i) => [name, relativeError(got[i], want[i])] as const);
  t.diagnostic(`${JSON.stringify(c)}: ${errors.map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')}`);
  errors.forEach(([name, e], i) => assert.ok(e < TOLERANCE[i], `${JSON.stringify(c)} ${name}: relative error ${e}`));
  // the gradients are not all zero (modReLU did not switch every unit off; the first step's
  // unitary layer acts on the zero state, so the angles need two steps)
  for (let i = 1; i < NAMES.length; i++) {
    if (NAMES[i] !== 'dangles' || c.steps > 1)
      assert.ok(
        want[i].some((v) => v !== 0),
        `${NAMES[i]} is all zero`,
      );
  }
}

test('EURNN on webgpu: capacity 2 and 1, one feature, steps not filling the last segment', async (t) => {
  await compare(t, { batch: 3, steps: 11, features: 1, hiddenSize: 8, capacity: 2 }, 10);
  await compare(t, { batch: 2, steps: 7, features: 1, hiddenSize: 8, capacity: 1 }, 20);
});

test('EURNN on webgpu: odd mixing units (N = 6), capacity 3, several features', async (t) => {
  await compare(t, { batch: 2, steps: 9, features: 3, hiddenSize: 6, capacity: 3 }, 30);
});

test('EURNN on webgpu: one step, and two units per thread (N = 512)', async (t) => {
  await compare(t, { batch: 2, steps: 1, features: 2, hiddenSize: 10, capacity: 2 }, 40);
  await compare(t, { batch: 2, steps: 5, features: 1, hiddenSize: 512, capacity: 3 }, 50);
});

test("EURNN on webgpu: the walkthrough's 256 units, capacity 2, a few steps", async (t) => {
  await compare(t, { batch: 2, steps: 20, features: 1, hiddenSize: 256, capacity: 2 }, 60);
});

test('EURNN on webgpu: 2 dispatches forward and 4 backward for 30 steps, no reads', async () => {
  await useBackend('webgpu', { quiet: true });
  const backend = tf.backend() as unknown as { device: GPUDeviceLike; read(dataId: object): Promise<unknown> };
  // count the dispatches recorded in any compute pass (tfjs's and the WGSL runner's)
  const encoder = backend.device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  const proto = Object.getPrototypeOf(pass) as { dispatchWorkgroups(...a: number[]): void };
  pass.end();
  encoder.finish();
  const dispatch = proto.dispatchWorkgroups;
  let dispatches = 0;
  proto.dispatchWorkgroups = function (this: unknown, ...a: number[]) {
    dispatches++;
    return dispatch.apply(this, a);
  };
  const read = backend.read;
  let reads = 0;
  backend.read = (dataId: object) => {
    reads++;
    return read.call(backend, dataId);
  };
  const [batch, steps, n] = [2, 30, 16];
  const inputs = {
    x: tf.randomUniform([batch, steps, 1], 0, 1, 'float32', 1),
    kernel: tf.randomUniform([1, n], -0.5, 0.5, 'float32', 2),
    bias: tf.fill([n], 0.01),
    angles: tf.randomUniform([n, 2], 0, 6, 'float32', 3),
    modBias: tf.fill([n], 0.01),
  };
  try {
    dispatches = 0;
    reads = 0;
    const h = tf.engine().runKernel(EURNN_SEQUENCE, inputs, {}) as tf.Tensor;
    assert.equal(dispatches, 2, 'forward');
    dispatches = 0;
    const grads = tf.engine().runKernel(EURNN_SEQUENCE_GRAD, { ...inputs, dy: h }, {}) as tf.Tensor[];
    assert.equal(dispatches, 4, 'backward');
    assert.equal(reads, 0);
    assert.ok((await grads[4].data()).every(Number.isFinite));
    tf.dispose([h, ...grads]);
  } finally {
    proto.dispatchWorkgroups = dispatch;
    backend.read = read;
    tf.dispose(Object.values(inputs));
  }
});

test("every step's state on webgpu (EURNNSteps) equals the JS reference engine's", async () => {
  const c = { batch: 3, steps: 9, features: 2, hiddenSize: 8, capacity: 3 };
  const a = await arraysOf(c, 70);
  const want = eurnnStatesJs({ ...c, x: a.x }, a);
  await useBackend('webgpu', { quiet: true });
  const n = c.hiddenSize;
  const inputs = layerInputs(c, a);
  const { re, im } = eurnnStatesWebgpu(...inputs);
  assert.deepEqual(re.shape, [c.batch, c.steps, n]);
  assert.ok(relativeError((await re.data()) as Float32Array, want.re) < 1e-4);
  assert.ok(relativeError((await im.data()) as Float32Array, want.im) < 1e-4);
  tf.dispose([...inputs, re, im]);
});

test("the per-step twin of an EURNN model runs on webgpu batch after batch, its last step the model's output", async () => {
  await useBackend('webgpu', { quiet: true });
  const model = buildEurnnModel({ steps: 12, hiddenSize: 8 });
  const twin = perStepModel(model);
  try {
    for (let b = 0; b < 2; b++) {
      const x = tf.randomUniform([2, 12, 1], 0, 1, 'float32', b);
      // the model first: its weights (shared with the twin) are then on the GPU
      const own = model.predict(x) as tf.Tensor;
      const all = twin.predict(x) as tf.Tensor;
      assert.deepEqual(all.shape, [2, 12, 10]);
      const last = await all.slice([0, 11, 0], [2, 1, 10]).reshape([2, 10]).data();
      assert.ok(relativeError(last as Float32Array, (await own.data()) as Float32Array) < 1e-5);
      tf.dispose([x, own, all]);
    }
  } finally {
    twin.dispose();
    model.dispose();
  }
});
