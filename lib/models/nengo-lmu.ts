/**
 * The LMU cell of NengoDL's psMNIST example, assembled from its parts (nodes and connections) and
 * computed by the chunked convolution or step by step (lib/models/lmu-convolution.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { optionalSeed, positiveInteger, positiveNumber } from '../checks';
import {
  checkImplementation,
  chunkConstants,
  HiddenWeights,
  lastStep,
  LmuImplementation,
  parallelHidden,
  recurrentHidden,
  sequenceInput,
  sequenceShape,
} from './lmu-convolution';
import { checkDiscretizer, LmuDiscretizer } from './lmu-math';

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
    super({ name: args.name, trainable: args.trainable, inputShape: args.inputShape ?? undefined });
    this.units = positiveInteger('units', args.units);
    this.order = positiveInteger('order', args.order);
    this.theta = positiveNumber('theta', args.theta);
    this.discretizer = checkDiscretizer(args.discretizer ?? 'zoh');
    this.returnSequences = args.returnSequences ?? false;
    this.implementation = checkImplementation(args.implementation ?? 'auto');
    this.seed = optionalSeed(args.seed);
  }

  build(inputShape: tf.Shape | tf.Shape[]): void {
    const d = sequenceShape('NengoLMU', inputShape)[2] as number;
    this.features = d;
    const seed = (i: number) => (this.seed === undefined ? undefined : this.seed + i);
    this.xToU = this.addWeight('x_to_u', [d, 1], 'float32', tf.initializers.ones());
    this.xToH = this.addWeight('x_to_h', [d, this.units], 'float32', tf.initializers.glorotUniform({ seed: seed(0) }));
    this.hToH = this.addWeight(
      'h_to_h',
      [this.units, this.units],
      'float32',
      tf.initializers.glorotUniform({ seed: seed(1) }),
    );
    this.mToH = this.addWeight(
      'm_to_h',
      [this.order, this.units],
      'float32',
      tf.initializers.glorotUniform({ seed: seed(2) }),
    );
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
