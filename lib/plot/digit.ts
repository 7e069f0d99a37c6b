/**
 * Digit images (and digit sequences reshaped to strips) as PNG: a bundle of image/png, an HTML
 * <figure> with the title as caption, and the title as text, so they show in JupyterLab, in
 * exported HTML and, as one line, in a terminal.
 */
import { positiveInteger } from '../checks';
import { writeFileAtomically } from '../files';
import { displayBundle, escapeHtml, MimeBundle } from './display';
import { encodePng, pngDataUri, RawImage, upscale } from './png';

/**
 * How values become grey levels, as matplotlib's colormaps of the same names (256 levels):
 * 'gray' draws white ink on black (KerasLMU's `plt.imshow(..., cmap="gray")`), 'greys' dark ink
 * on white (EURNN's `cmap="Greys"`).
 */
export type Colormap = 'gray' | 'greys';

export interface DigitImageOptions {
  /** Image width in pixels; width*height must equal the number of values. Default 28. */
  width?: number;
  /** Image height in pixels. Default 28, or the number of values / width when only width is given. */
  height?: number;
  /** Caption (HTML) and text line. Default none. */
  title?: string;
  /** Screen pixels per image pixel on both axes. Default 5 (a 28×28 digit is 140 px wide). */
  scale?: number;
  /** Horizontal screen pixels per image pixel; overrides `scale`. */
  scaleX?: number;
  /** Vertical screen pixels per image pixel; overrides `scale` (make thin strips readable). */
  scaleY?: number;
  /** Default 'gray' (KerasLMU); 'greys' as EURNN. */
  colormap?: Colormap;
  /**
   * The values drawn as black-to-white (gray) or white-to-black (greys). Default: [0, 1] when all
   * values lie in [0, 1], [0, 255] when they lie in [0, 255], else the data's [min, max].
   */
  valueRange?: [number, number];
}

/** Options for a row of images: those of each image, plus one title per image. */
export interface DigitRowOptions extends Omit<DigitImageOptions, 'title'> {
  /** One caption per image (e.g. the labels); entries given with the images win. */
  titles?: string[];
  /** Caption above the row. Default none. */
  title?: string;
}

/** One image in a row: its values, or its values with its own title. */
export type DigitItem = ArrayLike<number> | { pixels: ArrayLike<number>; title?: string };

/** matplotlib's Greys (ColorBrewer, 9 stops from white to black, evenly spaced). */
const GREYS_STOPS = [
  1, 0.9411764705882353, 0.8509803921568627, 0.7411764705882353, 0.5882352941176471, 0.45098039215686275,
  0.3215686274509804, 0.1450980392156863, 0,
];

/**
 * 256 byte levels, computed as matplotlib's `_create_lookup_table` computes them (in
 * lookup-table units, x * 255), then `(lut * 255).astype(uint8)`, so images match byte for byte.
 */
function lookupTable(stops: number[]): Uint8Array {
  const n = 256;
  const segments = stops.length - 1;
  const xs = stops.map((_, k) => (k === segments ? 1 : k * (1 / segments)) * (n - 1)); // linspace(0, 1, len) * (N - 1)
  return Uint8Array.from({ length: n }, (_, i) => {
    if (i === 0) return Math.trunc(stops[0] * 255);
    if (i === n - 1) return Math.trunc(stops[segments] * 255);
    const x = (n - 1) * (i * (1 / (n - 1)));
    let k = 1;
    while (xs[k] < x) k++; // numpy.searchsorted(xs, x), side 'left'
    const distance = (x - xs[k - 1]) / (xs[k] - xs[k - 1]);
    const v = Math.min(1, Math.max(0, distance * (stops[k] - stops[k - 1]) + stops[k - 1]));
    return Math.trunc(v * 255);
  });
}

const LUTS: Record<Colormap, Uint8Array> = { gray: lookupTable([0, 1]), greys: lookupTable(GREYS_STOPS) };

const DEFAULT_SCALE = 5;

interface Resolved {
  width: number;
  height: number;
  scaleX: number;
  scaleY: number;
  colormap: Colormap;
  valueRange?: [number, number];
}

function resolve(count: number, options: DigitImageOptions): Resolved {
  if (options.width === undefined && options.height === undefined && count !== 784) {
    throw new Error(`give width and height for ${count} values (the default 28×28 needs 784)`);
  }
  const width = positiveInteger('width', options.width ?? (options.height !== undefined ? count / options.height : 28));
  const height = positiveInteger('height', options.height ?? (options.width !== undefined ? count / width : 28));
  if (width * height !== count) {
    throw new Error(
      `width*height must equal the number of values ${count} (got ${width}×${height} = ${width * height})`,
    );
  }
  const scale = positiveInteger('scale', options.scale ?? DEFAULT_SCALE);
  const colormap = options.colormap ?? 'gray';
  if (colormap !== 'gray' && colormap !== 'greys')
    throw new Error(`colormap must be 'gray' or 'greys' (got '${colormap}')`);
  const range = options.valueRange;
  if (range !== undefined) {
    if (!Array.isArray(range) || range.length !== 2 || !(range[0] < range[1])) {
      throw new Error(`valueRange must be [low, high] with low < high (got ${JSON.stringify(range)})`);
    }
  }
  return {
    width,
    height,
    scaleX: positiveInteger('scaleX', options.scaleX ?? scale),
    scaleY: positiveInteger('scaleY', options.scaleY ?? scale),
    colormap,
    valueRange: range,
  };
}

function autoRange(pixels: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo >= 0 && hi <= 1) return [0, 1];
  if (lo >= 0 && hi <= 255) return [0, 255];
  return lo < hi ? [lo, hi] : [lo, lo + 1]; // all values equal (or none finite): draw them as the low end
}

function checkPixels(pixels: unknown): ArrayLike<number> {
  if (pixels == null || typeof (pixels as ArrayLike<number>).length !== 'number' || typeof pixels === 'string') {
    throw new Error(
      `pixels must be an array or typed array of numbers (got ${pixels === null ? 'null' : typeof pixels})`,
    );
  }
  return pixels as ArrayLike<number>;
}

/** Maps values to grey levels through the colormap, as matplotlib does (256 bins, NaN drawn as the low end). */
function toGray(pixels: ArrayLike<number>, r: Resolved): RawImage {
  const [lo, hi] = r.valueRange ?? autoRange(pixels);
  const lut = LUTS[r.colormap];
  const data = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const v = (pixels[i] - lo) / (hi - lo);
    const bin = Number.isFinite(v) ? Math.min(255, Math.max(0, Math.floor(v * 256))) : 0;
    data[i] = lut[bin];
  }
  return { width: r.width, height: r.height, channels: 1, data };
}

/**
 * The grey levels of an image (before scaling), for tests and custom drawing.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function digitToGray(pixels: ArrayLike<number>, options: DigitImageOptions = {}): RawImage {
  checkPixels(pixels);
  return toGray(pixels, resolve(pixels.length, options));
}

/**
 * A digit (or a sequence reshaped to width×height) as PNG bytes, scaled up.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function digitPng(pixels: ArrayLike<number>, options: DigitImageOptions = {}): Buffer {
  checkPixels(pixels);
  const r = resolve(pixels.length, options);
  return encodePng(upscale(toGray(pixels, r), r.scaleX, r.scaleY));
}

/**
 * A digit as a PNG `data:` URI (for HTML, and Plotly layout images in slider figures).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function digitDataUri(pixels: ArrayLike<number>, options: DigitImageOptions = {}): string {
  return pngDataUri(digitPng(pixels, options));
}

function figureHtml(uri: string, width: number, height: number, title: string | undefined): string {
  const alt = escapeHtml(title ?? 'digit');
  const caption = title ? `<figcaption style="font-size:13px;margin-top:4px">${escapeHtml(title)}</figcaption>` : '';
  return (
    `<figure style="display:inline-block;margin:4px 8px;text-align:center;vertical-align:top">` +
    `<img src="${uri}" width="${width}" height="${height}" alt="${alt}" style="image-rendering:pixelated">` +
    `${caption}</figure>`
  );
}

function textLine(title: string | undefined, width: number, height: number): string {
  return `${title ? `${title} ` : ''}[${width}×${height} image]`;
}

/**
 * The MIME bundle `showDigit` displays: image/png (base64), text/html and text/plain.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function digitBundle(pixels: ArrayLike<number>, options: DigitImageOptions = {}): MimeBundle {
  checkPixels(pixels);
  const r = resolve(pixels.length, options);
  const scaled = upscale(toGray(pixels, r), r.scaleX, r.scaleY);
  const png = encodePng(scaled);
  return {
    'image/png': png.toString('base64'),
    'text/html': figureHtml(pngDataUri(png), scaled.width, scaled.height, options.title),
    'text/plain': textLine(options.title, r.width, r.height),
  };
}

/**
 * Shows one digit, or a pixel sequence reshaped to a strip: `showDigit(x, { width: 98, height: 8,
 * title: "Sample sequence of the digit '5' (reshaped to 98 x 8)" })`. Outside a notebook it
 * prints the title and size.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function showDigit(pixels: ArrayLike<number>, options: DigitImageOptions = {}): void {
  displayBundle(digitBundle(pixels, options));
}

/** a mid-grey gap separates black ('gray') and white ('greys') backgrounds alike */
const GAP_GRAY = 128;
const GAP = 8;

/**
 * The bundle `showDigits` displays: a row of captioned figures (HTML), the images side by side
 * (PNG, no captions) and one text line per image.
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function digitsBundle(list: DigitItem[], options: DigitRowOptions = {}): MimeBundle {
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(`list must be a non-empty array of images (got ${Array.isArray(list) ? '[]' : typeof list})`);
  }
  if (options.titles !== undefined && (!Array.isArray(options.titles) || options.titles.length !== list.length)) {
    throw new Error(
      `titles must hold one title per image, ${list.length} (got ${Array.isArray(options.titles) ? options.titles.length : typeof options.titles})`,
    );
  }
  const { titles, title: rowTitle, ...imageOptions } = options;
  const images = list.map((item, i) => {
    const pixels = checkPixels(
      item != null && typeof item === 'object' && 'pixels' in item
        ? (item as { pixels: ArrayLike<number> }).pixels
        : item,
    );
    const title = (item as { title?: string }).title ?? titles?.[i];
    const r = resolve(pixels.length, imageOptions);
    const scaled = upscale(toGray(pixels, r), r.scaleX, r.scaleY);
    return { scaled, title, r };
  });
  // side-by-side PNG for frontends that show only images
  const height = Math.max(...images.map((im) => im.scaled.height));
  const width = images.reduce((w, im) => w + im.scaled.width, 0) + GAP * (images.length - 1);
  const strip = new Uint8Array(width * height).fill(GAP_GRAY);
  let x0 = 0;
  for (const { scaled } of images) {
    for (let y = 0; y < scaled.height; y++)
      strip.set(scaled.data.subarray(y * scaled.width, (y + 1) * scaled.width), y * width + x0);
    x0 += scaled.width + GAP;
  }
  const figures = images.map(({ scaled, title }) =>
    figureHtml(pngDataUri(encodePng(scaled)), scaled.width, scaled.height, title),
  );
  const heading = rowTitle ? `<div style="font-weight:bold;margin:4px 8px">${escapeHtml(rowTitle)}</div>` : '';
  return {
    'image/png': encodePng({ width, height, channels: 1, data: strip }).toString('base64'),
    'text/html': `<div class="seqmnist-digits">${heading}<div style="display:flex;flex-wrap:wrap;align-items:flex-start">${figures.join('')}</div></div>`,
    'text/plain': [
      ...(rowTitle ? [rowTitle] : []),
      ...images.map(({ title, r }) => textLine(title, r.width, r.height)),
    ].join('\n'),
  };
}

/**
 * Shows several images in a row, each with its title (NengoDL's three training digits titled by
 * label; the LSTM walkthrough's augmented samples).
 * @see notebooks/05-lstm-pixel-row.ipynb
 */
export function showDigits(list: DigitItem[], options: DigitRowOptions = {}): void {
  displayBundle(digitsBundle(list, options));
}

/**
 * Writes a digit (or strip) to a PNG file, creating the folder; returns the path.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function saveDigitPng(file: string, pixels: ArrayLike<number>, options: DigitImageOptions = {}): string {
  writeFileAtomically(file, digitPng(pixels, options));
  return file;
}
