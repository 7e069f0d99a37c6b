/**
 * Matrices as Plotly heatmaps: one (an agreement table) or small multiples of several on shared
 * scales (a confusion matrix per model), with the values written in the cells.
 */
import { Figure, PlotLayout, PlotTrace, showFigure } from './charts';

/**
 * Light (low) to dark blue (high), matplotlib's Blues at five stops: Plotly's own 'Blues' runs from
 * dark to light, which reads backwards for probabilities.
 * @see notebooks/06-compare.ipynb
 */
export const LIGHT_TO_DARK_BLUES: [number, string][] = [
  [0, '#f7fbff'],
  [0.25, '#c6dbef'],
  [0.5, '#6baed6'],
  [0.75, '#2171b5'],
  [1, '#08306b'],
];

/** A Plotly colour scale: a name ('Reds') or [share, colour] stops. */
export type ColorScale = string | [number, string][];

/** One matrix: rows of numbers (null leaves a cell blank). */
export type Matrix = (number | null)[][];

export interface HeatmapOptions {
  /** [rows][columns]. */
  z: Matrix;
  /** Column labels, left to right. */
  x: string[];
  /** Row labels, top to bottom. */
  y: string[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Colour range. Default: the values' [min, max]. */
  zRange?: [number, number];
  /** Colour scale. Default LIGHT_TO_DARK_BLUES. */
  colorscale?: ColorScale;
  /** d3 format of the numbers written in the cells, e.g. '.2f' or 'd'. Default '.2f'; '' writes none. */
  cellFormat?: string;
  /** Default 450. */
  height?: number;
  /** Width in pixels. Default: the output's width. */
  width?: number;
  /** Display the chart now. Default true. */
  display?: boolean;
}

function checkMatrix(name: string, z: unknown, rows: number, columns: number): void {
  if (!Array.isArray(z) || z.length !== rows)
    throw new Error(`${name} must hold ${rows} rows (got ${Array.isArray(z) ? z.length : typeof z})`);
  z.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== columns)
      throw new Error(`${name}[${i}] must hold ${columns} values (got ${Array.isArray(r) ? r.length : typeof r})`);
    r.forEach((v, j) => {
      if (v !== null && !Number.isFinite(v)) throw new Error(`${name}[${i}][${j}] must be a finite number or null`);
    });
  });
}

function checkLabels(name: string, labels: unknown): string[] {
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string'))
    throw new Error(`${name} must be a non-empty array of strings (got ${JSON.stringify(labels)})`);
  return labels;
}

function checkZRange(range: unknown): void {
  if (range === undefined) return;
  if (!Array.isArray(range) || range.length !== 2 || !range.every(Number.isFinite) || !(range[0] < range[1]))
    throw new Error(`zRange must be [low, high] with finite low < high (got ${JSON.stringify(range)})`);
}

/** The heatmap trace of one matrix; rows run top to bottom through a reversed y axis. */
function heatmapTrace(z: Matrix, x: string[], y: string[], o: Omit<HeatmapOptions, 'z' | 'x' | 'y'>): PlotTrace {
  const format = o.cellFormat ?? '.2f';
  return {
    type: 'heatmap',
    z,
    x,
    y,
    colorscale: o.colorscale ?? LIGHT_TO_DARK_BLUES,
    ...(o.zRange ? { zmin: o.zRange[0], zmax: o.zRange[1] } : {}),
    ...(format ? { texttemplate: `%{z:${format}}`, textfont: { size: 10 } } : {}),
    hoverongaps: false,
  };
}

/**
 * One matrix as a heatmap with its values in the cells, first row at the top.
 * @see notebooks/06-compare.ipynb
 */
export function heatmap(options: HeatmapOptions): Figure {
  const x = checkLabels('x', options?.x);
  const y = checkLabels('y', options.y);
  checkMatrix('z', options.z, y.length, x.length);
  checkZRange(options.zRange);
  const axis = (text?: string) => (text ? { title: { text } } : {});
  const layout: PlotLayout = {
    ...(options.title ? { title: { text: options.title } } : {}),
    xaxis: { ...axis(options.xTitle), type: 'category', side: 'bottom' },
    yaxis: { ...axis(options.yTitle), type: 'category', autorange: 'reversed' },
    height: options.height ?? 450,
    ...(options.width ? { width: options.width } : {}),
    margin: { t: options.title ? 60 : 30 },
  };
  const fig = new Figure({ data: [heatmapTrace(options.z, x, y, options)], layout });
  if (options.display ?? true) showFigure(fig);
  return fig;
}

export interface HeatmapGridOptions extends Omit<HeatmapOptions, 'z' | 'title'> {
  /** One matrix per panel, each with its title, all [y.length][x.length]. */
  panels: { title: string; z: Matrix }[];
  /** Panels per row. Default 4. */
  columns?: number;
  /** Title of the whole figure. */
  title?: string;
}

/**
 * Small multiples: one heatmap per panel on one colour scale (zRange, default the values' range
 * over all panels), in a grid, each titled.
 * @see notebooks/06-compare.ipynb
 */
export function heatmapGrid(options: HeatmapGridOptions): Figure {
  const panels = options?.panels;
  if (!Array.isArray(panels) || panels.length === 0)
    throw new Error(`panels must be a non-empty array of {title, z} (got ${JSON.stringify(panels)})`);
  const x = checkLabels('x', options.x);
  const y = checkLabels('y', options.y);
  panels.forEach((p, i) => {
    if (!p || typeof p.title !== 'string') throw new Error(`panels[${i}].title must be a string`);
    checkMatrix(`panels[${i}].z`, p.z, y.length, x.length);
  });
  checkZRange(options.zRange);
  const columns = options.columns ?? 4;
  if (!Number.isInteger(columns) || columns < 1) throw new Error(`columns must be a positive integer (got ${columns})`);
  const values = panels.flatMap((p) => p.z.flat().filter((v): v is number => v !== null));
  const zRange = options.zRange ?? [Math.min(0, ...values), Math.max(1e-9, ...values)];
  const cols = Math.min(columns, panels.length);
  const rows = Math.ceil(panels.length / cols);
  const gapX = 0.04;
  const gapY = 0.1;
  const data: PlotTrace[] = [];
  const layout: PlotLayout = {
    ...(options.title ? { title: { text: options.title } } : {}),
    height: options.height ?? 260 * rows + 60,
    ...(options.width ? { width: options.width } : {}),
    margin: { t: options.title ? 80 : 50 },
    annotations: [],
  };
  panels.forEach((p, k) => {
    const r = Math.floor(k / cols);
    const c = k % cols;
    const suffix = k === 0 ? '' : String(k + 1);
    const xDomain = [c / cols + gapX / 2, (c + 1) / cols - gapX / 2];
    const yDomain = [1 - (r + 1) / rows + gapY / 2, 1 - r / rows - gapY / 2];
    data.push({
      ...heatmapTrace(p.z, x, y, { ...options, zRange }),
      xaxis: `x${suffix}`,
      yaxis: `y${suffix}`,
      showscale: k === 0,
    });
    layout[`xaxis${suffix}`] = {
      domain: xDomain,
      anchor: `y${suffix}`,
      type: 'category',
      ...(r === rows - 1 && options.xTitle ? { title: { text: options.xTitle } } : {}),
    };
    layout[`yaxis${suffix}`] = {
      domain: yDomain,
      anchor: `x${suffix}`,
      type: 'category',
      autorange: 'reversed',
      ...(c === 0 && options.yTitle ? { title: { text: options.yTitle } } : {}),
    };
    (layout.annotations as unknown[]).push({
      text: p.title,
      xref: 'paper',
      yref: 'paper',
      x: (xDomain[0] + xDomain[1]) / 2,
      y: yDomain[1],
      xanchor: 'center',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 12 },
    });
  });
  const fig = new Figure({ data, layout });
  if (options.display ?? true) showFigure(fig);
  return fig;
}
