/**
 * The stacked LSTM classifier's own gradient (lib/own-gradients.ts): its fused LSTM layers, the
 * Dense softmax on the last step and Keras's clipped sparse cross-entropy, forward and backward on
 * arrays. The LSTM layers run the same kernels as the tape's (lib/kernels/lstm.ts's lstmStack, by
 * the engine in use); the head (8 × 10 weights) is a few loops here. One batch of lstm-row on wasm dispatched 268
 * kernels through the tape and allocated as many tensors; this dispatches none until the eleven
 * gradients are made tensors. Equal to the tape's gradients up to float rounding (the head sums in
 * double precision where tfjs sums in float32), tested in test/models-lstm.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { onGpu } from '../backend-traits';
import type { OwnGradientsResult } from '../own-gradients';
import { type LstmLayerWeights, lstmStack } from '../kernels/lstm';

/** The classifier's weights, in its trainable weights' order: the LSTM layers', then the Dense kernel [units, classes] and bias. */
export interface StackedLstmWeights {
  lstm: LstmLayerWeights[];
  dense: { kernel: Float32Array; bias: Float32Array; classes: number };
}

/** A batch's gradients in trainable weights' order, its mean loss and correct count. */
export interface StackedLstmGradientArrays {
  grads: Float32Array[];
  loss: number;
  correct: number;
}

/** Keras's clip of the probabilities before the log (backend.epsilon()), as lib/train/gradients.ts's sparseCrossEntropy. */
const EPSILON = Math.fround(1e-7);
const ONE_MINUS_EPSILON = Math.fround(1 - 1e-7);

/**
 * The gradients of the mean clipped sparse cross-entropy of the stacked LSTM classifier on one
 * batch: `x` [batch, steps, features] (row-major), integer `labels` [batch].
 */
export function stackedLstmGradientArrays(
  w: StackedLstmWeights,
  x: Float32Array,
  [batch, steps, features]: readonly number[],
  labels: Int32Array,
): StackedLstmGradientArrays {
  const stack = lstmStack(w.lstm, x, [batch, steps, features]);
  const top = stack.h; // [batch, steps, units] of the top layer
  const n = w.lstm[w.lstm.length - 1].units;
  const { kernel: wd, bias: bd, classes } = w.dense;
  const last = (b: number) => (b * steps + steps - 1) * n; // the last step's h of sample b

  // the head: logits, softmax, clipped cross-entropy and its gradient dz at the logits
  const h = new Float64Array(batch * n); // the top layer's last step
  for (let b = 0; b < batch; b++) for (let k = 0; k < n; k++) h[b * n + k] = top[last(b) + k];
  const dz = new Float64Array(batch * classes);
  const p = new Float32Array(classes);
  let loss = 0;
  let correct = 0;
  for (let b = 0; b < batch; b++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      let z = bd[c];
      for (let k = 0; k < n; k++) z += h[b * n + k] * wd[k * classes + c];
      p[c] = z;
      max = Math.max(max, p[c]);
    }
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += p[c] = Math.exp(p[c] - max);
    let best = 0;
    for (let c = 0; c < classes; c++) {
      p[c] /= sum;
      if (p[c] > p[best]) best = c;
    }
    const label = labels[b];
    if (!(label >= 0 && label < classes)) throw new Error(`labels must be integers in [0, ${classes}) (got ${label})`);
    if (best === label) correct++;
    const py = p[label];
    const clipped = Math.min(Math.max(py, EPSILON), ONE_MINUS_EPSILON);
    loss -= Math.log(clipped);
    // d loss / d p_label = −1/(batch·clip(p)) where the clip passes it; then the softmax's backward
    const dp = py >= EPSILON && py <= ONE_MINUS_EPSILON ? -1 / (batch * clipped) : 0;
    const dpp = dp * py;
    for (let c = 0; c < classes; c++) dz[b * classes + c] = (c === label ? dpp : 0) - p[c] * dpp;
  }

  // the Dense layer's backward; dh is zero but at the last step
  const dWd = new Float64Array(n * classes);
  const dbd = new Float64Array(classes);
  const dh = new Float32Array(batch * steps * n);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < classes; c++) {
      const g = dz[b * classes + c];
      dbd[c] += g;
      for (let k = 0; k < n; k++) dWd[k * classes + c] += h[b * n + k] * g;
    }
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let c = 0; c < classes; c++) s += dz[b * classes + c] * wd[k * classes + c];
      dh[last(b) + k] = s;
    }
  }

  // the LSTM layers' backward, top to bottom
  const grads = stack.backward(dh).flatMap((g) => [g.dKernel, g.dRecurrentKernel, g.dBias]);
  grads.push(Float32Array.from(dWd), Float32Array.from(dbd));
  return { grads, loss: loss / batch, correct };
}

/**
 * The classifier's gradient as localGradients takes it (lib/own-gradients.ts): on the CPU backends,
 * for the clipped sparse cross-entropy on softmax probabilities (the walkthroughs' loss), with every
 * weight trainable; undefined otherwise. `units` are the model's LSTM layers' sizes, bottom first.
 */
export function stackedLstmGradients(
  model: tf.LayersModel,
  units: number[],
  x: tf.Tensor,
  y: tf.Tensor,
  loss: string,
): OwnGradientsResult | undefined {
  const weights = model.trainableWeights;
  const applies =
    loss === 'sparseCrossEntropy' &&
    !onGpu() &&
    x.rank === 3 &&
    x.dtype === 'float32' &&
    y.rank === 1 &&
    y.shape[0] === x.shape[0] &&
    weights.length === 3 * units.length + 2 &&
    weights.length === model.weights.length;
  if (!applies) return undefined;
  const values = weights.map((v) => v.read().dataSync() as Float32Array);
  const classes = weights[weights.length - 1].shape[0]!;
  const w: StackedLstmWeights = {
    lstm: units.map((n, i) => ({
      kernel: values[3 * i],
      recurrentKernel: values[3 * i + 1],
      bias: values[3 * i + 2],
      units: n,
    })),
    dense: { kernel: values[3 * units.length], bias: values[3 * units.length + 1], classes },
  };
  const labels = y.dtype === 'int32' ? (y.dataSync() as Int32Array) : Int32Array.from(y.dataSync());
  const r = stackedLstmGradientArrays(w, x.dataSync() as Float32Array, x.shape, labels);
  return {
    value: r.loss,
    grads: r.grads.map((g, i) => tf.tensor(g, weights[i].shape as number[], 'float32')),
    correct: r.correct,
  };
}
