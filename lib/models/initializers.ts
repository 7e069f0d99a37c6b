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
      return quietOrthogonal(seed);
    case 'zeros':
      return tf.initializers.zeros();
    case 'ones':
      return tf.initializers.ones();
  }
}

// tfjs-layers' Orthogonal.apply warns on console.warn for any matrix over 2,000 elements; the QR of
// KerasLMU's 212×212 recurrent kernel runs once, at build time, in well under a second, so in a
// notebook the warning only reads as an error (a pink stderr box). This message alone is dropped.
const ORTHOGONAL_SLOW =
  /^Orthogonal initializer is being called on a matrix with more than \d+ \(\d+\) elements: Slowness may result\.$/;

type OrthogonalArgs = { gain?: number; seed?: number };
// tfjs exports the factory, not the class; the class is what the factory builds
const Orthogonal = tf.initializers.orthogonal({}).constructor as new (args: OrthogonalArgs) => Initializer;

/**
 * tfjs's orthogonal initialiser (same draws, serialised as 'Orthogonal') without its "Slowness
 * may result" warning; every other console.warn passes through. Registered (lib/models/classes.ts) under tfjs's class
 * name, so models loaded from JSON (the shipped weights, the training workers' copies) get it too.
 */
export class QuietOrthogonal extends Orthogonal {
  static className = 'Orthogonal';

  apply(...args: Parameters<Initializer['apply']>): tf.Tensor {
    const warn = console.warn;
    console.warn = (...msg: unknown[]) => {
      if (!(msg.length === 1 && typeof msg[0] === 'string' && ORTHOGONAL_SLOW.test(msg[0]))) warn(...msg);
    };
    try {
      return super.apply(...args);
    } finally {
      console.warn = warn;
    }
  }
}

/**
 * The orthogonal initialiser (tfjs's, without its warning on large matrices).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function quietOrthogonal(seed: number | undefined): Initializer {
  return new QuietOrthogonal({ seed });
}

/** `value` as an initialiser name, else an error naming the option and listing the names. */
export function checkInitializer(option: string, value: unknown): InitializerName {
  if (!(INITIALIZERS as readonly unknown[]).includes(value)) {
    throw new Error(`${option} must be one of ${INITIALIZERS.join(', ')} (got ${JSON.stringify(value)})`);
  }
  return value as InitializerName;
}
