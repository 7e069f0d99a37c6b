/**
 * KerasLMU's LMU layer (keras_lmu.LMU): a Legendre memory and a hidden cell reading it, computed
 * by the chunked convolution or step by step (lib/models/lmu-convolution.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { optionalSeed, positiveInteger, positiveNumber } from '../checks';
import { renameWeight, resetDropoutMasks } from '../tfjs-internals';
import { checkInitializer, InitializerName, INITIALIZERS, makeInitializer } from './initializers';
import {
  ChunkConstants,
  checkImplementation,
  chunkConstants,
  encode,
  HiddenWeights,
  lastMemoryOf,
  lastStep,
  LmuImplementation,
  memoryOf,
  memoryStep,
  parallelHidden,
  sequenceInput,
  sequenceShape,
  timeSteps,
} from './lmu-convolution';
import { checkDiscretizer, LmuDiscretizer } from './lmu-math';

/** Initialisers the LMU layers accept, by tfjs name (Keras: glorot_uniform, orthogonal, ones, …). */
export const LMU_INITIALIZERS = INITIALIZERS;
export type LmuInitializer = InitializerName;

type Kwargs = Record<string, unknown>;

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

/** tfjs's SimpleRNNCell, whose weights the fused kernel reads. */
type SimpleRnnCell = ReturnType<typeof tf.layers.simpleRNNCell>;

/** The cell as a SimpleRNNCell, or undefined for another kind. */
function asSimpleRnnCell(cell: HiddenCell): SimpleRnnCell | undefined {
  return cell.getClassName() === 'SimpleRNNCell' ? (cell as SimpleRnnCell) : undefined;
}

/** True when the fused tanh kernel computes this cell exactly. */
function fusable(cell: HiddenCell, training: boolean): boolean {
  const c = asSimpleRnnCell(cell);
  return (
    c !== undefined &&
    c.activation.getClassName() === 'tanh' &&
    (!training || (c.dropout === 0 && c.recurrentDropout === 0))
  );
}

function cellUnits(cell: HiddenCell): number {
  const s = cell.stateSize;
  return Array.isArray(s) ? s[0] : s;
}

function deserializeCell(config: tf.serialization.ConfigDict): HiddenCell {
  const { className, config: cellConfig } = config as { className: string; config: tf.serialization.ConfigDict };
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry)
    throw new Error(`LMU: unknown hidden cell class '${className}' (register it with tf.serialization.registerClass)`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, cellConfig) as HiddenCell;
}

/**
 * KerasLMU's LMU layer: a memory m_t = Ā m_{t−1} + B̄ u_t of `memoryD` × `order` Legendre
 * coefficients of the encoded input u_t = [x_t, (h_{t−1}), (m_{t−1})]·encoders (+ bias), and a
 * hidden cell reading m_t (and x_t with `inputToHidden`). Weights, in order: `kernel` [features
 * (+ units), memoryD], `recurrent_kernel` [memoryD·order, memoryD] (memory→memory), `bias`
 * [memoryD] (useBias), then the hidden cell's (named `<layer>/hidden_cell/...`).
 *
 * Porting note: KerasLMU's dropout, recurrent_dropout, trainable_theta, regularizers and FFT
 * conv_mode are not offered; the parallel path convolves by chunked matMuls (see
 * lib/models/lmu-convolution.ts), and its result equals the recurrence's to float32 rounding.
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
    super({ name: args.name, trainable: args.trainable, inputShape: args.inputShape ?? undefined });
    if (args == null || typeof args !== 'object') throw new Error(`LMU needs an options object (got ${args})`);
    this.memoryD = positiveInteger('memoryD', args.memoryD);
    this.order = positiveInteger('order', args.order);
    this.theta = positiveNumber('theta', args.theta);
    if (args.hiddenCell === undefined)
      throw new Error('hiddenCell is required: a cell such as tf.layers.simpleRNNCell({units: 212}), or null for none');
    if (args.hiddenCell !== null && !(args.hiddenCell instanceof tf.layers.Layer && 'stateSize' in args.hiddenCell)) {
      throw new Error(
        `hiddenCell must be an RNN cell (e.g. tf.layers.simpleRNNCell) or null (got ${Object.prototype.toString.call(args.hiddenCell)})`,
      );
    }
    this.hiddenCell = args.hiddenCell;
    this.hiddenToMemory = args.hiddenToMemory ?? false;
    this.memoryToMemory = args.memoryToMemory ?? false;
    this.inputToHidden = args.inputToHidden ?? false;
    if (this.hiddenToMemory && this.hiddenCell === null)
      throw new Error('hiddenToMemory needs a hidden cell (hiddenCell is null)');
    this.discretizer = checkDiscretizer(args.discretizer ?? 'zoh');
    this.kernelInitializer = checkInitializer('kernelInitializer', args.kernelInitializer ?? 'glorotUniform');
    this.recurrentInitializer = checkInitializer('recurrentInitializer', args.recurrentInitializer ?? 'orthogonal');
    this.useBias = args.useBias ?? false;
    this.biasInitializer = checkInitializer('biasInitializer', args.biasInitializer ?? 'zeros');
    this.returnSequences = args.returnSequences ?? false;
    this.implementation = checkImplementation(args.implementation ?? 'auto');
    if (this.implementation === 'parallel' && (this.hiddenToMemory || this.memoryToMemory)) {
      throw new Error(
        `implementation 'parallel' needs hiddenToMemory and memoryToMemory off (got hiddenToMemory ${this.hiddenToMemory}, memoryToMemory ${this.memoryToMemory})`,
      );
    }
    this.seed = optionalSeed(args.seed);
  }

  /** True when calls use the chunked convolution (see `implementation`). */
  get parallel(): boolean {
    return (
      this.implementation === 'parallel' ||
      (this.implementation === 'auto' && !this.hiddenToMemory && !this.memoryToMemory)
    );
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
    this.kernel = this.addWeight(
      'kernel',
      [encoderIn, q],
      'float32',
      makeInitializer(this.kernelInitializer, this.seed),
    );
    if (this.memoryToMemory) {
      const seed = this.seed === undefined ? undefined : this.seed + 1;
      this.recurrentKernel = this.addWeight(
        'recurrent_kernel',
        [q * this.order, q],
        'float32',
        makeInitializer(this.recurrentInitializer, seed),
      );
    }
    if (this.useBias)
      this.bias = this.addWeight('bias', [q], 'float32', makeInitializer(this.biasInitializer, undefined));
    if (this.hiddenCell && !this.hiddenCell.built) {
      this.hiddenCell.build([null, q * this.order + (this.inputToHidden ? d : 0)]);
      // tfjs scopes the cell's weights under this layer's name only, where they would clash with ours
      for (const w of this.hiddenCell.weights) renameWeight(w, w.originalName.replace(/([^/]+)$/, 'hidden_cell/$1'));
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
    const out = this.hiddenCell
      ? this.hiddenUnits
      : this.memoryD * this.order + (this.inputToHidden ? (shape[2] as number) : 0);
    return this.returnSequences ? [shape[0], shape[1], out] : [shape[0], out];
  }

  private cellWeights(): { kernel: tf.Tensor2D; recurrentKernel: tf.Tensor2D; bias?: tf.Tensor1D } {
    const c = this.hiddenCell as SimpleRnnCell;
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
    resetDropoutMasks(cell);
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
    if (cell) resetDropoutMasks(cell);
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
      hiddenCell: this.hiddenCell
        ? { className: this.hiddenCell.getClassName(), config: this.hiddenCell.getConfig() }
        : null,
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

  static fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    const hiddenCell = config.hiddenCell ? deserializeCell(config.hiddenCell as tf.serialization.ConfigDict) : null;
    return new cls({ ...config, hiddenCell });
  }
}
