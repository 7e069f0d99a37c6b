/**
 * What one gradient computation needs, on the main thread and in gradient worker threads alike:
 * the losses (by name, so that a worker can be told which), the variables an optimiser updates,
 * a batch's gradients, and global-norm clipping. Imports nothing of the library but the tfjs
 * internals and the hook of a model's own gradient, so that a worker loads little.
 */
import * as tf from '@tensorflow/tfjs';
import { ownGradientsOf, type OwnGradientsResult } from '../own-gradients';
import { variableOf } from '../tfjs-internals';

/** A loss of (model outputs, integer labels) → scalar mean over the batch. */
export type LossFn = (outputs: tf.Tensor, labels: tf.Tensor) => tf.Scalar;

/**
 * The losses the walkthroughs use.
 * @see notebooks/04-tcn-smnist.ipynb
 */
export const losses = {
  /** Keras `SparseCategoricalCrossentropy(from_logits=True)`, PyTorch `cross_entropy`. */
  sparseCrossEntropyFromLogits: ((logits, labels) =>
    tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels as tf.Tensor1D, logits.shape[1]!), logits))) as LossFn,
  /** Keras `sparse_categorical_crossentropy` on softmax probabilities (clipped as Keras clips, 1e-7). */
  sparseCrossEntropy: ((probs, labels) =>
    tf.tidy(() => {
      const p = tf.clipByValue(probs, 1e-7, 1 - 1e-7);
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels as tf.Tensor1D, probs.shape[1]!), tf.log(p)), -1)));
    })) as LossFn,
  /** PyTorch `nll_loss` on log-probabilities (a log-softmax output). */
  nll: ((logProbs, labels) =>
    tf.tidy(() =>
      tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels as tf.Tensor1D, logProbs.shape[1]!), logProbs), -1))),
    )) as LossFn,
};

/** The name of one of `losses`. */
export type LossName = keyof typeof losses;

/**
 * The name under which `loss` is one of `losses` (how a worker thread is told which loss to
 * take); any other function is an error, since a worker cannot be sent a function.
 */
export function lossName(loss: LossFn): LossName {
  const name = lossNameOf(loss);
  if (!name) {
    throw new Error(
      `a loss split over worker threads must be one of losses (${Object.keys(losses).join(', ')}), not a function of its own`,
    );
  }
  return name;
}

/** The name under which `loss` is one of `losses`, if it is. */
function lossNameOf(loss: LossFn): LossName | undefined {
  return (Object.keys(losses) as LossName[]).find((k) => losses[k] === loss);
}

/** The variables behind a model's trainable weights (what the optimiser updates). */
export function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map(variableOf);
}

/**
 * Gradients of `loss` for a batch on this thread, in trainableVariables' order; the caller disposes
 * `grads`. The loss and the count of correct predictions come back to the CPU in one read. A model
 * that carries its own gradient (lib/own-gradients.ts) computes it where it applies.
 */
export async function localGradients(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  loss: LossFn,
): Promise<OwnGradientsResult> {
  const name = lossNameOf(loss);
  const own = name === undefined ? undefined : ownGradientsOf(model)?.(x, y, name);
  return own ?? tapeGradients(model, x, y, loss);
}

/** localGradients through tfjs's gradient tape, whatever the model carries. */
export async function tapeGradients(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  loss: LossFn,
): Promise<OwnGradientsResult> {
  const vars = trainableVariables(model);
  let correct: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(x, { training: true }) as tf.Tensor;
    correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), y), 'int32')));
    return loss(out, y);
  }, vars);
  const both = tf.tidy(() => tf.stack([value, tf.cast(correct!, 'float32')]));
  tf.dispose([value, correct!]);
  const [v, c] = await both.data();
  both.dispose();
  return { value: v, grads: vars.map((v) => grads[v.name]), correct: c };
}

/**
 * Scales gradients down to global L2 norm `clipNorm` when their norm exceeds it, as Keras's
 * `global_clipnorm` (tf.clip_by_global_norm); disposes the originals it replaces. Returns the
 * norm before clipping (one read of the GPU, where the backend is one).
 */
export async function clipByGlobalNorm(grads: tf.NamedTensorMap, clipNorm: number): Promise<number> {
  const names = Object.keys(grads);
  const normTensor = tf.tidy(() => tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))));
  const norm = (await normTensor.data())[0];
  normTensor.dispose();
  if (norm > clipNorm) {
    const scale = clipNorm / norm;
    for (const n of names) {
      const g = grads[n];
      grads[n] = tf.mul(g, scale);
      g.dispose();
    }
  }
  return norm;
}
