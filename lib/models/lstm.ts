/**
 * Stacked LSTMs for pixel-by-pixel and row-by-row MNIST: a classifier that reads the last step,
 * a per-step twin that classifies after every step, and the weight transfer between them. The
 * classifier carries its own gradient (lib/models/lstm-gradients.ts).
 * The LSTM layer is our own (FusedLSTM): Keras's LSTM maths, run by the fused recurrence of
 * lib/kernels/lstm.ts instead of a dozen small ops per time step.
 */
import * as tf from '@tensorflow/tfjs';
import { optionalSeed, positiveInteger } from '../checks';
import { lstmSequence } from '../kernels/lstm';
import { withOwnGradients } from '../own-gradients';
import { InitializerBase } from '../tfjs-internals';
import { stackedLstmGradients } from './lstm-gradients';
import { checkInitializer, Initializer, InitializerName, INITIALIZERS, makeInitializer } from './initializers';

/** Initialisers the layer accepts, by tfjs name (Keras: glorot_uniform, orthogonal, zeros, …). */
export const LSTM_INITIALIZERS = INITIALIZERS;
export type LstmInitializer = InitializerName;

/** Options of FusedLSTM; defaults are Keras 2's `tf.keras.layers.LSTM` defaults. */
export interface FusedLstmArgs {
  /** Hidden units (Keras `units`). Required. */
  units: number;
  /** Return every step's hidden state ([batch, steps, units]) or only the last ([batch, units]). Default false. */
  returnSequences?: boolean;
  /** Output and candidate activation. Only 'tanh' (Keras's default) is implemented by the fused kernel. */
  activation?: 'tanh';
  /** Gate activation. Only 'sigmoid' (Keras 2's default; tfjs-layers defaults to 'hardSigmoid') is implemented. */
  recurrentActivation?: 'sigmoid';
  /** Input kernel W [features, 4·units]. Default 'glorotUniform' (Keras glorot_uniform). */
  kernelInitializer?: LstmInitializer;
  /** Recurrent kernel U [units, 4·units]. Default 'orthogonal'. */
  recurrentInitializer?: LstmInitializer;
  /** Bias [4·units]. Default 'zeros'. */
  biasInitializer?: LstmInitializer;
  /** Add 1 to the forget gate's bias at initialisation (Keras `unit_forget_bias`). Default true. */
  unitForgetBias?: boolean;
  /** Seed of the kernel initialiser; the recurrent initialiser gets seed + 1. Default: unseeded. */
  seed?: number;
  /** [steps, features] (steps may be null), for a first layer without an Input. */
  inputShape?: (number | null)[];
  name?: string;
  trainable?: boolean;
}

/**
 * Keras's LSTM layer (gates i, f, c, o in that column order; sigmoid gates, tanh candidate and
 * output; unit forget bias; glorot-uniform kernel, orthogonal recurrent kernel; zero initial
 * state) computed by the fused recurrence kernel. Weights are named and shaped as Keras's
 * (kernel [features, 4·units], recurrent_kernel [units, 4·units], bias [4·units]), so they can be
 * exchanged with tf.layers.lstm({recurrentActivation: 'sigmoid'}) and Keras.
 *
 * Porting note: Keras's masking, dropout, stateful and go_backwards options are not offered.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export class FusedLSTM extends tf.layers.Layer {
  static className = 'FusedLSTM';
  readonly units: number;
  readonly returnSequences: boolean;
  readonly kernelInitializer: LstmInitializer;
  readonly recurrentInitializer: LstmInitializer;
  readonly biasInitializer: LstmInitializer;
  readonly unitForgetBias: boolean;
  readonly seed?: number;
  private kernel?: tf.LayerVariable;
  private recurrentKernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: FusedLstmArgs) {
    super({ name: args.name, trainable: args.trainable, inputShape: args.inputShape ?? undefined });
    this.units = positiveInteger('units', args.units);
    if (args.activation !== undefined && args.activation !== 'tanh') {
      throw new Error(
        `activation must be 'tanh', the only one the fused LSTM implements (got ${JSON.stringify(args.activation)})`,
      );
    }
    if (args.recurrentActivation !== undefined && args.recurrentActivation !== 'sigmoid') {
      throw new Error(
        `recurrentActivation must be 'sigmoid', the only one the fused LSTM implements (got ${JSON.stringify(args.recurrentActivation)})`,
      );
    }
    this.seed = optionalSeed(args.seed);
    this.returnSequences = args.returnSequences ?? false;
    this.kernelInitializer = checkInitializer('kernelInitializer', args.kernelInitializer ?? 'glorotUniform');
    this.recurrentInitializer = checkInitializer('recurrentInitializer', args.recurrentInitializer ?? 'orthogonal');
    this.biasInitializer = checkInitializer('biasInitializer', args.biasInitializer ?? 'zeros');
    this.unitForgetBias = args.unitForgetBias ?? true;
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    if (shape.length !== 3)
      throw new Error(`FusedLSTM expects input [batch, steps, features] (got [${shape.join(', ')}])`);
    const features = shape[2];
    if (features == null)
      throw new Error('FusedLSTM needs a known number of input features (the last input axis is None)');
    const n = this.units;
    this.kernel = this.addWeight(
      'kernel',
      [features, 4 * n],
      'float32',
      makeInitializer(this.kernelInitializer, this.seed),
    );
    const recurrentSeed = this.seed === undefined ? undefined : this.seed + 1;
    this.recurrentKernel = this.addWeight(
      'recurrent_kernel',
      [n, 4 * n],
      'float32',
      makeInitializer(this.recurrentInitializer, recurrentSeed),
    );
    const biasInit = makeInitializer(this.biasInitializer, undefined);
    this.bias = this.addWeight(
      'bias',
      [4 * n],
      'float32',
      this.unitForgetBias ? new UnitForgetBias(biasInit, n) : biasInit,
    );
    this.built = true;
  }

  computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return this.returnSequences ? [shape[0], shape[1], this.units] : [shape[0], this.units];
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D; // [batch, steps, features]
      const h = lstmSequence(
        x,
        this.kernel!.read() as tf.Tensor2D,
        this.recurrentKernel!.read() as tf.Tensor2D,
        this.bias!.read() as tf.Tensor1D,
      ); // [batch, steps, units]
      if (this.returnSequences) return h;
      const [batch, steps] = h.shape;
      return tf.reshape(tf.slice(h, [0, steps - 1, 0], [batch, 1, this.units]), [batch, this.units]); // [batch, units]
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      units: this.units,
      returnSequences: this.returnSequences,
      activation: 'tanh',
      recurrentActivation: 'sigmoid',
      kernelInitializer: this.kernelInitializer,
      recurrentInitializer: this.recurrentInitializer,
      biasInitializer: this.biasInitializer,
      unitForgetBias: this.unitForgetBias,
    };
    if (this.seed !== undefined) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}

/**
 * Keras's unit_forget_bias: the bias initialiser's values with ones in the forget gate's slice.
 * Not registered: FusedLSTM's config names its initialisers, so this one is never serialised.
 */
class UnitForgetBias extends InitializerBase {
  static className = 'UnitForgetBias';
  constructor(
    private readonly base: Initializer,
    private readonly units: number,
  ) {
    super();
  }
  apply(): tf.Tensor {
    const n = this.units;
    return tf.tidy(() => tf.concat([this.base.apply([n]), tf.ones([n]), this.base.apply([2 * n])]));
  }
  getConfig(): tf.serialization.ConfigDict {
    return {};
  }
}

/**
 * Builds a FusedLSTM layer (see FusedLstmArgs).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function fusedLstm(args: FusedLstmArgs): FusedLSTM {
  return new FusedLSTM(args);
}

/** Options of the stacked-LSTM builders; defaults are the assignment's. */
export interface StackedLstmOptions {
  /** Time steps per sequence: 196 for 14×14 pixels, 14 for rows. Required. */
  steps: number;
  /** Features per step: 1 for pixels, 14 for rows. Required. */
  features: number;
  /** Hidden size of every LSTM layer. Default 8. */
  units?: number;
  /** Stacked LSTM layers. Default 3. */
  layers?: number;
  /** Output classes of the softmax. Default 10. */
  classes?: number;
  /** Seed of the initialisers (layer k's LSTM gets seed + 2k and +2k+1, the Dense seed + 100). Default: unseeded. */
  seed?: number;
}

function checkStacked(o: StackedLstmOptions): Required<Omit<StackedLstmOptions, 'seed'>> & { seed?: number } {
  return {
    steps: positiveInteger('steps', o.steps),
    features: positiveInteger('features', o.features),
    units: positiveInteger('units', o.units ?? 8),
    layers: positiveInteger('layers', o.layers ?? 3),
    classes: positiveInteger('classes', o.classes ?? 10),
    seed: optionalSeed(o.seed),
  };
}

function stacked(o: StackedLstmOptions, perStep: boolean, name: string): tf.LayersModel {
  const { steps, features, units, layers, classes, seed } = checkStacked(o);
  const input = tf.input({ shape: [steps, features], name: 'input' }); // [batch, steps, features]
  let h: tf.SymbolicTensor = input;
  for (let k = 0; k < layers; k++) {
    h = new FusedLSTM({
      units,
      returnSequences: perStep || k < layers - 1,
      seed: seed === undefined ? undefined : seed + 2 * k,
      name: k === 0 ? 'lstm' : `lstm_${k}`,
    }).apply(h) as tf.SymbolicTensor; // [batch, steps, units], the last [batch, units] unless perStep
  }
  const output = tf.layers
    .dense({
      units: classes,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed === undefined ? undefined : seed + 100 }),
      name: 'dense',
    })
    .apply(h) as tf.SymbolicTensor; // [batch, classes] or [batch, steps, classes]
  return tf.model({ inputs: input, outputs: output, name });
}

/**
 * The assignment's classifier: `layers` stacked LSTMs of `units` (all but the last return
 * sequences) and a Dense softmax on the last step's hidden state. Output [batch, classes].
 * Hidden size 8: 1,498 parameters for pixels (196×1), 1,914 for rows (14×14).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function buildStackedLstm(options: StackedLstmOptions): tf.LayersModel {
  const model = stacked(options, false, 'stacked_lstm');
  const { units, layers } = checkStacked(options);
  const widths = Array<number>(layers).fill(units);
  // its training step on arrays (lib/models/lstm-gradients.ts), equal to the tape's up to float rounding
  return withOwnGradients(model, (x, y, loss) => stackedLstmGradients(model, widths, x, y, loss));
}

/**
 * The per-step twin: every LSTM returns sequences and the Dense softmax classifies each step.
 * Output [batch, steps, classes]; same weights as buildStackedLstm (see transferLstmWeights).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function buildStackedLstmPerStep(options: StackedLstmOptions): tf.LayersModel {
  return stacked(options, true, 'stacked_lstm_per_step');
}

const shapeText = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;

/**
 * Copies the weights of `from` into `to`, layer by layer, after checking that both have the same
 * layers with weights (kind and order) and the same weight shapes; a mismatch names the layer and
 * both shapes. Used to give the per-step model the trained classifier's weights.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function transferLstmWeights(from: tf.LayersModel, to: tf.LayersModel): void {
  const withWeights = (m: tf.LayersModel) => m.layers.filter((l) => l.weights.length > 0);
  const a = withWeights(from);
  const b = withWeights(to);
  const describe = (ls: tf.layers.Layer[]) => ls.map((l) => `${l.name} (${l.getClassName()})`).join(', ');
  if (a.length !== b.length) {
    throw new Error(
      `cannot transfer weights: the source has ${a.length} layers with weights (${describe(a)}), the target ${b.length} (${describe(b)})`,
    );
  }
  a.forEach((la, i) => {
    const lb = b[i];
    if (la.getClassName() !== lb.getClassName()) {
      throw new Error(
        `cannot transfer weights: layer ${i} is ${la.name} (${la.getClassName()}) in the source but ${lb.name} (${lb.getClassName()}) in the target`,
      );
    }
    if (la.weights.length !== lb.weights.length) {
      throw new Error(
        `cannot transfer weights: layer ${la.name} has ${la.weights.length} weights in the source, ${lb.weights.length} in the target`,
      );
    }
    la.weights.forEach((w, j) => {
      if (shapeText(w.shape) !== shapeText(lb.weights[j].shape)) {
        throw new Error(
          `cannot transfer weights: ${la.name}'s ${w.originalName.split('/').pop()} has shape ${shapeText(w.shape)} in the source ` +
            `but ${shapeText(lb.weights[j].shape)} in the target (${lb.name})`,
        );
      }
    });
  });
  a.forEach((la, i) => b[i].setWeights(la.getWeights()));
}
