/**
 * What the CLI knows of a walkthrough: its name and notebook, the flags its commands accept, and
 * the commands themselves (summary, train, eval, replay) with their console output, built from
 * the walkthrough's recipe in lib/walkthroughs/ (never from notebook code).
 */
import type * as tf from '@tensorflow/tfjs';
import type { LossFn } from '../train/gradients';
import type { ModelRecipe } from '../train/parallel';
import type { CliFlags, FlagName } from './args';

/** What a walkthrough's training step is made of, for `bench`. */
export interface BenchRecipe {
  /** Samples per step (the original's batch size). */
  batchSize: number;
  /** One input sequence's [steps, features]. */
  input: [number, number];
  /** The walkthrough's model, as its training builds it. */
  model(): tf.LayersModel;
  /** The walkthrough's optimiser. */
  optimizer(): tf.Optimizer;
  loss: LossFn;
  /** How worker threads rebuild the model, for walkthroughs whose steps are split over threads. */
  workers?: ModelRecipe;
  /** Threads a step uses. */
  threads(): number;
}

/** One walkthrough's commands. */
export interface WalkthroughCommands {
  /** CLI name, e.g. 'keras-lmu'. */
  name: string;
  /** One line for `list`. */
  title: string;
  /** The notebook that walks through it, relative to the project root. */
  notebook: string;
  /** The PyTorch peer in shared/anchors/torch_models.py that `bench --torch` times beside it. */
  torchPeer?: string;
  /** Flags accepted by `train` and `eval`. */
  trainFlags: FlagName[];
  evalFlags: FlagName[];
  /** Its training step, for `bench`; its model, for `summary`. */
  bench: BenchRecipe;
  /** Prints lines after the layer table (e.g. the TCN's "Model Size"). */
  describeSize?(params: number): void;
  train(flags: CliFlags): Promise<void>;
  /** Test accuracy in [0, 1] (the CLI prints `test accuracy: XX.XX%`). */
  evaluate(flags: CliFlags): Promise<number>;
  /**
   * What `npm start` runs: the walkthrough's steps from the terminal with the shipped weights,
   * resolving to the test accuracy. Default: `evaluate({})`.
   */
  replay?(): Promise<number>;
}

/** Prints a model's layer table and returns its trainable parameter count, disposing of the model. */
export function printSummary(model: tf.LayersModel): number {
  try {
    model.summary();
    return model.countParams();
  } finally {
    model.dispose();
  }
}
