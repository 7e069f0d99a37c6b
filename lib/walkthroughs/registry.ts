/**
 * The walkthroughs the CLI knows. Each model issue adds one entry: its summary, training,
 * evaluation and one benchmark step, all built from the lib (never from notebook code).
 */
import type * as tf from '@tensorflow/tfjs';

/** Flags the CLI parses; each walkthrough says which of them its commands accept. */
export interface CliFlags {
  /** Training epochs (`--epochs N`). */
  epochs?: number;
  /** Optimiser steps (`--steps N`), for step-counted trainings such as EURNN's. */
  steps?: number;
  /** Use only the first N training and test images (`--limit N`), for quick runs. */
  limit?: number;
  /** Resume from the last checkpoint in the output folder (`--resume`). */
  resume?: boolean;
  /** Output folder for checkpoints, weights and the training log (`--out DIR`). */
  out?: string;
  /** Permute the pixels with RandomState(0).permutation(784) (`--permute`). */
  permute?: boolean;
  /** Seed of the weight initialisers (`--seed N`; the LMUs also shuffle with it), where a walkthrough lets it be chosen. */
  seed?: number;
  /** Shuffle and augment the training set afresh every epoch instead of once (`--fresh`), where a walkthrough augments. */
  fresh?: boolean;
  /** Clip each step's gradients to this global L2 norm (`--clipnorm X`, Keras's `global_clipnorm`), where a walkthrough offers it. */
  clipnorm?: number;
  /** Weights folder to evaluate (`--weights DIR`); defaults to the shipped weights. */
  weights?: string;
}
export type FlagName = keyof CliFlags;

/** One step of training, prepared for timing by `bench`. */
export interface BenchStep {
  /** Samples per step (the walkthrough's original batch size). */
  batchSize: number;
  /** Runs one forward + backward + update; resolves when the values are computed. */
  step(): Promise<void>;
  dispose(): void;
}

export interface Walkthrough {
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
  /** Prints the layer table; returns the trainable parameter count (the CLI prints `params: N`). */
  summary(): Promise<number>;
  train(flags: CliFlags): Promise<void>;
  /** Test accuracy in [0, 1] (the CLI prints `test accuracy: XX.XX%`). */
  evaluate(flags: CliFlags): Promise<number>;
  /**
   * What `npm start` runs: the walkthrough's steps from the terminal with the shipped weights,
   * resolving to the test accuracy. Default: `evaluate({})`.
   */
  replay?(): Promise<number>;
  benchStep(): Promise<BenchStep>;
}

/**
 * Prints a freshly built model's layer table and returns its trainable parameter count (what a
 * walkthrough's `summary` does), disposing of the model.
 */
export function printSummary(model: tf.LayersModel): number {
  try {
    model.summary();
    return model.countParams();
  } finally {
    model.dispose();
  }
}

/** The flags a training log records, in this order (`--out` and `--weights` name local folders). */
const RECORDED_FLAGS: FlagName[] = ['epochs', 'steps', 'limit', 'permute', 'seed', 'clipnorm', 'fresh', 'resume'];

/**
 * The command line that ran a training, as its training log records it:
 * `npm run seqmnist -- train <name>` and the recorded flags that were given.
 */
export function trainCommandLine(name: string, flags: CliFlags): string {
  const given = RECORDED_FLAGS.filter((f) => flags[f] !== undefined && flags[f] !== false);
  return [`npm run seqmnist -- train ${name}`, ...given.map((f) => (flags[f] === true ? `--${f}` : `--${f} ${flags[f]}`))].join(' ');
}

const registry = new Map<string, Walkthrough>();

/** Adds a walkthrough to the CLI (called by each walkthrough module under lib/walkthroughs/). */
export function registerWalkthrough(w: Walkthrough): void {
  if (registry.has(w.name)) throw new Error(`walkthrough '${w.name}' is registered twice`);
  registry.set(w.name, w);
}

/** All registered walkthroughs, in registration order. */
export function walkthroughs(): Walkthrough[] {
  return [...registry.values()];
}

/** The named walkthrough, or an error listing the known names. */
export function getWalkthrough(name: string): Walkthrough {
  const w = registry.get(name);
  if (!w) {
    const known = [...registry.keys()];
    throw new Error(`unknown walkthrough '${name}' (expected one of: ${known.length ? known.join(', ') : 'none registered yet'})`);
  }
  return w;
}
