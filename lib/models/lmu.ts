/**
 * Legendre Memory Units (Voelker, Kajić & Eliasmith, 2019) for psMNIST: the walkthroughs' models,
 * built from KerasLMU's LMU layer (lmu-layer.ts) and the LMU cell of NengoDL's example
 * (nengo-lmu.ts). Both layers compute by the chunked convolution of lmu-convolution.ts on the
 * system of lmu-math.ts; this module re-exports all of them.
 */
import * as tf from '@tensorflow/tfjs';
import { optionalSeed, positiveInteger, positiveNumber } from '../checks';
import { LmuImplementation } from './lmu-convolution';
import { quietOrthogonal } from './initializers';
import { LMU } from './lmu-layer';
import { NengoLMU } from './nengo-lmu';

export * from './lmu-math';
export { LMU_CHUNK } from './lmu-convolution';
export type { LmuImplementation } from './lmu-convolution';
export { LMU, LMU_INITIALIZERS } from './lmu-layer';
export type { HiddenCell, LmuArgs, LmuInitializer } from './lmu-layer';
export { NengoLMU } from './nengo-lmu';
export type { NengoLmuArgs } from './nengo-lmu';

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
  const steps = positiveInteger('steps', options.steps ?? 784);
  return {
    steps,
    features: positiveInteger('features', options.features ?? 1),
    order: positiveInteger('order', options.order ?? 256),
    theta: positiveNumber('theta', options.theta ?? steps),
    units: positiveInteger('units', options.units ?? 212),
    classes: positiveInteger('classes', options.classes ?? 10),
    seed: optionalSeed(options.seed),
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
      recurrentInitializer: quietOrthogonal(seed(1)),
    }),
    hiddenToMemory: false,
    memoryToMemory: false,
    inputToHidden: true,
    kernelInitializer: 'ones',
    implementation: options.implementation,
    name: 'lmu',
  });
  const dense = tf.layers.dense({
    units: s.classes,
    kernelInitializer: tf.initializers.glorotUniform({ seed: seed(2) }),
    name: 'dense',
  });
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
  const cell = new NengoLMU({
    units: s.units,
    order: s.order,
    theta: s.theta,
    seed: s.seed,
    implementation: options.implementation,
    name: 'lmu_cell',
  });
  const readout = tf.layers.dense({
    units: s.classes,
    useBias: false,
    kernelInitializer: tf.initializers.glorotUniform({ seed: s.seed === undefined ? undefined : s.seed + 3 }),
    name: 'out',
  });
  const outputs = readout.apply(cell.apply(inputs)) as tf.SymbolicTensor;
  return tf.model({ inputs, outputs, name: 'nengo_lmu' });
}
