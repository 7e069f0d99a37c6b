import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerModelClasses } from '../lib/models/classes';
import { useBackend } from '../lib/backend';
import {
  buildKerasLmuModel,
  buildNengoLmuModel,
  HiddenCell,
  LMU,
  LmuArgs,
  lmuImpulseResponse,
  lmuStateSpace,
  matrixExponential,
  NengoLMU,
} from '../lib/models/lmu';
import { loadModel, saveModel } from '../lib/train/saving';

// the round trips read models from JSON: the library's classes are registered explicitly
registerModelClasses();

interface Fixtures {
  zoh: { order: number; theta: number; A: number[]; B: number[] }[];
  zoh256: { rows: Record<string, number[]>; diagonal: number[]; column0: number[]; B: number[] };
  euler: { order: number; theta: number; A: number[]; B: number[] }[];
  impulse: { order: number; theta: number; steps: number; H: number[][] }[];
  forward: {
    order: number;
    theta: number;
    units: number;
    x: number[];
    shape: [number, number, number];
    encoder: number[];
    kernel: number[];
    recurrentKernel: number[];
    bias: number[];
    h: number[];
  }[];
}
const fixtures = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'lmu-scipy.json'), 'utf8'),
) as Fixtures;

/** |a − b| ≤ tol·|b| for every element. */
function assertRelative(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(
      err <= tol * Math.abs(expected[i]),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]} (relative ${err / Math.abs(expected[i])})`,
    );
  }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
};

test.before(async () => {
  await useBackend('cpu', { quiet: true });
});

// ---- the linear system --------------------------------------------------------------------------

test('lmuStateSpace zoh equals scipy.signal.cont2discrete to 1e-10 relative', () => {
  for (const f of fixtures.zoh) {
    const s = lmuStateSpace(f.order, f.theta);
    assertRelative(s.A, f.A, 1e-10, `A (order ${f.order}, theta ${f.theta})`);
    assertRelative(s.B, f.B, 1e-10, `B (order ${f.order}, theta ${f.theta})`);
  }
  const s = lmuStateSpace(256, 784);
  const big = fixtures.zoh256;
  for (const [r, row] of Object.entries(big.rows))
    assertRelative(s.A.subarray(Number(r) * 256, (Number(r) + 1) * 256), row, 1e-10, `A[${r}]`);
  assertRelative(
    Array.from({ length: 256 }, (_, i) => s.A[i * 257]),
    big.diagonal,
    1e-10,
    'diag A',
  );
  assertRelative(
    Array.from({ length: 256 }, (_, i) => s.A[i * 256]),
    big.column0,
    1e-10,
    'A[:, 0]',
  );
  assertRelative(s.B, big.B, 1e-10, 'B (256)');
});

test("lmuStateSpace reproduces the issue's reference values", () => {
  const s = lmuStateSpace(4, 10);
  assertRelative(
    s.A.subarray(0, 4),
    [0.8942245250378473, -0.08365869273162876, -0.07957615109675117, -0.03979035399476496],
    1e-10,
    'A row 0',
  );
  assertRelative(s.B, [0.10577547496215262, -0.2509760781948863, 0.3978807554837558, -0.27853247796335484], 1e-10, 'B');
  const big = lmuStateSpace(256, 784);
  assertRelative([big.A[0], big.B[255]], [0.998724880984692, 0.012881679239893844], 1e-10, 'order 256');
});

test("lmuStateSpace 'euler' is I + A and B as written", () => {
  for (const f of fixtures.euler) {
    const s = lmuStateSpace(f.order, f.theta, 'euler');
    assertRelative(s.A, f.A, 1e-14, 'A');
    assertRelative(s.B, f.B, 1e-14, 'B');
  }
});

test('lmuImpulseResponse is Āᵗ B̄', () => {
  for (const f of fixtures.impulse) {
    const H = lmuImpulseResponse(lmuStateSpace(f.order, f.theta), f.steps);
    assertRelative(H, f.H.flat(), 1e-10, `H (order ${f.order})`);
  }
});

test('matrixExponential: zero, diagonal and rotation generators', () => {
  assert.deepEqual(Array.from(matrixExponential(new Float64Array(4), 2)), [1, 0, 0, 1]);
  const d = matrixExponential(Float64Array.from([0.5, 0, 0, -30]), 2); // -30 needs scaling and squaring
  assertRelative([d[0], d[3]], [Math.exp(0.5), Math.exp(-30)], 1e-13, 'diagonal');
  assert.equal(d[1], 0);
  const r = matrixExponential(Float64Array.from([0, -2, 2, 0]), 2);
  assertRelative(r, [Math.cos(2), -Math.sin(2), Math.sin(2), Math.cos(2)], 1e-13, 'rotation');
  assert.throws(() => matrixExponential(new Float64Array(3), 2), /expected an 2×2 matrix \(got 3 values\)/);
});

test('lmuStateSpace rejects bad arguments with the bad value', () => {
  assert.throws(() => lmuStateSpace(0, 10), /order must be a positive integer \(got 0\)/);
  assert.throws(() => lmuStateSpace(2.5, 10), /order must be a positive integer \(got 2.5\)/);
  assert.throws(() => lmuStateSpace(4, 0), /theta must be a positive number \(got 0\)/);
  assert.throws(() => lmuStateSpace(4, NaN), /theta must be a positive number \(got NaN\)/);
  assert.throws(
    () => lmuStateSpace(4, 10, 'bilinear' as never),
    /discretizer must be 'zoh' or 'euler' \(got "bilinear"\)/,
  );
  assert.throws(() => lmuImpulseResponse(lmuStateSpace(4, 10), 0), /steps must be a positive integer \(got 0\)/);
});

// ---- a float64 reference of KerasLMU's cell -----------------------------------------------------

interface RefOptions {
  memoryD: number;
  order: number;
  theta: number;
  units: number | null;
  hiddenToMemory: boolean;
  memoryToMemory: boolean;
  inputToHidden: boolean;
  useBias: boolean;
  discretizer: 'zoh' | 'euler';
  activation?: (v: number) => number;
}

/** KerasLMU's LMUCell in plain float64 loops (weights in the layer's order); outputs [B][T][out]. */
function referenceLmu(x: number[][][], o: RefOptions, weights: Float32Array[]): number[][][] {
  const { A, B } = lmuStateSpace(o.order, o.theta, o.discretizer);
  const q = o.memoryD;
  const N = q * o.order;
  const n = o.units ?? 0;
  const act = o.activation ?? Math.tanh;
  let w = 0;
  const kernel = weights[w++];
  const recurrent = o.memoryToMemory ? weights[w++] : undefined;
  const bias = o.useBias ? weights[w++] : undefined;
  const cellKernel = o.units ? weights[w++] : undefined;
  const cellRecurrent = o.units ? weights[w++] : undefined;
  const cellBias = o.units ? weights[w++] : undefined;
  return x.map((seq) => {
    let m = new Array<number>(N).fill(0);
    let h = new Array<number>(n).fill(0);
    return seq.map((xt) => {
      const encIn = o.hiddenToMemory ? [...xt, ...h] : xt;
      const u = Array.from({ length: q }, (_, j) => {
        let s = bias ? bias[j] : 0;
        encIn.forEach((v, i) => (s += v * kernel[i * q + j]));
        if (recurrent) m.forEach((v, k) => (s += v * recurrent[k * q + j]));
        return s;
      });
      const next = new Array<number>(N).fill(0);
      for (let j = 0; j < q; j++) {
        for (let i = 0; i < o.order; i++) {
          let s = B[i] * u[j];
          for (let k = 0; k < o.order; k++) s += A[i * o.order + k] * m[j * o.order + k];
          next[j * o.order + i] = s;
        }
      }
      m = next;
      const hin = o.inputToHidden ? [...m, ...xt] : m;
      if (!o.units) return hin;
      h = Array.from({ length: n }, (_, j) => {
        let s = cellBias![j];
        hin.forEach((v, k) => (s += v * cellKernel![k * n + j]));
        h.forEach((v, k) => (s += v * cellRecurrent![k * n + j]));
        return act(s);
      });
      return h;
    });
  });
}

function randomWeights(layer: tf.layers.Layer, seed: number): void {
  layer.setWeights(layer.weights.map((w, i) => tf.randomUniform(w.shape as number[], -0.4, 0.4, 'float32', seed + i)));
}

function makeLmu(
  o: RefOptions & { returnSequences?: boolean; implementation?: LmuArgs['implementation'] },
  cellActivation: 'tanh' | 'relu' = 'tanh',
): LMU {
  return new LMU({
    memoryD: o.memoryD,
    order: o.order,
    theta: o.theta,
    hiddenCell: o.units
      ? (tf.layers.simpleRNNCell({ units: o.units, activation: cellActivation }) as unknown as HiddenCell)
      : null,
    hiddenToMemory: o.hiddenToMemory,
    memoryToMemory: o.memoryToMemory,
    inputToHidden: o.inputToHidden,
    useBias: o.useBias,
    discretizer: o.discretizer,
    returnSequences: o.returnSequences ?? true,
    implementation: o.implementation,
  });
}

const base: RefOptions = {
  memoryD: 1,
  order: 6,
  theta: 9,
  units: 5,
  hiddenToMemory: false,
  memoryToMemory: false,
  inputToHidden: true,
  useBias: false,
  discretizer: 'zoh',
};

/** Checks one option set: the layer (each implementation that applies) against the float64 reference. */
function checkAgainstReference(
  o: RefOptions,
  features: number,
  steps: number,
  implementations: ('recurrent' | 'parallel')[],
  cellActivation: 'tanh' | 'relu' = 'tanh',
): void {
  const x = tf.randomUniform([3, steps, features], -1, 1, 'float32', 11);
  const xs = x.arraySync() as number[][][];
  let weights: tf.Tensor[] | undefined;
  for (const implementation of implementations) {
    const layer = makeLmu({ ...o, implementation }, cellActivation);
    layer.apply(x);
    if (!weights) {
      randomWeights(layer, 3);
      weights = layer.getWeights().map((w) => w.clone());
    } else layer.setWeights(weights);
    const y = layer.apply(x) as tf.Tensor;
    const ref = referenceLmu(
      xs,
      { ...o, activation: cellActivation === 'relu' ? (v) => Math.max(v, 0) : undefined },
      weights.map((w) => w.dataSync() as Float32Array),
    );
    const expected = ref.flat(2);
    assert.deepEqual(y.shape, [3, steps, ref[0][0].length]);
    const err = maxDiff(y.dataSync(), expected);
    assert.ok(err < 2e-5 * Math.max(1, maxAbs(expected)), `${JSON.stringify(o)} ${implementation}: max error ${err}`);
    layer.dispose();
  }
  x.dispose();
}

test("the LMU layer equals a float64 reference of KerasLMU's cell, both implementations", () => {
  checkAgainstReference(base, 1, 23, ['recurrent', 'parallel']);
});

test('option memoryD: several memory dimensions over several input features', () => {
  checkAgainstReference({ ...base, memoryD: 3 }, 2, 19, ['recurrent', 'parallel']);
});

test('option inputToHidden off: the cell sees the memory only', () => {
  checkAgainstReference({ ...base, inputToHidden: false }, 2, 17, ['recurrent', 'parallel']);
});

test('option useBias: a bias on the memory input', () => {
  checkAgainstReference({ ...base, useBias: true }, 1, 21, ['recurrent', 'parallel']);
  checkAgainstReference({ ...base, useBias: true, memoryD: 2 }, 3, 9, ['recurrent', 'parallel']);
});

test("option discretizer 'euler'", () => {
  checkAgainstReference({ ...base, discretizer: 'euler', theta: 30 }, 1, 20, ['recurrent', 'parallel']);
});

test('option hiddenToMemory: the hidden state feeds the memory (recurrent only)', () => {
  checkAgainstReference({ ...base, hiddenToMemory: true }, 2, 12, ['recurrent']);
  assert.equal(makeLmu({ ...base, hiddenToMemory: true }).parallel, false);
});

test('option memoryToMemory: the memory feeds its own input (recurrent only)', () => {
  checkAgainstReference({ ...base, memoryToMemory: true, memoryD: 2 }, 1, 12, ['recurrent']);
  assert.equal(makeLmu({ ...base, memoryToMemory: true, implementation: 'auto' }).parallel, false);
});

test('option hiddenCell null: the layer outputs the memory (and the input)', () => {
  checkAgainstReference({ ...base, units: null }, 1, 18, ['recurrent', 'parallel']);
  checkAgainstReference({ ...base, units: null, inputToHidden: false, memoryD: 2 }, 2, 18, ['recurrent', 'parallel']);
  // the last step alone (a shortcut in the parallel path)
  const x = tf.randomUniform([2, 18, 1], -1, 1, 'float32', 4);
  const seq = makeLmu({ ...base, units: null, returnSequences: true });
  const last = makeLmu({ ...base, units: null, returnSequences: false });
  seq.apply(x);
  last.apply(x);
  last.setWeights(seq.getWeights());
  const all = seq.apply(x) as tf.Tensor3D;
  assert.ok(maxDiff((last.apply(x) as tf.Tensor).dataSync(), all.slice([0, 17, 0], [2, 1, -1]).dataSync()) < 1e-5);
});

test('a hidden cell the fused kernel does not run (relu) runs step by step after the parallel memory', () => {
  checkAgainstReference(base, 1, 14, ['recurrent', 'parallel'], 'relu');
});

test("a hidden cell's dropout masks are drawn anew for each sequence, for its batch", () => {
  for (const implementation of ['parallel', 'recurrent'] as const) {
    const cell = tf.layers.simpleRNNCell({ units: 3, dropout: 0.5, recurrentDropout: 0.5 });
    const layer = new LMU({
      memoryD: 1,
      order: 4,
      theta: 5,
      hiddenCell: cell,
      inputToHidden: true,
      implementation,
      seed: 1,
    });
    const x = tf.ones([2, 6, 1]);
    const run = (input: tf.Tensor) =>
      tf.tidy(() => (layer.apply(input, { training: true }) as tf.Tensor).arraySync() as number[][]);
    const first = run(x);
    const before = tf.memory().numTensors;
    const outputs = Array.from({ length: 4 }, () => run(x));
    assert.equal(tf.memory().numTensors, before, `${implementation}: the old masks are disposed`);
    assert.ok(
      outputs.some((o) => JSON.stringify(o) !== JSON.stringify(first)),
      `${implementation}: new masks`,
    );
    const three = tf.ones([3, 6, 1]);
    assert.equal(run(three).length, 3);
    tf.dispose([x, three]);
  }
});

test('option returnSequences off: the last step only', () => {
  const x = tf.randomUniform([2, 15, 1], 0, 1, 'float32', 8);
  const all = makeLmu({ ...base, returnSequences: true });
  const last = makeLmu({ ...base, returnSequences: false });
  all.apply(x);
  last.apply(x);
  last.setWeights(all.getWeights());
  const y = last.apply(x) as tf.Tensor;
  assert.deepEqual(y.shape, [2, 5]);
  assert.ok(maxDiff(y.dataSync(), (all.apply(x) as tf.Tensor3D).slice([0, 14, 0], [2, 1, -1]).dataSync()) < 1e-6);
});

test('the parallel path and the recurrence have the same gradients (float32 tolerance)', () => {
  for (const o of [base, { ...base, useBias: true, memoryD: 2 }] as RefOptions[]) {
    const features = o.memoryD === 1 ? 1 : 2;
    const x = tf.randomUniform([3, 37, features], 0, 1, 'float32', 5); // 37: not a multiple of the chunk
    const a = makeLmu({ ...o, implementation: 'recurrent', returnSequences: false });
    const b = makeLmu({ ...o, implementation: 'parallel', returnSequences: false });
    a.apply(x);
    b.apply(x);
    randomWeights(a, 9);
    b.setWeights(a.getWeights());
    const grads = (l: LMU) =>
      tf.variableGrads(
        () => tf.sum(tf.square(l.apply(x) as tf.Tensor)),
        l.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val),
      );
    const ga = grads(a);
    const gb = grads(b);
    assert.ok(Math.abs(ga.value.dataSync()[0] - gb.value.dataSync()[0]) < 1e-4 * Math.abs(ga.value.dataSync()[0]));
    a.trainableWeights.forEach((w, i) => {
      const da = ga.grads[(w as unknown as { val: tf.Variable }).val.name].dataSync();
      const db = gb.grads[(b.trainableWeights[i] as unknown as { val: tf.Variable }).val.name].dataSync();
      assert.ok(maxDiff(da, db) < 1e-4 * Math.max(1, maxAbs(da)), `${w.originalName}: ${maxDiff(da, db)}`);
    });
  }
});

test('an LMU after another layer passes the gradient back to it, both implementations alike', () => {
  const x = tf.randomUniform([2, 19, 3], 0, 1, 'float32', 12);
  const grads = (implementation: 'recurrent' | 'parallel') => {
    const dense = tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) });
    const lmu = makeLmu({ ...base, implementation, returnSequences: false });
    const model = tf.sequential({ layers: [tf.layers.inputLayer({ inputShape: [19, 3] }), dense, lmu] });
    lmu.setWeights(lmu.getWeights().map((w, i) => tf.randomUniform(w.shape, -0.4, 0.4, 'float32', 20 + i)));
    const vars = dense.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const g = tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)), vars);
    return vars.map((v) => g.grads[v.name].dataSync());
  };
  const [ra, rb] = grads('recurrent');
  const [pa, pb] = grads('parallel');
  assert.ok(maxAbs(ra) > 1e-3, 'the input layer gets a gradient');
  assert.ok(
    maxDiff(pa, ra) < 1e-4 * Math.max(1, maxAbs(ra)) && maxDiff(pb, rb) < 1e-4 * Math.max(1, maxAbs(rb)),
    `${maxDiff(pa, ra)} ${maxDiff(pb, rb)}`,
  );
});

test('one time step works in both implementations (gradients included)', () => {
  const x = tf.randomUniform([2, 1, 1], 0, 1, 'float32', 2);
  for (const implementation of ['recurrent', 'parallel'] as const) {
    const layer = makeLmu({ ...base, implementation, returnSequences: false });
    layer.apply(x);
    const vars = layer.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
    const g = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor), vars);
    assert.equal(Object.keys(g.grads).length, vars.length);
  }
});

test("the LMU layer equals NumPy's float64 forward of the walkthrough's cell", () => {
  const f = fixtures.forward[0];
  for (const implementation of ['recurrent', 'parallel'] as const) {
    const layer = new LMU({
      memoryD: 1,
      order: f.order,
      theta: f.theta,
      hiddenCell: tf.layers.simpleRNNCell({ units: f.units }) as unknown as HiddenCell,
      inputToHidden: true,
      returnSequences: true,
      implementation,
    });
    const x = tf.tensor3d(f.x, f.shape);
    layer.apply(x);
    layer.setWeights([
      tf.tensor2d(f.encoder, [1, 1]),
      tf.tensor2d(f.kernel, [f.order + 1, f.units]),
      tf.tensor2d(f.recurrentKernel, [f.units, f.units]),
      tf.tensor1d(f.bias),
    ]);
    assert.ok(maxDiff((layer.apply(x) as tf.Tensor).dataSync(), f.h) < 1e-6, implementation);
  }
});

// ---- the walkthroughs' models ------------------------------------------------------------------

test('parameter counts: KerasLMU 101,771 (LMU 99,641 + Dense 2,130), NengoDL 101,549', () => {
  const k = buildKerasLmuModel({ seed: 0 });
  assert.equal(k.countParams(), 101771);
  assert.equal(k.getLayer('lmu').countParams(), 99641);
  assert.equal(k.getLayer('dense').countParams(), 2130);
  assert.deepEqual(k.outputs[0].shape, [null, 10]);
  assert.deepEqual(
    k.weights.map((w) => w.originalName),
    [
      'lmu/kernel',
      'lmu/hidden_cell/kernel',
      'lmu/hidden_cell/recurrent_kernel',
      'lmu/hidden_cell/bias',
      'dense/kernel',
      'dense/bias',
    ],
  );
  assert.deepEqual(Array.from(k.getLayer('lmu').getWeights()[0].dataSync()), [1]); // kernel_initializer 'ones'
  const n = buildNengoLmuModel({ seed: 0 });
  assert.equal(n.countParams(), 101549);
  assert.deepEqual(
    n.weights.map((w) => [w.originalName, w.shape.reduce((a, b) => a! * b!, 1)]),
    [
      ['lmu_cell/x_to_u', 1],
      ['lmu_cell/x_to_h', 212],
      ['lmu_cell/h_to_h', 44944],
      ['lmu_cell/m_to_h', 54272],
      ['out/kernel', 2120],
    ],
  );
  k.dispose();
  n.dispose();
});

test('NengoLMU: x→u starts at one, the three hidden connections are Glorot-uniform, seeded', () => {
  const build = () => {
    const l = new NengoLMU({ units: 12, order: 8, theta: 10, seed: 4 });
    l.apply(tf.input({ shape: [10, 3] }));
    return l;
  };
  const a = build();
  const [xu, xh, hh, mh] = a.getWeights();
  assert.deepEqual(Array.from(xu.dataSync()), [1, 1, 1]);
  for (const [w, fanIn, fanOut] of [
    [xh, 3, 12],
    [hh, 12, 12],
    [mh, 8, 12],
  ] as [tf.Tensor, number, number][]) {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    assert.ok(maxAbs(w.dataSync()) <= limit && maxAbs(w.dataSync()) > 0.5 * limit);
  }
  assert.deepEqual(
    build()
      .getWeights()
      .map((w) => Array.from(w.dataSync())),
    a.getWeights().map((w) => Array.from(w.dataSync())),
  );
});

test('NengoLMU equals the LMU layer with the same weights, both implementations', () => {
  const x = tf.randomUniform([2, 21, 1], 0, 1, 'float32', 6);
  const lmu = makeLmu({ ...base, returnSequences: true });
  lmu.apply(x);
  randomWeights(lmu, 2);
  const [e, w, u, b] = lmu.getWeights();
  lmu.setWeights([e, w, u, tf.zerosLike(b)]);
  const expected = (lmu.apply(x) as tf.Tensor).dataSync();
  for (const implementation of ['recurrent', 'parallel'] as const) {
    const cell = new NengoLMU({
      units: 5,
      order: base.order,
      theta: base.theta,
      returnSequences: true,
      implementation,
    });
    cell.apply(x);
    // LMU's cell kernel is [m; x]: rows 0..order-1 are m→h, the last x→h
    cell.setWeights([e, w.slice([base.order, 0], [1, -1]), u, w.slice([0, 0], [base.order, -1])]);
    assert.ok(maxDiff((cell.apply(x) as tf.Tensor).dataSync(), expected) < 2e-6, implementation);
  }
});

test('save/load round trip: same outputs, every option kept (LMU and NengoLMU)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmu-'));
  try {
    for (const build of [
      () => buildKerasLmuModel({ steps: 20, order: 6, units: 4, seed: 1 }),
      () => buildNengoLmuModel({ steps: 20, order: 6, units: 4, seed: 1 }),
      () => {
        const inputs = tf.input({ shape: [20, 2] });
        const layer = new LMU({
          memoryD: 2,
          order: 5,
          theta: 7,
          hiddenCell: tf.layers.simpleRNNCell({ units: 3, activation: 'relu' }) as unknown as HiddenCell,
          hiddenToMemory: true,
          memoryToMemory: true,
          useBias: true,
          biasInitializer: 'ones',
          discretizer: 'euler',
          kernelInitializer: 'glorotNormal',
          recurrentInitializer: 'zeros',
          returnSequences: true,
          seed: 3,
          name: 'lmu',
        });
        return tf.model({ inputs, outputs: layer.apply(inputs) as tf.SymbolicTensor });
      },
    ]) {
      const model = build();
      const x = tf.randomUniform([2, 20, model.inputs[0].shape[2]!], 0, 1, 'float32', 3);
      const y = model.predict(x) as tf.Tensor;
      await saveModel(model, dir);
      const loaded = await loadModel(dir);
      assert.ok(maxDiff((loaded.predict(x) as tf.Tensor).dataSync(), y.dataSync()) < 1e-6);
      // the cell's own config, less tfjs's initialisers (Orthogonal gains a `seed: null` on the way)
      const config = (l: tf.LayersModel) => {
        const c = l.layers[1].getConfig() as Record<string, unknown>;
        const cell = c.hiddenCell as { className: string; config: Record<string, unknown> } | undefined;
        return {
          ...c,
          hiddenCell: cell && [cell.className, cell.config.units, cell.config.activation, cell.config.name],
        };
      };
      assert.deepEqual(config(loaded), config(model));
      model.dispose();
      loaded.dispose();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('getConfig lists every option', () => {
  const layer = new LMU({ memoryD: 2, order: 5, theta: 7, hiddenCell: null, inputToHidden: true, seed: 2 });
  const c = layer.getConfig();
  for (const key of [
    'memoryD',
    'order',
    'theta',
    'hiddenCell',
    'hiddenToMemory',
    'memoryToMemory',
    'inputToHidden',
    'discretizer',
    'kernelInitializer',
    'recurrentInitializer',
    'useBias',
    'biasInitializer',
    'returnSequences',
    'implementation',
    'seed',
  ]) {
    assert.ok(key in c, key);
  }
  assert.equal(c.hiddenCell, null);
});

test('bad options and inputs throw with the bad value', () => {
  const cell = () => tf.layers.simpleRNNCell({ units: 3 }) as unknown as HiddenCell;
  const ok: LmuArgs = { memoryD: 1, order: 4, theta: 10, hiddenCell: cell() };
  assert.throws(() => new LMU({ ...ok, order: 0 }), /order must be a positive integer \(got 0\)/);
  assert.throws(() => new LMU({ ...ok, memoryD: -1 }), /memoryD must be a positive integer \(got -1\)/);
  assert.throws(() => new LMU({ ...ok, theta: 0 }), /theta must be a positive number \(got 0\)/);
  assert.throws(() => new LMU({ ...ok, theta: -3 }), /theta must be a positive number \(got -3\)/);
  assert.throws(
    () => new LMU({ ...ok, discretizer: 'tustin' as never }),
    /discretizer must be 'zoh' or 'euler' \(got "tustin"\)/,
  );
  assert.throws(
    () => new LMU({ ...ok, kernelInitializer: 'glorot_uniform' as never }),
    /kernelInitializer must be one of .* \(got "glorot_uniform"\)/,
  );
  assert.throws(
    () => new LMU({ ...ok, recurrentInitializer: 'nope' as never }),
    /recurrentInitializer must be one of .* \(got "nope"\)/,
  );
  assert.throws(
    () => new LMU({ ...ok, implementation: 'fft' as never }),
    /implementation must be 'auto', 'recurrent' or 'parallel' \(got "fft"\)/,
  );
  assert.throws(
    () => new LMU({ ...ok, memoryToMemory: true, implementation: 'parallel' }),
    /implementation 'parallel' needs hiddenToMemory and memoryToMemory off/,
  );
  assert.throws(() => new LMU({ ...ok, hiddenCell: null, hiddenToMemory: true }), /hiddenToMemory needs a hidden cell/);
  assert.throws(() => new LMU({ ...ok, hiddenCell: undefined as never }), /hiddenCell is required/);
  assert.throws(() => new LMU({ ...ok, hiddenCell: {} as never }), /hiddenCell must be an RNN cell/);
  assert.throws(() => new NengoLMU({ units: 0, order: 4, theta: 3 }), /units must be a positive integer \(got 0\)/);
  assert.throws(() => buildKerasLmuModel({ order: 0 }), /order must be a positive integer \(got 0\)/);
  assert.throws(
    () => new LMU(ok).apply(tf.input({ shape: [784] })),
    /LMU expects input \[batch, time, features\] \(got \[null, 784\]\)/,
  );
  const layer = new LMU(ok);
  layer.apply(tf.zeros([1, 5, 2]));
  assert.throws(() => layer.apply(tf.zeros([1, 5])), /LMU expects input \[batch, time, features\] \(got \[1, 5\]\)/);
  assert.throws(() => layer.apply(tf.zeros([1, 5, 3])), /LMU was built for 2 input features \(got input \[1, 5, 3\]\)/);
  assert.throws(
    () => new NengoLMU({ units: 2, order: 4, theta: 3 }).apply(tf.zeros([4, 3])),
    /NengoLMU expects input \[batch, time, features\] \(got \[4, 3\]\)/,
  );
});

test('the parallel path gives the same results on the wasm backend', async () => {
  const x = tf.randomUniform([3, 33, 1], 0, 1, 'float32', 2);
  const xs = x.arraySync();
  const model = buildKerasLmuModel({ steps: 33, order: 8, units: 8, seed: 5 });
  const y = (model.predict(x) as tf.Tensor).dataSync();
  const weights = model.getWeights().map((w) => ({ shape: w.shape, values: w.dataSync() }));
  await useBackend('wasm', { quiet: true });
  try {
    const m2 = buildKerasLmuModel({ steps: 33, order: 8, units: 8 });
    m2.setWeights(weights.map((w) => tf.tensor(w.values, w.shape)));
    assert.ok(maxDiff((m2.predict(tf.tensor(xs)) as tf.Tensor).dataSync(), y) < 1e-5);
  } finally {
    await useBackend('cpu', { quiet: true });
  }
});
