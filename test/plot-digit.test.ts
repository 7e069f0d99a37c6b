import test from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { digitBundle, digitsBundle, digitToGray, saveDigitPng, showDigit } from '../lib/plot/digit';
import { decodePng } from './helpers/png';
import { captureStdout, installFakeKernel } from './helpers/fake-kernel';

const colormaps = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', 'test', 'fixtures', 'colormaps.json'), 'utf8'),
);

/** A 28×28 ring: 1 on the ring, 0 elsewhere. */
const ring = Array.from({ length: 784 }, (_, i) =>
  Math.abs(Math.hypot((i % 28) - 13.5, Math.floor(i / 28) - 13.5) - 8) < 2 ? 1 : 0,
);

test("colormaps match matplotlib's 'gray' and 'Greys' byte for byte", () => {
  for (const cm of ['gray', 'greys'] as const) {
    // bin centres, one value per lookup-table entry
    const centres = Array.from({ length: 256 }, (_, i) => (i + 0.5) / 256);
    assert.deepEqual(
      Array.from(digitToGray(centres, { width: 256, height: 1, colormap: cm, valueRange: [0, 1] }).data),
      colormaps.lut[cm],
      cm,
    );
    const values: number[] = colormaps.values;
    assert.deepEqual(
      Array.from(digitToGray(values, { width: values.length, height: 1, colormap: cm, valueRange: [0, 1] }).data),
      colormaps.samples[cm],
      cm,
    );
  }
});

test('value range: [0, 1] and [0, 255] detected by the data, explicit range wins', () => {
  const unit = digitToGray([0, 0.5, 1, 0], { width: 2, height: 2 }).data;
  const bytes = digitToGray([0, 127.5, 255, 0], { width: 2, height: 2 }).data;
  assert.deepEqual(Array.from(unit), [0, 128, 255, 0]);
  assert.deepEqual(Array.from(bytes), Array.from(unit));
  // normalised data (negative values) spans min..max
  assert.deepEqual(Array.from(digitToGray([-1, 0, 1, -1], { width: 2, height: 2 }).data), [0, 128, 255, 0]);
  assert.deepEqual(
    Array.from(digitToGray([0, 0.5, 1, 0], { width: 2, height: 2, valueRange: [0, 255] }).data),
    [0, 0, 1, 0],
  );
  assert.deepEqual(
    Array.from(digitToGray([0, 1, 1, 0], { width: 2, height: 2, colormap: 'greys' }).data),
    [255, 0, 0, 255],
  );
});

test('showDigit bundle: PNG scaled ×5, HTML figure with caption, title as text', () => {
  const title = "Sample digit '0' <ring>";
  const bundle = digitBundle(ring, { title });
  assert.deepEqual(Object.keys(bundle).sort(), ['image/png', 'text/html', 'text/plain']);
  const png = decodePng(Buffer.from(bundle['image/png'] as string, 'base64'));
  assert.deepEqual([png.width, png.height, png.colorType], [140, 140, 0]);
  // pixel (row 13, col 21) is on the ring (white on black), the centre is background
  assert.equal(png.pixels[(13 * 5 + 2) * 140 + 21 * 5 + 2], 255);
  assert.equal(png.pixels[14 * 5 * 140 + 14 * 5], 0);
  const html = bundle['text/html'] as string;
  assert.match(
    html,
    /^<figure[^>]*>.*<figcaption[^>]*>Sample digit &#39;0&#39; &#60;ring&#62;<\/figcaption><\/figure>$/,
  );
  assert.ok(html.includes(`src="data:image/png;base64,${bundle['image/png']}"`));
  assert.match(html, /width="140" height="140"/);
  assert.match(bundle['text/plain'] as string, /^Sample digit '0' <ring> \[28×28 image\]$/);
});

test('a sequence strip: 98×8 with its own scale per axis', () => {
  const seq = Float32Array.from({ length: 784 }, (_, i) => i / 783);
  const bundle = digitBundle(seq, {
    width: 98,
    height: 8,
    scaleX: 4,
    scaleY: 8,
    title: "Sample sequence of the digit '5' (reshaped to 98 x 8)",
  });
  const png = decodePng(Buffer.from(bundle['image/png'] as string, 'base64'));
  assert.deepEqual([png.width, png.height], [392, 64]);
  assert.match(bundle['text/plain'] as string, /\[98×8 image\]$/);
  // row-major: the last value of the first row (index 97) sits at the strip's top right
  assert.equal(png.pixels[391], digitToGray(seq, { width: 98, height: 8 }).data[97]);
  // height alone is enough when it divides the length
  assert.equal(digitToGray(seq, { height: 98 }).width, 8);
});

test('bad images throw with the bad value', () => {
  assert.throws(() => digitBundle(new Array(100).fill(0)), /give width and height for 100 values/);
  assert.throws(
    () => digitBundle(ring, { width: 98, height: 9 }),
    /width\*height must equal the number of values 784 \(got 98×9 = 882\)/,
  );
  assert.throws(
    () => digitBundle(ring, { colormap: 'viridis' as 'gray' }),
    /colormap must be 'gray' or 'greys' \(got 'viridis'\)/,
  );
  assert.throws(() => digitBundle(ring, { scale: 0 }), /scale must be a positive integer \(got 0\)/);
  assert.throws(
    () => digitBundle(ring, { valueRange: [1, 0] }),
    /valueRange must be \[low, high\] with low < high \(got \[1,0\]\)/,
  );
  assert.throws(() => digitBundle('abc' as unknown as number[]), /pixels must be an array/);
});

test('showDigits: a row of captioned figures and one side-by-side PNG', () => {
  const bundle = digitsBundle([ring, { pixels: ring.map((v) => 1 - v), title: 'own title' }, ring], {
    titles: ['5', '0', '4'],
    title: 'Training digits',
    colormap: 'greys',
    scale: 2,
  });
  const html = bundle['text/html'] as string;
  assert.equal(html.match(/<figure/g)?.length, 3);
  assert.equal(html.match(/<img src="data:image\/png;base64,/g)?.length, 3);
  assert.deepEqual(
    [...html.matchAll(/<figcaption[^>]*>([^<]*)</g)].map((m) => m[1]),
    ['5', 'own title', '4'],
  );
  assert.match(html, /Training digits/);
  const png = decodePng(Buffer.from(bundle['image/png'] as string, 'base64'));
  assert.deepEqual([png.width, png.height], [3 * 56 + 2 * 8, 56]);
  assert.equal(bundle['text/plain'], 'Training digits\n5 [28×28 image]\nown title [28×28 image]\n4 [28×28 image]');
  assert.throws(() => digitsBundle([ring, ring], { titles: ['1'] }), /one title per image, 2 \(got 1\)/);
  assert.throws(() => digitsBundle([]), /non-empty array of images \(got \[\]\)/);
});

test('outside a notebook showDigit prints one line; in a kernel it sends the bundle', () => {
  const out = captureStdout(() => showDigit(ring, { title: 'a ring' }));
  assert.equal(out, 'a ring [28×28 image]\n');
  const kernel = installFakeKernel();
  try {
    showDigit(ring, { title: 'a ring' });
    assert.equal(kernel.messages.length, 1);
    assert.deepEqual(Object.keys(kernel.messages[0].msg.data).sort(), ['image/png', 'text/html', 'text/plain']);
    assert.equal(kernel.messages[0].update, false);
  } finally {
    kernel.uninstall();
  }
});

test('saveDigitPng writes a PNG file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqmnist-digit-'));
  try {
    const file = saveDigitPng(path.join(dir, 'sub', 'ring.png'), ring, { scale: 1 });
    const png = decodePng(fs.readFileSync(file));
    assert.deepEqual([png.width, png.height], [28, 28]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
