/**
 * Kernel registration (lib/kernels/all.ts): loading a kernel or model module registers nothing;
 * selecting a backend through lib/backend.ts registers what it needs, again and again without
 * change; an op run on a backend set by tf.setBackend() alone says how to choose it instead.
 * The fresh-process checks run the built files (dist/lib) in a child `node -e`.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../lib/backend';
import {
  JS_KERNELS,
  LSTM_SEQUENCE,
  LSTM_WEBGPU_KERNELS,
  MATMUL,
  MATMUL_GRADIENT,
  registerKernelFills,
  registerKernels,
  TANH_RNN,
  TANH_RNN_WASM_KERNELS,
  tanhRnnForwardKernel,
  WEBGPU_KERNELS,
} from '../lib/kernels';

const root = path.resolve(__dirname, '..', '..');
const lib = path.join(root, 'dist', 'lib');

/** Runs `script` in a fresh node (cwd: the repo, process.argv[1]: dist/lib); returns its last stdout line, parsed. */
function inFreshNode(script: string): unknown {
  const r = spawnSync(process.execPath, ['-e', script, lib], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `child failed:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

test('loading the LSTM kernel module registers nothing; useBackend("cpu") registers it', () => {
  const got = inFreshNode(`
    const tf = require('@tensorflow/tfjs');
    const lib = process.argv[1];
    // a backend in use already: a module registering on load would register for it
    tf.setBackend('cpu').then(async () => {
      require(lib + '/kernels/lstm.js');
      const before = tf.getKernel('${LSTM_SEQUENCE}', 'cpu');
      const { useBackend } = require(lib + '/backend.js');
      await useBackend('cpu', { quiet: true });
      const after = tf.getKernel('${LSTM_SEQUENCE}', 'cpu');
      console.log(JSON.stringify({ before: before === undefined, after: after !== undefined }));
    });
  `);
  assert.deepEqual(got, { before: true, after: true });
});

test('loading every kernel and model module registers no kernel and no gradient', () => {
  const modules = ['kernels', 'models'].flatMap((dir) =>
    fs
      .readdirSync(path.join(lib, dir))
      // the EURNN worker is a thread's entry point (it reads workerData)
      .filter((f) => f.endsWith('.js') && f !== 'eurnn-worker.js')
      .map((f) => `${dir}/${f}`),
  );
  assert.ok(modules.includes('kernels/all.js') && modules.includes('models/lmu.js'), modules.join(', '));
  const got = inFreshNode(`
    const tf = require('@tensorflow/tfjs');
    const lib = process.argv[1];
    const snapshot = () => JSON.stringify(['cpu', 'wasm', 'webgpu', 'tensorflow'].map((b) =>
      tf.getKernelsForBackend(b).map((k) => k.kernelName).sort()));
    tf.setBackend('cpu').then(() => {
      const before = snapshot();
      for (const m of ${JSON.stringify(modules)}) require(lib + '/' + m);
      require(lib + '/backend.js');
      const gradient = tf.getGradient('${MATMUL}') === undefined;
      console.log(JSON.stringify({ same: snapshot() === before, gradient }));
    });
  `);
  assert.deepEqual(got, { same: true, gradient: true });
});

test('an op on a backend set by tf.setBackend() alone names the kernel, the backend and the way out', () => {
  const got = inFreshNode(`
    const tf = require('@tensorflow/tfjs');
    const lib = process.argv[1];
    const k = require(lib + '/kernels/index.js');
    const { useBackend } = require(lib + '/backend.js');
    const message = (f) => { try { tf.dispose(f()); return 'ran'; } catch (e) { return e.message; } };
    const ops = {
      lstmSequence: () => k.lstmSequence(tf.zeros([1, 2, 1]), tf.zeros([1, 8]), tf.zeros([2, 8]), tf.zeros([8])),
      eurnnSequence: () =>
        k.eurnnSequence(tf.zeros([1, 2, 1]), tf.zeros([1, 2]), tf.zeros([2]), tf.zeros([2, 1]), tf.zeros([2])),
      tanhRnnSequence: () => k.tanhRnnSequence(tf.zeros([1, 2, 2]), tf.zeros([2, 2])),
      linearScan: () => k.linearScan(tf.zeros([1, 2, 2]), tf.zeros([2, 2])),
      matMulFastGrad: () => k.matMulFastGrad(tf.zeros([2, 3]), tf.zeros([3, 2])),
    };
    tf.setBackend('cpu').then(async () => {
      const unselected = Object.fromEntries(Object.entries(ops).map(([n, f]) => [n, message(f)]));
      await useBackend('cpu', { quiet: true });
      const selected = Object.fromEntries(Object.entries(ops).map(([n, f]) => [n, message(f)]));
      console.log(JSON.stringify({ unselected, selected }));
    });
  `) as { unselected: Record<string, string>; selected: Record<string, string> };
  const kernels: Record<string, string> = {
    lstmSequence: 'SeqmnistLstmSequence',
    eurnnSequence: 'SeqmnistEurnnSequence',
    tanhRnnSequence: 'SeqmnistTanhRnn',
    linearScan: 'SeqmnistLinearScan',
    matMulFastGrad: 'SeqmnistMatMul',
  };
  for (const [op, kernel] of Object.entries(kernels)) {
    assert.equal(
      got.unselected[op],
      `kernel ${kernel} is not registered for backend 'cpu': ` +
        'choose the backend with initBackend() or useBackend() (lib/backend.ts)',
      op,
    );
    assert.equal(got.selected[op], 'ran', op);
  }
});

test('selecting cpu again keeps the kernels registered the first time; cpu keeps its own kernels', async () => {
  const ownBefore = tf.getKernel('UnsortedSegmentSum', 'cpu');
  await useBackend('cpu', { quiet: true });
  const first = JS_KERNELS.map((k) => tf.getKernel(k.kernelName, 'cpu'));
  const matMul = tf.getKernel(MATMUL, 'cpu');
  assert.ok(matMul);
  assert.equal(tf.getGradient(MATMUL), MATMUL_GRADIENT);
  await useBackend('cpu', { quiet: true });
  registerKernels('cpu');
  assert.deepEqual(
    JS_KERNELS.map((k) => tf.getKernel(k.kernelName, 'cpu')),
    first,
  );
  assert.equal(tf.getKernel(MATMUL, 'cpu'), matMul);
  assert.equal(tf.getKernel('UnsortedSegmentSum', 'cpu'), ownBefore, "cpu's own UnsortedSegmentSum");
  assert.ok(tf.getKernel(LSTM_SEQUENCE, 'cpu'));
});

test('wasm gets the fills it lacks, the in-heap tanh RNN (over a JS version registered before) and the sharing Identity', async () => {
  await useBackend('wasm', { quiet: true });
  const heapKernel = TANH_RNN_WASM_KERNELS.find((k) => k.kernelName === TANH_RNN)!;
  assert.equal(tf.getKernel(TANH_RNN, 'wasm').kernelFunc, heapKernel.kernelFunc);
  for (const name of ['UnsortedSegmentSum', 'Conv2DBackpropFilter', LSTM_SEQUENCE, MATMUL]) {
    assert.ok(tf.getKernel(name, 'wasm'), name);
  }
  const identity = tf.getKernel('Identity', 'wasm');
  const fills = JS_KERNELS.map((k) => tf.getKernel(k.kernelName, 'wasm'));
  // a JS version in its place (registered first) is replaced; everything else stays as it was
  tf.unregisterKernel(TANH_RNN, 'wasm');
  registerKernelFills('wasm', [tanhRnnForwardKernel]);
  assert.notEqual(tf.getKernel(TANH_RNN, 'wasm').kernelFunc, heapKernel.kernelFunc);
  await useBackend('wasm', { quiet: true });
  assert.equal(tf.getKernel(TANH_RNN, 'wasm').kernelFunc, heapKernel.kernelFunc);
  assert.equal(tf.getKernel('Identity', 'wasm'), identity, 'the sharing Identity, replaced once');
  assert.deepEqual(
    JS_KERNELS.map((k) => tf.getKernel(k.kernelName, 'wasm')),
    fills,
  );
});

test('webgpu gets the WGSL kernels and no JS kernel', () => {
  // registration only: the backend itself is started in test/webgpu.test.ts
  registerKernels('webgpu');
  registerKernels('webgpu');
  const wgsl = new Set(WEBGPU_KERNELS.map((k) => k.kernelFunc));
  for (const k of JS_KERNELS) {
    const registered = tf.getKernel(k.kernelName, 'webgpu');
    if (registered) assert.ok(wgsl.has(registered.kernelFunc), `${k.kernelName} on webgpu is a WGSL kernel`);
  }
  assert.equal(tf.getKernel(LSTM_SEQUENCE, 'webgpu').kernelFunc, LSTM_WEBGPU_KERNELS[0].kernelFunc);
  assert.ok(tf.getKernel(MATMUL, 'webgpu'));
});
