/**
 * A fused LSTM recurrence: all time steps of one layer in one kernel, forward and backward.
 *
 * tfjs-layers' LSTM runs a dozen small ops per time step (matMul, add, four activations, slices,
 * products), so 196 pixel steps × 3 layers dispatch thousands of kernels per training step and the
 * step time is spent in dispatch. Here the input projection stays a single large matMul done by the
 * backend (`x·W + b` for all steps at once, and its gradients), and only the recurrence
 * `z_t = xw_t + h_{t-1}·U` with the gate nonlinearities runs in our kernel, one sample at a time
 * (its state stays in a few locals and U in the L1 cache).
 *
 * Gates follow Keras: the 4·units columns are [i, f, c, o]; i, f, o use the sigmoid
 * (Keras's recurrent_activation='sigmoid'), the candidate c and the output use tanh.
 */
import * as tf from '@tensorflow/tfjs';
import { defineJsKernel, KernelArray } from './index';
import { lstmWasmBackward, lstmWasmForward, lstmWasmAvailable } from './lstm-wasm';

/** Kernel names (registered for every backend). */
export const LSTM_SEQUENCE = 'SeqmnistLstmSequence';
export const LSTM_SEQUENCE_GRAD = 'SeqmnistLstmSequenceGrad';

/** The arrays of one recurrence, [batch, steps, ·] row-major. */
export interface LstmForwardArrays {
  /** [batch, steps, 4·units] projected inputs with the bias added. */
  xw: Float32Array;
  /** [units, 4·units] recurrent kernel. */
  recurrentKernel: Float32Array;
  batch: number;
  steps: number;
  units: number;
}

/** What the forward pass keeps for the backward pass. */
export interface LstmForwardResult {
  /** [batch, steps, units] hidden states h_t. */
  h: Float32Array;
  /** [batch, steps, units] cell states c_t. */
  c: Float32Array;
  /** [batch, steps, 4·units] activated gates i, f, g (candidate), o. */
  gates: Float32Array;
}

/** Which implementation runs the recurrence: WebAssembly SIMD where the runtime has it, else plain JS. */
export type LstmEngine = 'wasm-simd' | 'js';

let engine: LstmEngine | undefined;

/**
 * Picks the implementation of the fused recurrence ('wasm-simd' by default where available, 'js'
 * otherwise). Both are tested against tfjs-layers' LSTM.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function setLstmEngine(name: LstmEngine): void {
  if (name !== 'wasm-simd' && name !== 'js') throw new Error(`LSTM engine must be 'wasm-simd' or 'js' (got '${name}')`);
  if (name === 'wasm-simd' && !lstmWasmAvailable()) throw new Error('LSTM engine wasm-simd is not available here (WebAssembly SIMD missing)');
  engine = name;
}

/** The implementation in use. */
export function getLstmEngine(): LstmEngine {
  return (engine ??= lstmWasmAvailable() ? 'wasm-simd' : 'js');
}

/** The recurrence in plain JavaScript: reference and fallback of the WebAssembly version. */
export function lstmForwardJs(a: LstmForwardArrays): LstmForwardResult {
  const { xw, recurrentKernel: u, batch, steps, units: n } = a;
  const g4 = 4 * n;
  const h = new Float32Array(batch * steps * n);
  const c = new Float32Array(batch * steps * n);
  const gates = new Float32Array(batch * steps * g4);
  const hPrev = new Float64Array(n);
  const cPrev = new Float64Array(n);
  const z = new Float64Array(g4);
  for (let b = 0; b < batch; b++) {
    hPrev.fill(0);
    cPrev.fill(0);
    for (let t = 0; t < steps; t++) {
      const gBase = (b * steps + t) * g4;
      const hBase = (b * steps + t) * n;
      for (let j = 0; j < g4; j++) z[j] = xw[gBase + j];
      if (t > 0) {
        for (let k = 0; k < n; k++) {
          const hk = hPrev[k];
          const row = k * g4;
          for (let j = 0; j < g4; j++) z[j] += hk * u[row + j];
        }
      }
      for (let k = 0; k < n; k++) {
        const i = 1 / (1 + Math.exp(-z[k]));
        const f = 1 / (1 + Math.exp(-z[n + k]));
        const g = Math.tanh(z[2 * n + k]);
        const o = 1 / (1 + Math.exp(-z[3 * n + k]));
        const ct = f * cPrev[k] + i * g;
        const ht = o * Math.tanh(ct);
        cPrev[k] = ct;
        hPrev[k] = ht;
        c[hBase + k] = ct;
        h[hBase + k] = ht;
        gates[gBase + k] = i;
        gates[gBase + n + k] = f;
        gates[gBase + 2 * n + k] = g;
        gates[gBase + 3 * n + k] = o;
      }
    }
  }
  return { h, c, gates };
}

/** The backward pass's inputs: the forward arrays, what it kept, and dL/dh for every step. */
export interface LstmBackwardArrays extends LstmForwardArrays, LstmForwardResult {
  /** [batch, steps, units] gradient of the loss with respect to h_t. */
  dh: Float32Array;
}

/** Gradients of the loss with respect to the kernel's two inputs. */
export interface LstmBackwardResult {
  /** [batch, steps, 4·units] dL/dxw (the pre-activation gate gradients). */
  dxw: Float32Array;
  /** [units, 4·units] dL/dU. */
  dRecurrentKernel: Float32Array;
}

/** Backpropagation through time in plain JavaScript. */
export function lstmBackwardJs(a: LstmBackwardArrays): LstmBackwardResult {
  const { recurrentKernel: u, batch, steps, units: n, h, c, gates, dh } = a;
  const g4 = 4 * n;
  const dxw = new Float32Array(batch * steps * g4);
  const dU = new Float64Array(n * g4);
  const dhNext = new Float64Array(n);
  const dcNext = new Float64Array(n);
  const dz = new Float64Array(g4);
  for (let b = 0; b < batch; b++) {
    dhNext.fill(0);
    dcNext.fill(0);
    for (let t = steps - 1; t >= 0; t--) {
      const gBase = (b * steps + t) * g4;
      const hBase = (b * steps + t) * n;
      for (let k = 0; k < n; k++) {
        const i = gates[gBase + k];
        const f = gates[gBase + n + k];
        const g = gates[gBase + 2 * n + k];
        const o = gates[gBase + 3 * n + k];
        const tc = Math.tanh(c[hBase + k]);
        const dht = dh[hBase + k] + dhNext[k];
        const dct = dcNext[k] + dht * o * (1 - tc * tc);
        const cp = t > 0 ? c[hBase - n + k] : 0;
        dz[k] = dct * g * i * (1 - i);
        dz[n + k] = dct * cp * f * (1 - f);
        dz[2 * n + k] = dct * i * (1 - g * g);
        dz[3 * n + k] = dht * tc * o * (1 - o);
        dcNext[k] = dct * f;
      }
      for (let j = 0; j < g4; j++) dxw[gBase + j] = dz[j];
      for (let k = 0; k < n; k++) {
        const row = k * g4;
        let s = 0;
        for (let j = 0; j < g4; j++) s += u[row + j] * dz[j];
        dhNext[k] = s;
        if (t > 0) {
          const hp = h[hBase - n + k];
          for (let j = 0; j < g4; j++) dU[row + j] += hp * dz[j];
        }
      }
    }
  }
  return { dxw, dRecurrentKernel: Float32Array.from(dU) };
}

function dims(xw: KernelArray, u: KernelArray): { batch: number; steps: number; units: number } {
  if (xw.shape.length !== 3) throw new Error(`${LSTM_SEQUENCE}: xw must be [batch, steps, 4·units] (got [${xw.shape}])`);
  const [batch, steps, g4] = xw.shape;
  const units = u.shape[0];
  if (u.shape.length !== 2 || u.shape[1] !== 4 * units || g4 !== 4 * units) {
    throw new Error(`${LSTM_SEQUENCE}: recurrentKernel must be [units, 4·units] matching xw's last axis ${g4} (got [${u.shape}])`);
  }
  return { batch, steps, units };
}

const f32 = (values: Float32Array | Int32Array, name: string): Float32Array => {
  if (!(values instanceof Float32Array)) throw new Error(`${LSTM_SEQUENCE}: ${name} must be float32`);
  return values;
};

defineJsKernel({
  kernelName: LSTM_SEQUENCE,
  backends: '*',
  inputs: ['xw', 'recurrentKernel'],
  compute({ xw, recurrentKernel }) {
    const d = dims(xw, recurrentKernel);
    const arrays = { ...d, xw: f32(xw.values, 'xw'), recurrentKernel: f32(recurrentKernel.values, 'recurrentKernel') };
    const r = getLstmEngine() === 'wasm-simd' ? lstmWasmForward(arrays) : lstmForwardJs(arrays);
    const hShape = [d.batch, d.steps, d.units];
    return [
      { shape: hShape, dtype: 'float32', values: r.h },
      { shape: hShape.slice(), dtype: 'float32', values: r.c },
      { shape: xw.shape.slice(), dtype: 'float32', values: r.gates },
    ];
  },
});

defineJsKernel({
  kernelName: LSTM_SEQUENCE_GRAD,
  backends: '*',
  inputs: ['dh', 'recurrentKernel', 'h', 'c', 'gates'],
  compute({ dh, recurrentKernel, h, c, gates }) {
    const d = dims(gates, recurrentKernel);
    const arrays: LstmBackwardArrays = {
      ...d,
      xw: new Float32Array(0),
      recurrentKernel: f32(recurrentKernel.values, 'recurrentKernel'),
      h: f32(h.values, 'h'),
      c: f32(c.values, 'c'),
      gates: f32(gates.values, 'gates'),
      dh: f32(dh.values, 'dh'),
    };
    const r = getLstmEngine() === 'wasm-simd' ? lstmWasmBackward(arrays) : lstmBackwardJs(arrays);
    return [
      { shape: gates.shape.slice(), dtype: 'float32', values: r.dxw },
      { shape: recurrentKernel.shape.slice(), dtype: 'float32', values: r.dRecurrentKernel },
    ];
  },
});

const recurrence = tf.customGrad(((xw: tf.Tensor3D, recurrentKernel: tf.Tensor2D, save: tf.GradSaveFunc) => {
  const [h, c, gates] = tf.engine().runKernel(LSTM_SEQUENCE, { xw, recurrentKernel }, {}) as tf.Tensor[];
  save([recurrentKernel, h, c, gates]);
  return {
    value: h,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [u, hs, cs, gs] = saved;
      return tf.engine().runKernel(LSTM_SEQUENCE_GRAD, { dh: dy, recurrentKernel: u, h: hs, c: cs, gates: gs }, {}) as tf.Tensor[];
    },
  };
}) as unknown as (...args: tf.Tensor[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] });

/**
 * The LSTM recurrence over all steps (zero initial state) given the projected inputs
 * `xw = x·W + b` ([batch, steps, 4·units]) and the recurrent kernel U ([units, 4·units]);
 * returns every hidden state, [batch, steps, units]. Differentiable in both arguments.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function lstmRecurrence(xw: tf.Tensor3D, recurrentKernel: tf.Tensor2D): tf.Tensor3D {
  if (xw.rank !== 3) throw new Error(`lstmRecurrence: xw must be [batch, steps, 4·units] (got [${xw.shape}])`);
  if (recurrentKernel.rank !== 2 || recurrentKernel.shape[1] !== 4 * recurrentKernel.shape[0] || xw.shape[2] !== recurrentKernel.shape[1]) {
    throw new Error(`lstmRecurrence: recurrentKernel must be [units, 4·units] with 4·units = ${xw.shape[2]} (got [${recurrentKernel.shape}])`);
  }
  return recurrence(xw, recurrentKernel) as tf.Tensor3D;
}

/**
 * A whole LSTM layer: `x` [batch, steps, features], kernel W [features, 4·units], recurrent
 * kernel U [units, 4·units], bias [4·units] → hidden states [batch, steps, units].
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function lstmSequence(x: tf.Tensor3D, kernel: tf.Tensor2D, recurrentKernel: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch, steps, features] = x.shape;
    if (kernel.shape[0] !== features) throw new Error(`lstmSequence: kernel must be [${features}, 4·units] for ${features} input features (got [${kernel.shape}])`);
    const g4 = kernel.shape[1];
    // one matMul for all steps: [batch·steps, features]·[features, 4·units]
    const xw = tf.add(tf.matMul(tf.reshape(x, [batch * steps, features]), kernel), bias).reshape([batch, steps, g4]) as tf.Tensor3D;
    return lstmRecurrence(xw, recurrentKernel);
  });
}
