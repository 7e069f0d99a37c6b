/** Small models that tests build (also in worker threads, by recipe). */
import * as tf from '@tensorflow/tfjs';

export function tinyModel(units = 16): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.flatten({ inputShape: [784, 1] }));
  m.add(tf.layers.dense({ units, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}
