import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { parseIdx, readIdxFile } from '../lib/data/idx';

function idx(type: number, dims: number[], data: number[] | Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = type;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return new Uint8Array(Buffer.concat([header, Buffer.from(data)]));
}

test('parses raw and gzipped unsigned-byte IDX files into a view', () => {
  const bytes = idx(0x08, [2, 3], [1, 2, 3, 4, 5, 6]);
  const parsed = parseIdx(bytes);
  assert.deepEqual(parsed.dims, [2, 3]);
  assert.deepEqual(Array.from(parsed.data), [1, 2, 3, 4, 5, 6]);
  assert.equal(parsed.data.buffer, bytes.buffer, 'the data is a view of the file bytes');
  assert.equal(parsed.data.byteOffset, bytes.byteOffset + 12);

  const gz = parseIdx(new Uint8Array(zlib.gzipSync(bytes)));
  assert.deepEqual(gz.dims, [2, 3]);
  assert.deepEqual(Array.from(gz.data), [1, 2, 3, 4, 5, 6]);

  const labels = parseIdx(idx(0x08, [4], [7, 2, 1, 0]));
  assert.deepEqual(labels.dims, [4]);
  assert.deepEqual(Array.from(labels.data), [7, 2, 1, 0]);
});

test('truncated data says expected vs found', () => {
  const bytes = idx(0x08, [60000, 28, 28], new Uint8Array(1234));
  assert.throws(() => parseIdx(bytes), {
    message: 'IDX file truncated: header says 60000×28×28 = 47040000 bytes of data, found 1234',
  });
});

test('trailing bytes are an error, not ignored', () => {
  assert.throws(() => parseIdx(idx(0x08, [2, 2], [1, 2, 3, 4, 5, 6])), {
    message: 'IDX file has 2 trailing bytes: header says 2×2 = 4 bytes of data, found 6',
  });
});

test('wrong magic, wrong type, zero dims and short headers are named', () => {
  assert.throws(
    () => parseIdx(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])),
    /not an IDX file: magic number 0x89504e47, expected 0x000008NN/,
  );
  assert.throws(
    () => parseIdx(idx(0x0d, [2], new Uint8Array(8))),
    /IDX data type 0x0d \(float\) is not supported: expected 0x08 \(unsigned byte\), magic 0x00000d01/,
  );
  assert.throws(
    () => parseIdx(idx(0x08, [3, 0, 28], [])),
    /IDX dimension 1 is 0 \(dims 3×0×28\): expected every dimension ≥ 1/,
  );
  assert.throws(
    () => parseIdx(idx(0x08, [], [])),
    /IDX file has 0 dimensions \(magic 0x00000800\): expected at least 1/,
  );
  assert.throws(
    () => parseIdx(new Uint8Array([0, 0, 8, 3, 0, 0])),
    /IDX header truncated: magic 0x00000803 announces 3 dimensions, needing 16 header bytes, found 6/,
  );
  assert.throws(
    () => parseIdx(new Uint8Array([0, 0])),
    /IDX file too short: expected a 4-byte magic number, found 2 bytes/,
  );
  assert.throws(() => parseIdx(new Uint8Array(0)), /found 0 bytes/);
});

test('corrupt gzip is reported as such', () => {
  const gz = new Uint8Array(zlib.gzipSync(idx(0x08, [100], new Uint8Array(100).fill(7))));
  const corrupt = gz.slice();
  corrupt.fill(0xff, 10, 20);
  assert.throws(() => parseIdx(corrupt), /IDX file starts with the gzip header 1f 8b but cannot be decompressed: /);
  assert.throws(() => parseIdx(gz.subarray(0, gz.length - 10)), /cannot be decompressed: unexpected end of file/);
  assert.throws(() => parseIdx(new Uint8Array([0x1f, 0x8b])), /cannot be decompressed/);
});

test('readIdxFile names the file in errors', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-idx-'));
  try {
    const good = path.join(dir, 'good-idx1-ubyte.gz');
    fs.writeFileSync(good, zlib.gzipSync(idx(0x08, [3], [1, 2, 3])));
    assert.deepEqual(Array.from((await readIdxFile(good)).data), [1, 2, 3]);
    const bad = path.join(dir, 'bad-idx1-ubyte');
    fs.writeFileSync(bad, idx(0x08, [5], [1, 2]));
    await assert.rejects(readIdxFile(bad), {
      message: `${bad}: IDX file truncated: header says 5 = 5 bytes of data, found 2`,
    });
    await assert.rejects(readIdxFile(path.join(dir, 'missing')), /cannot read IDX file .*missing: ENOENT/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
