/**
 * A trained model's answers on a test set: its class probabilities whatever its last layer
 * outputs, its predicted classes in the walkthrough's own batches (so that accuracies equal
 * `eval`'s), accuracy and confusion matrix. Used by compare and its notebook.
 */
import * as tf from '@tensorflow/tfjs';
import { positiveInteger } from '../checks';
import type { SequenceDataset } from '../data/batches';
import type { OutputKind } from './walkthrough';

/**
 * Class probabilities from a model's outputs [batch, …, classes].
 * @see notebooks/06-compare.ipynb
 */
export function toProbabilities(out: tf.Tensor, kind: OutputKind): tf.Tensor {
  // softmax of log-probabilities gives the probabilities back (they sum to one)
  return kind === 'probabilities' ? out.clone() : tf.softmax(out);
}

/** A model's answers on a test set. */
export interface Predictions {
  /** The class of the largest output, per image (as `eval` counts it). */
  classes: Int32Array;
  /** [images, 10] class probabilities. */
  probabilities: Float32Array;
}

/**
 * The model's predicted class and class probabilities for every image of `data`, in batches of
 * `batchSize` (use the walkthrough's, so that the accuracy equals `eval`'s to the last image).
 * @see notebooks/06-compare.ipynb
 */
export async function predictClasses(
  model: tf.LayersModel,
  data: SequenceDataset,
  kind: OutputKind,
  batchSize: number,
): Promise<Predictions> {
  positiveInteger('batchSize', batchSize);
  const classes = new Int32Array(data.size);
  let probabilities = new Float32Array(0);
  let done = 0;
  await data.forEachBatch(batchSize, async ({ x, y }) => {
    const [p, c] = tf.tidy(() => {
      const out = model.apply(x, { training: false }) as tf.Tensor; // [b, classes]
      return [toProbabilities(out, kind), tf.argMax(out, -1)];
    });
    try {
      const k = p.shape[1] as number;
      if (probabilities.length === 0) probabilities = new Float32Array(data.size * k);
      probabilities.set((await p.data()) as Float32Array, done * k);
      classes.set((await c.data()) as Int32Array, done);
    } finally {
      tf.dispose([p, c]);
    }
    done += y.shape[0];
  });
  return { classes, probabilities };
}

/**
 * The share of `classes` equal to `labels`.
 * @see notebooks/06-compare.ipynb
 */
export function accuracyOf(classes: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (classes.length !== labels.length || labels.length === 0)
    throw new Error(
      `classes and labels must have one equal, non-zero length (got ${classes.length} and ${labels.length})`,
    );
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (classes[i] === labels[i]) right++;
  return right / labels.length;
}

/**
 * Counts [true class][predicted class] (10 × 10).
 * @see notebooks/06-compare.ipynb
 */
export function confusionMatrix(classes: ArrayLike<number>, labels: ArrayLike<number>, numClasses = 10): number[][] {
  if (classes.length !== labels.length)
    throw new Error(`classes and labels must have the same length (got ${classes.length} and ${labels.length})`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const [t, p] = [labels[i], classes[i]];
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses))
      throw new Error(`label ${t} or prediction ${p} at ${i} is outside 0…${numClasses - 1}`);
    m[t][p]++;
  }
  return m;
}
