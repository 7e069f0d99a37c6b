/**
 * A training history, as Keras's `History`: the epochs run and each metric's value per epoch. A
 * base type: training writes it, plots draw it (plot/history.ts), walkthroughs log it.
 */

/**
 * Keras-style history: `history.loss[e]` is epoch e's training loss. A step-counted training
 * (lib/train/loop.ts) records its validations instead, `step[i]` being where `history.val_loss[i]`
 * was measured.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export interface History {
  epoch: number[];
  history: Record<string, number[]>;
  /** Step-counted training: the step before which each validation ran. */
  step?: number[];
}
