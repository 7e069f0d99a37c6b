/**
 * A minimal PNG encoder (8-bit grayscale or RGB, no interlace, filter 0), enough for digit
 * images in notebooks and files without a canvas or an image package.
 */
import * as zlib from 'zlib';
import { positiveInteger } from '../checks';

/** Raw 8-bit pixels, row-major: `channels` bytes per pixel (1 gray, 3 RGB). */
export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array; // [height, width, channels]
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 as PNG chunks use it (ISO 3309, the same as zlib's crc32); `crc` continues a running value.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function checkImage(image: RawImage): void {
  const { width, height, channels, data } = image;
  positiveInteger('width', width);
  positiveInteger('height', height);
  if (channels !== 1 && channels !== 3) throw new Error(`channels must be 1 (gray) or 3 (RGB) (got ${channels})`);
  if (!(data instanceof Uint8Array))
    throw new Error(`data must be a Uint8Array (got ${Object.prototype.toString.call(data)})`);
  if (data.length !== width * height * channels) {
    throw new Error(`data must hold width*height*channels = ${width * height * channels} bytes (got ${data.length})`);
  }
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'ascii');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Encodes raw pixels as a PNG file.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function encodePng(image: RawImage): Buffer {
  checkImage(image);
  const { width, height, channels, data } = image;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = channels === 1 ? 0 : 2; // colour type: grayscale, truecolour
  // compression, filter and interlace methods stay 0
  const stride = width * channels;
  const filtered = Buffer.alloc((stride + 1) * height); // each row: filter byte 0, then the row
  for (let y = 0; y < height; y++) filtered.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(filtered)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/**
 * Nearest-neighbour upscaling by an integer factor per axis (non-square pixels allowed, so a
 * 98×8 sequence strip can be drawn taller than it is wide).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function upscale(image: RawImage, scaleX: number, scaleY: number = scaleX): RawImage {
  checkImage(image);
  positiveInteger('scaleX', scaleX);
  positiveInteger('scaleY', scaleY);
  const { width, height, channels, data } = image;
  const outWidth = width * scaleX;
  const outStride = outWidth * channels;
  const out = new Uint8Array(outStride * height * scaleY);
  for (let y = 0; y < height; y++) {
    const row = out.subarray(y * scaleY * outStride, (y * scaleY + 1) * outStride);
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v = data[(y * width + x) * channels + c];
        for (let s = 0; s < scaleX; s++) row[(x * scaleX + s) * channels + c] = v;
      }
    }
    for (let s = 1; s < scaleY; s++)
      out.copyWithin((y * scaleY + s) * outStride, y * scaleY * outStride, (y * scaleY + 1) * outStride);
  }
  return { width: outWidth, height: height * scaleY, channels, data: out };
}

/**
 * A PNG as a `data:` URI for <img src> and Plotly layout images.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
