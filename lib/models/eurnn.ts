/**
 * The efficient unitary RNN (EURNN) of torch_eunn's "MNIST Task": the tunable efficient unitary
 * layer, the modReLU activation, the recurrent layer made of them, and the walkthrough's model.
 *
 * Complex numbers are carried as real/imaginary pairs, so everything runs on every tfjs backend:
 * a complex vector of N components is a real tensor [batch, 2·N] holding the N real parts, then
 * the N imaginary parts.
 *
 * Porting note: torch_eunn stores a complex tensor as [..., N, 2]; tfjs's complex64 tensors have no
 * kernels on the wasm backend, hence the pairs.
 */
import * as tf from '@tensorflow/tfjs';
import { optionalSeed, positiveInteger, positiveNumber } from '../checks';
import { eurnnSequence, eurnnShapes, eurnnStatesJs } from '../kernels/eurnn';
import { eurnnStatesWebgpu } from '../kernels/eurnn-webgpu';
import { InitializerBase } from '../tfjs-internals';

const shapeText = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;

/** The tfjs layer options these layers pass on (a saved model's config holds batchInputShape). */
export interface EunnLayerBaseArgs {
  /** [steps, features] or [2·N] without the batch axis, for a first layer without an Input. */
  inputShape?: (number | null)[];
  batchInputShape?: (number | null)[];
  batchSize?: number;
  name?: string;
  trainable?: boolean;
  dtype?: 'float32';
}

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

function baseArgs(a: EunnLayerBaseArgs): LayerArgs {
  return {
    name: a.name,
    trainable: a.trainable,
    inputShape: a.inputShape ?? undefined,
    batchInputShape: a.batchInputShape,
    batchSize: a.batchSize,
    dtype: a.dtype,
  };
}

function checkHiddenSize(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2 || n % 2 !== 0) {
    throw new Error(`hiddenSize must be a positive even integer: the mixing units act on pairs (got ${n})`);
  }
  return n;
}

function checkCapacity(c: unknown): number {
  if (typeof c !== 'number' || !Number.isInteger(c) || c < 1)
    throw new Error(`capacity must be an integer ≥ 1 (got ${c})`);
  return c;
}

function checkFinite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${name} must be a finite number (got ${v})`);
  return v;
}

/**
 * 2π·U(0, 1), as torch_eunn draws its angles. Not registered: the layers' configs hold the seed,
 * so this initialiser is never serialised.
 * Porting note: tf.initializers.randomUniform cannot do this: it takes minval 0 for "unset" and
 * draws from −0.05.
 */
class UniformAngles extends InitializerBase {
  static className = 'UniformAngles';
  constructor(private readonly seed?: number) {
    super();
  }
  apply(shape: tf.Shape): tf.Tensor {
    return tf.randomUniform(shape as number[], 0, 2 * Math.PI, 'float32', this.seed);
  }
  getConfig(): tf.serialization.ConfigDict {
    return this.seed === undefined ? {} : { seed: this.seed };
  }
}

/**
 * The efficient unitary layer as tfjs ops: `capacity` sublayers, each of N/2 mixing units. Unit k
 * of sublayer i, with φ = angles[2k, i] and θ = angles[2k+1, i], maps the pair (a, b) to
 * (e^{iφ}(cos θ·a − sin θ·b), sin θ·a + cos θ·b). Sublayers alternate the pairing as torch_eunn
 * does: after an even sublayer the vector rolls one place left (periodic boundary), after an odd
 * one it rolls back, so odd sublayers mix (1, 2), (3, 4), …, (N−1, 0).
 * @param z [batch, 2·N] real parts then imaginary parts
 * @param angles [N, capacity]
 * @returns [batch, 2·N]
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function eunnApply(z: tf.Tensor, angles: tf.Tensor): tf.Tensor2D {
  if (angles.rank !== 2)
    throw new Error(`angles must be [hiddenSize, capacity] (got shape ${shapeText(angles.shape)})`);
  const [n, capacity] = angles.shape;
  checkHiddenSize(n);
  if (z.rank !== 2 || z.shape[1] !== 2 * n)
    throw new Error(
      `EUNN input must be [batch, ${2 * n}] (real then imaginary parts; got shape ${shapeText(z.shape)})`,
    );
  return tf.tidy(() => {
    const batch = z.shape[0];
    const h = n / 2;
    const pairs = tf.reshape(angles, [h, 2, capacity]);
    let re = tf.slice(z, [0, 0], [batch, n]); // [batch, N]
    let im = tf.slice(z, [0, n], [batch, n]);
    const interleave = (a: tf.Tensor, b: tf.Tensor) => tf.reshape(tf.stack([a, b], 1), [n]); // [N]
    const swapPairs = (v: tf.Tensor) => tf.reshape(tf.reverse(tf.reshape(v, [batch, h, 2]), 2), [batch, n]);
    for (let i = 0; i < capacity; i++) {
      const phi = tf.reshape(tf.slice(pairs, [0, 0, i], [h, 1, 1]), [h]);
      const theta = tf.reshape(tf.slice(pairs, [0, 1, i], [h, 1, 1]), [h]);
      const [c, s, cp, sp] = [tf.cos(theta), tf.sin(theta), tf.cos(phi), tf.sin(phi)];
      const zero = tf.zerosLike(c);
      const dRe = interleave(tf.mul(cp, c), c);
      const dIm = interleave(tf.mul(sp, c), zero);
      const oRe = interleave(tf.neg(tf.mul(cp, s)), s);
      const oIm = interleave(tf.neg(tf.mul(sp, s)), zero);
      const sRe = swapPairs(re);
      const sIm = swapPairs(im);
      const nextRe = tf.addN([tf.mul(dRe, re), tf.neg(tf.mul(dIm, im)), tf.mul(oRe, sRe), tf.neg(tf.mul(oIm, sIm))]);
      const nextIm = tf.addN([tf.mul(dRe, im), tf.mul(dIm, re), tf.mul(oRe, sIm), tf.mul(oIm, sRe)]);
      // periodic boundary: roll left after even sublayers, right after odd ones
      const roll = (v: tf.Tensor) =>
        i % 2 === 0
          ? tf.concat([tf.slice(v, [0, 1], [batch, n - 1]), tf.slice(v, [0, 0], [batch, 1])], 1)
          : tf.concat([tf.slice(v, [0, n - 1], [batch, 1]), tf.slice(v, [0, 0], [batch, n - 1])], 1);
      re = roll(nextRe);
      im = roll(nextIm);
    }
    return tf.concat([re, im], 1) as tf.Tensor2D; // [batch, 2·N]
  });
}

/**
 * modReLU(z) = ReLU(|z| + b)·z/|z|, with |z| taken as |z| + 1e-5 as torch_eunn does.
 * @param z [batch, 2·N] real parts then imaginary parts
 * @param bias [N]
 * @returns [batch, 2·N]
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function modRelu(z: tf.Tensor, bias: tf.Tensor): tf.Tensor2D {
  if (bias.rank !== 1) throw new Error(`modReLU bias must be [hiddenSize] (got shape ${shapeText(bias.shape)})`);
  const n = bias.shape[0];
  if (z.rank !== 2 || z.shape[1] !== 2 * n)
    throw new Error(
      `modReLU input must be [batch, ${2 * n}] (real then imaginary parts; got shape ${shapeText(z.shape)})`,
    );
  return tf.tidy(() => {
    const batch = z.shape[0];
    const re = tf.slice(z, [0, 0], [batch, n]);
    const im = tf.slice(z, [0, n], [batch, n]);
    const r = tf.add(tf.sqrt(tf.add(tf.square(re), tf.square(im))), 1e-5); // [batch, N]
    const scale = tf.div(tf.relu(tf.add(r, bias)), r);
    return tf.concat([tf.mul(re, scale), tf.mul(im, scale)], 1) as tf.Tensor2D;
  });
}

/**
 * The EURNN recurrence step by step in tfjs ops: what the fused kernel (eurnnSequence) computes,
 * kept as its reference. Slow for long sequences (some 40 ops per step).
 * @returns the last state [batch, 2·N]
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function eurnnSequencePlain(
  x: tf.Tensor,
  kernel: tf.Tensor,
  bias: tf.Tensor,
  angles: tf.Tensor,
  modBias: tf.Tensor,
): tf.Tensor2D {
  if (x.rank !== 3)
    throw new Error(`EURNN input must have rank 3 [batch, steps, features] (got shape ${shapeText(x.shape)})`);
  return tf.tidy(() => {
    const [batch, steps, features] = x.shape as [number, number, number];
    const n = angles.shape[0];
    const zeroIm = tf.zeros([batch, n]);
    let h: tf.Tensor2D = tf.zeros([batch, 2 * n]);
    for (let t = 0; t < steps; t++) {
      const xt = tf.reshape(tf.slice(x, [0, t, 0], [batch, 1, features]), [batch, features]);
      const drive = tf.concat([tf.add(tf.matMul(xt, kernel as tf.Tensor2D), bias), zeroIm], 1); // real input, zero imaginary part
      const next = modRelu(tf.add(eunnApply(h, angles), drive), modBias);
      tf.dispose(h);
      h = tf.keep(next);
    }
    return h;
  });
}

/** Options of the EUNN layer. */
export interface EunnArgs extends EunnLayerBaseArgs {
  /** Complex components N (even). Default 256, the walkthrough's num_hidden_rnn. */
  hiddenSize?: number;
  /** Sublayers of mixing units (torch_eunn's capacity). Default 2, the walkthrough's capacity_rnn. */
  capacity?: number;
  /** Seed of the angles' initialiser, 2π·U(0, 1). Default: unseeded. */
  seed?: number;
}

/**
 * The efficient unitary layer (see eunnApply) as a layer: [batch, 2·N] → [batch, 2·N], with one
 * weight, `angles` [N, capacity], initialised 2π·U(0, 1).
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export class EUNN extends tf.layers.Layer {
  static className = 'EUNN';
  readonly hiddenSize: number;
  readonly capacity: number;
  readonly seed?: number;
  private angles?: tf.LayerVariable;

  constructor(args: EunnArgs = {}) {
    super(baseArgs(args));
    this.hiddenSize = checkHiddenSize(args.hiddenSize ?? 256);
    this.capacity = checkCapacity(args.capacity ?? 2);
    this.seed = optionalSeed(args.seed);
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length !== 2 || shape[1] !== 2 * this.hiddenSize) {
      throw new Error(
        `EUNN expects input [batch, ${2 * this.hiddenSize}] (real then imaginary parts; got ${shapeText(shape)})`,
      );
    }
    this.angles = this.addWeight('angles', [this.hiddenSize, this.capacity], 'float32', new UniformAngles(this.seed));
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const z = Array.isArray(inputs) ? inputs[0] : inputs;
    return eunnApply(z, this.angles!.read());
  }

  getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { hiddenSize: this.hiddenSize, capacity: this.capacity };
    if (this.seed !== undefined) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}

/** Options of the ModReLU layer. */
export interface ModReluArgs extends EunnLayerBaseArgs {
  /** Complex components N. Default 256. */
  hiddenSize?: number;
  /** Initial value of every bias. Default 0.01, as the walkthrough sets it. */
  biasInit?: number;
}

/**
 * modReLU (see modRelu) as a layer: [batch, 2·N] → [batch, 2·N], with a trainable bias [N].
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export class ModReLU extends tf.layers.Layer {
  static className = 'ModReLU';
  readonly hiddenSize: number;
  readonly biasInit: number;
  private bias?: tf.LayerVariable;

  constructor(args: ModReluArgs = {}) {
    super(baseArgs(args));
    this.hiddenSize = positiveInteger('hiddenSize', args.hiddenSize ?? 256);
    this.biasInit = checkFinite('biasInit', args.biasInit ?? 0.01);
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length !== 2 || shape[1] !== 2 * this.hiddenSize) {
      throw new Error(
        `ModReLU expects input [batch, ${2 * this.hiddenSize}] (real then imaginary parts; got ${shapeText(shape)})`,
      );
    }
    this.bias = this.addWeight(
      'bias',
      [this.hiddenSize],
      'float32',
      tf.initializers.constant({ value: this.biasInit }),
    );
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return modRelu(Array.isArray(inputs) ? inputs[0] : inputs, this.bias!.read());
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), hiddenSize: this.hiddenSize, biasInit: this.biasInit };
  }
}

/** What the EURNN layer returns from the last state h_T. */
export type EurnnOutput = 'real' | 'imag' | 'abs' | 'complex';
const OUTPUT_TYPES: readonly EurnnOutput[] = ['real', 'imag', 'abs', 'complex'];

/** Options of the EURNN layer; defaults are the walkthrough's. */
export interface EurnnArgs extends EunnLayerBaseArgs {
  /** Complex components N of the state (even). Default 256 (num_hidden_rnn). */
  hiddenSize?: number;
  /** Sublayers of the unitary layer. Default 2 (capacity_rnn). */
  capacity?: number;
  /**
   * From the last state: 'real' parts [batch, N] (default, as the walkthrough reads out),
   * 'imag', 'abs' (moduli), or 'complex' [batch, 2·N] (real then imaginary parts).
   */
  outputType?: EurnnOutput;
  /** Input weights start U(−r, r). Default √2/√11, the walkthrough's √2/√(num_inputs + num_labels). */
  inputWeightRange?: number;
  /** Initial input-layer bias. Default 0.01, as the walkthrough sets it. */
  inputBiasInit?: number;
  /** Initial modReLU bias. Default 0.01, as the walkthrough sets it. */
  modBiasInit?: number;
  /** Seed of the input weights' initialiser; the angles get seed + 1. Default: unseeded. */
  seed?: number;
  /** [steps, features] (steps may be null), for a first layer without an Input. */
}

/**
 * The EURNN recurrent layer: from the zero state, h_t = modReLU(W x_t + b + U h_{t−1}) with W a
 * real linear input layer (the input enters the real part) and U the efficient unitary layer;
 * returns (a view of) the last state. Input [batch, steps, features]. Weights: kernel
 * [features, N], bias [N], angles [N, capacity], modBias [N]. The whole sequence runs in one fused
 * kernel (lib/kernels/eurnn.ts).
 *
 * Porting note: torch_eunn's EURNN returns every step's output and the state; only the last
 * state's view is offered here, which is all the walkthrough reads.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export class EURNN extends tf.layers.Layer {
  static className = 'EURNN';
  readonly hiddenSize: number;
  readonly capacity: number;
  readonly outputType: EurnnOutput;
  readonly inputWeightRange: number;
  readonly inputBiasInit: number;
  readonly modBiasInit: number;
  readonly seed?: number;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;
  private angles?: tf.LayerVariable;
  private modBias?: tf.LayerVariable;

  constructor(args: EurnnArgs = {}) {
    super(baseArgs(args));
    this.hiddenSize = checkHiddenSize(args.hiddenSize ?? 256);
    this.capacity = checkCapacity(args.capacity ?? 2);
    const outputType = args.outputType ?? 'real';
    if (!OUTPUT_TYPES.includes(outputType))
      throw new Error(`outputType must be one of ${OUTPUT_TYPES.join(', ')} (got ${JSON.stringify(outputType)})`);
    this.outputType = outputType;
    this.inputWeightRange = positiveNumber('inputWeightRange', args.inputWeightRange ?? Math.sqrt(2) / Math.sqrt(11));
    this.inputBiasInit = checkFinite('inputBiasInit', args.inputBiasInit ?? 0.01);
    this.modBiasInit = checkFinite('modBiasInit', args.modBiasInit ?? 0.01);
    this.seed = optionalSeed(args.seed);
    this.inputSpec = [{ ndim: 3 }];
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length !== 3) throw new Error(`EURNN expects input [batch, steps, features] (got ${shapeText(shape)})`);
    const features = shape[2];
    if (features == null) throw new Error('EURNN needs a known number of input features (the last input axis is None)');
    const n = this.hiddenSize;
    const r = this.inputWeightRange;
    const seed = this.seed;
    this.kernel = this.addWeight(
      'kernel',
      [features, n],
      'float32',
      tf.initializers.randomUniform({ minval: -r, maxval: r, seed }),
    );
    this.bias = this.addWeight('bias', [n], 'float32', tf.initializers.constant({ value: this.inputBiasInit }));
    this.angles = this.addWeight(
      'angles',
      [n, this.capacity],
      'float32',
      new UniformAngles(seed === undefined ? undefined : seed + 1),
    );
    this.modBias = this.addWeight('mod_bias', [n], 'float32', tf.initializers.constant({ value: this.modBiasInit }));
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], this.outputType === 'complex' ? 2 * this.hiddenSize : this.hiddenSize];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs; // [batch, steps, features]
      if (x.rank !== 3)
        throw new Error(`EURNN expects input of rank 3 [batch, steps, features] (got shape ${shapeText(x.shape)})`);
      const h = eurnnSequence(x, this.kernel!.read(), this.bias!.read(), this.angles!.read(), this.modBias!.read()); // [batch, 2·N]
      const n = this.hiddenSize;
      const batch = x.shape[0];
      const re = () => tf.slice(h, [0, 0], [batch, n]);
      const im = () => tf.slice(h, [0, n], [batch, n]);
      switch (this.outputType) {
        case 'real':
          return re();
        case 'imag':
          return im();
        case 'abs':
          return tf.sqrt(tf.add(tf.square(re()), tf.square(im())));
        case 'complex':
          return h;
      }
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      hiddenSize: this.hiddenSize,
      capacity: this.capacity,
      outputType: this.outputType,
      inputWeightRange: this.inputWeightRange,
      inputBiasInit: this.inputBiasInit,
      modBiasInit: this.modBiasInit,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}

/** Options of buildEurnnModel; defaults are the walkthrough's constants. */
export interface EurnnModelOptions {
  /** Steps per sequence (num_steps_rnn). Default 784, one pixel per step. */
  steps?: number;
  /** Inputs per step (num_inputs). Default 1. */
  inputs?: number;
  /** Hidden size (num_hidden_rnn). Default 256. */
  hiddenSize?: number;
  /** Capacity of the unitary layer (capacity_rnn). Default 2. */
  capacity?: number;
  /** Classes (num_labels). Default 10. */
  numLabels?: number;
  /** Seed of the initialisers: EURNN input weights seed, angles seed + 1, readout seed + 2. Default 0. */
  seed?: number;
}

/**
 * The walkthrough's model: EURNN (input layer 1→256 with bias, unitary layer of capacity 2,
 * modReLU) whose last state's real part feeds a linear readout 256→10 (logits). Initialised as
 * the original: input and readout weights U(±√2/√(inputs + labels)), the three biases 0.01, the
 * angles 2π·U(0, 1). 3,850 trainable parameters with the defaults.
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export function buildEurnnModel(options: EurnnModelOptions = {}): tf.Sequential {
  const steps = options.steps ?? 784;
  const inputs = options.inputs ?? 1;
  const numLabels = options.numLabels ?? 10;
  positiveInteger('steps', steps);
  positiveInteger('inputs', inputs);
  positiveInteger('numLabels', numLabels);
  const seed = optionalSeed(options.seed ?? 0)!;
  const v = Math.sqrt(2) / Math.sqrt(inputs + numLabels);
  const model = tf.sequential({ name: 'eurnn_psmnist' });
  model.add(
    new EURNN({
      inputShape: [steps, inputs],
      hiddenSize: options.hiddenSize ?? 256,
      capacity: options.capacity ?? 2,
      inputWeightRange: v,
      inputBiasInit: 0.01,
      modBiasInit: 0.01,
      seed,
      name: 'eurnn',
    }),
  );
  model.add(
    tf.layers.dense({
      units: numLabels,
      kernelInitializer: tf.initializers.randomUniform({ minval: -v, maxval: v, seed: seed + 2 }),
      biasInitializer: tf.initializers.constant({ value: 0.01 }),
      name: 'readout',
    }),
  );
  return model;
}

// ---- every step's state ----------------------------------------------------------------------------

/**
 * The EURNN layer returning every step's state instead of the last: [batch, steps, N] ('real',
 * 'imag', 'abs') or [batch, steps, 2·N] ('complex'). Same options, weights and recurrence as
 * EURNN, so a trained EURNN's weights load into it one to one; it is the per-step twin that lets
 * the readout be applied after every pixel (lib/models/per-step.ts).
 *
 * The fused kernel keeps only the last state, so the states come from the kernel's JavaScript
 * reference engine (eurnnStatesJs, float64), which records every step, or on webgpu from its WGSL
 * twin (eurnnStatesWebgpu, float32). Inference only: it has no gradient.
 * @see notebooks/06-compare.ipynb
 */
export class EURNNSteps extends EURNN {
  static className = 'EURNNSteps';

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0], shape[1], this.outputType === 'complex' ? 2 * this.hiddenSize : this.hiddenSize];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs; // [batch, steps, features]
    // EURNN's weights in the order it adds them: kernel, bias, angles, mod_bias
    const [kernel, bias, angles, modBias] = this.weights.map((w) => w.read());
    const d = eurnnShapes(x.shape, kernel.shape, bias.shape, angles.shape, modBias.shape);
    const statesJs = () => {
      const f32 = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
      const { re, im } = eurnnStatesJs(
        { ...d, x: f32(x) },
        { kernel: f32(kernel), bias: f32(bias), angles: f32(angles), modBias: f32(modBias) },
      );
      const shape: [number, number, number] = [d.batch, d.steps, d.hiddenSize];
      return { re: tf.tensor3d(re, shape), im: tf.tensor3d(im, shape) };
    };
    return tf.tidy(() => {
      // on webgpu the CPU cannot read the tensors synchronously: the states are computed there
      const { re: real, im: imag } =
        tf.getBackend() === 'webgpu' ? eurnnStatesWebgpu(x, kernel, bias, angles, modBias) : statesJs();
      switch (this.outputType) {
        case 'real':
          return real;
        case 'imag':
          return imag;
        case 'abs':
          return tf.sqrt(tf.add(tf.square(real), tf.square(imag)));
        case 'complex':
          return tf.concat([real, imag], 2);
      }
    });
  }
}
