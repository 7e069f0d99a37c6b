/**
 * RMSprop as PyTorch defines it (torch.optim.RMSprop without momentum, centring or weight decay):
 *   v ← α·v + (1 − α)·g²,   p ← p − lr·g / (√v + ε),   v starting at 0,
 * with PyTorch's defaults α = 0.99, ε = 1e-8.
 *
 * Porting note: tf.train.rmsprop differs in both places that matter early in training: its decay
 * defaults to 0.9 and it adds ε inside the root, √(v + ε). With α = 0.9 and ε = 1e-7 this class is
 * also Keras 2's RMSprop, which adds ε after the root too.
 */
import * as tf from '@tensorflow/tfjs';
import { onGpu } from '../backend-traits';
import { positiveNumber } from '../checks';
import { rmspropSlots } from '../tfjs-internals';

/** Options of RMSprop; defaults are torch.optim.RMSprop's. */
export interface RmspropOptions {
  /** Step size (lr). Required. */
  learningRate: number;
  /** Smoothing constant of the squared-gradient average (PyTorch `alpha`, Keras `rho`). Default 0.99. */
  alpha?: number;
  /** Added to √v (after the root). Default 1e-8. */
  epsilon?: number;
}

/** A named tensor, as tfjs optimisers save their state. */
type NamedTensor = { name: string; tensor: tf.Tensor };

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/**
 * PyTorch's RMSprop as a tfjs optimiser: usable with `optimizer.minimize`, and its state saves
 * and restores with getWeights/setWeights (lib/train/saving.ts).
 * @see notebooks/03-eurnn-psmnist.ipynb
 */
export class RMSprop extends tf.Optimizer {
  static get className(): string {
    return 'SeqmnistRMSprop';
  }
  readonly learningRate: number;
  readonly alpha: number;
  readonly epsilon: number;
  private squareAverages: Slot[] = [];

  constructor(options: RmspropOptions) {
    super();
    const { learningRate, alpha = 0.99, epsilon = 1e-8 } = options;
    positiveNumber('learningRate', learningRate);
    if (typeof alpha !== 'number' || !(alpha >= 0 && alpha < 1))
      throw new Error(`alpha must be in [0, 1) (got ${alpha})`);
    if (typeof epsilon !== 'number' || !(epsilon >= 0) || !Number.isFinite(epsilon))
      throw new Error(`epsilon must be a non-negative number (got ${epsilon})`);
    this.learningRate = learningRate;
    this.alpha = alpha;
    this.epsilon = epsilon;
  }

  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((g) => g.name)
      : Object.keys(variableGradients);
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (value == null) throw new Error(`RMSprop: no variable named '${name}'`);
      const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
      if (gradient == null) return;
      // state is matched by position, as tfjs's own optimisers do
      this.squareAverages[i] ??= {
        originalName: `${name}/square_avg`,
        variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
      };
      const v = this.squareAverages[i].variable;
      tf.tidy(() => {
        const next = tf.add(tf.mul(v, this.alpha), tf.mul(tf.square(gradient), 1 - this.alpha));
        v.assign(next);
        value.assign(tf.sub(value, tf.div(tf.mul(gradient, this.learningRate), tf.add(tf.sqrt(next), this.epsilon))));
      });
    });
    this.incrementIterations();
  }

  dispose(): void {
    tf.dispose(this.squareAverages.map((s) => s.variable));
    this.squareAverages = [];
  }

  async getWeights(): Promise<NamedTensor[]> {
    return [
      await this.saveIterations(),
      ...this.squareAverages.map((s) => ({ name: s.originalName, tensor: s.variable })),
    ];
  }

  async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const values = await this.extractIterations(weightValues);
    tf.dispose(this.squareAverages.map((s) => s.variable));
    this.squareAverages = values.map((w) => ({ originalName: w.name, variable: w.tensor.variable(false) }));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, alpha: this.alpha, epsilon: this.epsilon };
  }

  static fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new (cls as unknown as new (o: RmspropOptions) => T)(config as unknown as RmspropOptions);
  }
}

/**
 * tf.train.rmsprop without momentum or centring (Keras's RMSprop as the LSTM walkthroughs take it:
 * lib/walkthroughs/lstm.ts's kerasRmsprop) with its update done on arrays on the CPU backends: the
 * same float32 operations in the same order, so the same bytes (tested), where tfjs dispatches
 * about fifteen kernels and scalars per weight (lstm-row: ~0.9 ms of a 6 ms step for 1,914
 * parameters). Its state is tfjs's own (the `/rms` and `/momentum` slots), so its checkpoints are
 * tf.RMSPropOptimizer's. With momentum, centring, a GPU backend or a variable's first update, tfjs
 * runs the update.
 */
export class ArrayRMSProp extends tf.RMSPropOptimizer {
  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const slots = rmspropSlots(this);
    const names = Array.isArray(variableGradients)
      ? variableGradients.map((g) => g.name)
      : Object.keys(variableGradients);
    const ready = names.every((_, i) => slots.accumulatedMeanSquares[i] && slots.accumulatedMoments[i]);
    if (!ready || slots.centered || this.momentum !== 0 || onGpu()) return super.applyGradients(variableGradients);
    const f = Math.fround;
    // tfjs's scalars, as its ops take them: float32
    const [decay, rest, lr, epsilon] = [this.decay, 1 - this.decay, this.learningRate, this.epsilon].map(f);
    tf.tidy(() =>
      names.forEach((name, i) => {
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const value = tf.engine().registeredVariables[name];
        const meanSquare = slots.accumulatedMeanSquares[i]!.variable;
        const moment = slots.accumulatedMoments[i]!.variable;
        const [g, p, ms, mom] = [gradient, value, meanSquare, moment].map((t) => t.dataSync() as Float32Array);
        const [ms2, mom2, p2] = [ms, mom, p].map((a) => new Float32Array(a.length));
        for (let j = 0; j < g.length; j++) {
          // add(mul(ms, decay), mul(square(g), 1 − decay)); add(mul(mom, 0), div(mul(g, lr), sqrt(add(ms', ε)))); sub(p, mom')
          ms2[j] = f(f(ms[j] * decay) + f(f(g[j] * g[j]) * rest));
          mom2[j] = f(f(mom[j] * 0) + f(f(g[j] * lr) / f(Math.sqrt(f(ms2[j] + epsilon)))));
          p2[j] = f(p[j] - mom2[j]);
        }
        meanSquare.assign(tf.tensor(ms2, meanSquare.shape));
        moment.assign(tf.tensor(mom2, moment.shape));
        value.assign(tf.tensor(p2, value.shape));
      }),
    );
    this.incrementIterations();
  }
}
