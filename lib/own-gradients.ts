/**
 * A model's own gradient: a model whose training step has a faster form than tfjs's gradient tape
 * carries it (`withOwnGradients`), and lib/train/gradients.ts's localGradients takes it where it
 * applies. The stacked LSTMs have one (lib/models/lstm-gradients.ts): their three fused kernels
 * and the softmax head run on arrays, without the tape's few hundred op dispatches and tensors —
 * which, on two cores, also slowed the other thread of a data-parallel step.
 */
import type * as tf from '@tensorflow/tfjs';

/** What a batch's gradient gives: the mean loss, the gradients in trainableWeights' order, the correct count. */
export interface OwnGradientsResult {
  value: number;
  grads: tf.Tensor[];
  correct: number;
}

/**
 * A model's gradient of the loss named `loss` (one of lib/train/gradients.ts's `losses`) for a
 * batch, equal to the tape's up to float rounding; undefined where it does not apply (another
 * loss, a GPU backend, frozen layers), and the tape runs instead.
 */
export type OwnGradients = (x: tf.Tensor, y: tf.Tensor, loss: string) => OwnGradientsResult | undefined;

const OWN = Symbol('seqmnist.ownGradients');

/** `model`, carrying `gradients` as its own. */
export function withOwnGradients<M extends tf.LayersModel>(model: M, gradients: OwnGradients): M {
  return Object.assign(model, { [OWN]: gradients });
}

/** The gradient `model` carries, if any. */
export function ownGradientsOf(model: tf.LayersModel): OwnGradients | undefined {
  return (model as tf.LayersModel & { [OWN]?: OwnGradients })[OWN];
}
