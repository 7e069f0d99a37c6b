/**
 * Plotly charts for notebooks: interactive in JupyterLab and classic Notebook and drawn in exported
 * HTML, all with no internet. Each chart is a bundle of `application/vnd.plotly.v1+json` (for
 * frontends with a Plotly renderer) and `text/html` (a div and a script calling Plotly.newPlot,
 * which classic Notebook and nbconvert pick). plotly.js itself is never stored in a notebook: the
 * HTML loads it from beside the notebooks, and exporters inline it (see "where plotly.js comes from").
 */
import { projectPath } from '../root';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { inspect } from 'util';
import { writeFileAtomically } from '../files';
import { displayBundle, escapeHtml, inNotebook, MimeBundle } from './display';

/** A value on an axis. */
export type PlotDatum = number | string | null;

/**
 * A Plotly trace (https://plotly.com/javascript/reference/); arrays may be typed arrays.
 * Only the fields this lib sets are named; any other Plotly attribute passes through.
 */
export interface PlotTrace {
  type?: string;
  name?: string;
  x?: ArrayLike<PlotDatum>;
  y?: ArrayLike<PlotDatum>;
  mode?: string;
  xaxis?: string;
  yaxis?: string;
  [attribute: string]: unknown;
}

/** A Plotly layout (https://plotly.com/javascript/reference/layout/). */
export type PlotLayout = Record<string, unknown>;

/** A Plotly animation frame. */
export interface PlotFrame {
  name?: string;
  data?: PlotTrace[];
  layout?: PlotLayout;
  traces?: number[];
}

/** What Plotly.newPlot takes, and what `application/vnd.plotly.v1+json` holds. */
export interface FigureSpec {
  data: PlotTrace[];
  layout: PlotLayout;
  frames?: PlotFrame[];
}

/** Plotly's figure options for the HTML output (the JSON MIME type carries no config). */
const CONFIG = { responsive: true, displaylogo: false };
const DEFAULT_HEIGHT = 450;

/** Typed arrays → plain arrays (float32 values to 7 significant digits), recursively, for JSON. */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const arr = Array.from(value as unknown as ArrayLike<number | bigint>, Number);
    return value instanceof Float32Array ? arr.map((v) => (Number.isFinite(v) ? Number(v.toPrecision(7)) : v)) : arr;
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plain(v);
    return out;
  }
  return value;
}

/** One line naming a figure's title and traces (what a terminal shows instead of the chart). */
function summary(fig: FigureSpec): string {
  const title = layoutTitle(fig.layout);
  const sliders = fig.layout.sliders as Array<{ steps?: unknown[] }> | undefined;
  const traces = fig.data.map((t, i) => {
    const n = t.y?.length ?? t.x?.length;
    return `${t.name ?? `trace ${i}`}${n !== undefined ? ` (${n} points)` : ''}`;
  });
  const kind = sliders?.length ? `slider chart, ${sliders[0].steps?.length ?? 0} steps` : 'chart';
  return `[${kind}]${title ? ` ${title}:` : ''} ${traces.join(', ') || 'no traces'}`;
}

function layoutTitle(layout: PlotLayout): string | undefined {
  const t = layout.title as string | { text?: string } | undefined;
  return typeof t === 'string' ? t : t?.text;
}

/**
 * A Plotly figure: `{ data, layout, frames? }` with plain arrays, ready for JSON. Shows itself
 * with `show()`; tslab prints it as one line when it ends a cell.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export class Figure implements FigureSpec {
  data: PlotTrace[];
  layout: PlotLayout;
  frames?: PlotFrame[];

  constructor(spec: FigureSpec) {
    if (!spec || !Array.isArray(spec.data))
      throw new Error(`figure data must be an array of traces (got ${spec ? typeof spec.data : spec})`);
    if (spec.layout == null || typeof spec.layout !== 'object')
      throw new Error(`figure layout must be an object (got ${typeof spec.layout})`);
    this.data = plain(spec.data) as PlotTrace[];
    this.layout = plain(spec.layout) as PlotLayout;
    if (spec.frames) this.frames = plain(spec.frames) as PlotFrame[];
  }

  /** Displays the figure (notebook) or prints its summary line (terminal). */
  show(): this {
    showFigure(this);
    return this;
  }

  toJSON(): FigureSpec {
    return this.frames
      ? { data: this.data, layout: this.layout, frames: this.frames }
      : { data: this.data, layout: this.layout };
  }

  toString(): string {
    return summary(this);
  }

  [inspect.custom](): string {
    return `Figure ${summary(this)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// where plotly.js comes from
//
// A chart is shown as a MIME bundle: the Plotly JSON (JupyterLab draws it with the Plotly renderer
// that environment.yml installs), and HTML for every other front end (classic Notebook 6,
// Notebook 7, JupyterLab without that renderer, nbconvert's HTML). The HTML does not carry
// plotly.js (4.6 MB): a notebook saved after Run All would grow by that much per kernel session.
// It loads the copy that `npm install` places beside the notebooks (notebooks/assets/plotly.min.js,
// git-ignored) through the Jupyter server's /files/ route, which works offline in every front end
// that serves the notebook's folder. Exported pages get the library inlined once by the exporter
// (scripts/render-notebook.js, or saveFigureHtml for a single chart), so they open offline
// anywhere; an export made without it looks for the same file beside the page.

/** Where the package's plotly.js is (node_modules), read for inlining and copied as the asset. */
function plotlySourceFile(): string {
  return require.resolve('plotly.js-dist-min/plotly.min.js');
}

/**
 * The copy of plotly.js beside the notebooks that chart outputs load: `<project>/notebooks/assets/plotly.min.js`.
 * @see scripts/postinstall.js
 */
export function plotlyAssetFile(): string {
  return projectPath('notebooks', 'assets', 'plotly.min.js');
}

/**
 * Copies plotly.js to `plotlyAssetFile()` unless an identical copy is there (postinstall and the
 * first chart of a kernel session call it). Returns the file.
 * @see scripts/postinstall.js
 */
export function ensurePlotlyAsset(): string {
  const target = plotlyAssetFile();
  const source = plotlySourceFile();
  const have = fs.existsSync(target) ? fs.statSync(target).size : -1;
  if (have !== fs.statSync(source).size) {
    // written beside, then renamed: a browser never loads half a library
    writeFileAtomically(target, fs.readFileSync(source));
  }
  return target;
}

/**
 * The comment that opens an inlined plotly.js, to tell whether a page has it already.
 * @see scripts/render-notebook.js
 */
export const PLOTLY_LIBRARY_MARK = 'plotly.js, inlined by seqmnist';
let plotlySource: string | undefined;

/**
 * plotly.js as one inline <script> element (about 4.6 MB), for exported pages: `</script` escaped,
 * AMD/CommonJS hidden so that it sets window.Plotly even where requirejs is loaded.
 * @see scripts/render-notebook.js
 */
export function plotlyLibraryScript(): string {
  if (plotlySource === undefined) {
    const src = fs.readFileSync(plotlySourceFile(), 'utf8');
    // requirejs (nbconvert's template loads it when online, classic Notebook always) would
    // swallow the UMD's anonymous define(); hiding define/exports/module makes it set window.Plotly
    const safe = src.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
    plotlySource =
      `<script type="text/javascript">/* ${PLOTLY_LIBRARY_MARK} */\n` +
      `(function (define, exports, module) {\n${safe}\n}).call(window);\n</script>\n`;
  }
  return plotlySource;
}

/** JSON safe to place inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/**
 * The loader every chart's HTML carries (about 2 KB): draws with window.Plotly when the page has
 * it (an exported page), else loads `asset` (a path relative to the notebook's folder) once per
 * page, from the Jupyter server's /files/ route (classic Notebook's page names its notebook in
 * <body data-notebook-path>; JupyterLab's tab caption and Notebook 7's URL name theirs), or
 * relative to the page (an export beside the notebook). With requirejs present (classic
 * Notebook) it loads through require(), which takes plotly's anonymous define().
 */
function loaderScript(id: string, payload: unknown, asset: string): string {
  const missing =
    'plotly.js did not load from ASSET: run `npm install` in the seqmnist project (it puts plotly.js beside the notebooks), then re-run this cell.';
  return `<script type="text/javascript">
(function () {
  var fig = ${scriptJson(payload)};
  var asset = ${JSON.stringify(asset)};
  var el = document.getElementById(${JSON.stringify(id)});
  if (!el) return;
  function join(base, rel) { return (base.replace(/\\/+$/, '') + '/' + rel).replace(/([^:])\\/\\/+/g, '$1/'); }
  function encodePath(p) { return p.split('/').map(encodeURIComponent).join('/'); }
  function dirOf(p) { var i = p.lastIndexOf('/'); return i < 0 ? '' : p.slice(0, i); }
  function assetUrl() {
    var body = document.body, nb = body.getAttribute('data-notebook-path'), base = body.getAttribute('data-base-url');
    if (nb !== null && base !== null) return join(join(base, 'files'), join(encodePath(dirOf(decodeURIComponent(nb))), asset));
    var cfg = document.getElementById('jupyter-config-data');
    if (cfg) {
      var baseUrl = JSON.parse(cfg.textContent || '{}').baseUrl || '/', path = null;
      var panel = el.closest('.jp-NotebookPanel');
      var tab = panel && panel.id && document.querySelector('.lm-TabBar-tab[data-id="' + panel.id + '"]');
      var m = tab && /(?:^|\\n)Path: ([^\\n]+)/.exec(tab.getAttribute('title') || '');
      if (m) path = m[1];
      else {
        m = /\\/(?:lab(?:\\/workspaces\\/[^/]+)?\\/tree|notebooks|doc(?:\\/workspaces\\/[^/]+)?\\/tree)\\/(.+\\.ipynb)$/.exec(location.pathname);
        if (m) path = decodeURIComponent(m[1]);
      }
      if (path !== null) return join(join(baseUrl, 'files'), join(encodePath(dirOf(path)), asset));
    }
    return asset;
  }
  function load(url) {
    var cache = (window.__seqmnistPlotly = window.__seqmnistPlotly || {});
    if (!cache[url]) {
      cache[url] = new Promise(function (resolve, reject) {
        if (typeof window.define === 'function' && window.define.amd && typeof window.require === 'function') {
          window.require([url], function (P) { window.Plotly = window.Plotly || P; resolve(window.Plotly); }, reject);
          return;
        }
        var s = document.createElement('script');
        s.src = url;
        s.onload = function () { window.Plotly ? resolve(window.Plotly) : reject(new Error('no Plotly')); };
        s.onerror = reject;
        document.head.appendChild(s);
      });
      cache[url].catch(function () { delete cache[url]; });
    }
    return cache[url];
  }
  function draw(Plotly) { Plotly.newPlot(el, fig.data, fig.layout, fig.config); }
  if (window.Plotly) { draw(window.Plotly); return; }
  var url = assetUrl();
  load(url).then(draw, function () { el.textContent = ${JSON.stringify(missing)}.replace('ASSET', url); });
})();
</script>
`;
}

export interface FigureHtmlOptions {
  /** Put the plotly.js library (about 4.6 MB) in front of the chart, for a standalone page. Default false. */
  includeLibrary?: boolean;
  /**
   * Path of plotly.js relative to the notebook's folder, for the loader. Default: the asset
   * beside the notebooks, relative to the kernel's working directory (the notebook's folder).
   */
  asset?: string;
}

/** plotlyAssetFile() relative to the working directory (a kernel's is its notebook's folder), with '/'. */
function assetFromCwd(): string {
  return path.relative(process.cwd(), plotlyAssetFile()).split(path.sep).join('/');
}

/**
 * The HTML for one chart: a div and a script that draws it with window.Plotly, loading plotly.js
 * from beside the notebook when the page has none (see loaderScript).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function figureHtml(fig: FigureSpec, options: FigureHtmlOptions = {}): string {
  const spec = fig instanceof Figure ? fig : new Figure(fig);
  const id = `seqmnist-plot-${randomBytes(6).toString('hex')}`;
  const height = typeof spec.layout.height === 'number' ? spec.layout.height : DEFAULT_HEIGHT;
  const width = typeof spec.layout.width === 'number' ? `${spec.layout.width}px` : '100%';
  const payload = { ...spec.toJSON(), config: CONFIG };
  return (
    (options.includeLibrary ? plotlyLibraryScript() : '') +
    `<div id="${id}" class="seqmnist-plot" style="width:${width};height:${height}px"></div>\n` +
    loaderScript(id, payload, options.asset ?? assetFromCwd())
  );
}

/**
 * The MIME bundle `showFigure` displays: the Plotly JSON, the HTML and a one-line text/plain
 * (front ends show only the richest type they render; text-only ones show the line).
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function figureBundle(fig: FigureSpec, options: FigureHtmlOptions = {}): MimeBundle {
  const spec = fig instanceof Figure ? fig : new Figure(fig);
  return {
    'application/vnd.plotly.v1+json': spec.toJSON(),
    'text/html': figureHtml(spec, options),
    'text/plain': summary(spec),
  };
}

/**
 * Shows a figure: in a notebook as an interactive chart (plotly.js loaded from beside the
 * notebooks, never stored in the notebook), elsewhere as its summary line.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function showFigure(fig: FigureSpec): void {
  const spec = fig instanceof Figure ? fig : new Figure(fig);
  if (!inNotebook()) {
    displayBundle({ 'text/plain': summary(spec) });
    return;
  }
  ensurePlotlyAsset();
  displayBundle(figureBundle(spec));
}

/**
 * Writes a figure as a standalone HTML page (plotly.js inlined, opens offline); returns the path.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function saveFigureHtml(file: string, fig: FigureSpec): string {
  const spec = fig instanceof Figure ? fig : new Figure(fig);
  const title = escapeHtml(layoutTitle(spec.layout) ?? 'seqmnist chart');
  writeFileAtomically(
    file,
    `<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"><title>${title}</title></head>\n<body>\n` +
      figureHtml(spec, { includeLibrary: true }) +
      `</body>\n</html>\n`,
  );
  return file;
}

// ---------------------------------------------------------------------------------------------
// line charts

/** One line of a line chart. */
export interface LineSeries {
  /** Legend entry. */
  name: string;
  /** x values. Default 0, 1, …, y.length - 1. */
  x?: ArrayLike<number | string>;
  y: ArrayLike<number>;
  /** Which y axis: 'y2' draws against the right-hand axis. Default 'y'. */
  yaxis?: 'y' | 'y2';
  /** Default 'lines'. */
  mode?: 'lines' | 'markers' | 'lines+markers';
  /** Any CSS colour. Default Plotly's colour cycle. */
  color?: string;
  /** Default 'solid'. */
  dash?: 'solid' | 'dash' | 'dot' | 'dashdot';
}

export interface LineChartOptions {
  series: LineSeries[];
  /** Chart title. Default none. */
  title?: string;
  /** x axis title. Default none. */
  xTitle?: string;
  /** Left y axis title. Default none. */
  yTitle?: string;
  /** Right y axis title; the right axis appears when this is given or a series uses 'y2'. */
  y2Title?: string;
  /** x axis range. Default: fitted to the data. */
  xRange?: [number, number];
  /** Left y axis range, e.g. [0.85, 1] for KerasLMU's accuracies. Default: fitted. */
  yRange?: [number, number];
  /** Right y axis range. Default: fitted. */
  y2Range?: [number, number];
  /** Tick positions on the x axis, e.g. epochs 1…10. Default: Plotly's. */
  xTicks?: number[];
  /** Log-scaled left y axis (losses). Default false. */
  yLog?: boolean;
  /** Width in pixels. Default: the output's width. */
  width?: number;
  /** Height in pixels. Default 450. */
  height?: number;
  /** Display the chart now. Default true. */
  display?: boolean;
}

function checkRange(name: string, range: unknown): void {
  if (range === undefined) return;
  if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite) || !(range[0] < range[1])) {
    throw new Error(`${name} must be [low, high] with finite low < high (got ${JSON.stringify(range)})`);
  }
}

function checkSize(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 50)) {
    throw new Error(`${name} must be an integer number of pixels ≥ 50 (got ${String(value)})`);
  }
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return value != null && typeof value === 'object' && typeof (value as ArrayLike<unknown>).length === 'number';
}

/**
 * A line chart with an optional second y axis, e.g. KerasLMU's "Post-epoch training accuracies"
 * (x ticks 1–10, y range 0.85–1) or a loss (left) and accuracy (right) history. Displays it
 * unless `display: false`, and returns the figure.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function lineChart(options: LineChartOptions): Figure {
  if (!options || !Array.isArray(options.series) || options.series.length === 0) {
    throw new Error(
      `series must be a non-empty array of {name, y} (got ${options ? JSON.stringify(options.series) : options})`,
    );
  }
  options.series.forEach((s, i) => {
    if (!s || typeof s.name !== 'string')
      throw new Error(`series[${i}].name must be a string (got ${s ? typeof s.name : s})`);
    if (!isArrayLike(s.y)) throw new Error(`series[${i}].y must be an array of numbers (got ${typeof s.y})`);
    if (s.x !== undefined && (!isArrayLike(s.x) || s.x.length !== s.y.length)) {
      throw new Error(
        `series[${i}].x must have y's length ${s.y.length} (got ${isArrayLike(s.x) ? s.x.length : typeof s.x})`,
      );
    }
    if (s.yaxis !== undefined && s.yaxis !== 'y' && s.yaxis !== 'y2')
      throw new Error(`series[${i}].yaxis must be 'y' or 'y2' (got '${s.yaxis}')`);
  });
  checkRange('xRange', options.xRange);
  checkRange('yRange', options.yRange);
  checkRange('y2Range', options.y2Range);
  checkSize('width', options.width);
  checkSize('height', options.height);
  if (options.xTicks !== undefined && (!Array.isArray(options.xTicks) || !options.xTicks.every(Number.isFinite))) {
    throw new Error(`xTicks must be an array of finite numbers (got ${JSON.stringify(options.xTicks)})`);
  }

  const data: PlotTrace[] = options.series.map((s) => ({
    type: 'scatter',
    name: s.name,
    ...(s.x !== undefined ? { x: s.x } : {}),
    y: s.y,
    mode: s.mode ?? 'lines',
    ...(s.yaxis === 'y2' ? { yaxis: 'y2' } : {}),
    ...(s.color || s.dash
      ? { line: { ...(s.color ? { color: s.color } : {}), ...(s.dash ? { dash: s.dash } : {}) } }
      : {}),
  }));
  const axisTitle = (text?: string) => (text ? { title: { text } } : {});
  const twoAxes = options.y2Title !== undefined || options.series.some((s) => s.yaxis === 'y2');
  const layout: PlotLayout = {
    ...(options.title ? { title: { text: options.title } } : {}),
    xaxis: {
      ...axisTitle(options.xTitle),
      ...(options.xRange ? { range: options.xRange } : {}),
      ...(options.xTicks ? { tickmode: 'array', tickvals: options.xTicks } : {}),
    },
    yaxis: {
      ...axisTitle(options.yTitle),
      ...(options.yRange ? { range: options.yLog ? options.yRange.map(Math.log10) : options.yRange } : {}),
      ...(options.yLog ? { type: 'log' } : {}),
    },
    ...(twoAxes
      ? {
          yaxis2: {
            ...axisTitle(options.y2Title),
            overlaying: 'y',
            side: 'right',
            ...(options.y2Range ? { range: options.y2Range } : {}),
          },
          // the default legend sits where the right axis labels go
          legend: { orientation: 'h', x: 0, y: -0.2 },
        }
      : {}),
    height: options.height ?? DEFAULT_HEIGHT,
    ...(options.width ? { width: options.width } : {}),
    margin: { t: options.title ? 60 : 30 },
  };
  const fig = new Figure({ data, layout });
  if (options.display ?? true) showFigure(fig);
  return fig;
}

// ---------------------------------------------------------------------------------------------
// slider figures

/**
 * A Plotly layout image (https://plotly.com/javascript/reference/layout/images/), e.g. a digit
 * from `digitDataUri`. Defaults place it on the left 30% of the figure, beside the plot.
 */
export interface SliderImage {
  /** Image URL or `data:` URI. */
  source: string;
  [attribute: string]: unknown;
}

/** What one slider position shows. */
export interface SliderStep {
  /** The slider's tick label, e.g. the time step. */
  label: string;
  /** The traces at this step: the same number at every step; each replaces the figure's trace of the same index. */
  traces: PlotTrace[];
  /** PlotLayout images at this step (e.g. the digit revealed up to this step). Default none. */
  images?: SliderImage[];
  /** Figure title at this step. Default: the layout's title. */
  title?: string;
}

export interface SliderFigureOptions {
  steps: SliderStep[];
  /** Base layout (axes, ranges, size); the slider and images are added to it. Default {}. */
  layout?: PlotLayout;
  /** The step shown first. Default the last step. */
  active?: number;
  /** Text before the current step's label. Default 'step: '. */
  prefix?: string;
  /** Display the figure now. Default true. */
  display?: boolean;
}

const IMAGE_WIDTH = 0.3; // of the figure, when steps carry images

function placeImage(image: SliderImage): SliderImage {
  return {
    xref: 'paper',
    yref: 'paper',
    x: 0,
    y: 1,
    sizex: IMAGE_WIDTH,
    sizey: 1,
    xanchor: 'left',
    yanchor: 'top',
    sizing: 'contain',
    layer: 'above',
    ...image,
  };
}

/**
 * A figure with a slider over steps: moving it swaps every trace's data (Plotly's 'update'
 * method: restyle the traces, relayout images and title), e.g. the image revealed up to step t
 * beside the class probabilities at step t. Displays it unless `display: false`.
 * @see notebooks/01-keras-lmu-psmnist.ipynb
 */
export function sliderFigure(options: SliderFigureOptions): Figure {
  const steps = options?.steps;
  if (!Array.isArray(steps) || steps.length === 0)
    throw new Error(`steps must be a non-empty array (got ${Array.isArray(steps) ? '[]' : typeof steps})`);
  const traceCount = steps[0].traces?.length;
  steps.forEach((s, i) => {
    if (!s || typeof s.label !== 'string')
      throw new Error(`steps[${i}].label must be a string (got ${s ? typeof s.label : s})`);
    if (!Array.isArray(s.traces) || s.traces.length !== traceCount) {
      throw new Error(
        `steps[${i}].traces must hold ${traceCount} traces like steps[0] (got ${Array.isArray(s.traces) ? s.traces.length : typeof s.traces})`,
      );
    }
    s.images?.forEach((im, j) => {
      if (!im || typeof im.source !== 'string')
        throw new Error(
          `steps[${i}].images[${j}].source must be a URL or data URI (got ${im ? typeof im.source : im})`,
        );
    });
  });
  const active = options.active ?? steps.length - 1;
  if (!Number.isInteger(active) || active < 0 || active >= steps.length) {
    throw new Error(`active must be an integer in [0, ${steps.length - 1}] (got ${active})`);
  }
  const withImages = steps.some((s) => s.images && s.images.length > 0);
  const base: PlotLayout = { ...(options.layout ?? {}) };
  if (withImages) {
    const xaxis = (base.xaxis ?? {}) as PlotLayout;
    if (xaxis.domain === undefined) base.xaxis = { ...xaxis, domain: [IMAGE_WIDTH + 0.08, 1] };
  }
  const baseTitle = layoutTitle(base);

  // every attribute any step sets, so that each step overwrites the previous step's values
  const keys = new Set<string>();
  for (const s of steps) for (const t of s.traces) for (const k of Object.keys(t)) if (k !== 'type') keys.add(k);
  const restyle = (s: SliderStep): Record<string, unknown[]> => {
    const update: Record<string, unknown[]> = {};
    for (const k of keys) update[k] = s.traces.map((t) => (t[k] === undefined ? null : plain(t[k])));
    return update;
  };
  const relayout = (s: SliderStep): PlotLayout => ({
    ...(withImages ? { images: (s.images ?? []).map(placeImage) } : {}),
    ...(s.title !== undefined || baseTitle !== undefined ? { 'title.text': s.title ?? baseTitle } : {}),
  });

  const shown = steps[active];
  const layout: PlotLayout = {
    ...base,
    ...(shown.title !== undefined ? { title: { text: shown.title } } : {}),
    ...(withImages ? { images: (shown.images ?? []).map(placeImage) } : {}),
    sliders: [
      {
        active,
        currentvalue: { prefix: options.prefix ?? 'step: ', visible: true },
        pad: { t: 40 },
        steps: steps.map((s) => ({ label: s.label, method: 'update', args: [restyle(s), relayout(s)] })),
      },
    ],
  };
  const fig = new Figure({ data: shown.traces.map((t) => ({ ...t })), layout });
  if (options.display ?? true) showFigure(fig);
  return fig;
}
