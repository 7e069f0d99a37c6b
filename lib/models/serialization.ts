/**
 * How the models' layers are registered for (de)serialisation: under the package 'seqmnist', in
 * the "package>Name" registered-name style of Keras (`register_keras_serializable(package=…)`) and
 * tfjs (`tf.serialization.registerClass(cls, pkg)`), so that every layer of this library reads
 * `seqmnist>LMU`, `seqmnist>FusedLSTM`, … in tf.serialization.getRegisteredName.
 *
 * A saved model.json names each layer by its class name alone (`"class_name": "LMU"`), as Keras 3
 * writes `class_name` beside its `registered_name`: tfjs 4.22 looks layers up by class name, so the
 * class names stay as they were and every model saved so far (notebooks/weights/*) still loads.
 */
import * as tf from '@tensorflow/tfjs';

/** The package part of this library's registered names. */
export const SERIALIZATION_PACKAGE = 'seqmnist';

/** Registers `cls` for deserialisation by its class name, with the registered name `seqmnist>ClassName`. */
export function registerSerializable<T extends tf.serialization.Serializable>(
  cls: tf.serialization.SerializableConstructor<T>,
): void {
  tf.serialization.registerClass(cls, SERIALIZATION_PACKAGE);
}
