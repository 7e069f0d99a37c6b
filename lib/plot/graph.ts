/**
 * Small computational graphs drawn as SVG: named nodes at given positions and labelled
 * connections between them (a connection from a node to itself is drawn as a loop), as the
 * originals draw a recurrent cell's nodes and the weights that join them. The SVG needs nothing
 * loaded, so it shows offline in every Jupyter front end and in exported HTML.
 */
import { displayBundle, escapeHtml, MimeBundle } from './display';

/** A node: its id (what connections name), the label drawn in it, and its centre. */
export interface GraphNode {
  id: string;
  label: string;
  x: number;
  y: number;
  /** A smaller line beside the node's lower right (e.g. its size). */
  note?: string;
}

/** A connection between two nodes (or a node and itself). */
export interface GraphEdge {
  from: string;
  to: string;
  /** What the connection applies, drawn beside it (e.g. 'Ā'). */
  label: string;
  /** A one-step delay (drawn dashed). Default false. */
  delayed?: boolean;
  /** Trained (drawn in colour) or fixed (grey). Default true. */
  trained?: boolean;
  /** For a loop: the side of the node it is drawn on. Default 'top'. */
  side?: 'top' | 'bottom';
}

export interface GraphOptions {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Drawing size in pixels. Default 640 × 320. */
  width?: number;
  height?: number;
  /** A caption above the graph. */
  title?: string;
}

const RADIUS = 24;
const TRAINED = '#1f77b4';
const FIXED = '#888888';

function checkGraph(options: GraphOptions): Map<string, GraphNode> {
  const nodes = new Map<string, GraphNode>();
  for (const n of options.nodes) {
    if (nodes.has(n.id)) throw new Error(`graph node ids must be unique (got '${n.id}' twice)`);
    if (!Number.isFinite(n.x) || !Number.isFinite(n.y))
      throw new Error(`graph node '${n.id}' needs finite x and y (got ${n.x}, ${n.y})`);
    nodes.set(n.id, n);
  }
  for (const e of options.edges) {
    for (const end of [e.from, e.to]) {
      if (!nodes.has(end))
        throw new Error(
          `graph edge '${e.label}' names node '${end}', which is not one of: ${[...nodes.keys()].join(', ')}`,
        );
    }
  }
  return nodes;
}

const fmt = (v: number) => Number(v.toFixed(1));

function edgeSvg(e: GraphEdge, nodes: Map<string, GraphNode>): string {
  const a = nodes.get(e.from)!;
  const b = nodes.get(e.to)!;
  const color = e.trained === false ? FIXED : TRAINED;
  const stroke = `stroke="${color}" stroke-width="1.8" fill="none"${e.delayed ? ' stroke-dasharray="6 4"' : ''}`;
  const marker = `marker-end="url(#arrow-${e.trained === false ? 'fixed' : 'trained'})"`;
  const text = (x: number, y: number) =>
    `<text x="${fmt(x)}" y="${fmt(y)}" fill="${color}" font-size="15" text-anchor="middle" dominant-baseline="middle">${escapeHtml(e.label)}</text>`;
  if (a === b) {
    // a loop leaving and re-entering the node on one side
    const s = e.side === 'bottom' ? 1 : -1;
    const x0 = a.x - 12;
    const x1 = a.x + 12;
    const y0 = a.y + s * (RADIUS - 4);
    const yc = a.y + s * (RADIUS + 40);
    const path = `M ${fmt(x0)} ${fmt(y0)} C ${fmt(x0 - 30)} ${fmt(yc)}, ${fmt(x1 + 30)} ${fmt(yc)}, ${fmt(x1)} ${fmt(y0)}`;
    return `<path d="${path}" ${stroke} ${marker}/>` + text(a.x, yc + s * 6);
  }
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy);
  const [ux, uy] = [dx / len, dy / len];
  const start = [a.x + ux * RADIUS, a.y + uy * RADIUS];
  const end = [b.x - ux * (RADIUS + 2), b.y - uy * (RADIUS + 2)];
  // the label beside the middle of the line, on its left as one walks from a to b
  const mid = [(a.x + b.x) / 2 + uy * 14, (a.y + b.y) / 2 - ux * 14];
  const line = `<line x1="${fmt(start[0])}" y1="${fmt(start[1])}" x2="${fmt(end[0])}" y2="${fmt(end[1])}" ${stroke} ${marker}/>`;
  return line + text(mid[0], mid[1]);
}

/**
 * The graph as an SVG document: nodes as circles, trained connections in colour and fixed ones
 * grey, delayed ones (value at t − 1) dashed, with a legend.
 * @see notebooks/02-nengo-lmu-psmnist.ipynb
 */
export function graphSvg(options: GraphOptions): string {
  const nodes = checkGraph(options);
  const width = options.width ?? 640;
  const height = options.height ?? 320;
  const top = options.title ? 28 : 0;
  const arrow = (id: string, color: string) =>
    `<marker id="arrow-${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="${color}"/></marker>`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + top + 30}" viewBox="0 0 ${width} ${height + top + 30}" font-family="sans-serif">`,
    `<defs>${arrow('trained', TRAINED)}${arrow('fixed', FIXED)}</defs>`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  if (options.title)
    parts.push(`<text x="${width / 2}" y="18" font-size="15" text-anchor="middle">${escapeHtml(options.title)}</text>`);
  parts.push(`<g transform="translate(0 ${top})">`);
  for (const e of options.edges) parts.push(edgeSvg(e, nodes));
  for (const n of nodes.values()) {
    parts.push(
      `<circle cx="${n.x}" cy="${n.y}" r="${RADIUS}" fill="#f4f4f4" stroke="#333" stroke-width="1.5"/>`,
      `<text x="${n.x}" y="${n.y}" font-size="17" font-style="italic" text-anchor="middle" dominant-baseline="central">${escapeHtml(n.label)}</text>`,
    );
    // beside the node's lower right, clear of connections entering from above or the left and of loops
    if (n.note)
      parts.push(
        `<text x="${n.x + RADIUS + 4}" y="${n.y + RADIUS + 4}" font-size="12" fill="#555">${escapeHtml(n.note)}</text>`,
      );
  }
  parts.push('</g>');
  // legend: what colour and dashes mean
  const y = height + top + 14;
  const sample = (x: number, color: string, dashed: boolean, label: string) =>
    `<line x1="${x}" y1="${y}" x2="${x + 30}" y2="${y}" stroke="${color}" stroke-width="1.8"${dashed ? ' stroke-dasharray="6 4"' : ''}/>` +
    `<text x="${x + 36}" y="${y}" font-size="12" dominant-baseline="middle">${label}</text>`;
  parts.push(
    sample(10, TRAINED, false, 'trained'),
    sample(110, FIXED, false, 'fixed'),
    sample(200, '#333', true, 'one-step delay (value at t − 1)'),
  );
  parts.push('</svg>');
  return parts.join('');
}

/** One text line per connection: `m → m: Ā (fixed, delayed)`. */
function graphText(options: GraphOptions): string {
  const label = new Map(options.nodes.map((n) => [n.id, n.label]));
  const lines = options.edges.map((e) => {
    const how = [e.trained === false ? 'fixed' : 'trained', ...(e.delayed ? ['one-step delay'] : [])].join(', ');
    return `${label.get(e.from)} → ${label.get(e.to)}: ${e.label} (${how})`;
  });
  return [...(options.title ? [options.title] : []), ...lines].join('\n');
}

/**
 * The bundle `showGraph` displays: image/svg+xml and, for terminals, one text line per connection.
 * @see notebooks/02-nengo-lmu-psmnist.ipynb
 */
export function graphBundle(options: GraphOptions): MimeBundle {
  return { 'image/svg+xml': graphSvg(options), 'text/plain': graphText(options) };
}

/**
 * Draws a computational graph in the notebook (outside one, prints its connections).
 * @see notebooks/02-nengo-lmu-psmnist.ipynb
 */
export function showGraph(options: GraphOptions): void {
  displayBundle(graphBundle(options));
}
