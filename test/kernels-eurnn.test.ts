import test from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import {
  EurnnBatch,
  EurnnWeights,
  eurnnBackwardJs,
  eurnnForwardJs,
  eurnnSequence,
  eurnnWasmAvailable,
  getEurnnEngine,
  getEurnnThreads,
  setEurnnEngine,
  setEurnnThreads,
} from '../lib/kernels/eurnn';
import { EurnnWasm } from '../lib/kernels/eurnn-wasm';
import { eurnnSequencePlain } from '../lib/models/eurnn';

/** Deterministic uniform numbers in [lo, hi). */
function uniform(n: number, lo: number, hi: number, seed: number): Float32Array {
  let s = seed;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    a[i] = lo + (hi - lo) * (s / 2147483647);
  }
  return a;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

interface Case {
  hiddenSize: number;
  capacity: number;
  features: number;
  steps: number;
  batch: number;
}

function problem(c: Case, seed = 1): { a: EurnnBatch; w: EurnnWeights; dyRe: Float32Array; dyIm: Float32Array } {
  const { hiddenSize: n, capacity, features, steps, batch } = c;
  return {
    a: { ...c, x: uniform(batch * steps * features, 0, 1, seed) },
    w: {
      kernel: uniform(features * n, -0.6, 0.6, seed + 2),
      bias: uniform(n, -0.1, 0.3, seed + 4),
      angles: uniform(n * capacity, 0, 2 * Math.PI, seed + 6),
      modBias: uniform(n, -0.2, 0.2, seed + 8),
    },
    dyRe: uniform(batch * n, -1, 1, seed + 10),
    dyIm: uniform(batch * n, -1, 1, seed + 12),
  };
}

const CASES: Case[] = [
  { hiddenSize: 8, capacity: 2, features: 1, steps: 7, batch: 5 },
  { hiddenSize: 6, capacity: 1, features: 1, steps: 5, batch: 4 },
  { hiddenSize: 10, capacity: 3, features: 2, steps: 6, batch: 9 },
  { hiddenSize: 4, capacity: 4, features: 3, steps: 4, batch: 2 },
];

function tensors(c: Case, seed = 1) {
  const { a, w, dyRe, dyIm } = problem(c, seed);
  const n = c.hiddenSize;
  const dy = new Float32Array(c.batch * 2 * n);
  for (let b = 0; b < c.batch; b++) {
    dy.set(dyRe.subarray(b * n, (b + 1) * n), b * 2 * n);
    dy.set(dyIm.subarray(b * n, (b + 1) * n), b * 2 * n + n);
  }
  return {
    x: tf.tensor3d(a.x, [c.batch, c.steps, c.features]),
    kernel: tf.tensor2d(w.kernel, [c.features, n]),
    bias: tf.tensor1d(w.bias),
    angles: tf.tensor2d(w.angles, [n, c.capacity]),
    modBias: tf.tensor1d(w.modBias),
    dy: tf.tensor2d(dy, [c.batch, 2 * n]),
  };
}

/** Value and gradients of sum(dy · h_T) for a recurrence f. */
function valueAndGrads(
  f: typeof eurnnSequence,
  t: ReturnType<typeof tensors>,
): { h: Float32Array; grads: Float32Array[] } {
  const g = tf.grads((x, kernel, bias, angles, modBias) => tf.sum(tf.mul(f(x, kernel, bias, angles, modBias), t.dy)));
  const inputs = [t.x, t.kernel, t.bias, t.angles, t.modBias];
  const h = f(t.x, t.kernel, t.bias, t.angles, t.modBias);
  const grads = g(inputs);
  const out = { h: h.dataSync() as Float32Array, grads: grads.map((d) => d.dataSync() as Float32Array) };
  tf.dispose([h, ...grads]);
  return out;
}

test('the fused kernel equals the plain tfjs composition on the cpu backend, values and all five gradients, both engines', async () => {
  await useBackend('cpu', { quiet: true });
  const engines = eurnnWasmAvailable() ? (['wasm-simd', 'js'] as const) : (['js'] as const);
  for (const c of CASES) {
    const t = tensors(c);
    const plain = valueAndGrads(eurnnSequencePlain, t);
    for (const e of engines) {
      setEurnnEngine(e);
      const fused = valueAndGrads(eurnnSequence, t);
      const what = `${e}, N=${c.hiddenSize}, capacity ${c.capacity}, ${c.features} features`;
      assert.ok(maxAbsDiff(fused.h, plain.h) < 1e-5 * Math.max(1, maxAbs(plain.h)), `value (${what})`);
      ['x', 'kernel', 'bias', 'angles', 'modBias'].forEach((name, i) => {
        const d = maxAbsDiff(fused.grads[i], plain.grads[i]);
        assert.ok(d < 2e-4 * Math.max(1, maxAbs(plain.grads[i])), `d/d${name} differs by ${d} (${what})`);
      });
    }
    tf.dispose(Object.values(t));
  }
  setEurnnEngine(eurnnWasmAvailable() ? 'wasm-simd' : 'js');
});

test(
  'the wasm engine matches the JavaScript reference, and splitting the batch over threads changes nothing',
  { skip: !eurnnWasmAvailable() },
  () => {
    const c: Case = { hiddenSize: 16, capacity: 2, features: 1, steps: 30, batch: 13 };
    const { a, w, dyRe, dyIm } = problem(c, 5);
    const ref = eurnnForwardJs(a, w);
    const refGrads = eurnnBackwardJs(a, w, dyRe, dyIm);
    const wasm = new EurnnWasm(c);
    const hRe = new Float32Array(c.batch * c.hiddenSize);
    const hIm = new Float32Array(c.batch * c.hiddenSize);
    wasm.forward(a, w, hRe, hIm);
    // float32 against float64 over 30 steps
    assert.ok(maxAbsDiff(hRe, ref.hRe) < 1e-4 * maxAbs(ref.hRe) && maxAbsDiff(hIm, ref.hIm) < 1e-4 * maxAbs(ref.hIm));
    const g1 = wasm.backward(a, w, dyRe, dyIm);
    for (const key of ['dx', 'kernel', 'bias', 'angles', 'modBias'] as const) {
      assert.ok(maxAbsDiff(g1[key], refGrads[key]) < 5e-4 * Math.max(1, maxAbs(refGrads[key])), key);
    }
    // through the tfjs op with 1 and 3 threads: the same numbers
    const t = tensors(c, 5);
    const before = getEurnnThreads();
    setEurnnThreads(1);
    const one = valueAndGrads(eurnnSequence, t);
    setEurnnThreads(3);
    const three = valueAndGrads(eurnnSequence, t);
    setEurnnThreads(before);
    assert.deepEqual(Array.from(three.h), Array.from(one.h));
    one.grads.forEach((g, i) => assert.ok(maxAbsDiff(three.grads[i], g) <= 1e-6 * Math.max(1, maxAbs(g))));
    tf.dispose(Object.values(t));
  },
);

test('the fused kernel runs on the wasm backend too', async () => {
  await useBackend('wasm', { quiet: true });
  const c = CASES[0];
  const t = tensors(c);
  const plain = valueAndGrads(eurnnSequencePlain, t);
  const fused = valueAndGrads(eurnnSequence, t);
  assert.ok(maxAbsDiff(fused.h, plain.h) < 1e-5);
  fused.grads.forEach((g, i) => assert.ok(maxAbsDiff(g, plain.grads[i]) < 2e-4 * Math.max(1, maxAbs(plain.grads[i]))));
  tf.dispose(Object.values(t));
});

test('bad inputs to the fused recurrence fail with the shape', () => {
  const x = tf.zeros([2, 5, 1]);
  const k = tf.zeros([1, 8]);
  const b = tf.zeros([8]);
  const a = tf.zeros([8, 2]);
  assert.throws(
    () => eurnnSequence(tf.zeros([2, 5]), k, b, a, b),
    /rank 3 \[batch, steps, features\] \(got shape \[2, 5\]\)/,
  );
  assert.throws(
    () => eurnnSequence(x, tf.zeros([1, 7]), tf.zeros([7]), tf.zeros([7, 2]), tf.zeros([7])),
    /hidden size must be a positive even number \(got 7\)/,
  );
  assert.throws(() => eurnnSequence(x, k, b, tf.zeros([8, 0]), b), /capacity must be at least 1 \(got 0\)/);
  assert.throws(
    () => eurnnSequence(x, tf.zeros([2, 8]), b, a, b),
    /input kernel must be \[1, 8\] \(got shape \[2, 8\]\)/,
  );
  assert.throws(() => eurnnSequence(x, k, b, a, tf.zeros([6])), /modReLU bias must be \[8\] \(got shape \[6\]\)/);
  assert.throws(() => setEurnnEngine('gpu' as never), /'wasm-simd' or 'js' \(got 'gpu'\)/);
  assert.throws(() => setEurnnThreads(0), /positive integer \(got 0\)/);
  assert.ok(['wasm-simd', 'js'].includes(getEurnnEngine()));
});
