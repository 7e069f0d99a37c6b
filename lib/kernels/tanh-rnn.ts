/**
 * A fused tanh RNN recurrence, h_t = tanh(z_t + h_{t−1}·U) with h_{−1} = 0, over all steps in one
 * kernel: the hidden cell of the LMU walkthroughs (Keras's SimpleRNNCell) once its inputs' share
 * z_t = x_t·W + b has been computed for all steps at once. tfjs would otherwise dispatch a matMul,
 * an add and a tanh per step (tfjs-wasm's tanh alone is ~0.6 ms on [100, 212]), 784 times forward
 * and more backward.
 *
 * Forward keeps nothing but h; backward takes dh (the loss's gradient w.r.t. every h_t) and
 * returns dz and dU = Σ_t h_{t−1}ᵀ dz_t.
 */
import * as tf from '@tensorflow/tfjs';
import { defineJsKernel, KernelArray } from './index';
import { tanhRnnWasm, tanhRnnWasmAvailable, tanhRnnWasmSupports } from './tanh-rnn-wasm';

/** Kernel names (registered for every backend). */
export const TANH_RNN = 'SeqmnistTanhRnn';
export const TANH_RNN_GRAD = 'SeqmnistTanhRnnGrad';

/** Which implementation runs the recurrence: WebAssembly SIMD (units a multiple of 4) or plain JS. */
export type TanhRnnEngine = 'wasm-simd' | 'js';

let engine: TanhRnnEngine | undefined;

/**
 * Picks the implementation of the fused recurrence ('wasm-simd' by default where available, 'js'
 * otherwise). Both are tested against the composition of tfjs ops.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function setTanhRnnEngine(name: TanhRnnEngine): void {
  if (name !== 'wasm-simd' && name !== 'js') throw new Error(`tanh RNN engine must be 'wasm-simd' or 'js' (got '${name}')`);
  if (name === 'wasm-simd' && !tanhRnnWasmAvailable()) throw new Error('tanh RNN engine wasm-simd is not available here (WebAssembly SIMD missing)');
  engine = name;
}

/** The implementation in use. */
export function getTanhRnnEngine(): TanhRnnEngine {
  return (engine ??= tanhRnnWasmAvailable() ? 'wasm-simd' : 'js');
}

const useWasm = (units: number) => getTanhRnnEngine() === 'wasm-simd' && tanhRnnWasmSupports(units);

/** h [batch, steps, units] = the recurrence over z [batch, steps, units] with U [units, units], in plain JS. */
export function tanhRnnForwardJs(z: Float32Array, u: Float32Array, batch: number, steps: number, units: number): Float32Array {
  const n = units;
  const h = new Float32Array(batch * steps * n);
  const acc = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      const at = (b * steps + t) * n;
      for (let j = 0; j < n; j++) acc[j] = z[at + j];
      if (t > 0) {
        const prev = at - n;
        for (let k = 0; k < n; k++) {
          const hk = h[prev + k];
          const row = k * n;
          for (let j = 0; j < n; j++) acc[j] += hk * u[row + j];
        }
      }
      for (let j = 0; j < n; j++) h[at + j] = Math.tanh(acc[j]);
    }
  }
  return h;
}

/** dz and dU of the recurrence from dh, h and U, in plain JS. */
export function tanhRnnBackwardJs(dh: Float32Array, h: Float32Array, u: Float32Array, batch: number, steps: number, units: number): { dz: Float32Array; dU: Float32Array } {
  const n = units;
  const dz = new Float32Array(batch * steps * n);
  const dU = new Float64Array(n * n);
  const carry = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    carry.fill(0);
    for (let t = steps - 1; t >= 0; t--) {
      const at = (b * steps + t) * n;
      for (let j = 0; j < n; j++) {
        const hj = h[at + j];
        dz[at + j] = (dh[at + j] + carry[j]) * (1 - hj * hj);
      }
      carry.fill(0);
      if (t === 0) continue;
      const prev = at - n;
      for (let k = 0; k < n; k++) {
        let s = 0;
        const row = k * n;
        const hk = h[prev + k];
        for (let j = 0; j < n; j++) {
          s += u[row + j] * dz[at + j];
          dU[row + j] += hk * dz[at + j];
        }
        carry[k] = s;
      }
    }
  }
  return { dz, dU: Float32Array.from(dU) };
}

function shapes(z: KernelArray, u: KernelArray, kernel: string): [number, number, number] {
  if (z.shape.length !== 3) throw new Error(`${kernel}: z must be [batch, steps, units] (got [${z.shape}])`);
  const [batch, steps, units] = z.shape;
  if (u.shape.length !== 2 || u.shape[0] !== units || u.shape[1] !== units) {
    throw new Error(`${kernel}: recurrentKernel must be [${units}, ${units}] (got [${u.shape}])`);
  }
  if (!(z.values instanceof Float32Array) || !(u.values instanceof Float32Array)) throw new Error(`${kernel}: inputs must be float32`);
  return [batch, steps, units];
}

// wasm's makeOutput copies kernel outputs into its heap, so views of our module's memory do there
const outputsAreCopied = () => tf.getBackend() === 'wasm';

defineJsKernel({
  kernelName: TANH_RNN,
  backends: '*',
  inputs: ['z', 'recurrentKernel'],
  compute({ z, recurrentKernel }) {
    const [batch, steps, units] = shapes(z, recurrentKernel, TANH_RNN);
    const zv = z.values as Float32Array;
    const uv = recurrentKernel.values as Float32Array;
    const h = useWasm(units) ? tanhRnnWasm(units, steps).forward(zv, uv, batch, outputsAreCopied()) : tanhRnnForwardJs(zv, uv, batch, steps, units);
    return { shape: [batch, steps, units], dtype: 'float32', values: h };
  },
});

defineJsKernel({
  kernelName: TANH_RNN_GRAD,
  backends: '*',
  inputs: ['dh', 'h', 'recurrentKernel'],
  compute({ dh, h, recurrentKernel }) {
    const [batch, steps, units] = shapes(h, recurrentKernel, TANH_RNN_GRAD);
    if (dh.shape.join() !== h.shape.join() || !(dh.values instanceof Float32Array)) {
      throw new Error(`${TANH_RNN_GRAD}: dh must be float32 [${h.shape}] (got ${dh.dtype} [${dh.shape}])`);
    }
    const args = [dh.values, h.values as Float32Array, recurrentKernel.values as Float32Array, batch] as const;
    const r = useWasm(units) ? tanhRnnWasm(units, steps).backward(...args, outputsAreCopied()) : tanhRnnBackwardJs(...args, steps, units);
    return [
      { shape: [batch, steps, units], dtype: 'float32', values: r.dz },
      { shape: [units, units], dtype: 'float32', values: r.dU },
    ];
  },
});

const fused = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [z, recurrentKernel, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.GradSaveFunc];
  const h = tf.engine().runKernel(TANH_RNN, { z, recurrentKernel }, {}) as tf.Tensor3D;
  save([h, recurrentKernel]);
  return {
    value: h,
    gradFunc: (dh: tf.Tensor, saved: tf.Tensor[]) => {
      const [hs, u] = saved;
      return tf.engine().runKernel(TANH_RNN_GRAD, { dh, h: hs, recurrentKernel: u }, {}) as tf.Tensor[];
    },
  };
}) as Parameters<typeof tf.customGrad>[0]);

/**
 * The tanh RNN recurrence over all steps in one kernel: h_t = tanh(z_t + h_{t−1}·U), h_{−1} = 0,
 * for z [batch, steps, units] (the inputs' share, bias included) and the recurrent kernel U
 * [units, units] → h [batch, steps, units]. Differentiable in both.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function tanhRnnSequence(z: tf.Tensor3D, recurrentKernel: tf.Tensor2D): tf.Tensor3D {
  if (z.rank !== 3) throw new Error(`tanhRnnSequence: z must be [batch, steps, units] (got [${z.shape}])`);
  const units = z.shape[2];
  if (recurrentKernel.rank !== 2 || recurrentKernel.shape[0] !== units || recurrentKernel.shape[1] !== units) {
    throw new Error(`tanhRnnSequence: recurrentKernel must be [${units}, ${units}] for ${units} units (got [${recurrentKernel.shape}])`);
  }
  return fused(z, recurrentKernel) as tf.Tensor3D;
}
