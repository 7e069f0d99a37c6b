/**
 * The training log: what `npm run seqmnist -- train <name>` writes beside trained weights
 * (training-log.json) and the notebooks read back. One base record for every walkthrough; each
 * walkthrough's log adds the fields of its own recipe (epochs or steps, its split, its metrics).
 */

/** The fields every training log holds (lib/cli/training-log.ts writes them). */
export interface TrainingLog<H = unknown> {
  /** The CLI name, e.g. 'keras-lmu'. */
  walkthrough: string;
  /** The command that ran the training, with the flags that change its result. */
  command: string;
  /** The initialisers' seed (absent in logs of walkthroughs without one). */
  seed?: number;
  /** The tfjs backend and the device it ran on, and the threads per training step. */
  backend: string;
  device: string;
  threads: number;
  /** The process's peak resident memory in MiB when the training ended, worker threads included (absent in older logs). */
  peakRssMiB?: number;
  /** tfjs's version (absent in logs written before it was recorded). */
  tfjs?: string;
  /** When the training ended, ISO 8601. */
  date: string;
  /** Trainable parameters. */
  params: number;
  trainImages: number;
  testImages: number;
  /** Mean milliseconds per training step (forward, backward, update), where the walkthrough times steps. */
  msPerStep?: number;
  /** Wall-clock seconds of the run that wrote the log (a resumed run counts from its resumption). */
  wallSecondsThisRun?: number;
  /** Test accuracy in [0, 1] of the weights saved beside the log. */
  testAccuracy: number;
  history: H;
}
