/**
 * Legendre Memory Units (Voelker, Kajić & Eliasmith, 2019) for psMNIST: KerasLMU's LMU layer, the
 * LMU cell of NengoDL's example assembled from its parts, and the walkthroughs' models.
 *
 * Two ways to compute a layer, tested equal:
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
import { checkDiscretizer, lmuImpulseResponse, lmuStateSpace, LmuDiscretizer, LmuStateSpace, matrixMultiply, matrixPower } from './lmu-math';

export * from './lmu-math';

/** Initialisers the LMU layers accept, by tfjs name (Keras: glorot_uniform, orthogonal, ones, …). */
export const LMU_INITIALIZERS = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'leCunUniform', 'leCunNormal', 'orthogonal', 'zeros', 'ones'] as const;
export type LmuInitializer = (typeof LMU_INITIALIZERS)[number];

/** How a layer is computed: 'auto' picks 'parallel' whenever it applies (KerasLMU's choice). */
export type LmuImplementation = 'auto' | 'recurrent' | 'parallel';

type Initializer = ReturnType<typeof tf.initializers.zeros>;
type Kwargs = Record<string, unknown>;

function makeInitializer(name: LmuInitializer, seed: number | undefined): Initializer {
  switch (name) {
    case 'glorotUniform':
      return tf.initializers.glorotUniform({ seed });
    case 'glorotNormal':
      return tf.initializers.glorotNormal({ seed });
    case 'heUniform':
      return tf.initializers.heUniform({ seed });
    case 'heNormal':
      return tf.initializers.heNormal({ seed });
    case 'leCunUniform':
      return tf.initializers.leCunUniform({ seed });
    case 'leCunNormal':
      return tf.initializers.leCunNormal({ seed });
    case 'orthogonal':
      return tf.initializers.orthogonal({ seed });
    case 'zeros':
      return tf.initializers.zeros();
    case 'ones':
      return tf.initializers.ones();
  }
}

function checkInitializer(option: string, value: unknown): LmuInitializer {
  if (!(LMU_INITIALIZERS as readonly unknown[]).includes(value)) {
    throw new Error(`${option} must be one of ${LMU_INITIALIZERS.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as LmuInitializer;
}

function checkPositiveInt(option: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) throw new Error(`${option} must be a positive integer (got ${value})`);
  return value as number;
}

function checkTheta(theta: unknown): number {
  if (typeof theta !== 'number' || !Number.isFinite(theta) || theta <= 0) throw new Error(`theta must be a positive number (got ${theta})`);
  return theta;
}

function checkImplementation(value: unknown): LmuImplementation {
  if (value !== 'auto' && value !== 'recurrent' && value !== 'parallel') {
    throw new Error(`implementation must be 'auto', 'recurrent' or 'parallel' (got ${JSON.stringify(value)})`);
  }
  return value;
}

function checkSeed(seed: unknown): number | undefined {
  if (seed !== undefined && !Number.isInteger(seed)) throw new Error(`seed must be an integer (got ${seed})`);
  return seed as number | undefined;
}

/** The [batch, time, features] shape of a layer input, or a clear error. */
function sequenceShape(layer: string, inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  if (shape.length !== 3) throw new Error(`${layer} expects input [batch, time, features] (got [${shape.map((d) => d ?? 'null').join(', ')}])`);
  if (shape[2] == null) throw new Error(`${layer} needs a known number of input features (the last input axis is null)`);
  return shape;
}

function sequenceInput(layer: string, inputs: tf.Tensor | tf.Tensor[], features: number): tf.Tensor3D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x.rank !== 3) throw new Error(`${layer} expects input [batch, time, features] (got [${x.shape.join(', ')}])`);
  if (x.shape[2] !== features) throw new Error(`${layer} was built for ${features} input features (got input [${x.shape.join(', ')}])`);
  if (x.dtype !== 'float32') throw new Error(`${layer} expects float32 input (got ${x.dtype})`);
  return x as tf.Tensor3D;
}

// ---- the chunked convolution -------------------------------------------------------------------

/** Steps per chunk: the convolution's inner dimension is order + L, its output columns L·units. */
export const LMU_CHUNK = 16;

/** Float32 constants of the chunked convolution for one system and chunk length. */
interface ChunkConstants {
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

function chunkConstants(order: number, theta: number, discretizer: LmuDiscretizer, chunk = LMU_CHUNK): ChunkConstants {
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
  const constants = { order, chunk: L, phi, toState, carryT, aT, b: Float32Array.from(system.B), system, reversed: new Map<number, Float32Array>() };
  chunkCache.set(key, constants);
  return constants;
}

/**
 * The causal convolution y_t = Σ_streams Σ_{s≤t} W_jᵀ H[t−s] u_{s,j}, chunked (see the file's
 * comment): u [batch, time, streams], W [streams·order, units] → [batch, time, units]. Plain tfjs
 * ops with fast-gradient products, differentiable in both (tfjs asks only for the gradients on its
 * path: none flows back through the convolution when u is data).
 */
function chunkedConvolution(u: tf.Tensor3D, w: tf.Tensor2D, k: ChunkConstants): tf.Tensor3D {
  return tf.tidy((): tf.Tensor3D => {
    const [batch, steps, q] = u.shape;
    const { order, chunk: L } = k;
    const n = w.shape[1];
    const chunks = Math.ceil(steps / L);
    const padded = chunks * L;
    const rows = order + L;
    const bq = batch * q;
    let us: tf.Tensor2D = q === 1 ? tf.reshape(u, [batch, steps]) : tf.reshape(tf.transpose(u, [0, 2, 1]), [bq, steps]); // [B·q, T]
    if (padded > steps) us = tf.pad(us, [[0, 0], [0, padded - steps]]);
    const inputs = tf.reshape(us, [bq, chunks, L]); // [B·q, C, L]
    // the state before each chunk: S_0 = 0, S_{c+1} = S_c (Āᴸ)ᵀ + G_c with G_c = Σ_j u_j H[L−1−j]
    const gains = matMulFastGrad(tf.reshape(inputs, [bq * chunks, L]) as tf.Tensor2D, tf.tensor2d(k.toState, [L, order])); // [B·q·C, order]
    const carryT = tf.tensor2d(k.carryT, [order, order]);
    let before: tf.Tensor3D;
    if (isData(u)) {
      before = linearScan(tf.reshape(gains, [bq, chunks, order]) as tf.Tensor3D, carryT); // one kernel
    } else {
      // differentiable: chunk-major, so that each chunk's rows are contiguous
      const byChunk = tf.reshape(tf.transpose(tf.reshape(gains, [bq, chunks, order]), [1, 0, 2]), [chunks * bq, order]);
      const states: tf.Tensor2D[] = [tf.zeros([bq, order])];
      for (let c = 0; c + 1 < chunks; c++) states.push(tf.add(matMulFastGrad(states[c], carryT), tf.slice(byChunk, [c * bq, 0], [bq, order])));
      before = tf.transpose(tf.reshape(tf.concat(states, 0), [chunks, bq, order]), [1, 0, 2]) as tf.Tensor3D; // [B·q, C, order]
    }
    let x = tf.concat([before, inputs], 2); // [B·q, C, order + L]
    x = q === 1 ? tf.reshape(x, [batch * chunks, rows]) : tf.reshape(tf.transpose(tf.reshape(x, [batch, q, chunks, rows]), [0, 2, 1, 3]), [batch * chunks, q * rows]);
    // the kernel: for stream j and step i, Φ_i W_j
    const wq = q === 1 ? w : tf.reshape(tf.transpose(tf.reshape(w, [q, order, n]), [1, 0, 2]), [order, q * n]); // [order, q·n]
    let kernel: tf.Tensor = matMulFastGrad(tf.tensor2d(k.phi, [L * rows, order]), wq as tf.Tensor2D); // [L·(order + L), q·n]
    kernel = tf.reshape(tf.transpose(tf.reshape(kernel, [L, rows, q, n]), [2, 1, 0, 3]), [q * rows, L * n]);
    // its gradient Xᵀ·dY is [order + L, L·units] from two tall operands: (dYᵀ·X)ᵀ is the fast order
    const y = tf.reshape(matMulFastGrad(x as tf.Tensor2D, kernel as tf.Tensor2D, { bGradViaDy: true }), [batch, padded, n]) as tf.Tensor3D; // [B, T', units]
    return padded > steps ? tf.slice(y, [0, 0, 0], [batch, steps, n]) : y;
  });
}

/** The identity [streams·order, streams·order]: chunkedConvolution with it gives the memory itself. */
function memoryOf(u: tf.Tensor3D, k: ChunkConstants): tf.Tensor3D {
  return tf.tidy(() => chunkedConvolution(u, tf.eye(u.shape[2] * k.order) as tf.Tensor2D, k));
}

/** The memory after the last step only, Σ_s H[T−1−s] u_s: [batch, streams·order]. */
function lastMemoryOf(u: tf.Tensor3D, k: ChunkConstants): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, steps, q] = u.shape;
    let reversed = k.reversed.get(steps);
    if (!reversed) {
      const H = lmuImpulseResponse(k.system, steps);
      reversed = new Float32Array(steps * k.order);
      for (let s = 0; s < steps; s++) reversed.set(H.subarray((steps - 1 - s) * k.order, (steps - s) * k.order), s * k.order);
      k.reversed.set(steps, reversed);
    }
    const us = tf.reshape(tf.transpose(u, [0, 2, 1]), [batch * q, steps]);
    return tf.reshape(tf.matMul(us, tf.tensor2d(reversed, [steps, k.order])), [batch, q * k.order]);
  });
}

/** The hidden cell's weights as the parallel path and the recurrence use them. */
interface HiddenWeights {
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
function encode(x: tf.Tensor3D, w: Pick<HiddenWeights, 'encoder' | 'encoderBias'>): tf.Tensor3D {
  const [batch, steps, d] = x.shape;
  const q = w.encoder.shape[1];
  let u: tf.Tensor = tf.reshape(matMulFastGrad(tf.reshape(x, [batch * steps, d]), w.encoder), [batch, steps, q]);
  if (w.encoderBias) u = tf.add(u, w.encoderBias);
  return u as tf.Tensor3D;
}

/**
 * True when no gradient can flow back to `x`: not a variable, and not the output of an op
 * recorded for the gradient being computed (or none is). The walkthroughs' LMU reads the model's
 * input, so the gradient w.r.t. its input is never needed there.
 */
function isData(x: tf.Tensor): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; activeTape: { outputs: tf.Tensor[] }[] | null } }).state;
  if (!(state.gradientDepth > 0) || !state.activeTape) return true;
  if (x instanceof tf.Variable) return false;
  return !state.activeTape.some((node) => node.outputs.some((o) => o.id === x.id));
}

/**
 * The parallel path for a tanh hidden cell: hidden states [batch, time, units]. The memory's share
 * W_mᵀ m_t of the cell's input comes from the chunked convolution; the fused kernel adds the
 * input's share and runs the recurrence. With one input feature, one memory dimension, no
 * memory bias and x data, u = e·x, so x itself is convolved and e scales the result inside the
 * kernel (its gradient is then Σ dz ⊙ conv(x), without a convolution going back).
 */
function parallelHidden(x: tf.Tensor3D, w: HiddenWeights, k: ChunkConstants, returnSequences: boolean): tf.Tensor {
  return tf.tidy(() => {
    const [batch, steps, d] = x.shape;
    const q = w.encoder.shape[1];
    const n = w.recurrentKernel.shape[0];
    if (d === 1 && q === 1 && !w.encoderBias && isData(x)) {
      const p = chunkedConvolution(x, w.memoryKernel, k);
      return tanhRnnSequence(p, w.recurrentKernel, { scale: tf.reshape(w.encoder, []) as tf.Scalar, x, inputKernel: w.inputKernel, bias: w.bias, returnSequences });
    }
    let z: tf.Tensor = chunkedConvolution(encode(x, w), w.memoryKernel, k);
    if (w.inputKernel) z = tf.add(z, tf.reshape(matMulFastGrad(tf.reshape(x, [batch * steps, d]), w.inputKernel), [batch, steps, n]));
    if (w.bias) z = tf.add(z, w.bias);
    return tanhRnnSequence(z as tf.Tensor3D, w.recurrentKernel, { returnSequences });
  });
}

/** One memory update m_t = Ā m_{t−1} + B̄ u_t for every stream: m [batch, streams·order], u [batch, streams]. */
function memoryStep(m: tf.Tensor2D, u: tf.Tensor2D, aT: tf.Tensor2D, b: tf.Tensor2D, order: number): tf.Tensor2D {
  const [batch, q] = u.shape;
  const next = tf.add(tf.matMul(tf.reshape(m, [batch * q, order]), aT), tf.matMul(tf.reshape(u, [batch * q, 1]), b)); // [B·q, order]
  return tf.reshape(next, [batch, q * order]);
}

/** The steps of [batch, time, features] as [batch, features] tensors (tfjs's unstack gradient fails on one step). */
function timeSteps(seq: tf.Tensor3D): tf.Tensor2D[] {
  const [batch, steps, d] = seq.shape;
  return steps === 1 ? [tf.reshape(seq, [batch, d])] : (tf.unstack(seq, 1) as tf.Tensor2D[]);
}

function lastStep(seq: tf.Tensor3D): tf.Tensor2D {
  const [batch, steps, n] = seq.shape;
  return tf.reshape(tf.slice(seq, [0, steps - 1, 0], [batch, 1, n]), [batch, n]);
}

// ---- KerasLMU's LMU layer ----------------------------------------------------------------------

/** A Keras-style RNN cell as the LMU layer drives it (tfjs's SimpleRNNCell, say). */
export type HiddenCell = tf.layers.Layer & { stateSize: number | number[]; units?: number };

/** Options of the LMU layer; defaults are KerasLMU's (keras_lmu.LMU). */
export interface LmuArgs {
  /** Dimensions of the memory (KerasLMU `memory_d`): u_t has this many, each with its own `order` coefficients. Required. */
  memoryD: number;
  /** Legendre coefficients per memory dimension (`order`). Required. */
  order: number;
  /** Length of the window the memory represents, in steps (`theta`). Required. */
  theta: number;
  /**
   * The hidden cell (`hidden_cell`): e.g. `tf.layers.simpleRNNCell({units: 212})`, or null for
   * none (the layer then outputs the memory). Required. A SimpleRNNCell with tanh and no dropout
   * runs in the fused kernel; other cells run step by step.
   */
  hiddenCell: HiddenCell | null;
  /** The hidden state feeds the memory's input (`hidden_to_memory`). Default false. */
  hiddenToMemory?: boolean;
  /** The memory feeds its own input (`memory_to_memory`). Default false. */
  memoryToMemory?: boolean;
  /** The hidden cell sees concat(m_t, x_t), memory first (`input_to_hidden`). Default false. */
  inputToHidden?: boolean;
  /** 'zoh' (zero-order hold) or 'euler' (`discretizer`). Default 'zoh'. */
  discretizer?: LmuDiscretizer;
  /** Initialiser of the input encoders, `kernel` (`kernel_initializer`). Default 'glorotUniform'. */
  kernelInitializer?: LmuInitializer;
  /** Initialiser of the memory→memory encoders, `recurrent_kernel` (`recurrent_initializer`). Default 'orthogonal'. */
  recurrentInitializer?: LmuInitializer;
  /** A bias on the memory's input u (`use_bias`). Default false. */
  useBias?: boolean;
  /** Initialiser of that bias (`bias_initializer`). Default 'zeros'. */
  biasInitializer?: LmuInitializer;
  /** Output every step ([batch, time, out]) or the last ([batch, out]) (`return_sequences`). Default false. */
  returnSequences?: boolean;
  /**
   * 'recurrent' (step by step), 'parallel' (the chunked convolution; only without hidden→memory
   * and memory→memory) or 'auto' (parallel whenever it applies, as KerasLMU). Default 'auto'.
   */
  implementation?: LmuImplementation;
  /** Seed of the kernel initialiser; the recurrent one gets seed + 1. Default: unseeded. */
  seed?: number;
  /** [time, features] (time may be null), for a first layer without an Input. */
  inputShape?: (number | null)[];
  name?: string;
  trainable?: boolean;
}

function isSimpleRnnCell(cell: HiddenCell): boolean {
  return cell.getClassName() === 'SimpleRNNCell';
}

/** True when the fused tanh kernel computes this cell exactly. */
function fusable(cell: HiddenCell, training: boolean): boolean {
  if (!isSimpleRnnCell(cell)) return false;
  const c = cell as unknown as { activation: { getClassName(): string }; dropout: number; recurrentDropout: number };
  return c.activation.getClassName() === 'tanh' && (!training || (c.dropout === 0 && c.recurrentDropout === 0));
}

function cellUnits(cell: HiddenCell): number {
  const s = cell.stateSize;
  return Array.isArray(s) ? s[0] : s;
}

function deserializeCell(config: tf.serialization.ConfigDict): HiddenCell {
  const { className, config: cellConfig } = config as { className: string; config: tf.serialization.ConfigDict };
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`LMU: unknown hidden cell class '${className}' (register it with tf.serialization.registerClass)`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, cellConfig) as unknown as HiddenCell;
}

/**
 * KerasLMU's LMU layer: a memory m_t = Ā m_{t−1} + B̄ u_t of `memoryD` × `order` Legendre
 * coefficients of the encoded input u_t = [x_t, (h_{t−1}), (m_{t−1})]·encoders (+ bias), and a
 * hidden cell reading m_t (and x_t with `inputToHidden`). Weights, in order: `kernel` [features
 * (+ units), memoryD], `recurrent_kernel` [memoryD·order, memoryD] (memory→memory), `bias`
 * [memoryD] (useBias), then the hidden cell's (named `<layer>/hidden_cell/...`).
 *
 * Porting note: KerasLMU's dropout, recurrent_dropout, trainable_theta, regularizers and FFT
 * conv_mode are not offered; the parallel path convolves by chunked matMuls (see the file's
 * comment), and its result equals the recurrence's to float32 rounding.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export class LMU extends tf.layers.Layer {
  static className = 'LMU';
  readonly memoryD: number;
  readonly order: number;
  readonly theta: number;
  readonly hiddenCell: HiddenCell | null;
  readonly hiddenToMemory: boolean;
  readonly memoryToMemory: boolean;
  readonly inputToHidden: boolean;
  readonly discretizer: LmuDiscretizer;
  readonly kernelInitializer: LmuInitializer;
  readonly recurrentInitializer: LmuInitializer;
  readonly useBias: boolean;
  readonly biasInitializer: LmuInitializer;
  readonly returnSequences: boolean;
  readonly implementation: LmuImplementation;
  readonly seed?: number;
  private features = 0;
  private kernel?: tf.LayerVariable;
  private recurrentKernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: LmuArgs) {
    super({ name: args.name, trainable: args.trainable, inputShape: args.inputShape ?? undefined } as never);
    if (args == null || typeof args !== 'object') throw new Error(`LMU needs an options object (got ${args})`);
    this.memoryD = checkPositiveInt('memoryD', args.memoryD);
    this.order = checkPositiveInt('order', args.order);
    this.theta = checkTheta(args.theta);
    if (args.hiddenCell === undefined) throw new Error('hiddenCell is required: a cell such as tf.layers.simpleRNNCell({units: 212}), or null for none');
    if (args.hiddenCell !== null && !(args.hiddenCell instanceof tf.layers.Layer && 'stateSize' in args.hiddenCell)) {
      throw new Error(`hiddenCell must be an RNN cell (e.g. tf.layers.simpleRNNCell) or null (got ${Object.prototype.toString.call(args.hiddenCell)})`);
    }
    this.hiddenCell = args.hiddenCell;
    this.hiddenToMemory = args.hiddenToMemory ?? false;
    this.memoryToMemory = args.memoryToMemory ?? false;
    this.inputToHidden = args.inputToHidden ?? false;
    if (this.hiddenToMemory && this.hiddenCell === null) throw new Error('hiddenToMemory needs a hidden cell (hiddenCell is null)');
    this.discretizer = checkDiscretizer(args.discretizer ?? 'zoh');
    this.kernelInitializer = checkInitializer('kernelInitializer', args.kernelInitializer ?? 'glorotUniform');
    this.recurrentInitializer = checkInitializer('recurrentInitializer', args.recurrentInitializer ?? 'orthogonal');
    this.useBias = args.useBias ?? false;
    this.biasInitializer = checkInitializer('biasInitializer', args.biasInitializer ?? 'zeros');
    this.returnSequences = args.returnSequences ?? false;
    this.implementation = checkImplementation(args.implementation ?? 'auto');
    if (this.implementation === 'parallel' && (this.hiddenToMemory || this.memoryToMemory)) {
      throw new Error(`implementation 'parallel' needs hiddenToMemory and memoryToMemory off (got hiddenToMemory ${this.hiddenToMemory}, memoryToMemory ${this.memoryToMemory})`);
    }
    this.seed = checkSeed(args.seed);
  }

  /** True when calls use the chunked convolution (see `implementation`). */
  get parallel(): boolean {
    return this.implementation === 'parallel' || (this.implementation === 'auto' && !this.hiddenToMemory && !this.memoryToMemory);
  }

  private get hiddenUnits(): number {
    return this.hiddenCell ? cellUnits(this.hiddenCell) : 0;
  }

  /** Features per step of the output. */
  get outputSize(): number {
    return this.hiddenCell ? this.hiddenUnits : this.memoryD * this.order + (this.inputToHidden ? this.features : 0);
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = sequenceShape('LMU', inputShape);
    const d = shape[2] as number;
    this.features = d;
    const q = this.memoryD;
    const encoderIn = d + (this.hiddenToMemory ? this.hiddenUnits : 0);
    this.kernel = this.addWeight('kernel', [encoderIn, q], 'float32', makeInitializer(this.kernelInitializer, this.seed));
    if (this.memoryToMemory) {
      const seed = this.seed === undefined ? undefined : this.seed + 1;
      this.recurrentKernel = this.addWeight('recurrent_kernel', [q * this.order, q], 'float32', makeInitializer(this.recurrentInitializer, seed));
    }
    if (this.useBias) this.bias = this.addWeight('bias', [q], 'float32', makeInitializer(this.biasInitializer, undefined));
    if (this.hiddenCell && !this.hiddenCell.built) {
      this.hiddenCell.build([null, q * this.order + (this.inputToHidden ? d : 0)]);
      // tfjs scopes the cell's weights under this layer's name only, where they would clash with ours
      for (const w of this.hiddenCell.weights) {
        const v = w as unknown as { originalName: string };
        v.originalName = v.originalName.replace(/([^/]+)$/, 'hidden_cell/$1');
      }
    }
    this.built = true;
  }

  get trainableWeights(): tf.LayerVariable[] {
    if (!this.trainable) return [];
    return [...super.trainableWeights, ...(this.hiddenCell ? this.hiddenCell.trainableWeights : [])];
  }

  set trainableWeights(_: tf.LayerVariable[]) {
    // tfjs's Layer declares a setter; the weights live in this layer and its cell
  }

  get nonTrainableWeights(): tf.LayerVariable[] {
    const own = super.nonTrainableWeights;
    if (!this.hiddenCell) return own;
    return [...own, ...(this.trainable ? this.hiddenCell.nonTrainableWeights : this.hiddenCell.weights)];
  }

  set nonTrainableWeights(_: tf.LayerVariable[]) {
    // see trainableWeights
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = sequenceShape('LMU', inputShape);
    const out = this.hiddenCell ? this.hiddenUnits : this.memoryD * this.order + (this.inputToHidden ? (shape[2] as number) : 0);
    return this.returnSequences ? [shape[0], shape[1], out] : [shape[0], out];
  }

  private cellWeights(): { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias?: tf.Tensor1D } {
    const c = this.hiddenCell as unknown as { kernel: tf.LayerVariable; recurrentKernel: tf.LayerVariable; bias: tf.LayerVariable | null; useBias: boolean };
    return {
      kernel: c.kernel.read() as tf.Tensor2D,
      recurrentKernel: c.recurrentKernel.read() as tf.Tensor2D,
      bias: c.useBias && c.bias ? (c.bias.read() as tf.Tensor1D) : undefined,
    };
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs = {}): tf.Tensor {
    return tf.tidy(() => {
      const x = sequenceInput('LMU', inputs, this.features);
      const training = kwargs.training === true;
      const k = chunkConstants(this.order, this.theta, this.discretizer);
      if (!this.parallel) return this.callRecurrent(x, k, training);
      const encoder = this.kernel!.read() as tf.Tensor2D;
      const encoderBias = this.bias ? (this.bias.read() as tf.Tensor1D) : undefined;
      const cell = this.hiddenCell;
      if (cell === null) {
        const u = encode(x, { encoder, encoderBias });
        if (!this.returnSequences) {
          const m = lastMemoryOf(u, k);
          return this.inputToHidden ? tf.concat([m, lastStep(x)], 1) : m;
        }
        const m = memoryOf(u, k);
        return this.inputToHidden ? tf.concat([m, x], 2) : m;
      }
      if (fusable(cell, training)) {
        const c = this.cellWeights();
        const nm = this.memoryD * this.order;
        const w: HiddenWeights = {
          encoder,
          encoderBias,
          memoryKernel: (this.inputToHidden ? tf.slice(c.kernel, [0, 0], [nm, -1]) : c.kernel) as tf.Tensor2D,
          inputKernel: this.inputToHidden ? (tf.slice(c.kernel, [nm, 0], [-1, -1]) as tf.Tensor2D) : undefined,
          recurrentKernel: c.recurrentKernel,
          bias: c.bias,
        };
        return parallelHidden(x, w, k, this.returnSequences);
      }
      // another cell: the memory in parallel, the cell step by step (as KerasLMU's LMUFeedforward)
      const m = memoryOf(encode(x, { encoder, encoderBias }), k);
      const hiddenIn = this.inputToHidden ? tf.concat([m, x], 2) : m;
      return this.runCell(hiddenIn as tf.Tensor3D, training);
    });
  }

  /** Runs the hidden cell over [batch, time, in] step by step. */
  private runCell(seq: tf.Tensor3D, training: boolean): tf.Tensor {
    const cell = this.hiddenCell!;
    const resettable = cell as unknown as { resetDropoutMask?(): void; resetRecurrentDropoutMask?(): void };
    resettable.resetDropoutMask?.();
    resettable.resetRecurrentDropoutMask?.();
    const batch = seq.shape[0];
    const sizes = Array.isArray(cell.stateSize) ? cell.stateSize : [cell.stateSize];
    let states: tf.Tensor[] = sizes.map((s) => tf.zeros([batch, s]));
    const outputs: tf.Tensor[] = [];
    for (const xt of timeSteps(seq)) {
      const [o, ...next] = cell.call([xt, ...states], { training }) as tf.Tensor[];
      states = next;
      outputs.push(o);
    }
    return this.returnSequences ? tf.stack(outputs, 1) : outputs[outputs.length - 1];
  }

  /** The step-by-step recurrence, every option honoured. */
  private callRecurrent(x: tf.Tensor3D, k: ChunkConstants, training: boolean): tf.Tensor {
    const [batch] = x.shape;
    const q = this.memoryD;
    const order = this.order;
    const cell = this.hiddenCell;
    const resettable = cell as unknown as { resetDropoutMask?(): void; resetRecurrentDropoutMask?(): void } | null;
    resettable?.resetDropoutMask?.();
    resettable?.resetRecurrentDropoutMask?.();
    const aT = tf.tensor2d(k.aT, [order, order]);
    const b = tf.tensor2d(k.b, [1, order]);
    const encoder = this.kernel!.read();
    const memoryEncoder = this.recurrentKernel?.read();
    const bias = this.bias?.read();
    let m: tf.Tensor2D = tf.zeros([batch, q * order]);
    const sizes = cell ? (Array.isArray(cell.stateSize) ? cell.stateSize : [cell.stateSize]) : [];
    let states: tf.Tensor[] = sizes.map((s) => tf.zeros([batch, s]));
    let h: tf.Tensor | undefined = cell ? states[0] : undefined;
    const outputs: tf.Tensor[] = [];
    for (const xt of timeSteps(x)) {
      const encoderIn = this.hiddenToMemory ? tf.concat([xt, h!], 1) : xt;
      let u = tf.matMul(encoderIn, encoder); // [B, q]
      if (memoryEncoder) u = tf.add(u, tf.matMul(m, memoryEncoder));
      if (bias) u = tf.add(u, bias);
      m = memoryStep(m, u as tf.Tensor2D, aT, b, order);
      const hiddenIn = this.inputToHidden ? tf.concat([m, xt], 1) : m;
      if (cell) {
        const [o, ...next] = cell.call([hiddenIn, ...states], { training }) as tf.Tensor[];
        states = next;
        h = o;
        outputs.push(o);
      } else {
        outputs.push(hiddenIn);
      }
    }
    return this.returnSequences ? tf.stack(outputs, 1) : outputs[outputs.length - 1];
  }

  getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      memoryD: this.memoryD,
      order: this.order,
      theta: this.theta,
      hiddenCell: this.hiddenCell ? { className: this.hiddenCell.getClassName(), config: this.hiddenCell.getConfig() } : null,
      hiddenToMemory: this.hiddenToMemory,
      memoryToMemory: this.memoryToMemory,
      inputToHidden: this.inputToHidden,
      discretizer: this.discretizer,
      kernelInitializer: this.kernelInitializer,
      recurrentInitializer: this.recurrentInitializer,
      useBias: this.useBias,
      biasInitializer: this.biasInitializer,
      returnSequences: this.returnSequences,
      implementation: this.implementation,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }

  static fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    const hiddenCell = config.hiddenCell ? deserializeCell(config.hiddenCell as tf.serialization.ConfigDict) : null;
    return new cls({ ...config, hiddenCell } as never);
  }
}
tf.serialization.registerClass(LMU);

// ---- NengoDL's LMU cell, from its parts -------------------------------------------------------

/** Options of the NengoDL-style LMU cell; defaults are NengoDL's example. */
export interface NengoLmuArgs {
  /** Hidden units (`units`). Required. */
  units: number;
  /** Legendre coefficients (`order`). Required. */
  order: number;
  /** Window length in steps (`theta`). Required. */
  theta: number;
  /** 'zoh' (cont2discrete's zero-order hold, as NengoDL) or 'euler'. Default 'zoh'. */
  discretizer?: LmuDiscretizer;
  /** Output every step or the last (NengoDL probes the last: keep_history=False). Default false. */
  returnSequences?: boolean;
  /** 'auto' and 'parallel' use the chunked convolution, 'recurrent' the step-by-step update. Default 'auto'. */
  implementation?: LmuImplementation;
  /** Seed of the Glorot initialisers (x→h, h→h, m→h get seed, seed + 1, seed + 2). Default: unseeded. */
  seed?: number;
  /** [time, features], for a first layer without an Input. */
  inputShape?: (number | null)[];
  name?: string;
  trainable?: boolean;
}

/**
 * The LMU cell of NengoDL's psMNIST example, built from the same parts as its `LMUCell` network:
 * nodes x, u, m, h and the connections
 * - x → u: `x_to_u` [features, 1], ones, trainable (only the input node's connection is frozen there);
 * - u → m: B̄ and m → m (one step's delay): Ā, fixed (not weights);
 * - x → h: `x_to_h` [features, units], h → h (one step's delay): `h_to_h` [units, units],
 *   m → h: `m_to_h` [order, units], each Glorot-uniform, no biases; h = tanh(sum).
 * So m_t = Ā m_{t−1} + B̄ u_t and h_t = tanh(W_x x_t + W_h h_{t−1} + W_m m_t).
 *
 * Porting note: NengoDL unrolls the network into a TensorFlow graph; here the same equations run
 * in the LMU layer's parallel path (or step by step with implementation 'recurrent').
 * @see notebooks/02-nengo-lmu-psmnist.ipynb
 */
export class NengoLMU extends tf.layers.Layer {
  static className = 'NengoLMU';
  readonly units: number;
  readonly order: number;
  readonly theta: number;
  readonly discretizer: LmuDiscretizer;
  readonly returnSequences: boolean;
  readonly implementation: LmuImplementation;
  readonly seed?: number;
  private features = 0;
  private xToU?: tf.LayerVariable;
  private xToH?: tf.LayerVariable;
  private hToH?: tf.LayerVariable;
  private mToH?: tf.LayerVariable;

  constructor(args: NengoLmuArgs) {
    super({ name: args.name, trainable: args.trainable, inputShape: args.inputShape ?? undefined } as never);
    this.units = checkPositiveInt('units', args.units);
    this.order = checkPositiveInt('order', args.order);
    this.theta = checkTheta(args.theta);
    this.discretizer = checkDiscretizer(args.discretizer ?? 'zoh');
    this.returnSequences = args.returnSequences ?? false;
    this.implementation = checkImplementation(args.implementation ?? 'auto');
    this.seed = checkSeed(args.seed);
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = sequenceShape('NengoLMU', inputShape)[2] as number;
    this.features = d;
    const seed = (i: number) => (this.seed === undefined ? undefined : this.seed + i);
    this.xToU = this.addWeight('x_to_u', [d, 1], 'float32', tf.initializers.ones());
    this.xToH = this.addWeight('x_to_h', [d, this.units], 'float32', tf.initializers.glorotUniform({ seed: seed(0) }));
    this.hToH = this.addWeight('h_to_h', [this.units, this.units], 'float32', tf.initializers.glorotUniform({ seed: seed(1) }));
    this.mToH = this.addWeight('m_to_h', [this.order, this.units], 'float32', tf.initializers.glorotUniform({ seed: seed(2) }));
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = sequenceShape('NengoLMU', inputShape);
    return this.returnSequences ? [shape[0], shape[1], this.units] : [shape[0], this.units];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = sequenceInput('NengoLMU', inputs, this.features);
      const k = chunkConstants(this.order, this.theta, this.discretizer);
      const w: HiddenWeights = {
        encoder: this.xToU!.read() as tf.Tensor2D,
        memoryKernel: this.mToH!.read() as tf.Tensor2D,
        inputKernel: this.xToH!.read() as tf.Tensor2D,
        recurrentKernel: this.hToH!.read() as tf.Tensor2D,
      };
      if (this.implementation !== 'recurrent') return parallelHidden(x, w, k, this.returnSequences);
      const h = recurrentHidden(x, w, k);
      return this.returnSequences ? h : lastStep(h);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      units: this.units,
      order: this.order,
      theta: this.theta,
      discretizer: this.discretizer,
      returnSequences: this.returnSequences,
      implementation: this.implementation,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(NengoLMU);

/** The step-by-step reference for a tanh hidden cell with weights `w`: [batch, time, units]. */
function recurrentHidden(x: tf.Tensor3D, w: HiddenWeights, k: ChunkConstants): tf.Tensor3D {
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

// ---- the walkthroughs' models ------------------------------------------------------------------

/** Options of the walkthroughs' models; defaults are the originals'. */
export interface LmuModelOptions {
  /** Sequence length. Default 784 (psMNIST's pixels). */
  steps?: number;
  /** Features per step. Default 1. */
  features?: number;
  /** Legendre coefficients. Default 256. */
  order?: number;
  /** Memory window. Default `steps` (784). */
  theta?: number;
  /** Hidden units. Default 212. */
  units?: number;
  /** Classes of the readout. Default 10. */
  classes?: number;
  /** Seed of the weight initialisers. Default: unseeded. */
  seed?: number;
  /** How the LMU layer is computed. Default 'auto' (parallel). */
  implementation?: LmuImplementation;
}

function modelSizes(options: LmuModelOptions) {
  const steps = checkPositiveInt('steps', options.steps ?? 784);
  return {
    steps,
    features: checkPositiveInt('features', options.features ?? 1),
    order: checkPositiveInt('order', options.order ?? 256),
    theta: checkTheta(options.theta ?? steps),
    units: checkPositiveInt('units', options.units ?? 212),
    classes: checkPositiveInt('classes', options.classes ?? 10),
    seed: checkSeed(options.seed),
  };
}

/**
 * KerasLMU's psMNIST model: LMU(memory_d 1, order 256, theta 784, SimpleRNNCell(212),
 * hidden_to_memory off, memory_to_memory off, input_to_hidden on, kernel_initializer 'ones') and
 * Dense(10) logits. 101,771 parameters (LMU 99,641 + Dense 2,130).
 *
 * Porting note: tfjs's SimpleRNNCell defaults to a Glorot-normal kernel; Keras's to Glorot-uniform,
 * which is set here.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function buildKerasLmuModel(options: LmuModelOptions = {}): tf.LayersModel {
  const s = modelSizes(options);
  const seed = (i: number) => (s.seed === undefined ? undefined : s.seed + i);
  const inputs = tf.input({ shape: [s.steps, s.features], name: 'input' });
  const lmu = new LMU({
    memoryD: 1,
    order: s.order,
    theta: s.theta,
    hiddenCell: tf.layers.simpleRNNCell({
      units: s.units,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed(0) }),
      recurrentInitializer: tf.initializers.orthogonal({ seed: seed(1) }),
    }) as unknown as HiddenCell,
    hiddenToMemory: false,
    memoryToMemory: false,
    inputToHidden: true,
    kernelInitializer: 'ones',
    implementation: options.implementation,
    name: 'lmu',
  });
  const dense = tf.layers.dense({ units: s.classes, kernelInitializer: tf.initializers.glorotUniform({ seed: seed(2) }), name: 'dense' });
  const outputs = dense.apply(lmu.apply(inputs)) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs, name: 'keras_lmu' });
}

/**
 * NengoDL's psMNIST model: the LMU cell from its parts (NengoLMU: 212 units, order 256, theta 784)
 * and a Glorot-uniform linear readout without bias on the last step. 101,549 trainable parameters
 * (1 + 212 + 44,944 + 54,272 + 2,120).
 * @see notebooks/02-nengo-lmu-psmnist.ipynb
 */
export function buildNengoLmuModel(options: LmuModelOptions = {}): tf.LayersModel {
  const s = modelSizes(options);
  const inputs = tf.input({ shape: [s.steps, s.features], name: 'input' });
  const cell = new NengoLMU({ units: s.units, order: s.order, theta: s.theta, seed: s.seed, implementation: options.implementation, name: 'lmu_cell' });
  const readout = tf.layers.dense({
    units: s.classes,
    useBias: false,
    kernelInitializer: tf.initializers.glorotUniform({ seed: s.seed === undefined ? undefined : s.seed + 3 }),
    name: 'out',
  });
  const outputs = readout.apply(cell.apply(inputs)) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs, name: 'nengo_lmu' });
}
