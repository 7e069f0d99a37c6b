import test from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'zlib';
import { crc32, encodePng, pngDataUri, upscale } from '../lib/plot/png';
import { decodePng } from './helpers/png';

test('crc32 matches the standard check value and zlib', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 0xff);
  const zcrc = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  if (zcrc) assert.equal(crc32(bytes), zcrc(bytes));
  assert.equal(crc32(bytes.subarray(500), crc32(bytes.subarray(0, 500))), crc32(bytes));
});

test('encodePng: 8-bit grayscale round trip', () => {
  const data = Uint8Array.from({ length: 5 * 3 }, (_, i) => i * 17);
  const png = encodePng({ width: 5, height: 3, channels: 1, data });
  const d = decodePng(png);
  assert.deepEqual(d.chunks, ['IHDR', 'IDAT', 'IEND']);
  assert.deepEqual([d.width, d.height, d.bitDepth, d.colorType, d.interlace], [5, 3, 8, 0, 0]);
  assert.deepEqual(Array.from(d.pixels), Array.from(data));
});

test('encodePng: 8-bit RGB round trip', () => {
  const data = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => (i * 53) & 0xff);
  const d = decodePng(encodePng({ width: 4, height: 2, channels: 3, data }));
  assert.deepEqual([d.width, d.height, d.colorType], [4, 2, 2]);
  assert.deepEqual(Array.from(d.pixels), Array.from(data));
});

test('encodePng rejects bad images with the bad value', () => {
  assert.throws(
    () => encodePng({ width: 0, height: 1, channels: 1, data: new Uint8Array(0) }),
    /width must be a positive integer \(got 0\)/,
  );
  assert.throws(() => encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(3) }), /4 bytes \(got 3\)/);
  assert.throws(
    () => encodePng({ width: 1, height: 1, channels: 2 as 1, data: new Uint8Array(2) }),
    /channels must be 1 \(gray\) or 3 \(RGB\) \(got 2\)/,
  );
});

test('upscale repeats pixels per axis (nearest neighbour)', () => {
  const src = { width: 2, height: 2, channels: 1 as const, data: Uint8Array.from([1, 2, 3, 4]) };
  const up = upscale(src, 3, 2);
  assert.deepEqual([up.width, up.height], [6, 4]);
  // prettier-ignore
  assert.deepEqual(Array.from(up.data), [
    1, 1, 1, 2, 2, 2,
    1, 1, 1, 2, 2, 2,
    3, 3, 3, 4, 4, 4,
    3, 3, 3, 4, 4, 4,
  ]);
  const rgb = upscale({ width: 1, height: 1, channels: 3, data: Uint8Array.from([9, 8, 7]) }, 2, 1);
  assert.deepEqual(Array.from(rgb.data), [9, 8, 7, 9, 8, 7]);
  assert.throws(() => upscale(src, 1.5), /scaleX must be a positive integer \(got 1.5\)/);
});

test('pngDataUri is base64 of the bytes', () => {
  const png = encodePng({ width: 1, height: 1, channels: 1, data: Uint8Array.from([200]) });
  const uri = pngDataUri(png);
  assert.match(uri, /^data:image\/png;base64,/);
  assert.deepEqual(Buffer.from(uri.split(',')[1], 'base64'), png);
});
