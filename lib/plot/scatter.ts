/**
 * A scatter chart of labelled points (one point per model, say), with an optional log-scaled x
 * axis, built on the Plotly figures of charts.ts.
 */
import { Figure, PlotLayout, PlotTrace, showFigure } from './charts';

/** One point: its position and the text drawn beside it. */
export interface LabelledPoint {
  x: number;
  y: number;
  label: string;
  /** Any CSS colour. Default Plotly's first colour. */
  color?: string;
  /** Shown on hover below the label. Default none. */
  hover?: string;
}

export interface LabelledScatterOptions {
  points: LabelledPoint[];
  title?: string;
  xTitle?: string;
  yTitle?: string;
  /** Log-scaled x axis (parameters, seconds). Default false. */
  xLog?: boolean;
  /** y axis range. Default: fitted. */
  yRange?: [number, number];
  /** Default 450. */
  height?: number;
  /** Width in pixels. Default: the output's width. */
  width?: number;
  /** Display the chart now. Default true. */
  display?: boolean;
}

/**
 * Points with their labels written beside them, e.g. test accuracy against parameters, one point
 * per model. Points with a non-finite or (on a log axis) non-positive x are refused by name.
 * @see notebooks/06-compare.ipynb
 */
export function labelledScatter(options: LabelledScatterOptions): Figure {
  const points = options?.points;
  if (!Array.isArray(points) || points.length === 0)
    throw new Error(`points must be a non-empty array of {x, y, label} (got ${JSON.stringify(points)})`);
  points.forEach((p, i) => {
    if (!p || typeof p.label !== 'string') throw new Error(`points[${i}].label must be a string`);
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y))
      throw new Error(`points[${i}] (${p.label}) needs finite x and y (got x ${p.x}, y ${p.y})`);
    if (options.xLog && !(p.x > 0)) throw new Error(`points[${i}] (${p.label}) needs x > 0 on a log axis (got ${p.x})`);
  });
  if (options.yRange !== undefined) {
    const r = options.yRange;
    if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isFinite) || !(r[0] < r[1]))
      throw new Error(`yRange must be [low, high] with finite low < high (got ${JSON.stringify(r)})`);
  }
  const trace: PlotTrace = {
    type: 'scatter',
    mode: 'markers+text',
    x: points.map((p) => p.x),
    y: points.map((p) => p.y),
    text: points.map((p) => p.label),
    textposition: 'top center',
    hovertext: points.map((p) => (p.hover ? `${p.label}<br>${p.hover}` : p.label)),
    hoverinfo: 'text',
    marker: { size: 10, ...(points.some((p) => p.color) ? { color: points.map((p) => p.color ?? '#1f77b4') } : {}) },
    showlegend: false,
  };
  const layout: PlotLayout = {
    ...(options.title ? { title: { text: options.title } } : {}),
    xaxis: { ...(options.xTitle ? { title: { text: options.xTitle } } : {}), ...(options.xLog ? { type: 'log' } : {}) },
    yaxis: {
      ...(options.yTitle ? { title: { text: options.yTitle } } : {}),
      ...(options.yRange ? { range: options.yRange } : {}),
    },
    height: options.height ?? 450,
    ...(options.width ? { width: options.width } : {}),
    margin: { t: options.title ? 60 : 30 },
  };
  const fig = new Figure({ data: [trace], layout });
  if (options.display ?? true) showFigure(fig);
  return fig;
}
