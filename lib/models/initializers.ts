/**
 * The weight initialisers the models' layers accept by name (KerasLMU's LMU, FusedLSTM): one list,
 * one maker, one check, so that every layer takes the same names.
 */
import * as tf from '@tensorflow/tfjs';

/** Initialisers by tfjs name (Keras: glorot_uniform, orthogonal, zeros, …). */
export const INITIALIZERS = [
  'glorotUniform',
  'glorotNormal',
  'heUniform',
  'heNormal',
  'leCunUniform',
  'leCunNormal',
  'orthogonal',
  'zeros',
  'ones',
] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

/** A tfjs-layers initialiser (tfjs exports the factories, not the class). */
export type Initializer = ReturnType<typeof tf.initializers.zeros>;

/** The initialiser `name`, seeded with `seed` where it draws random numbers. */
export function makeInitializer(name: InitializerName, seed: number | undefined): Initializer {
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

/** `value` as an initialiser name, else an error naming the option and listing the names. */
export function checkInitializer(option: string, value: unknown): InitializerName {
  if (!(INITIALIZERS as readonly unknown[]).includes(value)) {
    throw new Error(`${option} must be one of ${INITIALIZERS.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as InitializerName;
}
