/**
 * A fused LSTM layer: all time steps in one kernel, forward and backward.
 *
 * tfjs-layers' LSTM runs a dozen small ops per time step (matMul, add, four activations, slices,
 * products), so 196 pixel steps × 3 layers dispatch thousands of kernels per training step and the
 * step time goes to dispatch. Here one kernel runs the whole layer, one sample at a time (its
 * state stays in a few locals, the weights in the L1 cache), and the backward kernel recomputes a
 * sample's gates before backpropagating through it: only x and the weights are kept for the
 * gradient, since on wasm every kept tensor is copied.
 *
 * Gates follow Keras: the 4·units columns are [i, f, c, o]; i, f, o use the sigmoid
 * (Keras's recurrent_activation='sigmoid'), the candidate c and the output use tanh.
 */
import * as tf from '@tensorflow/tfjs';
import { EngineSwitch, FusedEngine } from './engine';
import { type JsKernel, type KernelArray, requireKernel } from './registry';
import {
  type LstmBackwardArrays,
  type LstmBackwardResult,
  type LstmForwardArrays,
  lstmWasmAvailable,
  lstmWasmBackward,
  lstmWasmForward,
  lstmWasmSupports,
} from './lstm-wasm';

export type { LstmBackwardArrays, LstmBackwardResult, LstmForwardArrays } from './lstm-wasm';

/**
 * Kernel names: JS versions for every backend but webgpu (lstmForwardKernel, lstmBackwardKernel),
 * WGSL ones there (lib/kernels/lstm-webgpu.ts), registered by lib/kernels/all.ts.
 */
export const LSTM_SEQUENCE = 'SeqmnistLstmSequence';
export const LSTM_SEQUENCE_GRAD = 'SeqmnistLstmSequenceGrad';

/**
 * Which implementation runs the recurrence: WebAssembly SIMD where the runtime has it (for units a
 * multiple of 4 up to 32), else plain JS.
 */
export type LstmEngine = FusedEngine;

const engine = new EngineSwitch('LSTM', lstmWasmAvailable);

/**
 * Picks the implementation of the fused recurrence ('wasm-simd' by default where available, 'js'
 * otherwise). Both are tested against tfjs-layers' LSTM.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function setLstmEngine(name: LstmEngine): void {
  engine.set(name);
}

/** The implementation in use. */
export function getLstmEngine(): LstmEngine {
  return engine.get();
}

const useWasm = (units: number, features: number): boolean =>
  getLstmEngine() === 'wasm-simd' && lstmWasmSupports(units, features);

/**
 * One sample's forward pass in plain JavaScript: fills h [steps, units] (at `hAt`), gates
 * [steps, 4·units] (activated i, f, g, o) and c [steps, units] from x [steps, features] at `xAt`.
 */
function sampleForwardJs(
  a: LstmForwardArrays,
  xAt: number,
  h: Float32Array,
  hAt: number,
  gates: Float32Array,
  c: Float32Array,
): void {
  const { x, kernel: w, recurrentKernel: u, bias, steps, features, units: n } = a;
  const g4 = 4 * n;
  const z = new Float64Array(g4);
  for (let t = 0; t < steps; t++) {
    for (let j = 0; j < g4; j++) z[j] = bias[j];
    for (let k = 0; k < features; k++) {
      const xk = x[xAt + t * features + k];
      for (let j = 0; j < g4; j++) z[j] += xk * w[k * g4 + j];
    }
    if (t > 0) {
      for (let k = 0; k < n; k++) {
        const hk = h[hAt + (t - 1) * n + k];
        for (let j = 0; j < g4; j++) z[j] += hk * u[k * g4 + j];
      }
    }
    for (let k = 0; k < n; k++) {
      const i = 1 / (1 + Math.exp(-z[k]));
      const f = 1 / (1 + Math.exp(-z[n + k]));
      const g = Math.tanh(z[2 * n + k]);
      const o = 1 / (1 + Math.exp(-z[3 * n + k]));
      const ct = f * (t > 0 ? c[(t - 1) * n + k] : 0) + i * g;
      c[t * n + k] = ct;
      h[hAt + t * n + k] = o * Math.tanh(ct);
      gates[t * g4 + k] = i;
      gates[t * g4 + n + k] = f;
      gates[t * g4 + 2 * n + k] = g;
      gates[t * g4 + 3 * n + k] = o;
    }
  }
}

/** The forward pass in plain JavaScript (reference and fallback of the WebAssembly version): h [batch, steps, units]. */
export function lstmForwardJs(a: LstmForwardArrays): Float32Array {
  const { batch, steps, features, units: n } = a;
  const h = new Float32Array(batch * steps * n);
  const gates = new Float32Array(steps * 4 * n);
  const c = new Float32Array(steps * n);
  for (let b = 0; b < batch; b++) sampleForwardJs(a, b * steps * features, h, b * steps * n, gates, c);
  return h;
}

/** Backpropagation through time in plain JavaScript; each sample's forward pass is recomputed first. */
export function lstmBackwardJs(a: LstmBackwardArrays): LstmBackwardResult {
  const { x, kernel: w, recurrentKernel: u, batch, steps, features, units: n, dh } = a;
  const g4 = 4 * n;
  const dx = new Float32Array(batch * steps * features);
  const dW = new Float64Array(features * g4);
  const dU = new Float64Array(n * g4);
  const db = new Float64Array(g4);
  const h = new Float32Array(steps * n);
  const gates = new Float32Array(steps * g4);
  const c = new Float32Array(steps * n);
  const dhNext = new Float64Array(n);
  const dcNext = new Float64Array(n);
  const dz = new Float64Array(g4);
  for (let b = 0; b < batch; b++) {
    const xAt = b * steps * features;
    sampleForwardJs(a, xAt, h, 0, gates, c);
    dhNext.fill(0);
    dcNext.fill(0);
    for (let t = steps - 1; t >= 0; t--) {
      const gAt = t * g4;
      for (let k = 0; k < n; k++) {
        const i = gates[gAt + k];
        const f = gates[gAt + n + k];
        const g = gates[gAt + 2 * n + k];
        const o = gates[gAt + 3 * n + k];
        const tc = Math.tanh(c[t * n + k]);
        const dht = dh[(b * steps + t) * n + k] + dhNext[k];
        const dct = dcNext[k] + dht * o * (1 - tc * tc);
        const cp = t > 0 ? c[(t - 1) * n + k] : 0;
        dz[k] = dct * g * i * (1 - i);
        dz[n + k] = dct * cp * f * (1 - f);
        dz[2 * n + k] = dct * i * (1 - g * g);
        dz[3 * n + k] = dht * tc * o * (1 - o);
        dcNext[k] = dct * f;
      }
      for (let j = 0; j < g4; j++) db[j] += dz[j];
      for (let k = 0; k < features; k++) {
        const xk = x[xAt + t * features + k];
        let s = 0;
        for (let j = 0; j < g4; j++) {
          s += w[k * g4 + j] * dz[j];
          dW[k * g4 + j] += xk * dz[j];
        }
        dx[xAt + t * features + k] = s;
      }
      for (let k = 0; k < n; k++) {
        let s = 0;
        for (let j = 0; j < g4; j++) s += u[k * g4 + j] * dz[j];
        dhNext[k] = s;
        if (t > 0) {
          const hp = h[(t - 1) * n + k];
          for (let j = 0; j < g4; j++) dU[k * g4 + j] += hp * dz[j];
        }
      }
    }
  }
  return { dx, dKernel: Float32Array.from(dW), dRecurrentKernel: Float32Array.from(dU), dBias: Float32Array.from(db) };
}

function layerArrays(x: KernelArray, w: KernelArray, u: KernelArray, b: KernelArray): LstmForwardArrays {
  if (x.shape.length !== 3) throw new Error(`${LSTM_SEQUENCE}: x must be [batch, steps, features] (got [${x.shape}])`);
  const [batch, steps, features] = x.shape;
  const units = u.shape[0];
  const g4 = 4 * units;
  const ok =
    w.shape.length === 2 &&
    w.shape[0] === features &&
    w.shape[1] === g4 &&
    u.shape.length === 2 &&
    u.shape[1] === g4 &&
    b.shape.length === 1 &&
    b.shape[0] === g4;
  if (!ok) {
    throw new Error(
      `${LSTM_SEQUENCE}: expected kernel [${features}, 4·units], recurrentKernel [units, 4·units], bias [4·units] (got [${w.shape}], [${u.shape}], [${b.shape}])`,
    );
  }
  const f32 = (a: KernelArray, name: string): Float32Array => {
    if (!(a.values instanceof Float32Array))
      throw new Error(`${LSTM_SEQUENCE}: ${name} must be float32 (got ${a.dtype})`);
    return a.values;
  };
  return {
    batch,
    steps,
    features,
    units,
    x: f32(x, 'x'),
    kernel: f32(w, 'kernel'),
    recurrentKernel: f32(u, 'recurrentKernel'),
    bias: f32(b, 'bias'),
  };
}

// wasm's makeOutput copies kernel outputs into its heap, so views of our module's memory do there
const outputsAreCopied = () => tf.getBackend() === 'wasm';

/** LSTM_SEQUENCE in JS (the wasm-SIMD or plain JS engine), for every backend that takes JS kernels. */
export const lstmForwardKernel: JsKernel = {
  kernelName: LSTM_SEQUENCE,
  backends: '*',
  inputs: ['x', 'kernel', 'recurrentKernel', 'bias'],
  compute({ x, kernel, recurrentKernel, bias }) {
    const a = layerArrays(x, kernel, recurrentKernel, bias);
    const h = useWasm(a.units, a.features) ? lstmWasmForward(a, !outputsAreCopied()) : lstmForwardJs(a);
    return { shape: [a.batch, a.steps, a.units], dtype: 'float32', values: h };
  },
};

/** LSTM_SEQUENCE_GRAD in JS: the gradients of x, kernel, recurrent kernel and bias. */
export const lstmBackwardKernel: JsKernel = {
  kernelName: LSTM_SEQUENCE_GRAD,
  backends: '*',
  inputs: ['dh', 'x', 'kernel', 'recurrentKernel', 'bias'],
  compute({ dh, x, kernel, recurrentKernel, bias }) {
    const a = layerArrays(x, kernel, recurrentKernel, bias);
    if (dh.shape.join() !== [a.batch, a.steps, a.units].join() || !(dh.values instanceof Float32Array)) {
      throw new Error(
        `${LSTM_SEQUENCE_GRAD}: dh must be float32 [${a.batch}, ${a.steps}, ${a.units}] (got ${dh.dtype} [${dh.shape}])`,
      );
    }
    const args = { ...a, dh: dh.values };
    const r = useWasm(a.units, a.features) ? lstmWasmBackward(args, !outputsAreCopied()) : lstmBackwardJs(args);
    return [
      { shape: x.shape.slice(), dtype: 'float32', values: r.dx },
      { shape: kernel.shape.slice(), dtype: 'float32', values: r.dKernel },
      { shape: recurrentKernel.shape.slice(), dtype: 'float32', values: r.dRecurrentKernel },
      { shape: bias.shape.slice(), dtype: 'float32', values: r.dBias },
    ];
  },
};

const fused = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, kernel, recurrentKernel, bias, save] = args as [
    tf.Tensor3D,
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor1D,
    tf.GradSaveFunc,
  ];
  const h = tf.engine().runKernel(LSTM_SEQUENCE, { x, kernel, recurrentKernel, bias }, {}) as tf.Tensor;
  save([x, kernel, recurrentKernel, bias]);
  return {
    value: h,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, w, u, b] = saved;
      return tf
        .engine()
        .runKernel(LSTM_SEQUENCE_GRAD, { dh: dy, x: xs, kernel: w, recurrentKernel: u, bias: b }, {}) as tf.Tensor[];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]);

/**
 * A whole LSTM layer over all steps in one kernel (zero initial state): `x` [batch, steps,
 * features], kernel W [features, 4·units], recurrent kernel U [units, 4·units], bias [4·units]
 * → hidden states [batch, steps, units]. Differentiable in all four.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function lstmSequence(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrentKernel: tf.Tensor2D,
  bias: tf.Tensor1D,
): tf.Tensor3D {
  if (x.rank !== 3) throw new Error(`lstmSequence: x must be [batch, steps, features] (got [${x.shape}])`);
  const features = x.shape[2];
  if (kernel.rank !== 2 || kernel.shape[0] !== features) {
    throw new Error(
      `lstmSequence: kernel must be [${features}, 4·units] for ${features} input features (got [${kernel.shape}])`,
    );
  }
  const g4 = kernel.shape[1];
  if (recurrentKernel.rank !== 2 || recurrentKernel.shape[1] !== g4 || 4 * recurrentKernel.shape[0] !== g4) {
    throw new Error(
      `lstmSequence: recurrentKernel must be [units, 4·units] with 4·units = ${g4} (got [${recurrentKernel.shape}])`,
    );
  }
  if (bias.rank !== 1 || bias.shape[0] !== g4)
    throw new Error(`lstmSequence: bias must be [${g4}] (got [${bias.shape}])`);
  requireKernel(LSTM_SEQUENCE);
  return fused(x, kernel, recurrentKernel, bias) as tf.Tensor3D;
}
