/**
 * Every serialisable class of the models, in one list, registered when a model is read from its
 * configuration (perStepModel, loadModel, tf.loadLayersModel): nothing registers itself when its
 * module loads. Layers go under the package 'seqmnist' (lib/models/serialization.ts); the quiet
 * orthogonal initialiser under tfjs's own name, so that models read from JSON use it too.
 */
import * as tf from '@tensorflow/tfjs';
import { EUNN, EURNN, EURNNSteps, ModReLU } from './eurnn';
import { QuietOrthogonal } from './initializers';
import { LMU } from './lmu-layer';
import { FusedLSTM } from './lstm';
import { NengoLMU } from './nengo-lmu';
import { registerSerializable } from './serialization';
import { TemporalBlock, TemporalConvNet } from './tcn';

/** The layers of this library, registered as `seqmnist>ClassName`. */
export const LAYER_CLASSES = [
  LMU,
  NengoLMU,
  FusedLSTM,
  TemporalBlock,
  TemporalConvNet,
  EUNN,
  ModReLU,
  EURNN,
  EURNNSteps,
] as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>[];

let registered = false;

/**
 * Registers the library's layers and its orthogonal initialiser for deserialisation (once; later
 * calls do nothing). Call it before reading a model from JSON yourself (tf.loadLayersModel).
 * @see notebooks/06-compare.ipynb
 */
export function registerModelClasses(): void {
  if (registered) return;
  for (const cls of LAYER_CLASSES) registerSerializable(cls);
  tf.serialization.registerClass(
    QuietOrthogonal as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>,
  );
  registered = true;
}
