/**
 * How the LMU layers (lib/models/lmu-layer.ts, lib/models/nengo-lmu.ts) compute their memory and
 * hidden states. Two ways, tested equal:
 * - the recurrence, step by step (needed when the hidden state or the memory feeds the memory);
 * - in parallel, as KerasLMU's LMUFeedforward does when neither does: the memory is linear in the
 *   input, m_t = Σ_s H[t−s] u_s with the impulse response H[τ] = Āᵗ B̄, so the hidden cell's
 *   memory term W_mᵀ m_t for all steps is one causal convolution of u with the kernels
 *   K[τ] = W_mᵀ H[τ]. KerasLMU convolves by FFT, which tfjs-wasm lacks; here the sequence is cut
 *   into chunks of L steps and the convolution is one matMul, [B·T/L, order + L] × [order + L,
 *   L·units]: each row holds the memory state before its chunk and the chunk's L inputs, and the
 *   columns hold, for each step of a chunk, the state's and the inputs' share (Āⁱ⁺¹ and H folded
 *   with W_m). ~order·units multiply-adds per step and sample, and the memory itself (B·T·order
 *   floats) is never formed. Only the hidden recurrence then runs step by step, in the fused
 *   kernel of lib/kernels/tanh-rnn.ts.
 *
 * With one input feature and one memory dimension (the walkthroughs), u = e·x with a scalar
 * encoder e, so the convolution is applied to x and scaled by e: the encoder's gradient is then a
 * dot product with the convolution, and no gradient flows back through the convolution to u.
 */
import * as tf from '@tensorflow/tfjs';
import { matMulFastGrad } from '../kernels/matmul';
import { linearScan, tanhRnnSequence } from '../kernels/tanh-rnn';
import { activeGradientTape, isOnGradientTape } from '../tfjs-internals';
import {
  lmuImpulseResponse,
  lmuStateSpace,
  LmuDiscretizer,
  LmuStateSpace,
  matrixMultiply,
  matrixPower,
} from './lmu-math';

/** How a layer is computed: 'auto' picks 'parallel' whenever it applies (KerasLMU's choice). */
export type LmuImplementation = 'auto' | 'recurrent' | 'parallel';

/** `value` as an implementation, else an error listing them. */
export function checkImplementation(value: unknown): LmuImplementation {
  if (value !== 'auto' && value !== 'recurrent' && value !== 'parallel') {
    throw new Error(`implementation must be 'auto', 'recurrent' or 'parallel' (got ${JSON.stringify(value)})`);
  }
  return value;
}

// ---- layer inputs ------------------------------------------------------------------------------

/** The [batch, time, features] shape of a layer input, or a clear error. */
export function sequenceShape(layer: string, inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  if (shape.length !== 3)
    throw new Error(
      `${layer} expects input [batch, time, features] (got [${shape.map((d) => d ?? 'null').join(', ')}])`,
    );
  if (shape[2] == null)
    throw new Error(`${layer} needs a known number of input features (the last input axis is null)`);
  return shape;
}

/** The [batch, time, features] float32 input of a layer built for `features` features, or a clear error. */
export function sequenceInput(layer: string, inputs: tf.Tensor | tf.Tensor[], features: number): tf.Tensor3D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x.rank !== 3) throw new Error(`${layer} expects input [batch, time, features] (got [${x.shape.join(', ')}])`);
  if (x.shape[2] !== features)
    throw new Error(`${layer} was built for ${features} input features (got input [${x.shape.join(', ')}])`);
  if (x.dtype !== 'float32') throw new Error(`${layer} expects float32 input (got ${x.dtype})`);
  return x as tf.Tensor3D;
}

/**
 * True when no gradient can flow back to `x`: not a variable, and not the output of an op
 * recorded for the gradient being computed (or none is). The walkthroughs' LMU reads the model's
 * input, so the gradient w.r.t. its input is never needed there.
 */
function isData(x: tf.Tensor): boolean {
  if (!activeGradientTape()) return true;
  if (x instanceof tf.Variable) return false;
  return !isOnGradientTape(x);
}

// ---- the chunked convolution -------------------------------------------------------------------

/** Steps per chunk: the convolution's inner dimension is order + L, its output columns L·units. */
export const LMU_CHUNK = 16;

/** Float32 constants of the chunked convolution for one system and chunk length. */
export interface ChunkConstants {
  order: number;
  chunk: number;
  /** Φ [L, order + L, order]: for step i of a chunk, rows (Āⁱ⁺¹)ᵀ, then H[i−j]ᵀ for inputs j ≤ i. */
  phi: Float32Array;
  /** [L, order]: row j is H[L−1−j], the share of the chunk's input j in the state after it. */
  toState: Float32Array;
  /** (Āᴸ)ᵀ [order, order]: carries the state over a chunk. */
  carryT: Float32Array;
  /** Ā and B̄ as float32, for the recurrence. */
  aT: Float32Array;
  b: Float32Array;
  system: LmuStateSpace;
  /** H[T−1−s] for s < T, [T, order], by T. */
  reversed: Map<number, Float32Array>;
}

const chunkCache = new Map<string, ChunkConstants>();

/** The constants for one system and chunk length, computed once and cached. */
export function chunkConstants(
  order: number,
  theta: number,
  discretizer: LmuDiscretizer,
  chunk = LMU_CHUNK,
): ChunkConstants {
  const key = `${order}/${theta}/${discretizer}/${chunk}`;
  const hit = chunkCache.get(key);
  if (hit) return hit;
  const system = lmuStateSpace(order, theta, discretizer);
  const { A } = system;
  const L = chunk;
  const H = lmuImpulseResponse(system, L); // [L, order]
  const rows = order + L;
  const phi = new Float32Array(L * rows * order);
  let power = A; // Āⁱ⁺¹
  for (let i = 0; i < L; i++) {
    const base = i * rows * order;
    for (let r = 0; r < order; r++) for (let c = 0; c < order; c++) phi[base + r * order + c] = power[c * order + r];
    for (let j = 0; j <= i; j++) phi.set(H.subarray((i - j) * order, (i - j + 1) * order), base + (order + j) * order);
    if (i < L - 1) power = matrixMultiply(A, power, order);
  }
  const toState = new Float32Array(L * order);
  for (let j = 0; j < L; j++) toState.set(H.subarray((L - 1 - j) * order, (L - j) * order), j * order);
  const carry = matrixPower(A, order, L);
  const carryT = new Float32Array(order * order);
  const aT = new Float32Array(order * order);
  for (let r = 0; r < order; r++) {
    for (let c = 0; c < order; c++) {
      carryT[r * order + c] = carry[c * order + r];
      aT[r * order + c] = A[c * order + r];
    }
  }
  const constants = {
    order,
    chunk: L,
    phi,
    toState,
    carryT,
    aT,
    b: Float32Array.from(system.B),
    system,
    reversed: new Map<number, Float32Array>(),
  };
  chunkCache.set(key, constants);
  return constants;
}

/**
 * The causal convolution y_t = Σ_streams Σ_{s≤t} W_jᵀ H[t−s] u_{s,j}, chunked (see the file's
 * comment): u [batch, time, streams], W [streams·order, units] → [batch, time, units]. Plain tfjs
 * ops with fast-gradient products, differentiable in both (tfjs asks only for the gradients on its
 * path: none flows back through the convolution when u is data).
 */
export function chunkedConvolution(u: tf.Tensor3D, w: tf.Tensor2D, k: ChunkConstants): tf.Tensor3D {
  return tf.tidy((): tf.Tensor3D => {
    const [batch, steps, q] = u.shape;
    const { order, chunk: L } = k;
    const n = w.shape[1];
    const chunks = Math.ceil(steps / L);
    const padded = chunks * L;
    const rows = order + L;
    const bq = batch * q;
    let us: tf.Tensor2D = q === 1 ? tf.reshape(u, [batch, steps]) : tf.reshape(tf.transpose(u, [0, 2, 1]), [bq, steps]); // [B·q, T]
    if (padded > steps)
      us = tf.pad(us, [
        [0, 0],
        [0, padded - steps],
      ]);
    const inputs = tf.reshape(us, [bq, chunks, L]); // [B·q, C, L]
    // the state before each chunk: S_0 = 0, S_{c+1} = S_c (Āᴸ)ᵀ + G_c with G_c = Σ_j u_j H[L−1−j]
    const gains = matMulFastGrad(
      tf.reshape(inputs, [bq * chunks, L]) as tf.Tensor2D,
      tf.tensor2d(k.toState, [L, order]),
    ); // [B·q·C, order]
    const carryT = tf.tensor2d(k.carryT, [order, order]);
    let before: tf.Tensor3D;
    if (isData(u)) {
      before = linearScan(tf.reshape(gains, [bq, chunks, order]) as tf.Tensor3D, carryT); // one kernel
    } else {
      // differentiable: chunk-major, so that each chunk's rows are contiguous
      const byChunk = tf.reshape(tf.transpose(tf.reshape(gains, [bq, chunks, order]), [1, 0, 2]), [chunks * bq, order]);
      const states: tf.Tensor2D[] = [tf.zeros([bq, order])];
      for (let c = 0; c + 1 < chunks; c++)
        states.push(tf.add(matMulFastGrad(states[c], carryT), tf.slice(byChunk, [c * bq, 0], [bq, order])));
      before = tf.transpose(tf.reshape(tf.concat(states, 0), [chunks, bq, order]), [1, 0, 2]) as tf.Tensor3D; // [B·q, C, order]
    }
    let x = tf.concat([before, inputs], 2); // [B·q, C, order + L]
    x =
      q === 1
        ? tf.reshape(x, [batch * chunks, rows])
        : tf.reshape(tf.transpose(tf.reshape(x, [batch, q, chunks, rows]), [0, 2, 1, 3]), [batch * chunks, q * rows]);
    // the kernel: for stream j and step i, Φ_i W_j
    const wq = q === 1 ? w : tf.reshape(tf.transpose(tf.reshape(w, [q, order, n]), [1, 0, 2]), [order, q * n]); // [order, q·n]
    let kernel: tf.Tensor = matMulFastGrad(tf.tensor2d(k.phi, [L * rows, order]), wq as tf.Tensor2D); // [L·(order + L), q·n]
    kernel = tf.reshape(tf.transpose(tf.reshape(kernel, [L, rows, q, n]), [2, 1, 0, 3]), [q * rows, L * n]);
    // its gradient Xᵀ·dY is [order + L, L·units] from two tall operands: (dYᵀ·X)ᵀ is the fast order
    const y = tf.reshape(matMulFastGrad(x as tf.Tensor2D, kernel as tf.Tensor2D, { bGradViaDy: true }), [
      batch,
      padded,
      n,
    ]) as tf.Tensor3D; // [B, T', units]
    return padded > steps ? tf.slice(y, [0, 0, 0], [batch, steps, n]) : y;
  });
}

/** The identity [streams·order, streams·order]: chunkedConvolution with it gives the memory itself. */
export function memoryOf(u: tf.Tensor3D, k: ChunkConstants): tf.Tensor3D {
  return tf.tidy(() => chunkedConvolution(u, tf.eye(u.shape[2] * k.order) as tf.Tensor2D, k));
}

/** The memory after the last step only, Σ_s H[T−1−s] u_s: [batch, streams·order]. */
export function lastMemoryOf(u: tf.Tensor3D, k: ChunkConstants): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, steps, q] = u.shape;
    let reversed = k.reversed.get(steps);
    if (!reversed) {
      const H = lmuImpulseResponse(k.system, steps);
      reversed = new Float32Array(steps * k.order);
      for (let s = 0; s < steps; s++)
        reversed.set(H.subarray((steps - 1 - s) * k.order, (steps - s) * k.order), s * k.order);
      k.reversed.set(steps, reversed);
    }
    const us = tf.reshape(tf.transpose(u, [0, 2, 1]), [batch * q, steps]);
    return tf.reshape(tf.matMul(us, tf.tensor2d(reversed, [steps, k.order])), [batch, q * k.order]);
  });
}

// ---- the hidden states -------------------------------------------------------------------------

/** The hidden cell's weights as the parallel path and the recurrence use them. */
export interface HiddenWeights {
  /** Input encoder [features (+ units with hidden→memory), streams]. */
  encoder: tf.Tensor2D;
  /** [streams] or none. */
  encoderBias?: tf.Tensor1D;
  /** Memory → memory (the encoder's memory part) [streams·order, streams] or none. */
  memoryEncoder?: tf.Tensor2D;
  /** W_m [streams·order, units]. */
  memoryKernel: tf.Tensor2D;
  /** W_x [features, units] or none (no input → hidden). */
  inputKernel?: tf.Tensor2D;
  /** U [units, units]. */
  recurrentKernel: tf.Tensor2D;
  /** [units] or none. */
  bias?: tf.Tensor1D;
}

/** u = x·E + b for all steps: [batch, time, streams]. */
export function encode(x: tf.Tensor3D, w: Pick<HiddenWeights, 'encoder' | 'encoderBias'>): tf.Tensor3D {
  const [batch, steps, d] = x.shape;
  const q = w.encoder.shape[1];
  let u: tf.Tensor = tf.reshape(matMulFastGrad(tf.reshape(x, [batch * steps, d]), w.encoder), [batch, steps, q]);
  if (w.encoderBias) u = tf.add(u, w.encoderBias);
  return u as tf.Tensor3D;
}

/**
 * The parallel path for a tanh hidden cell: hidden states [batch, time, units]. The memory's share
 * W_mᵀ m_t of the cell's input comes from the chunked convolution; the fused kernel adds the
 * input's share and runs the recurrence. With one input feature, one memory dimension, no
 * memory bias and x data, u = e·x, so x itself is convolved and e scales the result inside the
 * kernel (its gradient is then Σ dz ⊙ conv(x), without a convolution going back).
 */
export function parallelHidden(
  x: tf.Tensor3D,
  w: HiddenWeights,
  k: ChunkConstants,
  returnSequences: boolean,
): tf.Tensor {
  return tf.tidy(() => {
    const [batch, steps, d] = x.shape;
    const q = w.encoder.shape[1];
    const n = w.recurrentKernel.shape[0];
    if (d === 1 && q === 1 && !w.encoderBias && isData(x)) {
      const p = chunkedConvolution(x, w.memoryKernel, k);
      return tanhRnnSequence(p, w.recurrentKernel, {
        scale: tf.reshape(w.encoder, []) as tf.Scalar,
        x,
        inputKernel: w.inputKernel,
        bias: w.bias,
        returnSequences,
      });
    }
    let z: tf.Tensor = chunkedConvolution(encode(x, w), w.memoryKernel, k);
    if (w.inputKernel)
      z = tf.add(z, tf.reshape(matMulFastGrad(tf.reshape(x, [batch * steps, d]), w.inputKernel), [batch, steps, n]));
    if (w.bias) z = tf.add(z, w.bias);
    return tanhRnnSequence(z as tf.Tensor3D, w.recurrentKernel, { returnSequences });
  });
}

/** One memory update m_t = Ā m_{t−1} + B̄ u_t for every stream: m [batch, streams·order], u [batch, streams]. */
export function memoryStep(
  m: tf.Tensor2D,
  u: tf.Tensor2D,
  aT: tf.Tensor2D,
  b: tf.Tensor2D,
  order: number,
): tf.Tensor2D {
  const [batch, q] = u.shape;
  const next = tf.add(tf.matMul(tf.reshape(m, [batch * q, order]), aT), tf.matMul(tf.reshape(u, [batch * q, 1]), b)); // [B·q, order]
  return tf.reshape(next, [batch, q * order]);
}

/** The steps of [batch, time, features] as [batch, features] tensors (tfjs's unstack gradient fails on one step). */
export function timeSteps(seq: tf.Tensor3D): tf.Tensor2D[] {
  const [batch, steps, d] = seq.shape;
  return steps === 1 ? [tf.reshape(seq, [batch, d])] : (tf.unstack(seq, 1) as tf.Tensor2D[]);
}

/** The last step of [batch, time, n]: [batch, n]. */
export function lastStep(seq: tf.Tensor3D): tf.Tensor2D {
  const [batch, steps, n] = seq.shape;
  return tf.reshape(tf.slice(seq, [0, steps - 1, 0], [batch, 1, n]), [batch, n]);
}

/** The step-by-step reference for a tanh hidden cell with weights `w`: [batch, time, units]. */
export function recurrentHidden(x: tf.Tensor3D, w: HiddenWeights, k: ChunkConstants): tf.Tensor3D {
  return tf.tidy(() => {
    const [batch] = x.shape;
    const q = w.encoder.shape[1];
    const n = w.recurrentKernel.shape[0];
    const aT = tf.tensor2d(k.aT, [k.order, k.order]);
    const b = tf.tensor2d(k.b, [1, k.order]);
    let m: tf.Tensor2D = tf.zeros([batch, q * k.order]);
    let h: tf.Tensor2D = tf.zeros([batch, n]);
    const hs: tf.Tensor2D[] = [];
    for (const xt of timeSteps(x)) {
      let u: tf.Tensor2D = tf.matMul(xt, w.encoder);
      if (w.encoderBias) u = tf.add(u, w.encoderBias);
      m = memoryStep(m, u, aT, b, k.order);
      let z: tf.Tensor2D = tf.add(tf.matMul(m, w.memoryKernel), tf.matMul(h, w.recurrentKernel));
      if (w.inputKernel) z = tf.add(z, tf.matMul(xt, w.inputKernel));
      if (w.bias) z = tf.add(z, w.bias);
      h = tf.tanh(z);
      hs.push(h);
    }
    return tf.stack(hs, 1) as tf.Tensor3D;
  });
}
