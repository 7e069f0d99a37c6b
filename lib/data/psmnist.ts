/**
 * psMNIST as the LMU walkthroughs read it: MNIST scaled to [0, 1], each image a sequence of 784
 * steps of one pixel, the steps permuted with NumPy's RandomState(seed).permutation(784).
 */
import { positiveInteger, nonNegativeInteger } from '../checks';
import { SequenceDataset } from './batches';
import { loadMnist, Mnist, MNIST_PIXELS } from './mnist';
import { psmnistPermutation } from './random';
import { permutePixels, scaleImages } from './transforms';

// ---- data ----------------------------------------------------------------------------------------

/** Options of loadPsmnist. */
export interface PsmnistOptions {
  /** Training images kept for validation, from the end of the training set. Default 0 (KerasLMU: 10,000). */
  validation?: number;
  /** Keep only the first `limit` training and test images (the validation share scaled to 1/6 of them). Default all. */
  limit?: number;
  /** Seed of the permutation. Default 0. */
  seed?: number;
  /** MNIST already loaded. Default: loadMnist(). */
  mnist?: Mnist;
}

/** psMNIST as the walkthroughs use it: [N, 784, 1] sequences in [0, 1], permuted. */
export interface PsmnistData {
  train: SequenceDataset;
  /** The last `validation` training images, when asked for. */
  validation?: SequenceDataset;
  test: SequenceDataset;
  /** RandomState(seed).permutation(784): step i reads pixel permutation[i]. */
  permutation: Int32Array;
}

/**
 * Loads MNIST, scales it to [0, 1], flattens each image to 784 steps of one pixel and permutes
 * the steps with RandomState(seed).permutation(784); the last `validation` training images
 * become the validation set (KerasLMU: X_train[50000:]).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export async function loadPsmnist(options: PsmnistOptions = {}): Promise<PsmnistData> {
  const seed = nonNegativeInteger('seed', options.seed ?? 0);
  const limit = options.limit === undefined ? Infinity : positiveInteger('limit', options.limit);
  const mnist = options.mnist ?? (await loadMnist());
  const permutation = psmnistPermutation(seed);
  const nAll = Math.min(limit, mnist.trainLabels.length);
  let nValidation = options.validation ?? 0;
  if (!Number.isInteger(nValidation) || nValidation < 0 || nValidation >= mnist.trainLabels.length) {
    throw new Error(`validation must be an integer in [0, ${mnist.trainLabels.length}) (got ${options.validation})`);
  }
  if (options.limit !== undefined) nValidation = Math.round((nValidation * nAll) / mnist.trainLabels.length);
  const nTrain = nAll - nValidation;
  const nTest = Math.min(limit, mnist.testLabels.length);
  const sequences = (bytes: Uint8Array, labels: Uint8Array, from: number, to: number) =>
    new SequenceDataset({
      images: permutePixels(scaleImages(bytes.subarray(from * MNIST_PIXELS, to * MNIST_PIXELS)), permutation),
      labels: labels.subarray(from, to),
      steps: MNIST_PIXELS,
      features: 1,
    });
  return {
    train: sequences(mnist.trainImages, mnist.trainLabels, 0, nTrain),
    validation: nValidation > 0 ? sequences(mnist.trainImages, mnist.trainLabels, nTrain, nAll) : undefined,
    test: sequences(mnist.testImages, mnist.testLabels, 0, nTest),
    permutation,
  };
}
