/**
 * IDX files, the format MNIST ships in (http://yann.lecun.com/exdb/mnist/): a 4-byte magic
 * number 0x00 0x00 <type> <number of dimensions>, one big-endian uint32 per dimension, then the
 * data in row-major order. Only unsigned bytes (type 0x08) occur in MNIST and only they are read.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';

/** A parsed IDX file: its dimensions and a view of its bytes (row-major, no copy). */
export interface Idx {
  /** e.g. [60000, 28, 28] for train-images, [60000] for train-labels. */
  dims: number[];
  /** product(dims) bytes, a view into the (decompressed) file. */
  data: Uint8Array;
}

const IDX_UBYTE = 0x08;
const TYPE_NAMES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short',
  0x0c: 'int',
  0x0d: 'float',
  0x0e: 'double',
};

const hex = (v: number, digits: number) => `0x${v.toString(16).padStart(digits, '0')}`;

/**
 * Parses an IDX file of unsigned bytes, raw or gzipped (detected by its 0x1f 0x8b header).
 * Throws one message saying what was expected and what was found when the file is not gzip it
 * claims to be, not IDX, not unsigned bytes, has a zero dimension, or holds fewer or more data
 * bytes than its dimensions say.
 * @see notebooks/00-data-psmnist.ipynb
 */
export function parseIdx(bytes: Uint8Array): Idx {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    let inflated: Buffer;
    try {
      inflated = zlib.gunzipSync(bytes);
    } catch (e) {
      throw new Error(`IDX file starts with the gzip header 1f 8b but cannot be decompressed: ${(e as Error).message}`);
    }
    return parseIdx(new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength));
  }
  if (bytes.length < 4) {
    throw new Error(`IDX file too short: expected a 4-byte magic number, found ${bytes.length} bytes`);
  }
  const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(
      `not an IDX file: magic number ${hex(magic, 8)}, expected 0x000008NN ` +
        `(0x00000801 for labels, 0x00000803 for images)`,
    );
  }
  const type = bytes[2];
  if (type !== IDX_UBYTE) {
    const name = TYPE_NAMES[type] ? ` (${TYPE_NAMES[type]})` : '';
    throw new Error(
      `IDX data type ${hex(type, 2)}${name} is not supported: expected 0x08 (unsigned byte), magic ${hex(magic, 8)}`,
    );
  }
  const nd = bytes[3];
  if (nd === 0) throw new Error(`IDX file has 0 dimensions (magic ${hex(magic, 8)}): expected at least 1`);
  const headerLength = 4 + 4 * nd;
  if (bytes.length < headerLength) {
    throw new Error(
      `IDX header truncated: magic ${hex(magic, 8)} announces ${nd} dimensions, ` +
        `needing ${headerLength} header bytes, found ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const shape = dims.join('×');
  const zero = dims.indexOf(0);
  if (zero >= 0) throw new Error(`IDX dimension ${zero} is 0 (dims ${shape}): expected every dimension ≥ 1`);
  const expected = dims.reduce((a, b) => a * b, 1);
  const found = bytes.length - headerLength;
  if (found !== expected) {
    const what = found < expected ? 'truncated' : `has ${found - expected} trailing bytes`;
    throw new Error(`IDX file ${what}: header says ${shape} = ${expected} bytes of data, found ${found}`);
  }
  return { dims, data: bytes.subarray(headerLength) };
}

/**
 * Reads and parses an IDX file (raw or .gz); errors name the file.
 * @see notebooks/00-data-psmnist.ipynb
 */
export async function readIdxFile(path: string): Promise<Idx> {
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(path);
  } catch (e) {
    throw new Error(`cannot read IDX file ${path}: ${(e as Error).message}`);
  }
  try {
    return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}
